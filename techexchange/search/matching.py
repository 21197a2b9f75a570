"""Explainable hybrid matching: text relevance plus structured fit, with reasons.

A :class:`Need` (a technology request, a challenge, a facility enquiry) is matched against
:class:`Candidate` s (offers, experts, instruments). Each candidate gets one
:class:`Component` per criterion the need states: a value in [0, 1], the weight it carries
and a short note; the score is their weighted sum and the reason sentence is built from the
strongest ones. Criteria the need leaves open are skipped; data the candidate lacks counts as
neutral (0.5) so incomplete listings are neither buried nor promoted.

:class:`Matcher` retrieves candidates through a :class:`~techexchange.search.index.SearchIndex`
(the same index and ranking the product uses) and ranks them with :func:`rank_candidates`.
Weights learn from broker and user feedback through :func:`adjust_weights`.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from itertools import islice
from operator import mul
from typing import Any, Literal

from techexchange.search.index import Filters, Hit, Ranking, SearchIndex
from techexchange.search.registry import DocType

__all__ = [
    "DECLINE_REASONS",
    "MATCH_RANKING",
    "Candidate",
    "Component",
    "FeedbackEvent",
    "Match",
    "Matcher",
    "Need",
    "Weights",
    "adjust_weights",
    "candidate_from_hit",
    "rank_candidates",
]

UNKNOWN = 0.5
"""Value of a component whose data the candidate lacks."""

MATCH_RANKING = Ranking(
    feedback_docs=10,
    feedback_terms=30,
    feedback_weight=0.5,
    max_df=0.1,
    max_query_terms=64,
    feedback_min_share=0.1,
)
"""Text ranking for matching: requests are vaguer than searches, so feedback (RM3) is on.

Terms in more than a tenth of the offers (idf below ≈ 2.3, against ≈ 9 for a term in a
hundred of a million) only score the candidates the other terms select, at most 64 terms of
a request select, and expansion terms that together could move a score by less than a tenth
of the tenth feedback document's are left out: tantivy-py collects every matching document
(no top-k pruning), so each posting list kept costs its full length.
"""


@dataclass(frozen=True, slots=True)
class Need:
    """What is sought. Every criterion is optional; leave it empty to ignore it."""

    text: str
    fields: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    maturity_min: int | None = None
    maturity_max: int | None = None
    ip_statuses: frozenset[str] = frozenset()
    modes: frozenset[str] = frozenset()
    regions: tuple[str, ...] = ()
    budget: float | None = None
    chain_stages: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Candidate:
    """What is on offer, as far as matching cares; ``None`` or empty means unknown."""

    id: str
    text_score: float = 0.0
    title: str = ""
    fields: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    maturity: int | None = None
    ip_status: str | None = None
    modes: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    price_min: float | None = None
    price_max: float | None = None
    chain_stages: frozenset[str] = frozenset()
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Weights:
    """Weight of each component; only the ratios matter."""

    text: float = 0.45
    field: float = 0.10
    keywords: float = 0.10
    maturity: float = 0.08
    ip: float = 0.06
    mode: float = 0.06
    region: float = 0.05
    price: float = 0.05
    chain: float = 0.03
    freshness: float = 0.02

    def as_dict(self) -> dict[str, float]:
        """Component name → weight."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


COMPONENTS: tuple[str, ...] = tuple(f.name for f in fields(Weights))
_Part = tuple[str, float, float, str, str]  # a Component's fields, before it is built


@dataclass(frozen=True, slots=True)
class Component:
    """One criterion's contribution: ``value`` in [0, 1] times ``weight``."""

    name: str
    value: float
    weight: float
    note_zh: str = ""
    note_en: str = ""

    @property
    def contribution(self) -> float:
        """value × weight."""
        return self.value * self.weight


@dataclass(frozen=True, slots=True)
class Match:
    """A ranked candidate with its components and the reason to show."""

    candidate: Candidate
    score: float
    components: tuple[Component, ...]
    reason_zh: str
    reason_en: str

    def component(self, name: str) -> Component | None:
        """The component *name*, if the need asked for it."""
        return next((c for c in self.components if c.name == name), None)


# -- components ------------------------------------------------------------------------------


def _any(wanted: frozenset[str], offered: frozenset[str]) -> float | None:
    if not wanted:
        return None
    if not offered:
        return UNKNOWN
    return 1.0 if wanted & offered else 0.0


def _maturity(need: Need, cand: Candidate) -> tuple[float, str, str] | None:
    lo, hi = need.maturity_min, need.maturity_max
    if lo is None and hi is None:
        return None
    if cand.maturity is None:
        return UNKNOWN, "成熟度未知", "maturity unknown"
    m = cand.maturity
    label = f"TRL {m}"
    if lo is not None and m < lo:
        # Too early costs more than too late: an immature result cannot be bought ready.
        return max(0.0, 1 - 0.35 * (lo - m)), f"成熟度偏低（{label}）", f"too early ({label})"
    if hi is not None and m > hi:
        return max(0.0, 1 - 0.15 * (m - hi)), f"成熟度偏高（{label}）", f"more mature ({label})"
    return 1.0, f"成熟度符合期望（{label}）", f"maturity in the wanted window ({label})"


_NOTES: dict[str, tuple[str, str]] = {
    "text": ("需求描述与成果内容高度相关", "the description closely matches the need"),
    "field": ("技术领域一致", "same technology field"),
    "keywords": ("关键词重合", "shared keywords"),
    "ip": ("知识产权状态可接受", "acceptable IP status"),
    "mode": ("合作方式相符", "compatible cooperation mode"),
    "region": ("位于优先地区", "in a preferred region"),
    "price": ("报价在预算内", "priced within budget"),
    "chain": ("处于相邻产业链环节", "on an adjacent link of the industrial chain"),
    "freshness": ("信息近期已确认", "recently confirmed active"),
}
_WEAK_NOTES: dict[str, tuple[str, str]] = {
    "text": ("文本相关度一般", "a weaker text match"),
    "field": ("技术领域不同", "a different field"),
    "keywords": ("关键词重合少", "few shared keywords"),
    "maturity": ("成熟度不符", "maturity outside the window"),
    "ip": ("知识产权状态不符", "IP status not acceptable"),
    "mode": ("合作方式不符", "cooperation mode differs"),
    "region": ("不在优先地区", "outside the preferred regions"),
    "price": ("报价高于预算", "priced above budget"),
    "chain": ("产业链环节较远", "a distant link of the chain"),
    "freshness": ("信息较久未更新", "not confirmed for a while"),
}


def _lowered(words: frozenset[str]) -> frozenset[str]:
    """*words* in lower case (memoised: the same candidates recur across needs)."""
    low = _LOWERED.get(words)
    if low is None:
        if len(_LOWERED) >= 50_000:
            _LOWERED.clear()
        low = _LOWERED[words] = frozenset(k.lower() for k in words)
    return low


_LOWERED: dict[frozenset[str], frozenset[str]] = {}


class _Fit:
    """A need's structured fit, prepared once and applied to each candidate of its pool.

    :meth:`values` computes each asked component inline, in `COMPONENTS` order, without
    wording notes: a batch ranks ~100 candidates a request and words the notes of the
    returned ones only (`_part`). Values, UNKNOWN (0.5) where the candidate lacks the data:

    * field, keywords: the share of the need's values the candidate has (keywords compared
      in lower case); ip, mode: 1 if the candidate has any of the accepted ones, else 0;
    * maturity: 1 inside the window, 1 − 0.35 a level too early, 1 − 0.15 a level too late
      (never below 0): an immature result cannot be bought ready (`_maturity`);
    * region: 1 − 0.2 × the rank of the first preferred region it is in (at least 0.4), 0 if
      none; price: 1 within the budget (its lowest price), else (budget / price)²;
    * chain: 1 on a stage the need names, 0.6 on a neighbouring one, else 0;
    * freshness: 0.5 ** (age in days / half-life).
    """

    __slots__ = (
        "half_life",
        "keywords",
        "names",
        "near",
        "need",
        "now",
        "regions",
        "total",
        "weights",
    )

    def __init__(
        self,
        need: Need,
        weights: Weights,
        now: datetime | None,
        neighbours: Mapping[str, frozenset[str]],
        half_life_days: float,
    ) -> None:
        w = weights.as_dict()
        self.need = need
        self.now = now
        self.half_life = half_life_days
        self.keywords = frozenset(k.lower() for k in need.keywords)
        self.near: set[str] = (
            set().union(*(neighbours.get(s, frozenset()) for s in need.chain_stages))
            if need.chain_stages
            else set()
        )
        self.regions = tuple(
            (code, max(0.4, 1.0 - 0.2 * rank)) for rank, code in enumerate(need.regions)
        )
        asked = {
            "text": True,
            "field": bool(need.fields),
            "keywords": bool(self.keywords),
            "maturity": need.maturity_min is not None or need.maturity_max is not None,
            "ip": bool(need.ip_statuses),
            "mode": bool(need.modes),
            "region": bool(need.regions),
            "price": need.budget is not None,
            "chain": bool(need.chain_stages),
            "freshness": now is not None,
        }
        self.names = tuple(name for name in COMPONENTS if asked[name])
        self.weights = tuple(w[name] for name in self.names)
        self.total = sum(self.weights) or 1.0  # sum() as before: its rounding is compensated

    def rows(
        self, pool: Sequence[Candidate], text_values: Sequence[float]
    ) -> list[tuple[float, ...]]:
        """The value of each component the need asks for (`names` order), per candidate.

        Computed a component at a time over the whole pool: one comprehension each.
        """
        need = self.need
        cols: list[list[float]] = [[float(v) for v in text_values]]
        if need.fields:
            wanted, n = need.fields, len(need.fields)
            cols.append([len(wanted & c.fields) / n if c.fields else UNKNOWN for c in pool])
        if self.keywords:
            kw, n = self.keywords, len(self.keywords)
            cols.append(
                [len(kw & _lowered(c.keywords)) / n if c.keywords else UNKNOWN for c in pool]
            )
        lo, hi = need.maturity_min, need.maturity_max
        if lo is not None or hi is not None:
            cols.append(
                [
                    UNKNOWN
                    if (m := c.maturity) is None
                    else max(0.0, 1 - 0.35 * (lo - m))
                    if lo is not None and m < lo
                    else max(0.0, 1 - 0.15 * (m - hi))
                    if hi is not None and m > hi
                    else 1.0
                    for c in pool
                ]
            )
        if need.ip_statuses:
            ips = need.ip_statuses
            cols.append(
                [
                    UNKNOWN
                    if (ip := c.ip_status) is None
                    else (1.0 if ip in ips else 0.0)
                    if isinstance(ip, str)
                    else float(_any(ips, _set(ip)) or 0.0)
                    for c in pool
                ]
            )
        if need.modes:
            modes = need.modes
            cols.append(
                [(0.0 if modes.isdisjoint(c.modes) else 1.0) if c.modes else UNKNOWN for c in pool]
            )
        if need.regions:
            ranked = self.regions
            cols.append([_region_value(ranked, c.regions) if c.regions else UNKNOWN for c in pool])
        budget = need.budget
        if budget is not None:
            cols.append(
                [
                    UNKNOWN
                    if (price := c.price_min if c.price_min is not None else c.price_max) is None
                    else 1.0
                    if price <= budget
                    else float(max(0.0, budget / price) ** 2 or 0.0)
                    for c in pool
                ]
            )
        if need.chain_stages:
            stages, near = need.chain_stages, self.near
            cols.append(
                [
                    UNKNOWN
                    if not (offered := c.chain_stages)
                    else 1.0
                    if not stages.isdisjoint(offered)
                    else 0.0
                    if near.isdisjoint(offered)
                    else 0.6
                    for c in pool
                ]
            )
        now = self.now
        if now is not None:
            life = self.half_life
            cols.append(
                [
                    UNKNOWN
                    if (updated := c.updated_at) is None
                    else float(0.5 ** (max(0.0, (now - updated).total_seconds() / 86400) / life))
                    or 0.0
                    for c in pool
                ]
            )
        return list(zip(*cols, strict=True))


def _part(need: Need, cand: Candidate, name: str, value: float, weight: float) -> _Part:
    """A component's fields with its notes (worded only for the matches returned)."""
    if name == "maturity":
        mat = _maturity(need, cand)
        assert mat is not None
        return (name, value, weight, mat[1], mat[2])
    zh, en = _NOTES[name] if value >= 0.6 else _WEAK_NOTES[name]
    if value == UNKNOWN and name != "text":
        zh, en = "信息不全", "not stated"
    return (name, value, weight, zh, en)


def _by_contribution(c: Component) -> float:
    return -c.contribution


def _by_weight(c: Component) -> float:
    return -c.weight


def _reason(components: Sequence[Component]) -> tuple[str, str]:
    strong = [c for c in components if c.value >= 0.6 and c.weight > 0]
    if len(strong) > 1:
        strong.sort(key=_by_contribution)  # stable, as sorted() was
        del strong[2:]
    weak = [c for c in components if c.value < 0.3 and c.weight > 0 and c.name != "text"]
    if weak:
        weak = [min(weak, key=_by_weight)]  # the first of the largest weight: sorted()[:1]
    if strong:
        zh = "推荐理由：" + "，".join(c.note_zh for c in strong)
        en = "Suggested because of " + " and ".join(c.note_en for c in strong)
    else:
        zh = "推荐理由：与需求部分相关"
        en = "Suggested as a partial match"
    if weak:
        zh += f"；但{weak[0].note_zh}"
        en += f"; but {weak[0].note_en}"
    return zh + "。", en + "."


def rank_candidates(
    need: Need,
    candidates: Iterable[Candidate],
    *,
    weights: Weights | None = None,
    now: datetime | None = None,
    chain_neighbours: Mapping[str, frozenset[str]] | None = None,
    freshness_half_life_days: float = 180.0,
    limit: int | None = None,
) -> list[Match]:
    """Score and sort *candidates* for *need*, best first, each with components and reasons.

    Text scores are made comparable by dividing by the best one among the candidates; ties
    keep the text order. ``now`` enables the freshness component. ``limit`` returns only the
    best *limit* (and words the reasons of those only).
    """
    pool = list(candidates)
    fit = _Fit(need, weights or Weights(), now, chain_neighbours or {}, freshness_half_life_days)
    return _rank(fit, pool, [c.text_score for c in pool], limit, rescored=False)


def _rank(
    fit: _Fit,
    pool: Sequence[Candidate],
    scores: Sequence[float],
    limit: int | None,
    *,
    rescored: bool,
) -> list[Match]:
    """`rank_candidates` with the text score of ``pool[i]`` given as ``scores[i]``.

    ``rescored``: the candidates' own ``text_score`` is not theirs here (shared candidates
    of the matcher's cache); the returned ones are rebuilt with their score.
    """
    best = max(scores, default=0.0)
    weights, total = fit.weights, fit.total
    rows = fit.rows(pool, [s / best if best > 0 else 0.0 for s in scores])
    neg = [-(sum(map(mul, values, weights)) / total) for values in rows]
    order = sorted(range(len(pool)), key=neg.__getitem__)  # stable: ties keep the text order
    if limit is not None:
        order = order[: max(0, limit)]
    out = []
    need, names = fit.need, fit.names
    for i in order:  # notes and Component objects only for what is returned
        cand = pool[i]
        if rescored:
            cand = _with_score(cand, scores[i])
        comps = []
        for name, value, weight in zip(names, rows[i], weights, strict=True):
            if name in _UNSHARED:
                comps.append(Component(*_part(need, cand, name, value, weight)))
                continue
            key = (name, value, weight)
            comp = _SHARED.get(key)
            if comp is None:
                comp = Component(*_part(need, cand, name, value, weight))
                if len(_SHARED) >= 10_000:
                    _SHARED.clear()
                _SHARED[key] = comp
            comps.append(comp)
        done = tuple(comps)
        out.append(Match(cand, -neg[i], done, *_reason(done)))
    return out


def _region_value(ranked: Sequence[tuple[str, float]], offered: frozenset[str]) -> float:
    """The value of the first preferred region (best first) the candidate is in, else 0."""
    for code, value in ranked:
        if code in offered:
            return float(value)
    return 0.0


# Components whose notes follow from name and value alone recur across matches: they are
# built once (immutable, so shared). Text and freshness values rarely recur; maturity's
# note names the candidate's level.
_SHARED: dict[tuple[str, float, float], Component] = {}
_UNSHARED = frozenset({"text", "freshness", "maturity"})


def _with_score(c: Candidate, score: float) -> Candidate:
    """*c* with another text score (as dataclasses.replace, several times faster)."""
    return Candidate(
        c.id,
        score,
        c.title,
        c.fields,
        c.keywords,
        c.maturity,
        c.ip_status,
        c.modes,
        c.regions,
        c.price_min,
        c.price_max,
        c.chain_stages,
        c.updated_at,
    )


# -- retrieval -------------------------------------------------------------------------------


def _set(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(map(str, value))


def candidate_from_hit(hit: Hit) -> Candidate:
    """Read a candidate from a hit whose stored fields use the conventional names.

    ``title``, ``fields``, ``keywords``, ``maturity``, ``ip_status``, ``modes``, ``regions``,
    ``price_min``, ``price_max``, ``chain_stages``, ``updated_at`` (ISO 8601 or epoch seconds).
    """
    get = hit.doc.get
    updated = get("updated_at")
    updated_at: datetime | None = None
    if isinstance(updated, str):
        updated_at = datetime.fromisoformat(updated)
    elif isinstance(updated, int | float):
        updated_at = datetime.fromtimestamp(updated).astimezone()
    maturity = get("maturity")
    ip_status = get("ip_status")
    price_min = get("price_min")
    price_max = get("price_max")
    return Candidate(  # positional: the fields' order (a batch reads thousands)
        hit.id,
        hit.score,
        str(get("title", "")),
        _set(get("fields")),
        _set(get("keywords")),
        None if maturity is None else int(maturity),
        None if ip_status is None else str(ip_status),
        _set(get("modes")),
        _set(get("regions")),
        None if price_min is None else float(price_min),
        None if price_max is None else float(price_max),
        _set(get("chain_stages")),
        updated_at,
    )


@dataclass(slots=True)
class Matcher:
    """Retrieve candidates for a need from an index, then rank them with structured fit.

    Build the index with ``ranking=MATCH_RANKING`` for the measured matching quality.
    """

    index: SearchIndex
    weights: Weights = field(default_factory=Weights)
    to_candidate: Callable[[Hit], Candidate] = candidate_from_hit
    chain_neighbours: Mapping[str, frozenset[str]] = field(default_factory=dict)
    pool: int = 200
    _known: dict[str, tuple[dict[str, Any], Candidate]] = field(
        default_factory=dict, init=False, repr=False
    )

    def match(
        self,
        need: Need,
        *,
        filters: Filters | None = None,
        limit: int = 20,
        now: datetime | None = None,
    ) -> list[Match]:
        """Return the best *limit* matches for *need*, each explained."""
        fit = _Fit(need, self.weights, now, self.chain_neighbours, 180.0)
        size = max(limit, self.pool)
        if not self.index.doc_cache or self.to_candidate is not candidate_from_hit:
            page = self.index.search(
                need.text, filters=filters, limit=size, highlight_width=None, count=False
            )
            pool = [self.to_candidate(h) for h in page.hits]
            return _rank(fit, pool, [c.text_score for c in pool], limit, rescored=False)
        # With the index's doc_cache on, each document is read once: a hit whose doc is the
        # very dict a candidate was read from (the index shares decoded documents while they
        # are unchanged) reuses that candidate, whatever score it was read with (the ranking
        # takes the hits' scores). Only for candidate_from_hit, which reads nothing else.
        known = self._known
        cands: list[Candidate] = []
        scores: list[float] = []
        for doc_id, score, doc in self.index.search_docs(need.text, filters=filters, limit=size):
            entry = known.get(doc_id)
            if entry is not None and entry[0] is doc:
                cands.append(entry[1])
            else:
                cand = candidate_from_hit(Hit(doc_id, score, doc))
                if len(known) >= self.index.doc_cache:
                    known.clear()
                known[doc_id] = (doc, cand)
                cands.append(cand)
            scores.append(score)
        return _rank(fit, cands, scores, limit, rescored=True)

    def match_many(
        self,
        needs: Iterable[Need],
        *,
        filters: Filters | None = None,
        limit: int = 20,
        now: datetime | None = None,
        processes: int = 1,
        chunk_size: int = 32,
    ) -> Iterator[list[Match]]:
        """Yield the matches of each need, in order (a batch such as a nightly recompute).

        With ``processes`` > 1 the needs are matched in that many worker processes, each
        opening the index read-only with its own searcher (tantivy and the Python ranking
        both run on one core per query). Results stream back in order as chunks complete, so
        the caller can store them meanwhile. ``to_candidate`` must then be picklable (a
        module-level function).
        """
        if processes <= 1:
            for need in needs:
                yield self.match(need, filters=filters, limit=limit, now=now)
            return
        index = self.index
        settings = (
            str(index.path),
            index.doc_type,
            index.ranking,
            self.weights,
            self.to_candidate,
            dict(self.chain_neighbours),
            self.pool,
        )
        context = multiprocessing.get_context("spawn")  # no fork of tantivy's threads
        chunks = _chunks(iter(needs), chunk_size)
        with ProcessPoolExecutor(
            max_workers=processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=settings,
        ) as executor:
            # A few chunks in flight per worker: needs are read and results handed back
            # as they go, so neither piles up in memory on a batch of 100,000.
            pending: deque[Future[list[list[Match]]]] = deque()
            for chunk in chunks:
                pending.append(executor.submit(_match_chunk, (chunk, filters, limit, now)))
                if len(pending) >= 4 * processes:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()


_worker: Matcher | None = None

WORKER_DOC_CACHE = 50_000
"""Decoded documents (and candidates) a `match_many` worker keeps: popular ones recur."""

WORKER_GC_THRESHOLD = 50_000
"""Allocations between two young-generation collections in a `match_many` worker."""


def _init_worker(
    path: str,
    doc_type: DocType,
    ranking: Ranking,
    weights: Weights,
    to_candidate: Callable[[Hit], Candidate],
    chain_neighbours: Mapping[str, frozenset[str]],
    pool: int,
) -> None:
    global _worker
    # The worker only matches; its caches hold ~10⁵ long-lived objects, which the default
    # thresholds would have the cyclic collector walk again and again as new documents are
    # decoded (≈ a tenth of the CPU on a corpus where most pages are new). Cycles are still
    # collected, less often.
    gc.set_threshold(WORKER_GC_THRESHOLD, 10, 10)
    index = SearchIndex(path, doc_type, ranking=ranking, doc_cache=WORKER_DOC_CACHE)
    _worker = Matcher(index, weights, to_candidate, chain_neighbours, pool)


def _match_chunk(
    job: tuple[list[Need], Filters | None, int, datetime | None],
) -> list[list[Match]]:
    needs, filters, limit, now = job
    assert _worker is not None, "worker not initialised"
    return [_worker.match(n, filters=filters, limit=limit, now=now) for n in needs]


def _chunks(items: Iterator[Need], size: int) -> Iterator[list[Need]]:
    while chunk := list(islice(items, max(1, size))):
        yield chunk


# -- learning from feedback ------------------------------------------------------------------

DECLINE_REASONS: dict[str, tuple[str, ...]] = {
    "not_relevant": ("text", "keywords", "field"),
    "field": ("field",),
    "too_early": ("maturity",),
    "too_late": ("maturity",),
    "maturity": ("maturity",),
    "ip": ("ip",),
    "mode": ("mode",),
    "region": ("region",),
    "price": ("price",),
    "chain": ("chain",),
    "stale": ("freshness",),
}
"""Decline reason code → the components it speaks about."""


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """One reaction to a proposed match: its component values and the outcome."""

    outcome: Literal["accepted", "declined"]
    components: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None


def adjust_weights(
    weights: Weights,
    events: Iterable[FeedbackEvent],
    *,
    rate: float = 0.1,
    floor: float = 0.01,
) -> Weights:
    """Return new weights nudged by feedback, keeping their sum.

    An accepted match raises the weights of the components that were strong in it (value
    ≥ 0.6), in proportion to their value. A decline with a reason lowers the weight of the
    component(s) that reason names: they vouched for a match the user turned down. When the
    event shows that component had already flagged the problem (value < 0.5), the decline
    confirms it instead, and its weight goes up.
    """
    current = weights.as_dict()
    total = sum(current.values())
    for ev in events:
        if ev.outcome == "accepted":
            for name, value in ev.components.items():
                if name in current and value >= 0.6:
                    current[name] *= 1 + rate * value
        elif ev.reason in DECLINE_REASONS:
            for name in DECLINE_REASONS[ev.reason]:
                shown = ev.components.get(name)
                if shown is not None and shown < 0.5:
                    current[name] *= 1 + rate
                else:
                    current[name] *= 1 - rate
        current = {k: max(floor, v) for k, v in current.items()}
        scale = total / sum(current.values())
        current = {k: v * scale for k, v in current.items()}
    return replace(weights, **current)
