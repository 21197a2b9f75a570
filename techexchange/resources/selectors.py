"""Reads of resources: catalogue search, details, calendars, bookings and utilisation."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import get_language

from techexchange.accounts.models import Organisation
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, can_user, require
from techexchange.core import clock
from techexchange.core.errors import NotFound, PermissionDenied
from techexchange.regions.selectors import list_cities, list_provinces
from techexchange.resources import freetime, indexing
from techexchange.resources.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    Category,
    Expert,
    Facility,
    Instrument,
    OpenHours,
    ResearchBase,
    ServiceMode,
    UsageRecord,
)
from techexchange.resources.profiles import blocked_spans, open_windows, outage_spans, rules_for
from techexchange.search import highlight

__all__ = [
    "FACETS",
    "SORTS",
    "Availability",
    "FreeWindow",
    "SearchResult",
    "approval_queue_for",
    "availability",
    "free_instruments",
    "get_booking_for",
    "get_facility",
    "get_holder",
    "get_instrument",
    "get_research_base",
    "import_holders_for",
    "instruments_with_free_slot",
    "list_bookings_for",
    "list_experts",
    "list_facilities",
    "list_research_bases",
    "resource_figures",
    "search_instruments",
    "utilisation",
]

FACETS = ("province", "city", "category", "mode", "availability")
SORTS = ("relevance", "distance", "price", "-price")
AVAILABILITY_LABELS = {
    "open": "对外开放",
    "internal_only": "仅内部共享",
    "out_of_service": "维修停用",
    "not_shared": "不共享",
}


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet with its label and count."""

    value: str
    label: str
    count: int


@dataclass
class SearchResult:
    """A page of instrument hits with facet counts."""

    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[FacetValue]]
    took_ms: float
    sort: str = "relevance"
    terms: list[str] = field(default_factory=list)


# Reference data (regions, categories) changes only with a migration: cache it per language.
_LABELS: dict[str, dict[str, dict[str, str]]] = {}
_COORDS: dict[str, tuple[float, float]] = {}


def _labels() -> dict[str, dict[str, str]]:
    lang = get_language() or ""
    if lang not in _LABELS:
        _LABELS[lang] = _load_labels()
    return _LABELS[lang]


def _load_labels() -> dict[str, dict[str, str]]:
    regions = {r.code: r.name for r in list_provinces()} | {c.code: c.name for c in list_cities()}
    return {
        "province": regions,
        "city": regions,
        "category": {c.code: c.name for c in Category.objects.filter(parent__isnull=True)},
        "mode": {str(v): str(label) for v, label in ServiceMode.choices},
        "availability": AVAILABILITY_LABELS,
    }


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371 * 2 * math.asin(math.sqrt(h))


def _coords() -> dict[str, tuple[float, float]]:
    if not _COORDS:
        _COORDS.update(
            {
                c.code: (float(c.latitude), float(c.longitude))
                for c in list_cities()
                if c.latitude is not None and c.longitude is not None
            }
        )
    return _COORDS


def search_instruments(
    *,
    q: str = "",
    province: list[str] | None = None,
    city: list[str] | None = None,
    category: list[str] | None = None,
    mode: list[str] | None = None,
    availability: list[str] | None = None,
    price_min: float | None = None,
    price_max: float | None = None,
    sort: str = "relevance",
    near: str = "",
    offset: int = 0,
    limit: int = 20,
    available_from: date | None = None,
    available_to: date | None = None,
    min_hours: float | None = None,
    now: datetime | None = None,
) -> SearchResult:
    """Search the catalogue across the four regions with filters, facets and sorting.

    `sort="distance"` orders by the distance of the instrument's city from city `near`
    (regions' coordinates), relevance within a city.

    With `available_from`/`available_to` (local dates, both days included) only instruments
    with a free slot of at least `min_hours` (default 1) in that window are returned: the engine
    gives the candidates, then one set-based pass over open hours, outages and bookings of all
    candidates keeps those with a gap (`instruments_with_free_slot`).
    """
    if indexing.pending_events():
        indexing.sync_index(wait_seconds=0)  # read your writes on this node
    index = indexing.get_index()
    filters: dict[str, list[str]] = {}
    for name, values in (
        ("province", province),
        ("city", city),
        ("category", category),
        ("mode", mode),
        ("availability", availability),
    ):
        if values:
            filters[name] = [v for v in values if v][:50]
    filters = {k: v for k, v in filters.items() if v}
    ranges = {}
    if price_min is not None or price_max is not None:
        ranges["price"] = (price_min, price_max)
    sort = sort if sort in SORTS else "relevance"
    coords = _coords()
    origin = coords.get(near)
    if sort == "distance" and origin is None:
        sort = "relevance"
    order = {"price": "price", "-price": "-price"}.get(sort)
    window = FreeWindow.from_dates(available_from, available_to, min_hours)
    if window is not None:
        return _search_free(
            index, q[:200], filters, ranges, sort, order, origin, coords, window,
            now=now or clock.now(), offset=offset, limit=limit,
        )  # fmt: skip
    page = index.search(
        q[:200],
        filters=filters,
        ranges=ranges,
        facets=FACETS,
        facet_size=60,
        sort=order,
        offset=0 if sort == "distance" else offset,
        limit=1 if sort == "distance" else limit,
    )
    hits_docs: list[dict[str, Any]] = []
    if sort == "distance" and origin is not None:
        hits_docs = _by_distance(index, q, filters, ranges, page, origin, coords, offset, limit)
    else:
        hits_docs = [{**h.doc, "highlights": h.highlights, "score": h.score} for h in page.hits]
    for doc in hits_docs:
        c = coords.get(doc.get("city", ""))
        doc["distance_km"] = round(_distance_km(origin, c)) if origin and c else None
    labels = _labels()
    facets = {
        name: [
            FacetValue(f.value, labels[name].get(f.value, f.value), f.count)
            for f in page.facets.get(name, [])
        ]
        for name in FACETS
    }
    return SearchResult(
        total=page.total,
        hits=hits_docs,
        facets=facets,
        took_ms=page.took_ms,
        sort=sort,
        terms=page.terms,
    )


# The availability filter checks at most this many engine candidates (best first).
FREE_CANDIDATES = 2000
MAX_WINDOW_DAYS = 62


@dataclass(frozen=True)
class FreeWindow:
    """Wanted: a free slot of at least `min_hours` within [lo, hi)."""

    lo: datetime
    hi: datetime
    min_hours: float

    @classmethod
    def from_dates(
        cls, first: date | None, last: date | None, min_hours: float | None
    ) -> FreeWindow | None:
        """The window of local days first..last (either alone means that one day)."""
        if first is None and last is None:
            return None
        first = first or last
        last = last or first
        assert first is not None and last is not None
        if last < first:
            first, last = last, first
        last = min(last, first + timedelta(days=MAX_WINDOW_DAYS - 1))
        tz = ZoneInfo(settings.TIME_ZONE)
        lo = datetime.combine(first, time(0), tzinfo=tz)
        hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
        hours = 1.0 if min_hours is None else min(max(float(min_hours), 0.0), 24.0 * 62)
        return cls(lo, hi, hours)


def instruments_with_free_slot(ids: list[int], window: FreeWindow, *, now: datetime) -> set[int]:
    """Those of `ids` with a free slot of `window.min_hours` in the window, after `now` (exact).

    Set-based: one query each for the instruments, open hours, outages, holds and bookings of all
    candidates, whatever their number. Open hours, outages and active bookings (their buffer
    after, and the instrument's buffer before, as booking checks it) count; pending requests
    whose hold ran out do not; a freed slot held for a waiting user counts as taken; shared
    areas are full only at capacity. A free slot lies inside one open period of one day; an
    instrument without open hours is open around the clock, across midnight.
    """
    lo, hi = max(window.lo, now), window.hi
    return freetime.free_exactly(ids, lo, hi, timedelta(hours=window.min_hours), now)


def free_instruments(ids: list[int], window: FreeWindow, *, now: datetime) -> set[int]:
    """`instruments_with_free_slot`, read from the free-time summary the services keep.

    Instruments the summary does not cover yet (no profile) or whose summary counts a hold
    that has ended are checked exactly.
    """
    lo, hi = max(window.lo, now), window.hi
    return freetime.free_among(ids, lo, hi, timedelta(hours=window.min_hours), now)


def _search_free(
    index: Any,
    q: str,
    filters: dict[str, list[str]],
    ranges: dict[str, Any],
    sort: str,
    order: str | None,
    origin: tuple[float, float] | None,
    coords: dict[str, tuple[float, float]],
    window: FreeWindow,
    *,
    now: datetime,
    offset: int,
    limit: int,
) -> SearchResult:
    """Search, then keep the candidates with a free slot in the window (one pass, set-based).

    The engine ranks ids only (`search_ids`: no stored document is read for the 2,000
    candidates); the total and the facets are counted over the free candidates (the engine's
    `facet_counts` over their ids), and only the page's documents are loaded and highlighted.
    Sorting by distance needs the free candidates' cities: see `_free_by_distance`.
    """
    page = index.search_ids(
        q, filters=filters, ranges=ranges, sort=order, offset=0, limit=FREE_CANDIDATES
    )
    free = free_instruments([int(h.id) for h in page.hits], window, now=now)
    kept = [h for h in page.hits if int(h.id) in free]
    kept_ids = [h.id for h in kept]
    # Facet counts over the instruments that are free, not over every engine match ("" is
    # the value of a document without one: not a facet value).
    counted = index.facet_counts(kept_ids, FACETS, size=61)
    counts = {
        name: [(f.value, f.count) for f in counted.get(name, []) if f.value][:60] for name in FACETS
    }
    if sort == "distance" and origin is not None:
        shown_hits = _free_by_distance(index, kept, origin, coords, offset, limit)
    else:
        shown_hits = kept[offset : offset + limit]
    docs = index.documents(h.id for h in shown_hits)
    shown: list[dict[str, Any]] = []
    for h in shown_hits:
        if h.id not in docs:  # deleted since the ranking: not shown
            continue
        doc = {**docs[h.id], "score": h.score}
        c = coords.get(doc.get("city", ""))
        doc["distance_km"] = round(_distance_km(origin, c)) if origin and c else None
        doc["highlights"] = {
            tf.name: highlight(doc[tf.name], page.terms, width=120)
            for tf in indexing.INSTRUMENT.text_fields
            if doc.get(tf.name)
        }
        shown.append(doc)
    labels = _labels()
    facets = {
        name: [FacetValue(value, labels[name].get(value, value), n) for value, n in counts[name]]
        for name in FACETS
    }
    return SearchResult(
        total=len(kept),
        hits=shown,
        facets=facets,
        took_ms=page.took_ms,
        sort=sort,
        terms=page.terms,
    )


def _free_by_distance(
    index: Any,
    kept: list[Any],
    origin: tuple[float, float],
    coords: dict[str, tuple[float, float]],
    offset: int,
    limit: int,
) -> list[Any]:
    """The page of *kept* (ranked id hits) by their city's distance from *origin*, rank within.

    Same order as sorting every kept hit by distance (stable): candidates whose city has no
    coordinates come last. The cities come from the engine's city counts over the kept ids; the
    members of the nearest cities are looked up (one id-restricted engine query per distance)
    only until the page is full.
    """
    kept_ids = [h.id for h in kept]
    counted = index.facet_counts(kept_ids, ["city"], size=max(1, len(kept_ids)))["city"]
    groups: dict[float, list[tuple[str, int]]] = defaultdict(list)
    for f in counted:
        if f.value in coords:
            groups[_distance_km(origin, coords[f.value])].append((f.value, f.count))
    out: list[Any] = []
    skip = offset
    for distance in sorted(groups):
        if len(out) >= limit:
            return out
        n = sum(count for _code, count in groups[distance])
        if skip >= n:
            skip -= n
            continue
        members = _members(index, kept_ids, [code for code, _n in groups[distance]])
        out += [h for h in kept if h.id in members][skip : skip + limit - len(out)]
        skip = 0
    if len(out) < limit:
        placed = _members(index, kept_ids, [code for g in groups.values() for code, _n in g])
        rest = [h for h in kept if h.id not in placed]
        out += rest[skip : skip + limit - len(out)]
    return out


def _members(index: Any, ids: list[str], cities: list[str]) -> set[str]:
    """Those of *ids* whose city is one of *cities*."""
    if not ids or not cities:
        return set()
    page = index.search_ids(filters={"city": cities}, within=ids, limit=len(ids))
    return {h.id for h in page.hits}


def _by_distance(
    index: Any,
    q: str,
    filters: dict[str, list[str]],
    ranges: dict[str, Any],
    page: Any,
    origin: tuple[float, float],
    coords: dict[str, tuple[float, float]],
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Walk the cities nearest first, taking hits from each until the page is full."""
    cities = sorted(
        ((f.value, f.count) for f in page.facets.get("city", [])),
        key=lambda vc: _distance_km(origin, coords.get(vc[0], (0.0, 180.0))),
    )
    out: list[dict[str, Any]] = []
    skip = offset
    for code, count in cities:
        if len(out) >= limit:
            break
        if skip >= count:
            skip -= count
            continue
        want = min(limit - len(out), count - skip)
        part = index.search(
            q, filters={**filters, "city": [code]}, ranges=ranges, offset=skip, limit=want
        )
        skip = 0
        out += [{**h.doc, "highlights": h.highlights, "score": h.score} for h in part.hits]
    return out


def get_instrument(pk: int) -> Instrument:
    """One instrument with what its page shows, or NotFound."""
    try:
        return Instrument.objects.select_related(
            "holder", "facility", "category__parent", "province", "city", "policy"
        ).get(pk=pk)
    except Instrument.DoesNotExist:
        raise NotFound("仪器不存在", code="not_found") from None


@dataclass(frozen=True)
class Slot:
    """One cell of the availability calendar."""

    starts_at: datetime
    ends_at: datetime
    state: str  # free, taken, closed, outage, past


@dataclass(frozen=True)
class Availability:
    """Days of slots for an instrument's calendar."""

    days: list[tuple[date, list[Slot]]]
    slot_minutes: int


def availability(
    instrument: Instrument, *, start: date, days: int, now: datetime, step_minutes: int = 60
) -> Availability:
    """The instrument's calendar from `start` for `days` days (day or week view)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    rules = rules_for(instrument)
    step = max(step_minutes, rules.slot_minutes)
    windows = open_windows(instrument)
    lo = datetime.combine(start, time(0), tzinfo=tz)
    hi = lo + timedelta(days=days)
    taken = [
        (b.starts_at, b.blocked_until or b.ends_at)
        for b in blocked_spans(instrument, lo, hi, now=now)
    ]
    outages = outage_spans(instrument, lo, hi)
    first_hour, last_hour = 8, 22
    if windows:
        first_hour = min(w.starts.hour for w in windows)
        last_hour = max(w.ends.hour + (1 if w.ends.minute else 0) for w in windows)
    out = []
    for d in range(days):
        day = start + timedelta(days=d)
        cells = []
        t = datetime.combine(day, time(first_hour), tzinfo=tz)
        end_of_day = datetime.combine(day, time(0), tzinfo=tz) + timedelta(hours=last_hour)
        while t < end_of_day:
            e = t + timedelta(minutes=step)
            if t < now:
                state = "past"
            elif windows and not any(
                w.weekday == day.weekday() and w.starts <= t.time() and e.time() <= w.ends
                for w in windows
            ):
                state = "closed"
            elif any(s < e and t < f for s, f in outages):
                state = "outage"
            elif any(s is not None and f is not None and s < e and t < f for s, f in taken):
                state = "taken"
            else:
                state = "free"
            cells.append(Slot(t, e, state))
            t = e
        out.append((day, cells))
    return Availability(days=out, slot_minutes=step)


def _target(instrument: Instrument) -> Target:
    return Target(organisation_id=instrument.holder_id, region_code=instrument.province_id)


def list_bookings_for(user: Any) -> QuerySet[Booking]:
    """The user's own bookings and orders, newest first."""
    return (
        Booking.objects.filter(user_id=getattr(user, "pk", None) or 0)
        .select_related("instrument__holder", "service")
        .order_by("-created_at", "-id")
    )


def get_booking_for(user: Any, pk: int) -> Booking:
    """A booking its owner or the holder's staff may see."""
    try:
        booking = Booking.objects.select_related("instrument__holder", "service", "user").get(pk=pk)
    except Booking.DoesNotExist:
        raise NotFound("预约不存在", code="not_found") from None
    if booking.user_id != getattr(user, "pk", None) and not can_user(
        user, Action.APPROVE_BOOKING, _target(booking.instrument)
    ):
        raise NotFound("预约不存在", code="not_found")
    return booking


def approval_queue_for(user: Any) -> QuerySet[Booking]:
    """Pending requests and orders on instruments the user's organisations hold."""
    actor = actor_for(user)
    if not actor.is_authenticated:
        raise PermissionDenied("请先登录", code="forbidden")
    qs = Booking.objects.filter(status=BookingStatus.PENDING)
    if not actor.is_operator:
        qs = qs.filter(instrument__holder_id__in=actor.member_of)
    return qs.select_related("instrument", "user", "organisation", "service").order_by(
        "hold_expires_at", "id"
    )


def list_facilities(*, kind: str = "", province: str = "") -> QuerySet[Facility]:
    """Facilities and centres, filtered by kind and province."""
    qs = Facility.objects.select_related("holder", "province", "city").annotate(
        n_instruments=Count("instruments")
    )
    if kind:
        qs = qs.filter(kind=kind)
    if province:
        qs = qs.filter(province_id=province)
    return qs.order_by("kind", "name_zh")


def get_facility(pk: int) -> Facility:
    """One facility, or NotFound."""
    try:
        return Facility.objects.select_related("holder", "province", "city", "parent").get(pk=pk)
    except Facility.DoesNotExist:
        raise NotFound("设施不存在", code="not_found") from None


def list_research_bases(*, kind: str = "", province: str = "") -> QuerySet[ResearchBase]:
    """National research bases, filtered by kind and province."""
    qs = ResearchBase.objects.select_related("holder", "province", "city")
    if kind:
        qs = qs.filter(kind=kind)
    if province:
        qs = qs.filter(province_id=province)
    return qs.order_by("name_zh")


def get_research_base(pk: int) -> ResearchBase:
    """One research base, or NotFound."""
    try:
        return ResearchBase.objects.select_related("holder", "province", "city").get(pk=pk)
    except ResearchBase.DoesNotExist:
        raise NotFound("科研基地不存在", code="not_found") from None


def list_experts(*, q: str = "", province: str = "", city: str = "") -> QuerySet[Expert]:
    """The expert directory: name, field or expertise; region."""
    qs = Expert.objects.select_related("organisation", "province", "city")
    if q:
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(fields__icontains=q)
            | Q(expertise__icontains=q)
            | Q(organisation__name_zh__icontains=q)
        )
    if province:
        qs = qs.filter(province_id=province)
    if city:
        qs = qs.filter(city_id=city)
    return qs.order_by("name", "id")


# -- utilisation ------------------------------------------------------------------------------

GROUPS = {
    "instrument": "instrument_id",
    "provider": "instrument__holder_id",
    "city": "instrument__city_id",
    "province": "instrument__province_id",
}
# Nominal open hours a week when an instrument records none (40 h: a working week).
NOMINAL_WEEKLY_HOURS = Decimal(40)


@dataclass
class Utilisation:
    """Utilisation figures of one group (an instrument, a provider, a city or a province)."""

    key: str
    label: str = ""
    instruments: int = 0
    effective_hours: Decimal = Decimal(0)
    external_hours: Decimal = Decimal(0)
    cross_province_hours: Decimal = Decimal(0)
    services: int = 0
    amount: Decimal = Decimal(0)
    open_hours: Decimal = Decimal(0)
    booked_hours: Decimal = Decimal(0)
    bookings: int = 0
    due: int = 0
    no_shows: int = 0
    late_cancels: int = 0
    rating_sum: int = 0
    ratings: int = 0

    @property
    def share_rate(self) -> Decimal | None:
        """External ÷ effective hours."""
        return _ratio(self.external_hours, self.effective_hours)

    @property
    def fill(self) -> Decimal | None:
        """Booked hours ÷ open hours."""
        return _ratio(self.booked_hours, self.open_hours)

    @property
    def no_show_rate(self) -> Decimal | None:
        """No-shows ÷ bookings that came due (completed or no-show)."""
        return _ratio(Decimal(self.no_shows), Decimal(self.due))

    @property
    def late_cancel_rate(self) -> Decimal | None:
        """Late cancellations ÷ bookings made for the period."""
        return _ratio(Decimal(self.late_cancels), Decimal(self.bookings))

    @property
    def satisfaction(self) -> Decimal | None:
        """Mean rating (1–5)."""
        return _ratio(Decimal(self.rating_sum), Decimal(self.ratings), places="0.01")


def _ratio(a: Decimal, b: Decimal, places: str = "0.0001") -> Decimal | None:
    return (a / b).quantize(Decimal(places)) if b else None


def _weekly_open_hours(instrument_ids: list[int]) -> dict[int, Decimal]:
    hours: dict[int, Decimal] = defaultdict(Decimal)
    for h in OpenHours.objects.filter(instrument_id__in=instrument_ids):
        span = datetime.combine(date.min, h.closes) - datetime.combine(date.min, h.opens)
        hours[h.instrument_id] += Decimal(span.total_seconds()) / Decimal(3600)
    return hours


def utilisation(
    *,
    group_by: str,
    start: datetime,
    end: datetime,
    user: Any = None,
    holder_id: int | None = None,
) -> list[Utilisation]:
    """Utilisation per instrument, provider, city or province over [start, end).

    Hours come from the service records (usage); fill, no-show and late-cancel rates from the
    bookings whose slot starts in the period. A provider sees its own instruments only.
    """
    if group_by not in GROUPS:
        raise NotFound("未知的分组", code="unknown_group")
    actor = actor_for(user)
    if holder_id is not None:
        require(user, Action.VIEW_UTILISATION, Target(organisation_id=holder_id))
    elif not (actor.is_operator or "analyst" in actor.platform_roles):
        raise PermissionDenied("没有查看利用率的权限", code="forbidden")
    key = GROUPS[group_by]
    instruments = Instrument.objects.all()
    if holder_id is not None:
        instruments = instruments.filter(holder_id=holder_id)
    inst_rows = list(instruments.values("pk", "holder_id", "city_id", "province_id"))
    group_of = {
        r["pk"]: str(
            {
                "instrument": r["pk"],
                "provider": r["holder_id"],
                "city": r["city_id"],
                "province": r["province_id"],
            }[group_by]
        )
        for r in inst_rows
    }
    out: dict[str, Utilisation] = {}

    def row(k: str) -> Utilisation:
        if k not in out:
            out[k] = Utilisation(key=k)
        return out[k]

    weeks = Decimal((end - start).total_seconds()) / Decimal(7 * 24 * 3600)
    weekly = _weekly_open_hours(list(group_of))
    for pk, k in group_of.items():
        r = row(k)
        r.instruments += 1
        r.open_hours += weekly.get(pk, NOMINAL_WEEKLY_HOURS) * weeks
    usage = UsageRecord.objects.filter(
        started_at__gte=start, started_at__lt=end, instrument_id__in=list(group_of)
    )
    for u in usage.values(key).annotate(
        t_hours=Sum("hours"),
        t_ext=Sum("hours", filter=Q(is_external=True)),
        t_cross=Sum("hours", filter=Q(is_cross_province=True)),
        t_n=Count("id"),
        t_amount=Sum("amount"),
        t_rating_sum=Sum("satisfaction"),
        t_ratings=Count("satisfaction"),
    ):
        r = row(str(u[key]))
        r.effective_hours = u["t_hours"] or Decimal(0)
        r.external_hours = u["t_ext"] or Decimal(0)
        r.cross_province_hours = u["t_cross"] or Decimal(0)
        r.services = u["t_n"]
        r.amount = u["t_amount"] or Decimal(0)
        r.rating_sum = u["t_rating_sum"] or 0
        r.ratings = u["t_ratings"]
    bookings = Booking.objects.filter(
        kind="slot", starts_at__gte=start, starts_at__lt=end, instrument_id__in=list(group_of)
    ).exclude(status=BookingStatus.MOVED)
    for b in bookings.values("instrument_id", "status", "late_cancel", "starts_at", "ends_at"):
        r = row(group_of[b["instrument_id"]])
        r.bookings += 1
        s_at, e_at = b["starts_at"], b["ends_at"]
        if b["status"] in ("completed", "checked_in", "confirmed") and s_at and e_at:
            r.booked_hours += Decimal((e_at - s_at).total_seconds()) / 3600
        if b["status"] in ("completed", "no_show"):
            r.due += 1
        r.no_shows += b["status"] == "no_show"
        r.late_cancels += bool(b["late_cancel"])
    for r in out.values():
        r.open_hours = r.open_hours.quantize(Decimal("0.01"))
        r.booked_hours = r.booked_hours.quantize(Decimal("0.01"))
    _label(out, group_by)
    return sorted(out.values(), key=lambda r: (-r.effective_hours, r.key))


def _label(rows: dict[str, Utilisation], group_by: str) -> None:
    from techexchange.accounts.models import Organisation

    if group_by == "instrument":
        names = dict(
            Instrument.objects.filter(pk__in=[int(k) for k in rows]).values_list("pk", "name_zh")
        )
        for r in rows.values():
            r.label = names.get(int(r.key), r.key)
    elif group_by == "provider":
        names = dict(
            Organisation.objects.filter(pk__in=[int(k) for k in rows]).values_list("pk", "name_zh")
        )
        for r in rows.values():
            r.label = names.get(int(r.key), r.key)
    else:
        regions = {c.code: c.name for c in list_cities()} | {
            p.code: p.name for p in list_provinces()
        }
        for r in rows.values():
            r.label = regions.get(r.key, r.key)


def resource_figures() -> dict[str, int]:
    """Live counts for the home page."""
    return {
        "facilities": Facility.objects.filter(kind="major").count(),
        "centres": Facility.objects.exclude(kind="major").count(),
        "instruments": Instrument.objects.count(),
        "research_bases": ResearchBase.objects.count(),
        "experts": Expert.objects.count(),
        "bookings": Booking.objects.filter(status__in=ACTIVE_STATUSES).count(),
    }


def import_holders_for(user: Any) -> tuple[list[Organisation], bool]:
    """The organisations `user` may import instruments for, and whether any holder is open."""
    actor = actor_for(user)
    holders = list(Organisation.objects.filter(pk__in=actor.admin_of).order_by("pk"))
    return holders, actor.is_operator


def get_holder(pk: int) -> Organisation | None:
    """An organisation that may hold instruments, or None."""
    return Organisation.objects.filter(pk=pk).first()
