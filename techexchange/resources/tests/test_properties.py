"""Property: any sequence of book / cancel / move keeps every booking invariant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techexchange.core.audit import entries_for
from techexchange.core.errors import Conflict, ValidationFailed
from techexchange.resources import services
from techexchange.resources.models import ACTIVE_STATUSES, FINAL_STATUSES, Booking, Outage
from techexchange.resources.tests.factories import (
    NOW,
    at,
    make_customer,
    make_instrument,
    make_policy,
)

pytestmark = pytest.mark.django_db

DAY_START = at(3, 8)
UNIT = timedelta(minutes=30)
OUTAGE = (at(3, 12), at(3, 13))

slot = st.tuples(st.integers(0, 19), st.integers(1, 4))
operation = st.one_of(
    st.tuples(st.just("book"), st.integers(0, 2), slot),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("move"), st.integers(0, 30), slot),
)


def _span(s: tuple[int, int]):
    start = DAY_START + s[0] * UNIT
    return start, start + s[1] * UNIT


def _clashes(span, others, buffer):
    return any(span[0] < e + buffer and s < span[1] + buffer for s, e in others)


def _snapshot(b: Booking):
    return (b.status, b.starts_at, b.ends_at, b.user_id, b.cancelled_at, b.late_cancel)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=25), buffer_units=st.integers(0, 1))
def test_random_book_cancel_move_sequences_keep_every_invariant(ops, buffer_units):
    buffer = buffer_units * UNIT
    instrument = make_instrument(
        policy=make_policy(buffer_minutes=buffer_units * 30, max_duration_minutes=600)
    )
    Outage.objects.create(
        instrument=instrument, starts_at=OUTAGE[0], ends_at=OUTAGE[1], reason="保养"
    )
    users = [make_customer() for _ in range(3)]
    made: list[Booking] = []
    finals: dict[int, tuple] = {}
    for op in ops:
        active = {
            b.pk: (b.starts_at, b.ends_at)
            for b in Booking.objects.filter(instrument=instrument, status__in=ACTIVE_STATUSES)
        }
        if op[0] == "book":
            span = _span(op[2])
            expect = not _clashes(span, active.values(), buffer) and not _clashes(
                span, [OUTAGE], timedelta(0)
            )
            try:
                made.append(
                    services.book_instrument(
                        instrument=instrument,
                        booked_by=users[op[1]],
                        starts_at=span[0],
                        ends_at=span[1],
                        now=NOW,
                    )
                )
                assert expect, "booked a slot that was not free"
            except (Conflict, ValidationFailed):
                assert not expect
        elif made:
            b = made[op[1] % len(made)]
            b.refresh_from_db()
            was_active = b.status in ACTIVE_STATUSES
            if op[0] == "cancel":
                try:
                    services.cancel_booking(booking=b, actor=b.user, now=NOW)
                    assert was_active
                except ValidationFailed:
                    assert not was_active
            else:
                span = _span(op[2])
                others = [v for k, v in active.items() if k != b.pk]
                expect = (
                    was_active
                    and not _clashes(span, others, buffer)
                    and not _clashes(span, [OUTAGE], timedelta(0))
                )
                try:
                    made.append(
                        services.move_booking(
                            booking=b, actor=b.user, starts_at=span[0], ends_at=span[1], now=NOW
                        )
                    )
                    assert expect
                except (Conflict, ValidationFailed):
                    assert not expect
                    b.refresh_from_db()
                    assert (
                        b.status in ACTIVE_STATUSES
                    ) == was_active  # a failed move changes nothing
        _check_invariants(instrument, buffer, finals)


def _check_invariants(instrument, buffer, finals):
    bookings = list(Booking.objects.filter(instrument=instrument).order_by("pk"))
    active = [b for b in bookings if b.status in ACTIVE_STATUSES]
    for b in bookings:
        # 1. start < end, aware, on the 30-minute grid.
        assert b.starts_at < b.ends_at and b.starts_at.tzinfo is not None
        assert (b.starts_at - DAY_START) % UNIT == timedelta(0)
        # 8. every booking's creation is audited.
        assert entries_for(b).filter(action__in=["booking.create", "booking.request"]).exists()
        # 5. final bookings never change; a moved booking has exactly one successor.
        if b.status in FINAL_STATUSES:
            if b.pk in finals:
                assert finals[b.pk] == _snapshot(b)
            finals[b.pk] = _snapshot(b)
        if b.status == "moved":
            assert Booking.objects.filter(predecessor=b).count() == 1
    # 2. no two active bookings overlap, buffer included; 4. none over an outage.
    for i, a in enumerate(active):
        assert not (a.starts_at < OUTAGE[1] and OUTAGE[0] < a.ends_at)
        for b in active[i + 1 :]:
            assert not (a.starts_at < b.ends_at + buffer and b.starts_at < a.ends_at + buffer)
