"""Cross-matching: candidate teams and experts for a challenge; instruments for any listing.

Issue 5's matching beyond offers ↔ requests, on the same engine (`techexchange.search`):

* **Teams** for a challenge: the offer index is matched with the challenge's problem (the
  engine's `Matcher`, one query), offers are grouped by owning organisation, the sponsor and
  the end user are left out; a team's score is its best offer's, and its reason names the
  offers.
* **Experts** for a challenge: the expert directory lives in `resources` and is not indexed
  there, so the market keeps its own expert index (`EXPERT_DOC`), brought up to date from
  `resources.selectors.list_experts` when the directory's count or highest id moves (new
  experts are added, anything else rebuilds; `rebuild_expert_index` rebuilds on demand).
* **Instruments** for a listing or a challenge: one `resources.selectors.search_instruments`
  query with the subject's text and its field's vocabulary, ranked by text plus structured fit
  (instrument category ↔ technology field, same province then the rest of the YRD, since
  innovation vouchers pay across provinces; entrusted or remote service).

Only teaser-level fields of a listing (title, keywords, field, province) make its query, so
the results and their reasons are the same for every viewer and disclose nothing protected.
Scores and components come from `search.rank_candidates`; the reasons are worded here, in
Chinese msgids (translated through the catalogue).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from techexchange.accounts.policies import Action
from techexchange.accounts.selectors import can_user
from techexchange.market import matching
from techexchange.market.codes import ListingKind, ListingStatus
from techexchange.market.models import Challenge, Listing, TechnologyOffer, TechnologyRequest
from techexchange.market.selectors import challenge_target, stored_weights
from techexchange.resources.selectors import list_experts, search_instruments
from techexchange.search import (
    MATCH_RANKING,
    Candidate,
    Component,
    DocType,
    Hit,
    KeywordField,
    Match,
    Matcher,
    Need,
    SearchIndex,
    TextField,
    Weights,
    analyze,
    rank_candidates,
)

__all__ = [
    "EXPERT_DOC",
    "FIELD_CATEGORIES",
    "FIELD_TERMS",
    "Candidates",
    "Related",
    "TeamCandidate",
    "challenge_candidates",
    "may_see_candidates",
    "rebuild_expert_index",
    "related_resources",
    "reset_expert_index",
]

AnyListing = TechnologyOffer | TechnologyRequest
Subject = TechnologyOffer | TechnologyRequest | Challenge

MAX_RESULTS = 10
"""At most this many candidates of one kind per call (a page shows five)."""

YRD = "YRD"
YRD_PROVINCES = frozenset({"310000", "320000", "330000", "340000"})
"""The four provinces whose innovation vouchers are honoured across the bloc."""

# Instrument top categories (resources.categories) useful to each technology field.
FIELD_CATEGORIES: dict[str, frozenset[str]] = {
    "electronic_info": frozenset({"040000", "130000", "140000", "120000"}),
    "aerospace": frozenset({"020000", "030000", "110000", "120000"}),
    "advanced_manufacturing": frozenset({"020000", "030000", "110000", "120000"}),
    "bio_medical": frozenset({"010000", "090000"}),
    "new_materials": frozenset({"010000", "020000", "120000"}),
    "new_energy": frozenset({"010000", "020000", "120000"}),
    "environment": frozenset({"010000", "050000", "070000"}),
    "nuclear": frozenset({"100000", "010000"}),
    "agriculture": frozenset({"010000", "070000"}),
    "transport": frozenset({"020000", "110000", "120000"}),
    "urban_social": frozenset({"020000", "060000", "110000"}),
}

# Words that characterise a field in instrument functions and in experts' research fields:
# they widen a short query towards the field and decide an expert's field fit.
FIELD_TERMS: dict[str, tuple[str, ...]] = {
    "electronic_info": ("电子", "半导体", "器件", "射频", "集成电路", "光电子", "通信", "感知"),
    "aerospace": ("航空", "航天", "力学性能", "无损检测", "流体", "复合材料"),
    "advanced_manufacturing": ("制造", "加工", "精密", "焊接", "装备", "机电", "无损检测"),
    "bio_medical": ("生物", "医药", "药物", "细胞", "遗传", "代谢组学", "医疗"),
    "new_materials": ("材料", "复合材料", "陶瓷", "高分子", "纳米", "形貌", "物相"),
    "new_energy": ("电池", "储能", "能源", "电化学", "材料", "物相", "电气"),
    "environment": ("环境", "污染", "废水", "挥发性有机物", "痕量", "元素"),
    "nuclear": ("核", "辐射", "同位素", "元素"),
    "agriculture": ("农业", "生物", "病虫害", "环境"),
    "transport": ("交通", "汽车", "动力", "力学性能", "可靠性", "流体"),
    "urban_social": ("土木", "防灾", "城市", "无损检测", "环境"),
}

# Words of the platform's own vocabulary (every challenge and offer says them): they never
# make a candidate relevant on their own.
GENERIC_WORDS = frozenset([
    "关键", "关键技术", "技术", "攻关", "揭榜", "长三角", "面向", "国产", "替代", "制约", "性能",
    "指标", "性能指标", "成本", "提升", "下降", "需要", "问题", "研究", "应用", "方法", "工艺",
    "制备", "及其", "解决方案", "寻求", "项目", "产品", "验证", "第三方", "合作", "开发", "良率",
    "寿命", "主要", "突破", "实现", "现有", "影响",
])  # fmt: skip

# Service modes an outside organisation can use without its own operator on site.
REMOTE_FRIENDLY_MODES = frozenset({"entrusted", "remote", "technical"})

INSTRUMENT_WEIGHTS = Weights(
    text=0.55, field=0.2, keywords=0, maturity=0, ip=0, mode=0.1, region=0.15, price=0,
    chain=0, freshness=0,
)  # fmt: skip
EXPERT_WEIGHTS = Weights(
    text=0.7, field=0.2, keywords=0, maturity=0, ip=0, mode=0, region=0.1, price=0, chain=0,
    freshness=0,
)  # fmt: skip

EXPERT_DOC = DocType(
    name="market_expert",
    text_fields=(TextField("fields_text", weight=3), TextField("expertise", weight=1)),
    keyword_fields=(KeywordField("province"), KeywordField("organisation")),
    stored=("name", "rank", "organisation_name", "province_name"),
)


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Related:
    """One ranked candidate (an instrument or an expert) with components and its reason."""

    id: int
    name: str
    score: float
    components: list[dict[str, Any]]
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TeamCandidate:
    """An organisation that could take a challenge, with the offers that say so."""

    organisation_id: int
    name: str
    province: str
    score: float
    components: list[dict[str, Any]]
    reason: str
    offers: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidate teams and experts of one challenge."""

    teams: list[TeamCandidate]
    experts: list[Related]


# -- wording ---------------------------------------------------------------------------------


def _note(kind: str, c: Component) -> str:
    """A short translated phrase for one component of a match of `kind`."""
    strong = c.value >= 0.6
    if c.name == "text":
        return {
            "team": _("成果内容与榜单问题高度相关"),
            "expert": _("研究专长与问题高度相关"),
            "instrument": _("仪器功能与需求相关"),
        }[kind]
    if c.name == "field":
        if kind == "instrument":
            return _("仪器类别适用于该技术领域") if strong else _("仪器类别与技术领域关联较弱")
        if kind == "expert":
            return _("研究领域对口") if strong else _("研究领域不同")
        return _("技术领域一致") if strong else _("技术领域不同")
    if c.name == "region":
        if c.value >= 1.0:
            return _("位于同一省份")
        if strong:
            return _("位于长三角其他省份，可跨省使用创新券")
        return _("不在长三角")
    if c.name == "mode":
        return _("提供委托测试或远程服务") if strong else _("仅提供上机共享")
    if c.name == "freshness":
        return _("成果信息近期已确认") if strong else _("成果信息较久未更新")
    return c.name


def _components(kind: str, match: Match) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "value": round(c.value, 3),
            "weight": round(c.weight, 4),
            "note": _("信息不全") if c.value == 0.5 and c.name != "text" else _note(kind, c),
        }
        for c in match.components
    ]


def _reason(kind: str, match: Match, lead: str = "") -> str:
    """One sentence: the lead clause, the two strongest components, the weakest as a caveat."""
    comps = [c for c in match.components if c.weight > 0]
    strong = sorted((c for c in comps if c.value >= 0.6), key=lambda c: -c.contribution)[:2]
    weak = sorted(
        (c for c in comps if c.value < 0.3 and c.name != "text"), key=lambda c: -c.weight
    )[:1]
    parts = ([lead] if lead else []) + [_note(kind, c) for c in strong]
    sep = pgettext("list of reasons", "，")
    if not parts:
        parts = [_("与需求部分相关")]
    if weak:
        return _("推荐理由：%(reasons)s；但%(caveat)s。") % {
            "reasons": sep.join(parts),
            "caveat": _note(kind, weak[0]),
        }
    return _("推荐理由：%(reasons)s。") % {"reasons": sep.join(parts)}


# -- needs -----------------------------------------------------------------------------------


def _field_text(tech_field: str) -> str:
    return " ".join(FIELD_TERMS.get(tech_field, ()))


def _regions(province: str | None) -> tuple[str, ...]:
    """Same province first, then anywhere in the YRD (vouchers pay across its provinces)."""
    if not province:
        return ()
    return (province, YRD) if province in YRD_PROVINCES else (province,)


def _subject_text(subject: Subject) -> str:
    """What a subject is about, from fields every viewer of it may see."""
    if isinstance(subject, Challenge):
        metrics = " ".join(o.metric for o in subject.objectives.all())
        return " ".join([subject.title_zh, subject.title_en, subject.problem, metrics])
    return " ".join(
        [
            subject.title_zh,
            subject.title_en,
            " ".join(str(k) for k in subject.tech_keywords or []),
            " ".join(str(k) for k in subject.market_keywords or []),
        ]
    )


def _specific_words(text: str) -> frozenset[str]:
    """The need's words that can make a candidate relevant (two characters or more)."""
    return frozenset(w for w in analyze(text) if len(w) >= 2 and w not in GENERIC_WORDS)


def _shares(words: frozenset[str], text: str) -> bool:
    """True when `text` contains one of `words` (a substring: segmentation may differ).

    Retrieval with feedback always returns something; without one specific word in common
    the candidate owes its place to boilerplate and feedback drift, and is left out.
    """
    lowered = text.lower()
    return any(w in lowered for w in words)


def _province_of(subject: Subject) -> str | None:
    owner = subject.sponsor if isinstance(subject, Challenge) else subject.owner
    return owner.province_id if owner is not None else None


def _excluded_orgs(challenge: Challenge) -> set[int]:
    """The sponsor and the end user never take their own challenge."""
    return {x for x in (challenge.sponsor_id, challenge.end_user_id) if x is not None}


# -- instruments -----------------------------------------------------------------------------


def _instrument_candidate(doc: dict[str, Any]) -> Candidate:
    top = str(doc.get("category") or "")
    province = str(doc.get("province") or "")
    regions = {province} | ({YRD} if province in YRD_PROVINCES else set())
    modes = doc.get("mode") or []
    return Candidate(
        id=str(doc["id"]),
        text_score=float(doc.get("score") or 0.0),
        title=str(doc.get("name_zh") or ""),
        fields=frozenset(f for f, tops in FIELD_CATEGORIES.items() if top in tops),
        modes=frozenset([modes] if isinstance(modes, str) else [str(m) for m in modes]),
        regions=frozenset(r for r in regions if r),
    )


def related_resources(subject: Subject, *, limit: int = 5) -> list[Related]:
    """Instruments and their services relevant to a listing or a challenge, best first.

    One catalogue query (shared instruments only) with the subject's text plus its field's
    vocabulary; then text relevance + category/field fit + region + service mode.
    """
    limit = max(1, min(limit, MAX_RESULTS))
    tech_field = subject.tech_field or ""
    text = f"{_subject_text(subject)} {_field_text(tech_field)}".strip()
    if not text:
        return []
    page = search_instruments(q=text, availability=["open"], limit=max(30, limit * 4))
    if not page.hits:
        return []
    need = Need(
        text=text,
        fields=frozenset([tech_field]) if tech_field else frozenset(),
        modes=REMOTE_FRIENDLY_MODES,
        regions=_regions(_province_of(subject)),
    )
    words = _specific_words(text)
    hits = [
        d
        for d in page.hits
        if _shares(
            words,
            " ".join(
                str(d.get(k) or "")
                for k in ("title", "category_name", "specs", "functions", "services_text")
            ),
        )
    ]
    docs = {str(d["id"]): d for d in hits}
    ranked = rank_candidates(
        need,
        (_instrument_candidate(d) for d in hits),
        weights=INSTRUMENT_WEIGHTS,
        limit=limit,
    )
    out = []
    for m in ranked:
        d = docs[m.candidate.id]
        out.append(
            Related(
                id=int(m.candidate.id),
                name=str(d.get("name_zh") or ""),
                score=round(m.score, 4),
                components=_components("instrument", m),
                reason=_reason("instrument", m),
                detail={
                    "name_en": d.get("name_en") or "",
                    "holder": d.get("holder_name_zh") or "",
                    "province": d.get("province_name") or "",
                    "city": d.get("city_name") or "",
                    "category": d.get("category_label") or "",
                    "price": d.get("price"),
                    "price_unit": d.get("price_unit") or "",
                    "modes": list(m.candidate.modes),
                },
            )
        )
    return out


# -- teams -----------------------------------------------------------------------------------


def may_see_candidates(user: Any, challenge: Challenge) -> bool:
    """Candidates name offer owners (summary tier): sponsors, deciders, reviewers, brokers."""
    if not getattr(user, "is_authenticated", False):
        return False
    target = challenge_target(challenge, user)
    return (
        can_user(user, Action.CHALLENGE_MANAGE, target)
        or can_user(user, Action.CHALLENGE_DECIDE, target)
        or can_user(user, Action.CHALLENGE_REVIEW, target)
        or can_user(user, Action.DEAL_CREATE)  # operators and brokers
    )


def _challenge_need(challenge: Challenge) -> Need:
    return Need(
        text=_subject_text(challenge).strip(),
        fields=frozenset([challenge.tech_field]) if challenge.tech_field else frozenset(),
    )


def _teams(challenge: Challenge, *, now: datetime, limit: int) -> list[TeamCandidate]:
    matching.flush_outbox(now)
    matcher = Matcher(
        matching.index_for(ListingKind.OFFER),
        weights=stored_weights(),
        chain_neighbours=matching.CHAIN_NEIGHBOURS,
        pool=100,
    )
    need = _challenge_need(challenge)
    found = matcher.match(need, limit=limit * 8, now=now)
    if not found:
        return []
    words = _specific_words(need.text)
    rows = {
        r["pk"]: r
        for r in Listing.objects.filter(
            pk__in=[int(m.candidate.id) for m in found],
            status=ListingStatus.PUBLISHED,
            valid_until__gt=now,
        )
        .exclude(owner_id__in=_excluded_orgs(challenge))
        .values(
            "pk",
            "title_zh",
            "summary_zh",
            "tech_keywords",
            "owner_id",
            "owner__name_zh",
            "owner__province__name_zh",
        )
        if _shares(
            words,
            f"{r['title_zh']} {r['summary_zh']} {' '.join(map(str, r['tech_keywords'] or []))}",
        )
    }
    groups: dict[int, list[Match]] = {}
    for m in found:  # best first: a group's first match is its best offer
        row = rows.get(int(m.candidate.id))
        if row is not None:
            groups.setdefault(row["owner_id"], []).append(m)
    out = []
    for owner_id, matches in list(groups.items())[:limit]:
        best = matches[0]
        offers = [rows[int(m.candidate.id)] for m in matches]
        quoted = pgettext("list of titles", "、").join(
            _("“%(title)s”") % {"title": o["title_zh"]} for o in offers[:2]
        )
        lead = (
            _("拥有相关成果%(titles)s等%(n)d项") % {"titles": quoted, "n": len(offers)}
            if len(offers) > 2
            else _("拥有相关成果%(titles)s") % {"titles": quoted}
        )
        out.append(
            TeamCandidate(
                organisation_id=owner_id,
                name=offers[0]["owner__name_zh"],
                province=offers[0]["owner__province__name_zh"] or "",
                score=round(best.score, 4),
                components=_components("team", best),
                reason=_reason("team", best, lead),
                offers=[
                    {"id": o["pk"], "title_zh": o["title_zh"], "score": round(m.score, 4)}
                    for o, m in zip(offers, matches, strict=True)
                ],
            )
        )
    return out


# -- experts ---------------------------------------------------------------------------------

_expert_indexes: dict[str, SearchIndex] = {}
_expert_lock = threading.Lock()


def _expert_dir() -> Path:
    default = getattr(settings, "SEARCH_INDEX_DIR", Path(settings.BASE_DIR) / "var" / "search")
    return Path(getattr(settings, "MARKET_INDEX_DIR", default)) / EXPERT_DOC.name


def _expert_index() -> SearchIndex:
    path = _expert_dir()
    with _expert_lock:
        if str(path) not in _expert_indexes:
            _expert_indexes[str(path)] = SearchIndex(path, EXPERT_DOC, ranking=MATCH_RANKING)
        return _expert_indexes[str(path)]


def reset_expert_index() -> None:
    """Forget the open expert indexes (tests switch the directory)."""
    with _expert_lock:
        _expert_indexes.clear()
        _checked.clear()


def _expert_doc(e: Any) -> dict[str, Any]:
    return {
        "id": str(e.pk),
        "fields_text": e.fields,
        "expertise": e.expertise,
        "province": e.province_id,
        "organisation": str(e.organisation_id),
        "name": e.name,
        "rank": e.title,
        "organisation_name": e.organisation.name_zh,
        "province_name": e.province.name_zh,
    }


@contextmanager
def _writer(path: Path, *, wait: bool) -> Iterator[bool]:
    """This node's writer lock on the expert index (a file lock)."""
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / "writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _directory_state() -> tuple[int, int]:
    agg = list_experts().order_by().aggregate(n=Count("pk"), m=Max("pk"))
    return int(agg["n"] or 0), int(agg["m"] or 0)


def _read_state(path: Path) -> tuple[int, int] | None:
    try:
        raw = json.loads((path / "state.json").read_text(encoding="ascii"))
        return int(raw["count"]), int(raw["max_id"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _write_state(path: Path, state: tuple[int, int]) -> None:
    tmp = path / f"state.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"count": state[0], "max_id": state[1]}), encoding="ascii")
    os.replace(tmp, path / "state.json")


def rebuild_expert_index() -> int:
    """Index the whole expert directory anew (a rebuild command, or a directory edited)."""
    path = _expert_dir()
    with _writer(path, wait=True):
        state = _directory_state()
        n = _expert_index().rebuild(_expert_doc(e) for e in list_experts().iterator(2000))
        _write_state(path, state)
    return n


_checked: dict[str, float] = {}


def _ensure_experts() -> None:
    """Bring the expert index up to the directory: add new experts, else rebuild on change.

    The directory is looked at most every `MARKET_EXPERT_CHECK_SECONDS` (30) per process: a
    count over a large table is not free, and the directory changes rarely.
    """
    path = _expert_dir()
    every = float(getattr(settings, "MARKET_EXPERT_CHECK_SECONDS", 30))
    last = _checked.get(str(path))
    if last is not None and time.monotonic() - last < every:
        return
    _checked[str(path)] = time.monotonic()
    state = _directory_state()
    known = _read_state(path)
    if known == state:
        return
    with _writer(path, wait=False) as got:
        if not got:
            return  # another process is on it; serve what is indexed
        known = _read_state(path)
        if known == state:
            return
        index = _expert_index()
        if known is not None and state[1] > known[1]:
            added = list_experts().filter(pk__gt=known[1])
            index.upsert(_expert_doc(e) for e in added.iterator(2000))
            if known[0] + added.count() == state[0]:
                _write_state(path, state)
                return
        index.rebuild(_expert_doc(e) for e in list_experts().iterator(2000))
        _write_state(path, state)


def _expert_candidate(hit: Hit, tech_field: str) -> Candidate:
    d = hit.doc
    province = str(d.get("province") or "")
    regions = {province} | ({YRD} if province in YRD_PROVINCES else set())
    text = str(d.get("fields_text") or "")
    terms = FIELD_TERMS.get(tech_field, ())
    fits = any(t in text for t in terms) if text else None
    return Candidate(
        id=hit.id,
        text_score=hit.score,
        title=str(d.get("name") or ""),
        fields=frozenset()
        if fits is None
        else frozenset([tech_field] if fits else ["-"]),  # "-": another field
        regions=frozenset(r for r in regions if r),
    )


def _experts(challenge: Challenge, *, limit: int) -> list[Related]:
    _ensure_experts()
    tech_field = challenge.tech_field or ""
    need = Need(
        text=f"{_subject_text(challenge)} {_field_text(tech_field)}".strip(),
        fields=frozenset([tech_field]) if tech_field else frozenset(),
        regions=_regions(_province_of(challenge)),
    )
    excluded = _excluded_orgs(challenge)
    page = _expert_index().search(need.text, limit=60, highlight_width=None, count=False)
    words = _specific_words(need.text)
    hits = [
        h
        for h in page.hits
        if int(h.doc.get("organisation") or 0) not in excluded
        and _shares(words, f"{h.doc.get('fields_text') or ''} {h.doc.get('expertise') or ''}")
    ]
    docs = {h.id: h.doc for h in hits}
    ranked = rank_candidates(
        need,
        (_expert_candidate(h, tech_field) for h in hits),
        weights=EXPERT_WEIGHTS,
        limit=limit,
    )
    return [
        Related(
            id=int(m.candidate.id),
            name=str(docs[m.candidate.id].get("name") or ""),
            score=round(m.score, 4),
            components=_components("expert", m),
            reason=_reason("expert", m),
            detail={
                "title": docs[m.candidate.id].get("rank") or "",
                "organisation": docs[m.candidate.id].get("organisation_name") or "",
                "fields": docs[m.candidate.id].get("fields_text") or "",
                "province": docs[m.candidate.id].get("province_name") or "",
            },
        )
        for m in ranked
    ]


def challenge_candidates(challenge: Challenge, *, now: datetime, limit: int = 5) -> Candidates:
    """Candidate teams (offer owners) and experts for a challenge; never its sponsor's own."""
    limit = max(1, min(limit, MAX_RESULTS))
    return Candidates(
        teams=_teams(challenge, now=now, limit=limit),
        experts=_experts(challenge, limit=limit),
    )


def candidates_as_dict(found: Candidates) -> dict[str, Sequence[Any]]:
    """The API's shape of candidates."""
    return {
        "teams": [
            {
                "organisation": t.organisation_id,
                "name": t.name,
                "province": t.province,
                "score": t.score,
                "components": t.components,
                "reason": t.reason,
                "offers": t.offers,
            }
            for t in found.teams
        ],
        "experts": [related_as_dict(e) for e in found.experts],
    }


def related_as_dict(r: Related) -> dict[str, Any]:
    """The API's shape of one related instrument or expert."""
    return {
        "id": r.id,
        "name": r.name,
        "score": r.score,
        "components": r.components,
        "reason": r.reason,
        **r.detail,
    }
