"""The catalogue's availability filter: a free slot of D hours within a date window."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from techexchange.resources import selectors, services
from techexchange.resources.models import Outage
from techexchange.resources.selectors import FreeWindow, instruments_with_free_slot
from techexchange.resources.tests.factories import (
    NOW,
    at,
    make_customer,
    make_instrument,
    make_policy,
)

pytestmark = pytest.mark.django_db

TUESDAY = date(2026, 3, 3)
SATURDAY = date(2026, 3, 7)


def _book(instrument, start, end, now=NOW):
    return services.book_instrument(
        instrument=instrument, booked_by=make_customer(), starts_at=start, ends_at=end, now=now
    )


def _free(instruments, first, last=None, hours=1.0, now=NOW):
    window = FreeWindow.from_dates(first, last or first, hours)
    ids = [i.pk for i in instruments]
    return instruments_with_free_slot(ids, window, now=now)


def test_a_fully_booked_day_has_no_free_slot_but_the_next_day_has():
    sem = make_instrument(open_hours=True)
    _book(sem, at(3, 8), at(3, 13))
    _book(sem, at(3, 13), at(3, 18))
    assert _free([sem], TUESDAY) == set()
    assert _free([sem], TUESDAY, TUESDAY + timedelta(days=1)) == {sem.pk}


def test_the_gap_between_bookings_counts_the_buffers_on_both_sides():
    sem = make_instrument(open_hours=True, policy=make_policy(buffer_minutes=30))
    _book(sem, at(3, 8), at(3, 12))  # blocks until 12:30
    _book(sem, at(3, 14), at(3, 18))  # needs 13:30 free before it
    assert _free([sem], TUESDAY, hours=1) == {sem.pk}
    assert _free([sem], TUESDAY, hours=1.5) == set()


def test_open_hours_bound_the_free_time_and_closed_days_have_none():
    weekdays = make_instrument(open_hours=True)
    around_the_clock = make_instrument()
    assert _free([weekdays, around_the_clock], SATURDAY) == {around_the_clock.pk}
    assert _free([weekdays], TUESDAY, hours=10) == {weekdays.pk}
    assert _free([weekdays], TUESDAY, hours=10.5) == set()


def test_an_outage_takes_its_time_out_of_the_window():
    sem = make_instrument(open_hours=True)
    Outage.objects.create(instrument=sem, starts_at=at(3, 7), ends_at=at(3, 17), reason="维护")
    assert _free([sem], TUESDAY, hours=1) == {sem.pk}  # 17:00-18:00 is left
    assert _free([sem], TUESDAY, hours=2) == set()


def test_an_expired_request_no_longer_holds_its_slot():
    sem = make_instrument(
        open_hours=True, policy=make_policy(requires_approval=True, hold_minutes=30)
    )
    _book(sem, at(3, 8), at(3, 16))
    assert _free([sem], TUESDAY, hours=4) == set()
    assert _free([sem], TUESDAY, hours=4, now=NOW + timedelta(hours=1)) == {sem.pk}


def test_time_already_past_is_not_free():
    sem = make_instrument(open_hours=True)
    late_tuesday = at(3, 16)
    assert _free([sem], TUESDAY, hours=2, now=late_tuesday) == {sem.pk}
    assert _free([sem], TUESDAY, hours=3, now=late_tuesday) == set()


def test_instruments_out_of_service_are_never_free():
    broken = make_instrument(state="awaiting_repair")
    assert _free([broken], TUESDAY) == set()


def test_a_shared_area_is_full_only_at_capacity():
    hall = make_instrument(capacity=2)
    _book(hall, at(3, 0), at(3, 8))
    assert _free([hall], TUESDAY, hours=24) == {hall.pk}


def test_the_check_costs_the_same_few_queries_for_many_instruments(
    django_assert_max_num_queries,
):
    instruments = [make_instrument(open_hours=True) for _ in range(12)]
    for inst in instruments[:6]:
        _book(inst, at(3, 8), at(3, 13))
        _book(inst, at(3, 13), at(3, 18))
    # One query each: instruments, open hours, outages, wait-list holds, bookings.
    with django_assert_max_num_queries(5):
        free = _free(instruments, TUESDAY, hours=2)
    assert free == {i.pk for i in instruments[6:]}


def test_search_keeps_only_instruments_free_in_the_window():
    booked = make_instrument(open_hours=True, name_zh="场发射扫描电镜")
    free = make_instrument(open_hours=True, name_zh="台式扫描电镜")
    _book(booked, at(3, 8), at(3, 13))
    _book(booked, at(3, 13), at(3, 18))
    result = selectors.search_instruments(
        q="扫描电镜", available_from=TUESDAY, available_to=TUESDAY, min_hours=2, now=NOW
    )
    assert [h["id"] for h in result.hits] == [str(free.pk)]
    assert result.total == 1
    every = selectors.search_instruments(q="扫描电镜", now=NOW)
    assert every.total == 2


def test_facets_count_only_free_instruments_and_hits_are_highlighted():
    booked = make_instrument(open_hours=True, name_zh="场发射扫描电镜")
    make_instrument(open_hours=True, name_zh="台式扫描电镜")
    _book(booked, at(3, 8), at(3, 13))
    _book(booked, at(3, 13), at(3, 18))
    result = selectors.search_instruments(
        q="扫描电镜", available_from=TUESDAY, available_to=TUESDAY, min_hours=2, now=NOW
    )
    assert sum(f.count for f in result.facets["province"]) == 1
    assert "<mark>" in "".join(result.hits[0]["highlights"].values())


def test_search_page_and_api_take_the_window(client, monkeypatch):
    from techexchange.core import clock

    monkeypatch.setattr(clock, "now", lambda: NOW)
    booked = make_instrument(open_hours=True, name_zh="场发射扫描电镜")
    free = make_instrument(open_hours=True, name_zh="台式扫描电镜")
    _book(booked, at(3, 8), at(3, 13))
    _book(booked, at(3, 13), at(3, 18))
    window = {"available_from": "2026-03-03", "available_to": "2026-03-03", "min_hours": "2"}
    api = client.get("/api/resources/instruments", {"q": "扫描电镜", **window})
    assert api.status_code == 200, api.content
    assert [i["id"] for i in api.json()["items"]] == [str(free.pk)]
    page = client.get("/resources/", {"q": "扫描电镜", **window})
    assert page.status_code == 200
    assert f"/resources/instruments/{free.pk}/" in page.content.decode()
    assert f"/resources/instruments/{booked.pk}/" not in page.content.decode()


def test_a_slot_held_for_a_waiting_user_is_not_free_for_others():
    from techexchange.resources.models import WaitlistEntry
    from techexchange.resources.tests.factories import make_customer

    instrument = make_instrument(open_hours=True)
    _book(instrument, at(3, 8), at(3, 13))
    window = FreeWindow.from_dates(TUESDAY, TUESDAY, 5)
    assert selectors.instruments_with_free_slot([instrument.pk], window, now=NOW) == {instrument.pk}
    WaitlistEntry.objects.create(
        instrument=instrument,
        user=make_customer(),
        starts_at=at(3, 13),
        ends_at=at(3, 18),
        created_at=NOW,
        notified_at=NOW,
        held_from=at(3, 13),
        held_to=at(3, 18),
        hold_until=NOW + timedelta(hours=2),
    )
    assert selectors.instruments_with_free_slot([instrument.pk], window, now=NOW) == set()
