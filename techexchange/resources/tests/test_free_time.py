"""The free-time summary: the services keep it, and it answers exactly as the bookings would."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techexchange.core.errors import Conflict, PermissionDenied, ValidationFailed
from techexchange.resources import freetime, selectors, services
from techexchange.resources.models import Booking, FreeDay, FreeTimeProfile, OpenHours
from techexchange.resources.selectors import FreeWindow
from techexchange.resources.tests.factories import (
    NOW,
    TZ,
    at,
    make_customer,
    make_instrument,
    make_policy,
    make_staff,
)

pytestmark = pytest.mark.django_db

TUESDAY = date(2026, 3, 3)


def _book(instrument, start, end, now=NOW, user=None):
    return services.book_instrument(
        instrument=instrument,
        booked_by=user or make_customer(),
        starts_at=start,
        ends_at=end,
        now=now,
    )


def _both(ids, first, last, hours, now):
    window = FreeWindow.from_dates(first, last, hours)
    assert window is not None
    return (
        selectors.free_instruments(ids, window, now=now),
        selectors.instruments_with_free_slot(ids, window, now=now),
    )


def test_a_booking_writes_the_rows_of_its_days_and_a_cancellation_removes_them():
    sem = make_instrument(open_hours=True, policy=make_policy(buffer_minutes=30))
    booking = _book(sem, at(3, 8), at(3, 13))
    assert FreeTimeProfile.objects.filter(instrument=sem, bookable=True).exists()
    (row,) = FreeDay.objects.filter(instrument=sem)
    assert row.day == TUESDAY
    # 08:00-13:30 taken (the buffer after), 13:30-18:00 free.
    assert row.runs == f"{13 * 3600 + 1800}-{18 * 3600}" and row.longest == 4.5 * 3600
    services.cancel_booking(booking=booking, actor=booking.user, now=NOW)
    assert not FreeDay.objects.filter(instrument=sem).exists()


def test_the_summary_answers_like_the_bookings_for_the_usual_cases():
    hours = make_instrument(open_hours=True, policy=make_policy(buffer_minutes=30))
    clock_round = make_instrument()
    _book(hours, at(3, 8), at(3, 12))
    _book(hours, at(3, 14), at(3, 18))
    _book(clock_round, at(3, 0), at(3, 23))
    ids = [hours.pk, clock_round.pk]
    for h in (1, 1.5, 2, 10, 24, 30):
        for first, last in ((TUESDAY, TUESDAY), (TUESDAY, TUESDAY + timedelta(days=2))):
            fast, exact = _both(ids, first, last, h, NOW)
            assert fast == exact, (h, first, last)
    # 12:30-13:30 between the buffers, and 23:00-24:00.
    assert _both(ids, TUESDAY, TUESDAY, 1, NOW) == (set(ids), set(ids))
    assert _both(ids, TUESDAY, TUESDAY, 1.5, NOW) == (set(), set())


def test_a_run_across_midnight_counts_when_open_around_the_clock():
    hall = make_instrument()
    _book(hall, at(3, 0), at(3, 20))
    _book(hall, at(4, 4), at(4, 12))
    # Free 20:00 on the 3rd to 04:00 on the 4th: eight hours across midnight.
    fast, exact = _both([hall.pk], TUESDAY, TUESDAY + timedelta(days=1), 8, NOW)
    assert fast == exact == {hall.pk}
    fast, exact = _both([hall.pk], TUESDAY, TUESDAY + timedelta(days=1), 12, NOW)
    assert fast == exact == {hall.pk}  # 12:00 on the 4th to midnight
    fast, exact = _both([hall.pk], TUESDAY, TUESDAY + timedelta(days=1), 12.5, NOW)
    assert fast == exact == set()
    fast, exact = _both([hall.pk], TUESDAY, TUESDAY + timedelta(days=1), 12, at(4, 13))
    assert fast == exact == set()


def test_time_already_past_is_cut_from_the_first_day():
    sem = make_instrument(open_hours=True)
    _book(sem, at(3, 8), at(3, 10))
    fast, exact = _both([sem.pk], TUESDAY, TUESDAY, 3.5, at(3, 15))
    assert fast == exact == set()
    fast, exact = _both([sem.pk], TUESDAY, TUESDAY, 3, at(3, 15))
    assert fast == exact == {sem.pk}  # 15:00-18:00


def test_a_request_whose_hold_ran_out_is_checked_exactly_until_the_job_expires_it():
    sem = make_instrument(
        open_hours=True, policy=make_policy(requires_approval=True, hold_minutes=30)
    )
    _book(sem, at(3, 8), at(3, 18))
    (row,) = FreeDay.objects.filter(instrument=sem)
    assert row.stale_at == NOW + timedelta(minutes=30)
    assert _both([sem.pk], TUESDAY, TUESDAY, 2, NOW) == (set(), set())
    later = NOW + timedelta(hours=1)
    assert _both([sem.pk], TUESDAY, TUESDAY, 2, later) == ({sem.pk}, {sem.pk})
    assert services.expire_holds(now=later) == 1
    assert not FreeDay.objects.filter(instrument=sem).exists()


def test_approval_ends_the_hold_and_the_row_is_no_longer_stale():
    sem = make_instrument(
        open_hours=True, policy=make_policy(requires_approval=True, hold_minutes=30)
    )
    booking = _book(sem, at(3, 8), at(3, 18))
    services.approve_booking(booking=booking, actor=make_staff(sem), now=NOW)
    assert FreeDay.objects.get(instrument=sem).stale_at is None


def test_an_outage_and_a_state_change_through_the_services_move_the_summary():
    from techexchange.accounts.models import OrgRole

    sem = make_instrument(open_hours=True)
    admin = make_staff(sem, OrgRole.ADMIN)
    _book(sem, at(4, 8), at(4, 9))
    services.create_outage(
        instrument=sem, actor=admin, starts_at=at(3, 7), ends_at=at(3, 17), reason="维护", now=NOW
    )
    assert _both([sem.pk], TUESDAY, TUESDAY, 2, NOW) == (set(), set())
    assert _both([sem.pk], TUESDAY, TUESDAY, 1, NOW) == ({sem.pk}, {sem.pk})
    FreeTimeProfile.objects.filter(instrument=sem).update(bookable=False)
    assert _both([sem.pk], TUESDAY, TUESDAY, 1, NOW) == (set(), {sem.pk})  # (a stale profile)
    services.refresh_free_time(instrument_ids=[sem.pk], now=NOW)
    assert _both([sem.pk], TUESDAY, TUESDAY, 1, NOW) == ({sem.pk}, {sem.pk})


def test_an_instrument_the_summary_does_not_cover_is_checked_exactly():
    sem = make_instrument(open_hours=True)
    _book(sem, at(3, 8), at(3, 18))
    FreeTimeProfile.objects.filter(instrument=sem).delete()
    assert _both([sem.pk], TUESDAY, TUESDAY, 1, NOW) == (set(), set())


def test_the_rebuild_writes_what_the_services_wrote():
    a = make_instrument(open_hours=True, policy=make_policy(buffer_minutes=30))
    b = make_instrument(capacity=2)
    _book(a, at(3, 8), at(3, 12))
    _book(b, at(3, 8), at(3, 12))
    _book(b, at(3, 10), at(3, 14))
    _book(a, at(5, 23, 30) - timedelta(hours=15), at(5, 10))

    def rows():
        return sorted(FreeDay.objects.values_list("instrument_id", "day", "longest", "runs"))

    kept = rows()
    assert kept
    assert services.refresh_free_time(now=NOW) == len(kept)
    assert rows() == kept


def test_the_fast_check_reads_two_queries_for_many_instruments(django_assert_num_queries):
    instruments = [make_instrument(open_hours=True) for _ in range(12)]
    for inst in instruments[:6]:
        _book(inst, at(3, 8), at(3, 13))
        _book(inst, at(3, 13), at(3, 18))
    services.refresh_free_time(now=NOW)  # the factory wrote the others behind the services
    window = FreeWindow.from_dates(TUESDAY, TUESDAY + timedelta(days=29), 2)
    assert window is not None
    with django_assert_num_queries(2):
        free = selectors.free_instruments([i.pk for i in instruments], window, now=NOW)
    assert free == {i.pk for i in instruments}  # the next days are free
    window = FreeWindow.from_dates(TUESDAY, TUESDAY, 2)
    assert window is not None
    with django_assert_num_queries(2):
        free = selectors.free_instruments([i.pk for i in instruments], window, now=NOW)
    assert free == {i.pk for i in instruments[6:]}


# -- property: the summary and the exact check agree ------------------------------------------

UNIT = timedelta(minutes=30)
START = datetime.combine(TUESDAY, time(0), tzinfo=TZ)
booking_op = st.tuples(
    st.just("book"), st.integers(0, 3), st.integers(0, 4 * 48 - 1), st.integers(1, 40)
)
approve_op = st.tuples(st.just("approve"), st.integers(0, 40))
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 40))
outage_op = st.tuples(
    st.just("outage"), st.integers(0, 2), st.integers(0, 4 * 48), st.integers(1, 30)
)
query = st.tuples(
    st.integers(0, 4),  # first day after the 3rd
    st.integers(0, 3),  # more days
    st.sampled_from([0.5, 1, 2, 4.5, 10, 12, 24, 30, 50]),
    st.integers(0, 5 * 48),  # now, in half hours after NOW (the 2nd, 9:00)
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.one_of(booking_op, cancel_op, outage_op, approve_op), min_size=1, max_size=14),
    queries=st.lists(query, min_size=1, max_size=6),
)
def test_the_summary_agrees_with_the_exact_check_after_any_changes(ops, queries):
    from techexchange.accounts.models import OrgRole

    instruments = [
        make_instrument(
            open_hours=True, policy=make_policy(buffer_minutes=30, max_duration_minutes=1440)
        ),
        make_instrument(policy=make_policy(max_duration_minutes=1440)),
        make_instrument(capacity=2, policy=make_policy(max_duration_minutes=1440)),
        # Requests hold their slot for 10 hours: rows go stale as the queries' `now` moves on.
        make_instrument(
            policy=make_policy(requires_approval=True, hold_minutes=600, max_duration_minutes=1440)
        ),
    ]
    OpenHours.objects.create(
        instrument=instruments[0], weekday=5, opens=time(9), closes=time(12)
    )  # behind the services' back: the refresh below puts the summary right
    services.refresh_free_time(instrument_ids=[instruments[0].pk], now=NOW)
    admins = [make_staff(i, OrgRole.ADMIN) for i in instruments]
    user = make_customer()
    made: list[Booking] = []
    for op in ops:
        try:
            if op[0] == "book":
                start = START + op[2] * UNIT
                made.append(_book(instruments[op[1]], start, start + op[3] * UNIT, user=user))
            elif op[0] == "cancel" and made:
                b = made[op[1] % len(made)]
                services.cancel_booking(booking=b, actor=b.user, now=NOW)
            elif op[0] == "approve" and made:
                b = made[op[1] % len(made)]
                services.approve_booking(booking=b, actor=admins[3], now=NOW)
            elif op[0] == "outage":
                start = START + op[2] * UNIT
                services.create_outage(
                    instrument=instruments[op[1]],
                    actor=admins[op[1]],
                    starts_at=start,
                    ends_at=start + op[3] * UNIT,
                    reason="维护",
                    now=NOW,
                )
        except (Conflict, ValidationFailed, PermissionDenied):
            pass
    ids = [i.pk for i in instruments]
    for first, more, hours, now_units in queries:
        day = TUESDAY + timedelta(days=first)
        now = NOW + now_units * UNIT
        fast, exact = _both(ids, day, day + timedelta(days=more), hours, now)
        assert fast == exact, (day, more, hours, now)


def test_runs_are_kept_apart_by_open_periods_and_joined_only_around_the_clock():
    spans = [(at(3, 8), at(3, 12)), (at(3, 12), at(3, 18))]
    assert freetime.longest_gap(spans, [(at(3, 11), at(3, 13))]) == timedelta(hours=5)
    assert freetime.longest_gap(spans, []) == timedelta(hours=6)


def test_a_new_instrument_gets_its_profile_and_a_repair_takes_it_out_then_back():
    from decimal import Decimal

    from techexchange.accounts.models import OrgRole

    holder = make_instrument().holder
    holder_admin = make_staff(make_instrument(holder=holder), OrgRole.ADMIN)
    data = services.InstrumentInput(
        asset_id="NEW-1", name_zh="原子力显微镜", category="010800", original_value=Decimal("320"),
        province="310000", city="310100",
    )  # fmt: skip
    inst = services.save_instrument(actor=holder_admin, holder=holder, data=data)
    assert FreeTimeProfile.objects.get(instrument=inst).bookable
    _book(inst, at(3, 0), at(3, 8))
    assert _both([inst.pk], TUESDAY, TUESDAY, 16, NOW) == ({inst.pk}, {inst.pk})
    from dataclasses import replace

    broken = replace(data, state="awaiting_repair")
    services.save_instrument(actor=holder_admin, holder=holder, data=broken, instrument=inst)
    assert _both([inst.pk], TUESDAY, TUESDAY, 1, NOW) == (set(), set())
    inst.refresh_from_db()
    services.save_instrument(actor=holder_admin, holder=holder, data=data, instrument=inst)
    assert _both([inst.pk], TUESDAY, TUESDAY, 16, NOW) == ({inst.pk}, {inst.pk})
    assert _both([inst.pk], TUESDAY, TUESDAY, 16.5, NOW) == (set(), set())
