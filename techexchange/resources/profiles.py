"""Reads that both the services and the selectors need: an instrument's rules and calendar.

Kept apart so that services (writes) and selectors (reads) stay independent of each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from techexchange.resources.models import (
    ACTIVE_STATUSES,
    Booking,
    Instrument,
    OpenHours,
    Outage,
    PolicyOffWindow,
)
from techexchange.resources.policies import Rules, Window

__all__ = ["MAX_BUFFER", "blocked_spans", "open_windows", "outage_spans", "rules_for"]

# No policy buffer is longer than this; it bounds the overlap query.
MAX_BUFFER = timedelta(days=1)


def rules_for(instrument: Instrument) -> Rules:
    """The instrument's policy profile as pure rules (defaults when it has none)."""
    policy = instrument.policy
    if policy is None:
        return Rules(tz=settings.TIME_ZONE)
    windows = tuple(
        Window(w.weekday, w.starts, w.ends)
        for w in PolicyOffWindow.objects.filter(policy=policy).order_by("weekday", "starts")
    )
    fields = {
        f: getattr(policy, f)
        for f in Rules.__dataclass_fields__
        if f not in {"off_windows", "tz"} and hasattr(policy, f)
    }
    return Rules(**fields, off_windows=windows, tz=settings.TIME_ZONE)


def open_windows(instrument: Instrument) -> tuple[Window, ...]:
    """The weekly open hours (empty: open around the clock)."""
    return tuple(
        Window(h.weekday, h.opens, h.closes)
        for h in OpenHours.objects.filter(instrument=instrument).order_by("weekday", "opens")
    )


def outage_spans(
    instrument: Instrument, lo: datetime, hi: datetime
) -> tuple[tuple[datetime, datetime], ...]:
    """Outages meeting [lo, hi)."""
    return tuple(
        Outage.objects.filter(instrument=instrument, starts_at__lt=hi, ends_at__gt=lo)
        .order_by("starts_at")
        .values_list("starts_at", "ends_at")
    )


def blocked_spans(
    instrument: Instrument,
    lo: datetime,
    hi: datetime,
    *,
    exclude_id: int | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Active bookings whose blocked range [start, end + buffer) meets [lo, hi).

    Pending requests whose hold has expired at `now` no longer block.
    """
    qs = Booking.objects.filter(
        instrument=instrument,
        status__in=ACTIVE_STATUSES,
        kind="slot",
        starts_at__lt=hi,
        ends_at__gt=lo - MAX_BUFFER,
    ).order_by("starts_at")
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    out = []
    for b in qs:
        assert b.starts_at is not None and b.ends_at is not None
        if (b.blocked_until or b.ends_at) <= lo:
            continue
        if (
            now is not None
            and b.status == "pending"
            and b.hold_expires_at is not None
            and b.hold_expires_at <= now
        ):
            continue
        out.append(b)
    return out
