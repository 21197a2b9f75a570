"""Races on PostgreSQL: the exclusion constraint, not the application, has the last word."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from techexchange.core.errors import Conflict
from techexchange.resources import services
from techexchange.resources.models import ACTIVE_STATUSES, Booking
from techexchange.resources.tests.factories import NOW, at, make_customer, make_instrument

THREADS = 32


@pytest.mark.django_db(transaction=True)
def test_thirty_two_threads_booking_overlapping_slots_get_one_winner(reference_data):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer, so there is no race to lose")
    instrument = make_instrument()
    users = [make_customer() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def attempt(k: int) -> str:
        # Every slot contains 11:00-12:00, so every pair overlaps.
        start = at(3, 10) + timedelta(minutes=30 * (k % 3))
        try:
            barrier.wait()
            services.book_instrument(
                instrument=instrument,
                booked_by=users[k],
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                now=NOW,
            )
            return "booked"
        except Conflict as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("overlap") == THREADS - 1, outcomes
    assert Booking.objects.filter(instrument=instrument, status__in=ACTIVE_STATUSES).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_an_overlap_written_behind_the_services_back():
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    from django.db import IntegrityError

    instrument = make_instrument()
    first = services.book_instrument(
        instrument=instrument,
        booked_by=make_customer(),
        starts_at=at(3, 10),
        ends_at=at(3, 12),
        now=NOW,
    )
    clone = Booking(
        instrument=instrument,
        user=make_customer(),
        customer_category="enterprise",
        starts_at=at(3, 11),
        ends_at=at(3, 13),
        blocked_until=at(3, 13),
        status="confirmed",
        created_at=NOW,
    )
    with pytest.raises(IntegrityError):
        clone.save()
    assert first.pk


QUOTA_THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_user_cannot_both_pass_a_quota_of_one(reference_data):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite runs every write transaction IMMEDIATE (one writer), "
            "so two quota checks never interleave"
        )
    from techexchange.core.errors import ValidationFailed
    from techexchange.resources.tests.factories import make_policy

    instrument = make_instrument(
        policy=make_policy(max_future_bookings=1, over_limit_requests=False)
    )
    user = make_customer()
    barrier = threading.Barrier(QUOTA_THREADS)

    def attempt(k: int) -> str:
        # Different days: no two slots overlap, so only the quota can refuse.
        start = at(3 + k, 10)
        try:
            barrier.wait()
            services.book_instrument(
                instrument=instrument,
                booked_by=user,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                now=NOW,
            )
            return "booked"
        except ValidationFailed as exc:
            return ",".join(exc.codes)
        finally:
            connection.close()

    with ThreadPoolExecutor(QUOTA_THREADS) as pool:
        outcomes = list(pool.map(attempt, range(QUOTA_THREADS)))
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("quota_future_count") == QUOTA_THREADS - 1, outcomes
    active = Booking.objects.filter(instrument=instrument, user=user, status__in=ACTIVE_STATUSES)
    assert active.count() == 1


RELEASE_THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_release_jobs_running_at_once_hand_a_lapsed_hold_to_one_waiting_user(reference_data):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite runs one writer at a time")
    from techexchange.resources.models import WaitlistEntry
    from techexchange.resources.tests.factories import make_policy

    instrument = make_instrument(policy=make_policy(waitlist_hold_minutes=60))
    alice, *waiting = [make_customer() for _ in range(4)]
    booking = services.book_instrument(
        instrument=instrument, booked_by=alice, starts_at=at(3, 10), ends_at=at(3, 12), now=NOW
    )
    entries = [
        services.join_waitlist(
            instrument=instrument,
            user=user,
            starts_at=at(3, 10),
            ends_at=at(3, 12),
            now=NOW + timedelta(minutes=k),
        )
        for k, user in enumerate(waiting)
    ]
    services.cancel_booking(booking=booking, actor=alice, now=NOW)
    later = NOW + timedelta(minutes=61)
    barrier = threading.Barrier(RELEASE_THREADS)

    def run(_k: int) -> int:
        try:
            barrier.wait()
            return services.hand_on_lapsed_holds(now=later)
        finally:
            connection.close()

    with ThreadPoolExecutor(RELEASE_THREADS) as pool:
        handed = list(pool.map(run, range(RELEASE_THREADS)))
    assert sum(handed) == 1, handed
    told = WaitlistEntry.objects.filter(pk__in=[e.pk for e in entries], notified_at__isnull=False)
    # The first was told at the cancellation, exactly one more (the second in line) now.
    assert sorted(told.values_list("pk", flat=True)) == [entries[0].pk, entries[1].pk]
    held = WaitlistEntry.objects.filter(instrument=instrument, hold_until__gt=later)
    assert list(held.values_list("pk", flat=True)) == [entries[1].pk]


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_and_a_no_show_release_of_one_booking_at_once_tell_one_waiting_user(
    reference_data,
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite runs one writer at a time")
    from techexchange.core.errors import ValidationFailed
    from techexchange.resources.models import WaitlistEntry
    from techexchange.resources.tests.factories import make_policy

    instrument = make_instrument(
        policy=make_policy(waitlist_hold_minutes=60, no_show_grace_minutes=15)
    )
    alice, bob, carol = (make_customer() for _ in range(3))
    booking = services.book_instrument(
        instrument=instrument, booked_by=alice, starts_at=at(3, 10), ends_at=at(3, 12), now=NOW
    )
    for k, user in enumerate((bob, carol)):
        services.join_waitlist(
            instrument=instrument,
            user=user,
            starts_at=at(3, 10),
            ends_at=at(3, 12),
            now=NOW + timedelta(minutes=k),
        )
    barrier = threading.Barrier(2)

    def cancel() -> str:
        try:
            barrier.wait()
            services.cancel_booking(booking=booking, actor=alice, now=at(3, 9))
            return "cancelled"
        except ValidationFailed as exc:
            return ",".join(exc.codes)
        finally:
            connection.close()

    def release() -> str:
        try:
            barrier.wait()
            return f"released {services.release_no_shows(now=at(3, 10, 20))}"
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(f.result() for f in (pool.submit(cancel), pool.submit(release)))
    assert outcomes in (["cancelled", "released 0"], ["not_cancellable", "released 1"]), outcomes
    told = WaitlistEntry.objects.filter(instrument=instrument, notified_at__isnull=False)
    assert told.count() == 1
    assert told.get().user_id == bob.pk
