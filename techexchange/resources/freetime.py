"""Free time per instrument and local day: what the availability filter reads.

The exact check (`free_exactly`) reads an instrument's open hours, outages, wait-list holds and
bookings and sweeps them. Doing that for 2,000 search candidates costs 80-150 ms, so the
services keep a summary of it, inside the transaction of every change:

* `FreeTimeProfile` (one per instrument): bookable or not, and the weekly open hours. Its
  presence also says "this instrument's day rows are complete".
* `FreeDay` (one per instrument and local day *on which something takes time*): the free runs
  of that day inside its open periods. A day without a row is free during all its open hours,
  so the table holds only days with bookings, outages or holds (no rolling horizon to fill).

The meaning is the exact check's, unchanged: a free slot lies inside one open period of one
day (open hours never join across midnight); an instrument without open hours is open around
the clock, and there a free run may span several days. Runs are stored to the second (a run's
start rounded up, its end down). A row counting a hold that ends (a pending request's
`hold_expires_at`, a wait-list `hold_until`) carries `stale_at`; from then on that instrument is
checked exactly until the job that ends the hold rewrites the row.

Writers take the instrument's row lock first (`lock`), so two transactions never recompute the
same day from snapshots that miss each other's booking (PostgreSQL, READ COMMITTED); SQLite has
one writer at a time anyway.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from techexchange.resources.models import (
    ACTIVE_STATUSES,
    BOOKABLE_STATES,
    Booking,
    FreeDay,
    FreeTimeProfile,
    Instrument,
    OpenHours,
    Outage,
    WaitlistEntry,
)

__all__ = [
    "Calendar",
    "blocked",
    "free_among",
    "free_exactly",
    "free_runs",
    "load",
    "lock",
    "longest_gap",
    "open_spans",
    "rebuild",
    "refresh",
    "refresh_instrument",
]

Span = tuple[datetime, datetime]
Pattern = tuple[tuple[int, time, time], ...]
# A hold that stops counting at its expiry (None: never by itself).
Held = tuple[datetime, datetime, datetime | None]
_EPOCH = datetime(1970, 1, 1)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# -- the sweep (pure) ------------------------------------------------------------------------


def open_spans(pattern: Iterable[tuple[int, time, time]], lo: datetime, hi: datetime) -> list[Span]:
    """The open periods within [lo, hi): weekly windows per local day, or all of it."""
    windows = list(pattern)
    if not windows:
        return [(lo, hi)]
    tz = _tz()
    out: list[Span] = []
    day = lo.astimezone(tz).date()
    while datetime.combine(day, time(0), tzinfo=tz) < hi:
        for weekday, opens, closes in windows:
            if weekday == day.weekday():
                s = max(datetime.combine(day, opens, tzinfo=tz), lo)
                e = min(datetime.combine(day, closes, tzinfo=tz), hi)
                if s < e:
                    out.append((s, e))
        day += timedelta(days=1)
    return sorted(out)


def blocked(spans: list[Span], capacity: int) -> list[Span]:
    """Where at least `capacity` of the spans are in force (a sweep over their ends)."""
    events = sorted([(s, 1) for s, _e in spans] + [(e, -1) for _s, e in spans])
    out: list[Span] = []
    depth, since = 0, None
    for t, step in events:
        depth += step
        if depth >= capacity and since is None:
            since = t
        elif depth < capacity and since is not None:
            if since < t:
                out.append((since, t))
            since = None
    return out


def free_runs(spans: list[Span], taken: list[Span]) -> list[Span]:
    """The stretches of each open span that no taken span covers (spans never joined)."""
    out: list[Span] = []
    taken = sorted(taken)
    for s, e in spans:
        cursor = s
        for bs, be in taken:
            if be <= cursor or bs >= e:
                continue
            if bs > cursor:
                out.append((cursor, min(bs, e)))
            cursor = max(cursor, be)
            if cursor >= e:
                break
        if cursor < e:
            out.append((cursor, e))
    return out


def longest_gap(spans: list[Span], taken: list[Span]) -> timedelta:
    """The longest stretch of the open spans that no taken span covers."""
    return max((e - s for s, e in free_runs(spans, taken)), default=timedelta(0))


# -- the exact check -------------------------------------------------------------------------


@dataclass
class Calendar:
    """What takes an instrument's time near a window: all an exact check needs."""

    capacity: int
    buffer: timedelta  # before each booking (the instrument's policy)
    pattern: Pattern = ()
    closed: list[Held] = field(default_factory=list)  # outages, wait-list holds
    taken: list[Held] = field(default_factory=list)  # bookings, [start - buffer, blocked_until)


def load(ids: Iterable[int], lo: datetime, hi: datetime, now: datetime) -> dict[int, Calendar]:
    """Calendars of the bookable instruments among `ids` over [lo, hi): five queries in all.

    Pending requests whose hold ran out at `now` and wait-list holds that ended do not count.
    """
    out: dict[int, Calendar] = {
        pk: Calendar(capacity, timedelta(minutes=buffer or 0))
        for pk, capacity, buffer in Instrument.objects.filter(
            pk__in=list(ids), state__in=BOOKABLE_STATES
        ).values_list("pk", "capacity", "policy__buffer_minutes")
    }
    if not out:
        return out
    hours: dict[int, list[tuple[int, time, time]]] = defaultdict(list)
    for pk, weekday, opens, closes in OpenHours.objects.filter(instrument_id__in=out).values_list(
        "instrument_id", "weekday", "opens", "closes"
    ):
        hours[pk].append((weekday, opens, closes))
    for pk, pattern in hours.items():
        out[pk].pattern = tuple(sorted(pattern))
    for pk, s, e in Outage.objects.filter(
        instrument_id__in=out, starts_at__lt=hi, ends_at__gt=lo
    ).values_list("instrument_id", "starts_at", "ends_at"):
        out[pk].closed.append((s, e, None))
    # A freed slot held for a waiting user (wait-list policy) is not free for anyone else.
    for pk, held_from, held_to, until in WaitlistEntry.objects.filter(
        instrument_id__in=out,
        hold_until__gt=now,
        held_from__lt=hi,
        held_to__gt=lo,
        hold_closed_at__isnull=True,
    ).values_list("instrument_id", "held_from", "held_to", "hold_until"):
        if held_from is not None and held_to is not None:
            out[pk].closed.append((held_from, held_to, until))
    max_before = max(c.buffer for c in out.values())
    # Slots always carry blocked_until (= end + buffer, a constraint).
    for pk, bs, until, status, expires in (
        Booking.objects.filter(
            instrument_id__in=out,
            status__in=ACTIVE_STATUSES,
            kind="slot",
            starts_at__lt=hi + max_before,
            blocked_until__gt=lo,
        )
        .exclude(status="pending", hold_expires_at__lte=now)
        .values_list("instrument_id", "starts_at", "blocked_until", "status", "hold_expires_at")
    ):
        if bs is not None and until is not None:
            cal = out[pk]
            cal.taken.append((bs - cal.buffer, until, expires if status == "pending" else None))
    return out


def _blocked_of(cal: Calendar) -> list[Span]:
    return [(s, e) for s, e, _x in cal.closed] + blocked(
        [(s, e) for s, e, _x in cal.taken], cal.capacity
    )


def free_exactly(
    ids: Iterable[int], lo: datetime, hi: datetime, need: timedelta, now: datetime
) -> set[int]:
    """Those of `ids` with a free stretch of `need` inside one open span of [lo, hi)."""
    if hi - lo < need:
        return set()
    free = set()
    # Instruments mostly share a few weekly patterns: lay each out over the window once.
    laid_out: dict[Pattern, list[Span]] = {}
    for pk, cal in load(ids, lo, hi, now).items():
        if cal.pattern not in laid_out:
            laid_out[cal.pattern] = open_spans(cal.pattern, lo, hi)
        if longest_gap(laid_out[cal.pattern], _blocked_of(cal)) >= need:
            free.add(pk)
    return free


# -- keeping the summary ---------------------------------------------------------------------


def lock(instrument_id: int) -> None:
    """Take the instrument's row lock: writers of its calendar go one at a time (PostgreSQL).

    Called first in each transaction that changes the calendar, so that the lock order is
    always the instrument, then its bookings; on SQLite the single writer lock does this.
    """
    if connection.vendor == "postgresql":
        Instrument.objects.select_for_update().filter(pk=instrument_id).values_list("pk").first()


def _seconds(t: datetime, midnight: datetime, up: bool) -> int:
    x = (t - midnight).total_seconds()
    return math.ceil(x) if up else math.floor(x)


def _hours_text(pattern: Pattern) -> str:
    return ";".join(
        f"{w}:{o.hour * 3600 + o.minute * 60 + o.second}-{c.hour * 3600 + c.minute * 60 + c.second}"
        for w, o, c in pattern
    )


def _day_row(pk: int, cal: Calendar, day: date) -> FreeDay | None:
    """The row of one day, or None when nothing takes time inside its open periods."""
    tz = _tz()
    d0 = datetime.combine(day, time(0), tzinfo=tz)
    d1 = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    spans = open_spans(cal.pattern, d0, d1)
    closed = [x for x in cal.closed if x[0] < d1 and x[1] > d0]
    taken = [x for x in cal.taken if x[0] < d1 and x[1] > d0]
    day_cal = Calendar(cal.capacity, cal.buffer, cal.pattern, closed, taken)
    runs = free_runs(spans, _blocked_of(day_cal))
    if runs == spans:
        return None
    secs = [(_seconds(s, d0, True), _seconds(e, d0, False)) for s, e in runs]
    secs = [(s, e) for s, e in secs if s < e]
    expiries = [x[2] for x in closed + taken if x[2] is not None]
    return FreeDay(
        instrument_id=pk,
        day=day,
        longest=max((e - s for s, e in secs), default=0),
        runs=",".join(f"{s}-{e}" for s, e in secs),
        stale_at=min(expiries) if expiries else None,
    )


def _write_days(pk: int, cal: Calendar | None, days: list[date]) -> None:
    FreeDay.objects.filter(instrument_id=pk, day__in=days).delete()
    if cal is None:
        return
    rows = [row for day in days if (row := _day_row(pk, cal, day)) is not None]
    FreeDay.objects.bulk_create(rows)


def _days(lo: datetime, hi: datetime) -> list[date]:
    """Local days meeting [lo, hi), one more on each side (buffers reach across midnight)."""
    tz = _tz()
    first = lo.astimezone(tz).date() - timedelta(days=1)
    last = hi.astimezone(tz).date() + timedelta(days=1)
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def refresh(instrument_id: int, lo: datetime, hi: datetime, *, now: datetime) -> None:
    """Recompute the days of an instrument that [lo, hi) touches, in the writer's transaction."""
    if not FreeTimeProfile.objects.filter(instrument_id=instrument_id).exists():
        refresh_instrument(instrument_id, now=now)
        return
    days = _days(lo, hi)
    tz = _tz()
    d0 = datetime.combine(days[0], time(0), tzinfo=tz)
    d1 = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=tz)
    _write_days(instrument_id, load([instrument_id], d0, d1, now).get(instrument_id), days)


def refresh_instrument(instrument_id: int, *, now: datetime) -> None:
    """Recompute an instrument's profile and every future day something takes (state, hours)."""
    rebuild(now=now, ids=[instrument_id])


def _touched(ids: list[int], since: datetime, now: datetime) -> dict[int, set[date]]:
    """Per instrument, the local days after `since` on which something may take time."""
    out: dict[int, set[date]] = defaultdict(set)
    spans: list[tuple[int, datetime, datetime]] = []
    spans += Outage.objects.filter(instrument_id__in=ids, ends_at__gt=since).values_list(
        "instrument_id", "starts_at", "ends_at"
    )
    spans += [
        (pk, s, e)
        for pk, s, e in WaitlistEntry.objects.filter(
            instrument_id__in=ids, hold_until__gt=now, hold_closed_at__isnull=True
        ).values_list("instrument_id", "held_from", "held_to")
        if s is not None and e is not None
    ]
    spans += [
        (pk, s, e)
        for pk, s, e in Booking.objects.filter(
            instrument_id__in=ids,
            status__in=ACTIVE_STATUSES,
            kind="slot",
            blocked_until__gt=since,
        ).values_list("instrument_id", "starts_at", "blocked_until")
        if s is not None and e is not None
    ]
    floor = since.astimezone(_tz()).date()
    for pk, s, e in spans:
        for day in _days(max(s, since), e):
            if day >= floor:
                out[pk].add(day)
    return out


def rebuild(*, now: datetime, ids: list[int] | None = None, batch: int = 2000) -> int:
    """Recompute profiles and day rows from today on (all instruments, or `ids`); return rows."""
    tz = _tz()
    since = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    if ids is None:
        FreeDay.objects.all().delete()  # days gone by are never read again
        FreeTimeProfile.objects.all().delete()
        every = list(Instrument.objects.order_by("pk").values_list("pk", flat=True))
    else:
        every = sorted(ids)
        FreeDay.objects.filter(instrument_id__in=every, day__gte=since.date()).delete()
        FreeTimeProfile.objects.filter(instrument_id__in=every).delete()
    written = 0
    for k in range(0, len(every), batch):
        chunk = every[k : k + batch]
        touched = _touched(chunk, since, now)
        hi = max(
            (datetime.combine(max(d), time(0), tzinfo=tz) for d in touched.values() if d),
            default=since,
        ) + timedelta(days=1)
        cals = load(chunk, since - timedelta(days=1), hi, now)
        rows = [
            row
            for pk, days in touched.items()
            if pk in cals
            for day in sorted(days)
            if (row := _day_row(pk, cals[pk], day)) is not None
        ]
        FreeDay.objects.bulk_create(rows, batch_size=5000)
        written += len(rows)
        bookable = set(
            Instrument.objects.filter(pk__in=chunk, state__in=BOOKABLE_STATES).values_list(
                "pk", flat=True
            )
        )
        patterns: dict[int, list[tuple[int, time, time]]] = defaultdict(list)
        for pk, weekday, opens, closes in OpenHours.objects.filter(
            instrument_id__in=chunk
        ).values_list("instrument_id", "weekday", "opens", "closes"):
            patterns[pk].append((weekday, opens, closes))
        FreeTimeProfile.objects.bulk_create(
            [
                FreeTimeProfile(
                    instrument_id=pk,
                    bookable=pk in bookable,
                    hours=_hours_text(tuple(sorted(patterns.get(pk, [])))),
                )
                for pk in chunk
            ],
            batch_size=5000,
        )
    return written


# -- the fast check --------------------------------------------------------------------------

_WEEK: dict[str, tuple[list[list[tuple[int, int]]], list[int]]] = {}


def _week(hours: str) -> tuple[list[list[tuple[int, int]]], list[int]]:
    """Per weekday the open periods in seconds, and the longest of each (cached per text)."""
    if hours not in _WEEK:
        days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for part in hours.split(";"):
            weekday, _sep, rest = part.partition(":")
            s, _sep, e = rest.partition("-")
            days[int(weekday)].append((int(s), int(e)))
        for d in days:
            d.sort()
        _WEEK[hours] = (days, [max((e - s for s, e in d), default=0) for d in days])
    return _WEEK[hours]


def _parse(runs: str) -> list[tuple[int, int]]:
    out = []
    for part in runs.split(","):
        if part:
            s, _sep, e = part.partition("-")
            out.append((int(s), int(e)))
    return out


def _ids_clause(ids: list[int]) -> tuple[str, Any]:
    if connection.vendor == "postgresql":
        return "= ANY(%s)", ids
    return "IN (SELECT value FROM json_each(%s))", "[" + ",".join(map(str, ids)) + "]"


def free_among(
    ids: list[int], lo: datetime, hi: datetime, need: timedelta, now: datetime
) -> set[int]:
    """`free_exactly`, read from the summary: two indexed queries whatever the window.

    [lo, hi) runs from a local midnight (or `now` within the first day) to a local midnight.
    Instruments without a profile, or with a row whose hold has ended, are checked exactly.
    """
    if not ids or hi - lo < need:
        return set()
    tz = _tz()
    first = lo.astimezone(tz).date()
    n_days = (hi.astimezone(tz).date() - first).days
    midnight = datetime.combine(first, time(0), tzinfo=tz)
    cut = _seconds(lo, midnight, True)
    need_s = need.total_seconds()
    op, param = _ids_clause(ids)
    ops = connection.ops
    offset = (
        "(day - %s::date)"
        if connection.vendor == "postgresql"
        else "CAST(julianday(day) - julianday(%s) AS INTEGER)"
    )
    # Only constants are formatted into the SQL; every value is a parameter.
    profile_table = connection.ops.quote_name(FreeTimeProfile._meta.db_table)
    day_table = connection.ops.quote_name(FreeDay._meta.db_table)
    sql_profiles = f"SELECT instrument_id, bookable, hours FROM {profile_table}"  # noqa: S608
    sql_profiles += f" WHERE instrument_id {op}"
    sql_days = f"SELECT instrument_id, {offset}, longest, runs,"
    sql_days += f" CASE WHEN stale_at <= %s THEN 1 ELSE 0 END FROM {day_table}"
    sql_days += f" WHERE instrument_id {op} AND day >= %s AND day < %s"
    with connection.cursor() as cur:
        cur.execute(sql_profiles, [param])
        profiles = {pk: (bool(b), h) for pk, b, h in cur.fetchall()}
        cur.execute(
            sql_days,
            [
                ops.adapt_datefield_value(first),
                ops.adapt_datetimefield_value(now),
                param,
                ops.adapt_datefield_value(first),
                ops.adapt_datefield_value(first + timedelta(days=n_days)),
            ],
        )
        rows: dict[int, dict[int, tuple[int, str]]] = defaultdict(dict)
        stale: set[int] = set()
        for pk, k, longest, runs, is_stale in cur.fetchall():
            rows[pk][int(k)] = (longest, runs)
            if is_stale:
                stale.add(pk)
    free: set[int] = set()
    exact: list[int] = []
    day_len = [
        _seconds(
            datetime.combine(first + timedelta(days=k + 1), time(0), tzinfo=tz),
            datetime.combine(first + timedelta(days=k), time(0), tzinfo=tz),
            False,
        )
        for k in range(n_days)
    ]
    w0 = first.weekday()
    for pk in ids:
        profile = profiles.get(pk)
        if profile is None or pk in stale:
            exact.append(pk)
            continue
        bookable, hours = profile
        if not bookable:
            continue
        mine = rows.get(pk, {})
        if hours:
            found = _fits_open_hours(hours, mine, n_days, w0, cut, need_s)
        else:
            found = _fits_around_the_clock(mine, n_days, day_len, cut, need_s)
        if found:
            free.add(pk)
    if exact:
        free |= free_exactly(exact, lo, hi, need, now)
    return free


def _fits_open_hours(
    hours: str, mine: dict[int, tuple[int, str]], n_days: int, w0: int, cut: int, need: float
) -> bool:
    periods, longest = _week(hours)
    for k in range(n_days):
        row = mine.get(k)
        if k == 0 and cut > 0:
            runs = _parse(row[1]) if row else periods[w0]
            if max((e - max(s, cut) for s, e in runs), default=0) >= need:
                return True
        elif row is not None:
            if row[0] >= need:
                return True
        elif longest[(w0 + k) % 7] >= need:
            return True
    return False


def _fits_around_the_clock(
    mine: dict[int, tuple[int, str]], n_days: int, day_len: list[int], cut: int, need: float
) -> bool:
    carry = 0  # the free run reaching the end of the previous day
    for k in range(n_days):
        start = cut if k == 0 else 0
        row = mine.get(k)
        runs = _parse(row[1]) if row is not None else [(0, day_len[k])]
        after = 0
        for s, e in runs:
            s = max(s, start)
            if s >= e:
                continue
            length = e - s + (carry if s == 0 and k > 0 else 0)
            if length >= need:
                return True
            after = length if e >= day_len[k] else 0
        carry = after
    return False
