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
