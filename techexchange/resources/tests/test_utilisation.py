"""Utilisation figures equal a recomputation from the usage records and bookings."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from techexchange.accounts.tests.factories import grant, make_user
from techexchange.resources import selectors, services
from techexchange.resources.models import Booking, UsageRecord
from techexchange.resources.tests.factories import (
    NOW,
    at,
    make_customer,
    make_holder,
    make_instrument,
    make_staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Three instruments in two cities, bookings that end every possible way."""
    rng = random.Random(7)
    hz = make_holder()
    instruments = [
        make_instrument(holder=hz),
        make_instrument(holder=hz),
        make_instrument(province_id="330000", city_id="330100"),
    ]
    customers = [make_customer(), make_customer(province="310000", city="310100")]
    customers.append(make_staff(instruments[0]))  # internal
    for day in range(3, 20):
        for inst in instruments:
            user = rng.choice(customers)
            start = at(day, 9) + timedelta(hours=rng.randrange(0, 6))
            b = services.book_instrument(
                instrument=inst,
                booked_by=user,
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                service=inst.services.get(mode="occupy"),
                now=NOW,
            )
            fate = rng.random()
            if fate < 0.15:
                services.cancel_booking(booking=b, actor=user, now=start - timedelta(hours=2))
            elif fate < 0.3:
                services.release_no_shows(now=start + timedelta(minutes=30))
            else:
                services.check_in(booking=b, actor=user, now=start)
                services.finish_booking(
                    booking=b, actor=user, satisfaction=rng.randint(3, 5),
                    now=start + timedelta(minutes=rng.choice([60, 90, 120])),
                )  # fmt: skip
    return instruments


def _recompute(group_by, start, end):
    key = {
        "instrument": lambda i: str(i.pk),
        "provider": lambda i: str(i.holder_id),
        "city": lambda i: i.city_id,
        "province": lambda i: i.province_id,
    }[group_by]
    acc = defaultdict(lambda: defaultdict(Decimal))
    for u in UsageRecord.objects.select_related("instrument"):
        if start <= u.started_at < end:
            a = acc[key(u.instrument)]
            a["effective"] += u.hours
            a["external"] += u.hours if u.is_external else 0
            a["cross"] += u.hours if u.is_cross_province else 0
            if u.satisfaction:
                a["rating_sum"] += u.satisfaction
                a["ratings"] += 1
    for b in Booking.objects.select_related("instrument").exclude(status="moved"):
        if start <= b.starts_at < end:
            a = acc[key(b.instrument)]
            a["bookings"] += 1
            a["no_show"] += b.status == "no_show"
            a["due"] += b.status in ("completed", "no_show")
            a["late"] += b.late_cancel
    return acc


@pytest.mark.parametrize("group_by", ["instrument", "provider", "city", "province"])
def test_utilisation_equals_a_recomputation_from_usage_records(history, group_by):
    analyst = make_user()
    grant(analyst, "analyst")
    start, end = at(1, 0), at(31, 0)
    rows = selectors.utilisation(group_by=group_by, start=start, end=end, user=analyst)
    expected = _recompute(group_by, start, end)
    assert {r.key for r in rows} == set(expected)
    for r in rows:
        e = expected[r.key]
        assert r.effective_hours == e["effective"]
        assert r.external_hours == e["external"]
        assert r.cross_province_hours == e["cross"]
        assert r.share_rate == (
            (e["external"] / e["effective"]).quantize(Decimal("0.0001")) if e["effective"] else None
        )
        assert r.no_show_rate == (
            (e["no_show"] / e["due"]).quantize(Decimal("0.0001")) if e["due"] else None
        )
        assert r.late_cancel_rate == (
            (e["late"] / e["bookings"]).quantize(Decimal("0.0001")) if e["bookings"] else None
        )
        assert r.satisfaction == (
            (e["rating_sum"] / e["ratings"]).quantize(Decimal("0.01")) if e["ratings"] else None
        )
    assert sum(r.effective_hours for r in rows) > 0


def test_a_provider_sees_only_its_own_instruments(history):
    staff = make_staff(history[0])
    rows = selectors.utilisation(
        group_by="instrument",
        start=at(1, 0),
        end=at(31, 0),
        user=staff,
        holder_id=history[0].holder_id,
    )
    assert {r.key for r in rows} == {str(history[0].pk), str(history[1].pk)}
