"""Pure rules of the market: completeness, lifecycle, validity, tiers, deals, challenges.

No ORM and no HTTP: every function takes plain values (and `now`) and returns findings,
problems or decisions. Services call these before they write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from techexchange.core.errors import Problem
from techexchange.market.codes import (
    CooperationMode,
    DealStage,
    ListingStatus,
    PartnerType,
    TechField,
    Tier,
)

__all__ = [
    "DEAL_ORDER",
    "FULL_FIELDS",
    "MAX_KEYWORDS",
    "SUMMARY_FIELDS",
    "VALIDITY",
    "Finding",
    "Severity",
    "attachment_visible",
    "blocking",
    "broker_credit_shares",
    "centre_credit_shares",
    "completeness_findings",
    "deal_move_problems",
    "listing_input_problems",
    "renewed_until",
    "review_transition",
    "selection_problems",
    "tier_for",
]

VALIDITY = timedelta(days=365)
MAX_LIFETIME = timedelta(days=730)
REMINDER_BEFORE = timedelta(days=30)
MAX_KEYWORDS = 5
LIMITS = {
    "title_zh": 100,
    "title_en": 150,
    "summary_zh": 500,
    "summary_en": 800,
    "description_zh": 4000,
    "description_en": 6000,
}

# What each tier adds. Teaser fields (title, field, maturity, modes, keywords, region) are public.
SUMMARY_FIELDS = frozenset(
    {
        "summary_zh",
        "summary_en",
        "owner",
        "price_min",
        "price_max",
        "budget_min",
        "budget_max",
        "ip_status",
        "achievement_type",
        "targets",
        "partner_types",
        "target_regions",
        "chain",
        "chain_node",
        "funding_source",
        "completion_date",
        "maturity_min",
        "maturity_max",
    }
)
FULL_FIELDS = frozenset(
    {
        "description_zh",
        "description_en",
        "patent_numbers",
        "contact_name",
        "contact_email",
        "contact_phone",
        "problem",
        "acceptance_test",
        "constraints_text",
    }
)


class Severity(StrEnum):
    """How bad a completeness finding is: blockers stop submission."""

    BLOCKER = "blocker"
    MAJOR = "major"
    MINOR = "minor"


@dataclass(frozen=True)
class Finding:
    """One completeness finding: severity, stable code, field and message."""

    severity: Severity
    code: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def completeness_findings(kind: str, data: Mapping[str, Any]) -> list[Finding]:
    """Findings for a listing's fields before submission (blocker / major / minor)."""
    out: list[Finding] = []

    def add(sev: Severity, code: str, field: str, msg: str) -> None:
        out.append(Finding(sev, code, field, msg))

    b, j, m = Severity.BLOCKER, Severity.MAJOR, Severity.MINOR
    if _blank(data.get("title_zh")):
        add(b, "required", "title_zh", "请填写标题")
    if _blank(data.get("summary_zh")):
        add(b, "required", "summary_zh", "请填写摘要")
    elif len(str(data["summary_zh"])) < 40:
        add(j, "too_short", "summary_zh", "摘要过短（建议不少于40字）")
    if _blank(data.get("tech_field")):
        add(b, "required", "tech_field", "请选择技术领域")
    if kind == "offer":
        if _blank(data.get("maturity")):
            add(b, "required", "maturity", "成果须注明成熟度（TRL）")
        if _blank(data.get("ip_status")):
            add(b, "required", "ip_status", "成果须注明知识产权状态")
        elif data.get("ip_status") in {"applied", "granted"} and _blank(data.get("patent_numbers")):
            add(j, "missing_patent", "patent_numbers", "已申请或授权的专利请填写专利号")
        if _blank(data.get("price_min")) and _blank(data.get("price_max")):
            add(m, "no_price", "price_min", "未填写报价区间")
    else:
        if _blank(data.get("problem")):
            add(b, "required", "problem", "请描述待解决的问题")
        if _blank(data.get("targets")):
            add(j, "no_targets", "targets", "请给出可量化的技术指标")
        if _blank(data.get("acceptance_test")):
            add(j, "no_acceptance", "acceptance_test", "请说明验收方式")
        if _blank(data.get("budget_min")) and _blank(data.get("budget_max")):
            add(m, "no_budget", "budget_max", "未填写预算")
    if _blank(data.get("description_zh")):
        add(j, "required", "description_zh", "详细描述为空")
    if _blank(data.get("tech_keywords")):
        add(j, "no_keywords", "tech_keywords", "请填写技术关键词")
    elif len(data["tech_keywords"]) < 3:
        add(m, "few_keywords", "tech_keywords", "技术关键词少于3个")
    if _blank(data.get("cooperation_modes")):
        add(j, "no_modes", "cooperation_modes", "请选择合作方式")
    if _blank(data.get("partner_types")):
        add(m, "no_partners", "partner_types", "未选择合作伙伴类型")
    if _blank(data.get("market_keywords")):
        add(m, "no_market_keywords", "market_keywords", "未填写市场关键词")
    if _blank(data.get("title_en")):
        add(m, "no_english", "title_en", "未填写英文标题（跨境对接时需要）")
    if _blank(data.get("chain")):
        add(m, "no_chain", "chain", "未标注产业链")
    return out


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    """The blockers among `findings`."""
    return [f for f in findings if f.severity == Severity.BLOCKER]


def listing_input_problems(kind: str, data: Mapping[str, Any]) -> list[Problem]:
    """Hard input errors (shape and ranges), each naming its field; empty fields are allowed."""
    problems: list[Problem] = []
    for name, limit in LIMITS.items():
        if len(str(data.get(name) or "")) > limit:
            problems.append(Problem("too_long", f"不能超过{limit}个字符", name))
    if not str(data.get("title_zh") or "").strip():
        problems.append(Problem("required", "请填写标题", "title_zh"))
    if data.get("tech_field") and data["tech_field"] not in TechField.values:
        problems.append(Problem("invalid_choice", "技术领域无效", "tech_field"))
    for name in ("tech_keywords", "market_keywords"):
        if len(data.get(name) or []) > MAX_KEYWORDS:
            problems.append(Problem("too_many", f"最多{MAX_KEYWORDS}个关键词", name))
    bad_modes = set(data.get("cooperation_modes") or []) - set(CooperationMode.values)
    if bad_modes:
        problems.append(Problem("invalid_choice", "合作方式无效", "cooperation_modes"))
    partners = data.get("partner_types") or []
    if set(partners) - set(PartnerType.values) or len(partners) > 3:
        problems.append(
            Problem("invalid_choice", "合作伙伴类型须为1至3项有效选项", "partner_types")
        )
    for name in ("maturity", "maturity_min", "maturity_max"):
        value = data.get(name)
        if value is not None and not 1 <= int(value) <= 9:
            problems.append(Problem("out_of_range", "成熟度须在1至9之间", name))
    lo, hi = data.get("maturity_min"), data.get("maturity_max")
    if lo is not None and hi is not None and lo > hi:
        problems.append(Problem("range_reversed", "成熟度下限不能高于上限", "maturity_min"))
    for lo_name, hi_name in (("price_min", "price_max"), ("budget_min", "budget_max")):
        lo_v, hi_v = data.get(lo_name), data.get(hi_name)
        for name, v in ((lo_name, lo_v), (hi_name, hi_v)):
            if v is not None and Decimal(v) < 0:
                problems.append(Problem("negative", "金额不能为负", name))
        if lo_v is not None and hi_v is not None and Decimal(lo_v) > Decimal(hi_v):
            problems.append(Problem("range_reversed", "下限不能高于上限", lo_name))
    return problems


REVIEW_DECISIONS = {"approve", "changes", "reject"}


def review_transition(status: str, decision: str) -> str | None:
    """The status after a reviewer's decision, or None when the decision is not allowed now."""
    if status != ListingStatus.SUBMITTED or decision not in REVIEW_DECISIONS:
        return None
    return {
        "approve": ListingStatus.APPROVED,
        "changes": ListingStatus.CHANGES_REQUESTED,
        "reject": ListingStatus.REJECTED,
    }[decision]


def renewed_until(
    *, first_published_at: datetime, valid_until: datetime | None, now: datetime
) -> datetime | None:
    """The new expiry after a renewal (365 days from now, never beyond two years in total)."""
    cap = first_published_at + MAX_LIFETIME
    new = min(now + VALIDITY, cap)
    if new <= now or (valid_until is not None and new <= valid_until):
        return None
    return new


def tier_for(
    *,
    authenticated: bool,
    sees_details: bool,
) -> Tier:
    """The disclosure tier of a viewer: details need the permission (owner, NDA, broker)."""
    if sees_details:
        return Tier.FULL
    return Tier.SUMMARY if authenticated else Tier.TEASER


def attachment_visible(attachment_tier: int, viewer_tier: int) -> bool:
    """An attachment is visible when the viewer's tier reaches the attachment's own."""
    return viewer_tier >= attachment_tier


DEAL_ORDER: tuple[str, ...] = tuple(DealStage.values)
_OPEN = DEAL_ORDER[: DEAL_ORDER.index(DealStage.REGISTERED)]


def deal_move_problems(
    *, current: str, to: str, lost_reason: str, has_amount: bool, registered: bool
) -> list[Problem]:
    """Whether a deal may move from `current` to `to`; each problem names its field."""
    if to not in DEAL_ORDER:
        return [Problem("invalid_choice", "阶段无效", "stage")]
    if current in {DealStage.CLOSED_WON, DealStage.CLOSED_LOST}:
        return [Problem("closed", "交易已结案", "stage")]
    if to == DealStage.CLOSED_LOST:
        if not lost_reason.strip():
            return [Problem("required", "请填写未成交原因", "lost_reason")]
        return []
    if to == DealStage.REGISTERED and not registered:
        return [Problem("not_registered", "合同尚未完成认定登记", "stage")]
    if to == DealStage.CLOSED_WON and current != DealStage.REGISTERED:
        return [Problem("not_registered", "须先完成合同登记才能成交结案", "stage")]
    if DEAL_ORDER.index(to) <= DEAL_ORDER.index(current):
        return [Problem("backwards", "交易阶段只能向前推进", "stage")]
    if to == DealStage.SIGNED and not has_amount:
        return [Problem("required", "合同签订须填写成交额", "amount")]
    return []


def broker_credit_shares(n_co_brokers: int) -> tuple[Decimal, Decimal]:
    """Credit split: the lead keeps 60 % (100 % alone); co-brokers share the rest equally."""
    if n_co_brokers <= 0:
        return Decimal("100"), Decimal("0")
    return Decimal("60"), (Decimal("40") / n_co_brokers).quantize(Decimal("0.01"))


def centre_credit_shares(originating: int, closing: int) -> dict[int, Decimal]:
    """Sub-centre credit: half to the originating and half to the closing centre."""
    if originating == closing:
        return {originating: Decimal("1")}
    return {originating: Decimal("0.5"), closing: Decimal("0.5")}


def selection_problems(
    *, mode: str, max_teams: int, chosen: int, now: datetime, deadline: datetime
) -> list[Problem]:
    """Whether `chosen` teams may be selected for a challenge now."""
    if now < deadline:
        return [Problem("before_deadline", "揭榜截止前不能遴选", "deadline")]
    if chosen < 1:
        return [Problem("required", "请至少选择一个团队", "applications")]
    if mode == "single" and chosen != 1:
        return [Problem("single_mode", "单一遴选只能选择一个团队", "applications")]
    if chosen > max_teams:
        return [Problem("too_many", f"最多选择{max_teams}个团队", "applications")]
    return []


def objective_problems(weights: Sequence[int]) -> list[Problem]:
    """Objectives' weights must add up to 100."""
    if weights and sum(weights) != 100:
        return [Problem("weights_sum", "考核指标权重之和须为100", "objectives")]
    return []


def milestone_problems(shares: Sequence[Decimal]) -> list[Problem]:
    """Milestone payment shares must add up to 100 %."""
    if shares and sum(shares) != Decimal("100"):
        return [Problem("shares_sum", "各节点拨付比例之和须为100%", "milestones")]
    return []


def expiring(valid_until: datetime | None, reminder_sent: bool, now: datetime) -> bool:
    """True when an owner should get the expiry reminder now."""
    return (
        valid_until is not None and not reminder_sent and now < valid_until <= now + REMINDER_BEFORE
    )
