"""Booking through the one write path: every policy rule, allowed and refused."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member, make_user
from techexchange.core.audit import entries_for
from techexchange.core.errors import Conflict, PermissionDenied, ValidationFailed
from techexchange.resources import services
from techexchange.resources.models import Booking, Charge, PolicyOffWindow, UsageRecord
from techexchange.resources.tests.factories import (
    NOW,
    at,
    make_customer,
    make_instrument,
    make_policy,
    make_staff,
)

pytestmark = pytest.mark.django_db


def book(instrument, user, start, end, **kwargs):
    kwargs.setdefault("now", NOW)
    return services.book_instrument(
        instrument=instrument, booked_by=user, starts_at=start, ends_at=end, **kwargs
    )


def refused(codes, instrument, user, start, end, **kwargs):
    with pytest.raises((ValidationFailed, Conflict)) as info:
        book(instrument, user, start, end, **kwargs)
    assert set(codes) <= set(info.value.codes), info.value.codes
    return info.value


@pytest.fixture
def sem():
    return make_instrument()


@pytest.fixture
def alice():
    return make_customer(username="alice")


@pytest.fixture
def bob():
    return make_customer(username="bob")


# -- the slot itself ------------------------------------------------------------------------


def test_a_free_slot_is_booked_and_confirmed(sem, alice):
    booking = book(sem, alice, at(3, 10), at(3, 12))
    assert booking.status == "confirmed" and booking.customer_category == "enterprise"
    assert [e.action for e in entries_for(booking)] == ["booking.create"]


def test_two_users_cannot_book_the_same_slot(sem, alice, bob):
    book(sem, alice, at(3, 10), at(3, 12))
    error = refused(["overlap"], sem, bob, at(3, 11), at(3, 13))
    assert isinstance(error, Conflict) and error.status == 409


def test_back_to_back_bookings_are_allowed(sem, alice, bob):
    book(sem, alice, at(3, 10), at(3, 12))
    assert book(sem, bob, at(3, 12), at(3, 13)).status == "confirmed"


def test_the_buffer_keeps_bookings_apart(alice, bob):
    sem = make_instrument(policy=make_policy(buffer_minutes=30))
    book(sem, alice, at(3, 10), at(3, 12))
    refused(["overlap"], sem, bob, at(3, 12), at(3, 13))
    refused(["overlap"], sem, bob, at(3, 9), at(3, 10))
    assert book(sem, bob, at(3, 12, 30), at(3, 13)).status == "confirmed"


def test_end_before_start_is_refused(sem, alice):
    refused(["invalid_range"], sem, alice, at(3, 12), at(3, 10))


def test_naive_times_are_refused(sem, alice):
    refused(["naive_datetime"], sem, alice, at(3, 10).replace(tzinfo=None), at(3, 11))


def test_slots_must_sit_on_the_grid(sem, alice):
    refused(["off_grid"], sem, alice, at(3, 10, 10), at(3, 11, 10))
    assert book(sem, alice, at(3, 10, 30), at(3, 11)).status == "confirmed"


def test_the_past_cannot_be_booked(sem, alice):
    refused(["in_past"], sem, alice, at(2, 8), at(2, 9))


def test_booking_needs_minimum_notice(alice):
    sem = make_instrument(policy=make_policy(min_notice_create_minutes=120))
    refused(["min_notice"], sem, alice, at(2, 10), at(2, 11))
    assert book(sem, alice, at(2, 11), at(2, 12)).status == "confirmed"


def test_booking_beyond_the_horizon_is_refused(alice):
    sem = make_instrument(policy=make_policy(horizon_days=7))
    refused(["beyond_horizon"], sem, alice, at(10, 10), at(10, 11))
    assert book(sem, alice, at(9, 8), at(9, 9)).status == "confirmed"


def test_duration_limits(alice):
    sem = make_instrument(
        policy=make_policy(
            min_duration_minutes=60, max_duration_minutes=120, over_limit_requests=False
        )
    )
    refused(["too_short"], sem, alice, at(3, 10), at(3, 10, 30))
    refused(["too_long"], sem, alice, at(3, 10), at(3, 13))
    assert book(sem, alice, at(3, 10), at(3, 12)).status == "confirmed"


def test_open_hours_bound_bookings(alice):
    sem = make_instrument(open_hours=True)
    refused(["closed"], sem, alice, at(3, 17), at(3, 19))
    refused(["closed"], sem, alice, at(7, 10), at(7, 11))  # a Saturday
    assert book(sem, alice, at(3, 16), at(3, 18)).status == "confirmed"


def test_no_booking_over_an_outage(sem, alice):
    admin = make_staff(sem, OrgRole.ADMIN)
    services.create_outage(
        instrument=sem, actor=admin, starts_at=at(3, 9), ends_at=at(3, 12), reason="更换灯丝"
    )
    refused(["outage"], sem, alice, at(3, 11), at(3, 13))
    assert book(sem, alice, at(3, 12), at(3, 13)).status == "confirmed"


def test_an_instrument_out_of_service_cannot_be_booked(alice):
    sem = make_instrument(state="awaiting_repair")
    refused(["out_of_service"], sem, alice, at(3, 10), at(3, 11))


def test_internal_only_instruments_refuse_outsiders(alice):
    sem = make_instrument(sharing_mode="internal")
    refused(["not_shared"], sem, alice, at(3, 10), at(3, 11))
    insider = make_staff(sem)
    assert book(sem, insider, at(3, 10), at(3, 11)).customer_category == "internal"


def test_a_user_without_an_organisation_has_no_account_to_bill(sem):
    refused(["no_account"], sem, make_user(), at(3, 10), at(3, 11))


def test_shared_areas_respect_capacity(alice, bob):
    bench = make_instrument(capacity=2, name_zh="洁净室工位")
    carol = make_customer()
    book(bench, alice, at(3, 10), at(3, 12))
    book(bench, bob, at(3, 10), at(3, 12))
    refused(["full"], bench, carol, at(3, 11), at(3, 12))


# -- quotas, over-limit requests and policy-off windows --------------------------------------


def test_daily_quota_refuses_when_requests_are_off(alice):
    sem = make_instrument(policy=make_policy(max_hours_per_day=3, over_limit_requests=False))
    book(sem, alice, at(3, 8), at(3, 10))
    refused(["quota_day"], sem, alice, at(3, 14), at(3, 16))
    assert book(sem, alice, at(3, 14), at(3, 15)).status == "confirmed"


def test_weekly_quota(alice):
    sem = make_instrument(policy=make_policy(max_hours_per_week=4, over_limit_requests=False))
    book(sem, alice, at(3, 8), at(3, 11))
    refused(["quota_week"], sem, alice, at(4, 8), at(4, 10))
    assert book(sem, alice, at(9, 8), at(9, 10)).status == "confirmed"  # next week


def test_future_count_and_hours_quotas(alice):
    sem = make_instrument(
        policy=make_policy(max_future_bookings=2, max_future_hours=5, over_limit_requests=False)
    )
    book(sem, alice, at(3, 8), at(3, 10))
    book(sem, alice, at(4, 8), at(4, 10))
    refused(["quota_future_count"], sem, alice, at(5, 8), at(5, 9))
    sem2 = make_instrument(policy=make_policy(max_future_hours=3, over_limit_requests=False))
    book(sem2, alice, at(3, 8), at(3, 10))
    refused(["quota_future_hours"], sem2, alice, at(4, 8), at(4, 10))


def test_over_the_limit_becomes_a_request_that_holds_the_slot(alice, bob):
    sem = make_instrument(policy=make_policy(max_hours_per_day=2, hold_minutes=60))
    request = book(sem, alice, at(3, 10), at(3, 14))
    assert request.status == "pending" and request.request_reasons == ["quota_day"]
    assert request.hold_expires_at == NOW + timedelta(minutes=60)
    refused(["overlap"], sem, bob, at(3, 11), at(3, 12))


def test_an_expired_hold_frees_the_slot(alice, bob):
    sem = make_instrument(policy=make_policy(requires_approval=True, hold_minutes=30))
    request = book(sem, alice, at(3, 10), at(3, 12))
    later = NOW + timedelta(minutes=31)
    taken = book(sem, bob, at(3, 10), at(3, 12), now=later)
    request.refresh_from_db()
    assert request.status == "expired" and taken.status == "pending"


def test_limits_are_off_inside_a_policy_off_window(alice):
    policy = make_policy(max_hours_per_day=1, over_limit_requests=False)
    PolicyOffWindow.objects.create(policy=policy, weekday=1, starts=time(0), ends=time(23, 59))
    sem = make_instrument(policy=policy)
    assert book(sem, alice, at(3, 8), at(3, 12)).status == "confirmed"  # Tuesday: off
    refused(["quota_day"], sem, alice, at(4, 8), at(4, 12))  # Wednesday: on


# -- approval -------------------------------------------------------------------------------


def test_approval_turns_a_request_into_a_booking(alice):
    sem = make_instrument(policy=make_policy(requires_approval=True))
    request = book(sem, alice, at(3, 10), at(3, 12))
    assert request.status == "pending"
    staff = make_staff(sem)
    approved = services.approve_booking(booking=request, actor=staff, now=NOW)
    assert approved.status == "confirmed" and approved.decided_by == staff


def test_only_the_holders_staff_may_approve(alice, bob):
    sem = make_instrument(policy=make_policy(requires_approval=True))
    request = book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(PermissionDenied):
        services.approve_booking(booking=request, actor=bob, now=NOW)


def test_an_expired_request_cannot_be_approved(alice):
    sem = make_instrument(policy=make_policy(requires_approval=True, hold_minutes=10))
    request = book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(Conflict) as info:
        services.approve_booking(
            booking=request, actor=make_staff(sem), now=NOW + timedelta(minutes=11)
        )
    assert info.value.codes == ["hold_expired"]


def test_rejection_needs_a_reason(alice):
    sem = make_instrument(policy=make_policy(requires_approval=True))
    request = book(sem, alice, at(3, 10), at(3, 12))
    staff = make_staff(sem)
    with pytest.raises(ValidationFailed):
        services.reject_booking(booking=request, actor=staff, reason=" ", now=NOW)
    assert (
        services.reject_booking(booking=request, actor=staff, reason="样品不符", now=NOW).status
        == "rejected"
    )


# -- qualification --------------------------------------------------------------------------


def test_unqualified_users_may_not_operate_but_may_order_entrusted_service(alice):
    sem = make_instrument(policy=make_policy(requires_qualification=True))
    refused(["not_qualified"], sem, alice, at(3, 10), at(3, 11))
    entrusted = sem.services.get(mode="entrusted")
    order = services.request_order(
        instrument=sem, booked_by=alice, service=entrusted, samples=3, now=NOW
    )
    assert order.kind == "order" and order.status == "pending"
    assert book(sem, alice, at(3, 10), at(3, 11), service=entrusted).status == "confirmed"


def test_a_qualification_lets_its_holder_operate_until_it_expires(alice):
    sem = make_instrument(policy=make_policy(requires_qualification=True))
    services.grant_qualification(
        instrument=sem,
        actor=make_staff(sem, OrgRole.ADMIN),
        user=alice,
        expires_on=date(2026, 3, 4),
        now=NOW,
    )
    assert book(sem, alice, at(3, 10), at(3, 11)).status == "confirmed"
    refused(["not_qualified"], sem, alice, at(5, 10), at(5, 11))


# -- cancellation, check-in, no-show --------------------------------------------------------


def test_cancelling_early_is_not_late_and_cancelling_late_is_recorded(alice):
    sem = make_instrument(policy=make_policy(late_cancel_minutes=24 * 60))
    early = book(sem, alice, at(5, 10), at(5, 11))
    late = book(sem, alice, at(2, 15), at(2, 16))
    assert not services.cancel_booking(booking=early, actor=alice, now=NOW).late_cancel
    assert services.cancel_booking(booking=late, actor=alice, now=NOW).late_cancel


def test_cancelling_needs_minimum_notice_unless_staff_override(alice):
    sem = make_instrument(policy=make_policy(min_notice_cancel_minutes=120))
    booking = book(sem, alice, at(2, 10), at(2, 11))
    with pytest.raises(ValidationFailed) as info:
        services.cancel_booking(booking=booking, actor=alice, now=NOW)
    assert info.value.codes == ["min_notice_cancel"]
    admin = make_staff(sem, OrgRole.ADMIN)
    cancelled = services.cancel_booking(
        booking=booking, actor=admin, override_reason="设备临时故障", now=NOW
    )
    assert cancelled.status == "cancelled"
    assert "booking.override" in [e.action for e in entries_for(cancelled)]


def test_another_user_cannot_cancel_my_booking(sem, alice, bob):
    booking = book(sem, alice, at(3, 10), at(3, 11))
    with pytest.raises(PermissionDenied):
        services.cancel_booking(booking=booking, actor=bob, now=NOW)


def test_a_cancelled_booking_stays_cancelled(sem, alice):
    booking = services.cancel_booking(
        booking=book(sem, alice, at(3, 10), at(3, 11)), actor=alice, now=NOW
    )
    with pytest.raises(ValidationFailed):
        services.cancel_booking(booking=booking, actor=alice, now=NOW)
    with pytest.raises(Conflict):
        services.move_booking(
            booking=booking, actor=alice, starts_at=at(4, 10), ends_at=at(4, 11), now=NOW
        )


def test_check_in_opens_shortly_before_the_start(sem, alice):
    booking = book(sem, alice, at(3, 10), at(3, 11))
    with pytest.raises(ValidationFailed) as info:
        services.check_in(booking=booking, actor=alice, now=at(3, 9, 30))
    assert info.value.codes == ["too_early"]
    assert services.check_in(booking=booking, actor=alice, now=at(3, 9, 50)).status == "checked_in"


def test_no_shows_are_released_once(sem, alice, bob):
    booking = book(sem, alice, at(3, 10), at(3, 12))
    assert services.release_no_shows(now=at(3, 10, 10)) == 0  # still in the grace period
    assert services.release_no_shows(now=at(3, 10, 20)) == 1
    assert services.release_no_shows(now=at(3, 10, 30)) == 0  # idempotent
    booking.refresh_from_db()
    assert booking.status == "no_show"
    assert book(sem, bob, at(3, 10, 30), at(3, 12), now=at(3, 10, 25)).status == "confirmed"


def test_the_release_job_runs_through_the_tasks_api(sem, alice):
    from techexchange.resources.tasks import release_no_shows

    booking = book(sem, alice, at(2, 9, 30), at(2, 10), now=at(2, 9))
    assert release_no_shows.enqueue(now=at(2, 9, 50).isoformat()).return_value == 1
    assert release_no_shows.enqueue(now=at(2, 9, 55).isoformat()).return_value == 0
    booking.refresh_from_db()
    assert booking.status == "no_show"


# -- usage and charges ----------------------------------------------------------------------


def test_finishing_early_records_usage_and_a_charge_with_the_snapshotted_price(sem, alice):
    booking = book(sem, alice, at(3, 10), at(3, 12), service=sem.services.get(mode="occupy"))
    services.check_in(booking=booking, actor=alice, now=at(3, 10))
    usage = services.finish_booking(booking=booking, actor=alice, satisfaction=5, now=at(3, 11, 10))
    assert usage.hours == Decimal("1.17") and usage.is_external and usage.is_cross_province
    charge = Charge.objects.get(usage=usage)
    assert (charge.unit_price, charge.quantity, charge.amount) == (
        Decimal("600.00"),
        Decimal("1.25"),
        Decimal("750.00"),
    )
    sem.services.filter(mode="occupy").update(price_enterprise=Decimal("999"))
    charge.refresh_from_db()
    assert charge.unit_price == Decimal("600.00")
    booking.refresh_from_db()
    assert booking.status == "completed"
    # The rest of the slot is free again.
    assert (
        book(sem, make_customer(), at(3, 11, 30), at(3, 12), now=at(3, 11, 10)).status
        == "confirmed"
    )


def test_staff_record_an_entrusted_order_and_charge_per_sample(sem, alice):
    order = services.request_order(
        instrument=sem,
        booked_by=alice,
        service=sem.services.get(mode="entrusted"),
        samples=4,
        now=NOW,
    )
    staff = make_staff(sem)
    services.approve_booking(booking=order, actor=staff, now=NOW)
    usage = services.record_usage(
        booking=order, actor=staff, started_at=at(3, 9), ended_at=at(3, 11), now=at(3, 12)
    )
    assert usage.operator == staff and usage.amount == Decimal("1200.00")
    other = services.request_order(
        instrument=sem,
        booked_by=alice,
        service=sem.services.get(mode="entrusted"),
        samples=1,
        now=NOW,
    )
    with pytest.raises(PermissionDenied):
        services.record_usage(
            booking=other, actor=alice, started_at=at(3, 9), ended_at=at(3, 10), now=at(3, 12)
        )


# -- move, transfer, series, waitlist, overrides --------------------------------------------


def test_a_move_creates_a_successor_and_leaves_the_original_untouched(sem, alice):
    original = book(sem, alice, at(3, 10), at(3, 12))
    moved = services.move_booking(
        booking=original, actor=alice, starts_at=at(3, 11), ends_at=at(3, 13), now=NOW
    )
    original.refresh_from_db()
    assert original.status == "moved" and original.starts_at == at(3, 10)
    assert moved.predecessor == original and moved.status == "confirmed"


def test_a_move_onto_a_taken_slot_keeps_the_original(sem, alice, bob):
    original = book(sem, alice, at(3, 10), at(3, 12))
    book(sem, bob, at(4, 10), at(4, 12))
    with pytest.raises(Conflict):
        services.move_booking(
            booking=original, actor=alice, starts_at=at(4, 11), ends_at=at(4, 12), now=NOW
        )
    original.refresh_from_db()
    assert original.status == "confirmed"


def test_transfer_to_a_colleague_checks_the_rules_for_them(alice):
    sem = make_instrument(policy=make_policy(requires_qualification=True))
    org = alice.memberships.get().organisation
    colleague = make_member(org)
    services.grant_qualification(
        instrument=sem, actor=make_staff(sem, OrgRole.ADMIN), user=alice, expires_on=None, now=NOW
    )
    booking = book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(ValidationFailed) as info:
        services.transfer_booking(booking=booking, actor=alice, to_user=colleague, now=NOW)
    assert "not_qualified" in info.value.codes
    services.grant_qualification(
        instrument=sem,
        actor=make_staff(sem, OrgRole.ADMIN),
        user=colleague,
        expires_on=None,
        now=NOW,
    )
    new = services.transfer_booking(booking=booking, actor=alice, to_user=colleague, now=NOW)
    assert new.user == colleague and new.predecessor_id == booking.pk


def test_transfer_outside_the_organisation_is_refused(sem, alice, bob):
    booking = book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(ValidationFailed) as info:
        services.transfer_booking(booking=booking, actor=alice, to_user=bob, now=NOW)
    assert info.value.codes == ["not_a_colleague"]


def test_transfer_can_be_switched_off(alice):
    sem = make_instrument(policy=make_policy(allow_transfer=False))
    colleague = make_member(alice.memberships.get().organisation)
    booking = book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(ValidationFailed) as info:
        services.transfer_booking(booking=booking, actor=alice, to_user=colleague, now=NOW)
    assert info.value.codes == ["transfer_not_allowed"]


def test_a_series_is_booked_all_or_nothing(sem, alice, bob):
    slots = services.book_series(
        instrument=sem,
        booked_by=alice,
        starts_at=at(3, 10),
        ends_at=at(3, 11),
        occurrences=3,
        now=NOW,
    )
    assert [b.starts_at for b in slots] == [at(3, 10), at(10, 10), at(17, 10)]
    book(sem, bob, at(11, 10), at(11, 11))
    with pytest.raises(Conflict) as info:
        services.book_series(
            instrument=sem,
            booked_by=alice,
            starts_at=at(4, 10),
            ends_at=at(4, 11),
            occurrences=3,
            now=NOW,
        )
    assert info.value.problems[0].details["occurrence"] == 2
    assert Booking.objects.filter(user=alice).count() == 3


def test_series_can_be_switched_off_or_limited(alice):
    sem = make_instrument(policy=make_policy(allow_series=False, max_series_occurrences=2))
    with pytest.raises(ValidationFailed) as info:
        services.book_series(
            instrument=sem,
            booked_by=alice,
            starts_at=at(3, 10),
            ends_at=at(3, 11),
            occurrences=3,
            now=NOW,
        )
    assert set(info.value.codes) == {"series_not_allowed", "series_too_long"}


def test_the_waitlist_is_told_when_a_slot_frees(sem, alice, bob):
    booking = book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(ValidationFailed) as info:
        services.join_waitlist(
            instrument=sem, user=bob, starts_at=at(4, 10), ends_at=at(4, 11), now=NOW
        )
    assert info.value.codes == ["slot_free"]
    entry = services.join_waitlist(
        instrument=sem, user=bob, starts_at=at(3, 10), ends_at=at(3, 11), now=NOW
    )
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    entry.refresh_from_db()
    assert entry.notified_at == NOW


def test_waitlist_can_be_switched_off(alice, bob):
    sem = make_instrument(policy=make_policy(allow_waitlist=False))
    book(sem, alice, at(3, 10), at(3, 12))
    with pytest.raises(ValidationFailed):
        services.join_waitlist(
            instrument=sem, user=bob, starts_at=at(3, 10), ends_at=at(3, 11), now=NOW
        )


def test_a_staff_override_waives_rules_with_a_reason_and_is_audited(alice):
    sem = make_instrument(policy=make_policy(horizon_days=7, over_limit_requests=False))
    admin = make_staff(sem, OrgRole.ADMIN)
    booking = services.book_instrument(
        instrument=sem, booked_by=admin, starts_at=at(20, 10), ends_at=at(20, 11),
        override_reason="国家重大专项加急测试", now=NOW,
    )  # fmt: skip
    assert booking.overridden == ["beyond_horizon"]
    entry = next(e for e in entries_for(booking) if e.action == "booking.override")
    assert entry.reason == "国家重大专项加急测试" and entry.actor == admin


def test_an_override_never_waives_an_overlap(alice):
    sem = make_instrument()
    admin = make_staff(sem, OrgRole.ADMIN)
    book(sem, alice, at(3, 10), at(3, 12))
    refused(["overlap"], sem, admin, at(3, 10), at(3, 12), override_reason="紧急")


def test_an_override_by_someone_without_the_right_is_refused(sem, alice):
    with pytest.raises(PermissionDenied):
        book(sem, alice, at(3, 10), at(3, 12), override_reason="我很急")


def test_usage_is_recorded_only_once(sem, alice):
    booking = book(sem, alice, at(3, 10), at(3, 12))
    services.check_in(booking=booking, actor=alice, now=at(3, 10))
    services.finish_booking(booking=booking, actor=alice, now=at(3, 11))
    with pytest.raises(Conflict):
        services.finish_booking(booking=booking, actor=alice, now=at(3, 11, 30))
    assert UsageRecord.objects.filter(booking=booking).count() == 1
