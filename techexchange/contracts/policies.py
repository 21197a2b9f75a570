"""Pure rules of technology contract registration (DOMAIN.md §2): no ORM, no HTTP.

`contract_problems` returns every data-checkable reason not to register (stable codes, each
naming its field); `contract_warnings` lists the checks the data cannot settle (a registrar must
look at the documents). The same rules serve the web, the API and the bulk import.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from techexchange.accounts.codes import PartyNature
from techexchange.contracts.codes import (
    CHINA,
    HMT_COUNTRIES,
    HMT_PROVINCE_PREFIXES,
    SUBTYPES_OF,
    ContractStatus,
    ContractType,
    IPType,
    PaymentMode,
    PlanSource,
    RuleVersion,
    Subtype,
    TechField,
)
from techexchange.core.errors import Problem
from techexchange.core.uscc import credit_code_problems

__all__ = [
    "EXPERT_REVIEW_THRESHOLD",
    "ContractData",
    "PartyData",
    "RuleContext",
    "contract_problems",
    "contract_warnings",
    "dedupe_key",
    "format_registration_number",
    "needs_expert_review",
    "registering_party",
    "rule_version_for",
    "stat_region",
    "transition_problems",
]

# 技术交易额 at or above this needs expert review (30 working days instead of 15).
EXPERT_REVIEW_THRESHOLD = Decimal("5000000")
ABROAD = "ABROAD"
HMT = "HMT"
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
ZERO = Decimal(0)
_NATURES = frozenset(PartyNature.values)
# Enum `.values` builds a list on every call; the import checks a million rows.
_TYPES = frozenset(ContractType.values)
_FIELDS = frozenset(TechField.values)
_IP_TYPES = frozenset(IPType.values)
_PLANS = frozenset(PlanSource.values)
_PAYMENTS = frozenset(PaymentMode.values)

# The transitions of the workflow and who drives them (services check permissions).
TRANSITIONS: dict[str, frozenset[str]] = {
    "submit": frozenset({ContractStatus.DRAFT, ContractStatus.REJECTED}),
    "register": frozenset({ContractStatus.SUBMITTED}),
    "reject": frozenset({ContractStatus.SUBMITTED}),
    "amend": frozenset({ContractStatus.REGISTERED, ContractStatus.AMENDED}),
    "cancel": frozenset({ContractStatus.REGISTERED, ContractStatus.AMENDED}),
}


@dataclass(frozen=True, slots=True)
class PartyData:
    """A party as written on the contract: name, credit code, nature, country and region."""

    name: str
    credit_code: str = ""
    nature: str = ""
    country: str = CHINA
    region_code: str = ""

    @property
    def is_mainland(self) -> bool:
        """True for a party in mainland China (not 港澳台, not abroad)."""
        return stat_region(self.country, self.region_code)[0] not in {HMT, ABROAD}


@dataclass(frozen=True, slots=True)
class ContractData:
    """Everything the rules look at, already parsed into Python values."""

    project_name: str
    contract_type: str
    subtype: str
    seller: PartyData
    buyer: PartyData
    turnover: Decimal
    technical_amount: Decimal
    signing_date: date
    tech_field: str
    ip_type: str
    plan_source: str
    payment_mode: str
    rule_version: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    deductions: tuple[Decimal, ...] = ()
    ip_valid_until: date | None = None
    intermediary_name: str = ""
    intermediary_region_code: str = ""
    registration_number: str = ""
    registration_date: date | None = None
    registration_region: str = ""


@dataclass(frozen=True)
class RuleContext:
    """What the rules need from outside: today, known provinces and the rule calendar."""

    today: date
    provinces: frozenset[str]
    rule_starts: dict[int, date] = field(
        default_factory=lambda: {2001: date(2001, 1, 1), 2021: date(2021, 1, 1)}
    )
    number_format: str = "{year:04d}{region:4.4}{point:02d}{serial:06d}"
    require_deduction_items: bool = True


def rule_version_for(signing_date: date, starts: dict[int, date]) -> int:
    """The rule set in force on the signing date."""
    version = RuleVersion.R2001.value
    for v, start in sorted(starts.items()):
        if signing_date >= start:
            version = v
    return version


def stat_region(country: str, region_code: str) -> tuple[str, str]:
    """The statistical (province, city) of a party: 港澳台 → HMT, other countries → ABROAD."""
    if country in HMT_COUNTRIES or region_code[:2] in HMT_PROVINCE_PREFIXES:
        return HMT, HMT
    if country and country != CHINA:
        return ABROAD, ABROAD
    if len(region_code) != 6:
        return "", ""
    prov = region_code[:2]
    province = prov + "0000"
    if prov in MUNICIPALITIES:
        return province, prov + "0100"
    if region_code[2:4] == "00":
        return province, province
    return province, region_code[:4] + "00"


def registering_party(data: ContractData) -> str:
    """Who registers: imports → the buyer; brokerage → the intermediary; else the seller."""
    if not data.seller.is_mainland:
        return "buyer"
    if data.subtype == Subtype.BROKERAGE and data.intermediary_region_code:
        return "intermediary"
    return "seller"


def registering_region(data: ContractData) -> str:
    """The province code where the contract must be registered."""
    party = registering_party(data)
    if party == "buyer":
        code = data.buyer.region_code
    elif party == "intermediary":
        code = data.intermediary_region_code
    else:
        code = data.seller.region_code
    return stat_region(CHINA, code)[0]


def needs_expert_review(technical_amount: Decimal) -> bool:
    """True when 技术交易额 ≥ 5,000,000 元 (expert review, 30 working days)."""
    return technical_amount >= EXPERT_REVIEW_THRESHOLD


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def dedupe_key(data: ContractData) -> str:
    """One registration per contract: a digest of parties, project name, signing date, amount.

    The amount enters with two decimals whatever way it was written: 1000000, 1,000,000 and
    1000000.00 are one amount (and a stored contract reads back with two decimals). The digest
    is MD5, a fingerprint for finding the same contract, not a security measure: the bulk
    import computes it in DuckDB, where it costs a third of SHA-256 (migration 0009)."""
    seller = _norm(data.seller.credit_code) or _norm(data.seller.name)
    buyer = _norm(data.buyer.credit_code) or _norm(data.buyer.name)
    amount = str(data.turnover.quantize(_CENT))
    raw = "|".join([seller, buyer, _norm(data.project_name), data.signing_date.isoformat(), amount])
    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


_CENT = Decimal("0.01")


def format_registration_number(fmt: str, *, year: int, region: str, point: int, serial: int) -> str:
    """Format a registration number; the result must be 16 digits (see settings)."""
    number = fmt.format(year=year, region=region, point=point, serial=serial)
    if not (len(number) == 16 and number.isdigit()):
        raise ValueError(f"registration number format gives {number!r}, not 16 digits")
    return number


@functools.cache
def _number_layout(fmt: str) -> tuple[tuple[str, int, int], ...]:
    """(name, start, end) of each fixed-width field of a number format."""
    layout = []
    pos = 0
    for _lit, name, spec, _conv in string.Formatter().parse(fmt):
        pos += len(_lit or "")
        if name is None:
            continue
        width = int(re.match(r"0?(\d+)", spec or "0").group(1) or 0)  # type: ignore[union-attr]
        layout.append((name, pos, pos + width))
        pos += width
    return tuple(layout)


def _number_parts(fmt: str, number: str) -> dict[str, str]:
    """Split a number by a format made of fixed-width {year}, {region}, {point}, {serial}."""
    return {name: number[start:end] for name, start, end in _number_layout(fmt)}


# Fast credit code check (the import validates two per row); failures fall back to
# core.uscc for the precise message.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc_ok(code: str) -> bool:
    if len(code) != 18:
        return False
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(code, _USCC_WEIGHTS, strict=False))
        check = _USCC_VALUE[code[17]]
    except KeyError:
        return False
    return (31 - total % 31) % 31 == check and code[2:8].isdigit()


def _party_problems(p: PartyData, role: str, label: str, ctx: RuleContext) -> list[Problem]:
    problems: list[Problem] = []
    if not p.name.strip():
        problems.append(Problem("required", f"请填写{label}名称", f"{role}_name"))
    if len(p.country) != 3 or not p.country.isdigit():
        problems.append(Problem("country_code", f"{label}国别应为3位数字代码", f"{role}_country"))
    if p.nature not in _NATURES:
        problems.append(
            Problem("unknown_party_nature", f"{label}性质代码无效：{p.nature}", f"{role}_nature")
        )
    domestic = p.country == CHINA
    if domestic:
        code = p.region_code
        if not (len(code) == 6 and code.isdigit()):
            problems.append(
                Problem("region_code", f"{label}行政区划代码应为6位数字", f"{role}_region_code")
            )
        elif code[:2] + "0000" not in ctx.provinces:
            problems.append(
                Problem(
                    "unknown_region", f"未知的{label}行政区划代码：{code}", f"{role}_region_code"
                )
            )
    elif p.region_code and not (len(p.region_code) == 6 and p.region_code.isdigit()):
        problems.append(
            Problem("region_code", f"{label}行政区划代码应为6位数字", f"{role}_region_code")
        )
    needs_code = domestic and p.nature != "400" and p.region_code[:2] not in HMT_PROVINCE_PREFIXES
    if (needs_code or p.credit_code) and not _uscc_ok(p.credit_code):
        problems += credit_code_problems(p.credit_code, field=f"{role}_credit_code")
    return problems


def contract_problems(data: ContractData, ctx: RuleContext) -> list[Problem]:
    """Every data-checkable reason not to register `data` (empty when it may be registered)."""
    problems: list[Problem] = []
    add = problems.append
    if not data.project_name.strip():
        add(Problem("required", "请填写项目名称", "project_name"))
    elif len(data.project_name) > 200:
        add(Problem("too_long", "项目名称不能超过200个字符", "project_name"))
    # Types, and the rule version in force on the signing date.
    version = data.rule_version or rule_version_for(data.signing_date, ctx.rule_starts)
    in_force = rule_version_for(data.signing_date, ctx.rule_starts)
    if data.rule_version and data.rule_version != in_force:
        add(
            Problem(
                "rule_version_mismatch",
                f"签订日期{data.signing_date}适用{in_force}版认定规则，而非{data.rule_version}版",
                "rule_version",
            )
        )
    if data.contract_type not in _TYPES:
        add(Problem("unknown_type", f"合同类型无效：{data.contract_type}", "contract_type"))
    elif data.subtype not in SUBTYPES_OF[data.contract_type]:
        add(Problem("subtype_mismatch", "合同子类型与合同类型不符", "subtype"))
    if data.contract_type == ContractType.LICENCE and version == RuleVersion.R2001:
        add(
            Problem(
                "licence_before_2021",
                "2021年1月1日前签订的合同（2001年规则）没有“技术许可”类型，应登记为技术转让",
                "contract_type",
            )
        )
    if (
        data.contract_type == ContractType.TRANSFER
        and data.subtype == Subtype.PATENT_LICENCE
        and version >= RuleVersion.R2021
    ):
        add(
            Problem(
                "licence_is_own_type",
                "2021年起专利实施许可合同应登记为“技术许可”类型",
                "contract_type",
            )
        )
    # Parties.
    problems += _party_problems(data.seller, "seller", "卖方", ctx)
    problems += _party_problems(data.buyer, "buyer", "买方", ctx)
    if not data.seller.is_mainland and not data.buyer.is_mainland:
        add(Problem("no_domestic_party", "买卖双方均为境外或港澳台主体，不予登记", "buyer_country"))
    # Amounts.
    if data.turnover <= ZERO:
        add(Problem("turnover_not_positive", "成交额必须大于0", "turnover"))
    if data.technical_amount <= ZERO:
        add(Problem("technical_not_positive", "技术交易额必须大于0", "technical_amount"))
    elif data.technical_amount > data.turnover:
        add(Problem("technical_exceeds_turnover", "技术交易额不能大于成交额", "technical_amount"))
    elif ctx.require_deduction_items and data.technical_amount < data.turnover:
        gap = data.turnover - data.technical_amount
        if sum(data.deductions, ZERO) != gap:
            add(
                Problem(
                    "deductions_mismatch",
                    f"成交额与技术交易额之差{gap}元须逐项列明非技术性款项",
                    "deductions",
                    {"difference": str(gap), "itemised": str(sum(data.deductions, ZERO))},
                )
            )
    # Code lists.
    if data.tech_field not in _FIELDS:
        add(Problem("unknown_field", f"技术领域无效：{data.tech_field}", "tech_field"))
    if data.ip_type not in _IP_TYPES:
        add(Problem("unknown_ip_type", f"知识产权类型无效：{data.ip_type}", "ip_type"))
    if data.plan_source not in _PLANS:
        add(Problem("unknown_plan_source", f"计划来源无效：{data.plan_source}", "plan_source"))
    if data.payment_mode not in _PAYMENTS:
        add(Problem("unknown_payment_mode", f"支付方式无效：{data.payment_mode}", "payment_mode"))
    # Transfers and licences transfer IP, which must exist and be in force.
    if data.contract_type in (ContractType.TRANSFER, ContractType.LICENCE):
        if data.ip_type in ("", IPType.NONE):
            add(Problem("ip_required", "技术转让和技术许可合同须载明知识产权", "ip_type"))
        if data.ip_valid_until and data.ip_valid_until < data.signing_date:
            add(Problem("ip_expired", "知识产权在签订日期前已失效", "ip_valid_until"))
    # Dates.
    if data.signing_date > ctx.today:
        add(Problem("signing_in_future", "签订日期不能晚于今天", "signing_date"))
    if data.valid_from and data.valid_to and data.valid_from > data.valid_to:
        add(Problem("validity_order", "有效期起不能晚于有效期止", "valid_to"))
    if data.valid_to and data.valid_to < data.signing_date:
        add(Problem("expired_before_signing", "有效期止早于签订日期", "valid_to"))
    if data.registration_date:
        if data.registration_date < data.signing_date:
            add(
                Problem(
                    "registered_before_signing", "登记日期不能早于签订日期", "registration_date"
                )
            )
        if data.registration_date > ctx.today:
            add(Problem("registration_in_future", "登记日期不能晚于今天", "registration_date"))
    # Who registers where: the registering party's own province.
    problems += _registration_problems(data, ctx)
    return problems


def _registration_problems(data: ContractData, ctx: RuleContext) -> list[Problem]:
    problems: list[Problem] = []
    party = registering_party(data)
    where = registering_region(data)
    if data.registration_region and where and data.registration_region != where:
        code = "import_registered_by_buyer" if party == "buyer" else "registration_region_mismatch"
        message = (
            "技术进口合同应由境内买方在其所在地登记"
            if party == "buyer"
            else "合同应在登记方（卖方/中介方）所在省级地区登记"
        )
        problems.append(Problem(code, message, "registration_region", {"expected": where}))
    number = data.registration_number
    if number:
        if not (len(number) == 16 and number.isdigit()):
            problems.append(
                Problem(
                    "registration_number_format", "合同登记编号应为16位数字", "registration_number"
                )
            )
            return problems
        parts = _number_parts(ctx.number_format, number)
        region = parts.get("region", "")
        if region and where and region[:2] != where[:2]:
            code = (
                "import_registered_by_buyer" if party == "buyer" else "registration_region_mismatch"
            )
            problems.append(
                Problem(
                    code,
                    f"登记编号中的地区{region}与登记方所在地{where}不符"
                    + ("（技术进口合同由境内买方登记）" if party == "buyer" else ""),
                    "registration_number",
                    {"expected": where[:4]},
                )
            )
        year = parts.get("year", "")
        if year and data.registration_date and year != f"{data.registration_date.year:04d}":
            problems.append(
                Problem(
                    "registration_number_year",
                    "登记编号中的年份与登记日期不符",
                    "registration_number",
                )
            )
    return problems


def contract_warnings(data: ContractData) -> list[Problem]:
    """Checks the data cannot settle; the registrar verifies them against the documents."""
    warnings: list[Problem] = []
    if data.contract_type == ContractType.DEVELOPMENT:
        warnings.append(
            Problem(
                "objectives_unverified", "技术开发合同的研发目标与验收标准须人工核对", "subtype"
            )
        )
    elif data.subtype == Subtype.TRAINING:
        warnings.append(
            Problem("training_unverified", "技术培训不得为一般性职工培训，须人工核对", "subtype")
        )
    elif data.subtype == Subtype.BROKERAGE:
        warnings.append(
            Problem("brokerage_deal_unverified", "技术中介合同须关联所促成的技术合同", "subtype")
        )
    if data.contract_type in (ContractType.TRANSFER, ContractType.LICENCE):
        warnings.append(
            Problem("ip_evidence_unverified", "须核对知识产权权属证明及有效状态", "ip_type")
        )
    if data.technical_amount < data.turnover and not data.deductions:
        warnings.append(
            Problem("deductions_unitemised", "成交额与技术交易额之差未逐项列明", "technical_amount")
        )
    if needs_expert_review(data.technical_amount):
        warnings.append(
            Problem("expert_review", "技术交易额达500万元及以上，须专家评审", "technical_amount")
        )
    return warnings


def transition_problems(status: str, action: str) -> list[Problem]:
    """Refuse a workflow step the contract's status does not allow."""
    allowed = TRANSITIONS.get(action, frozenset())
    if status in allowed:
        return []
    return [
        Problem(
            "bad_transition",
            f"当前状态（{ContractStatus(status).label}）不允许此操作",
            "status",
            {"status": status, "action": action},
        )
    ]


def problems_by_field(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """Group problem codes by the field they name (for forms and reports)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.field or "", []).append(p.code)
    return out
