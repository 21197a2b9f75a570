"""The JSON API: the same rules as the web, errors in the one shape, no 500s."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from techexchange.accounts.services import create_api_token
from techexchange.core import clock
from techexchange.resources.models import Booking
from techexchange.resources.tests.factories import (
    make_customer,
    make_instrument,
    make_policy,
    make_staff,
)

pytestmark = pytest.mark.django_db


def _auth(user):
    _t, raw = create_api_token(user=user)
    return {"Authorization": f"Bearer {raw}"}


def _slot(days=2, hour=10, hours=2):
    start = (
        (clock.now() + timedelta(days=days))
        .astimezone()
        .replace(hour=hour, minute=0, second=0, microsecond=0)
    )
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def _post(client, url, user, payload):
    return client.post(
        url, json.dumps(payload), content_type="application/json", headers=_auth(user)
    )


def test_booking_answers_201_then_409_overlap_then_422_with_problems(client):
    sem = make_instrument()
    start, end = _slot()
    url = f"/api/resources/instruments/{sem.pk}/bookings"
    first = _post(client, url, make_customer(), {"starts_at": start, "ends_at": end})
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "confirmed"
    second = _post(client, url, make_customer(), {"starts_at": start, "ends_at": end})
    assert second.status_code == 409 and second.json()["code"] == "overlap"
    bad = _post(client, url, make_customer(), {"starts_at": end, "ends_at": start})
    assert bad.status_code == 422
    assert bad.json()["details"][0] == {
        "code": "invalid_range", "message": "结束时间须晚于开始时间", "field": "ends_at"
    }  # fmt: skip


def test_malformed_booking_input_is_a_422_naming_the_field(client):
    sem = make_instrument()
    url = f"/api/resources/instruments/{sem.pk}/bookings"
    response = _post(client, url, make_customer(), {"starts_at": "tomorrow", "ends_at": "x"})
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["details"]} == {"starts_at", "ends_at"}
    naive = _post(
        client,
        url,
        make_customer(),
        {"starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T11:00"},
    )
    assert naive.status_code == 422 and naive.json()["code"] == "naive_datetime"


def test_booking_needs_authentication_and_an_existing_instrument(client):
    start, end = _slot()
    anon = client.post(
        "/api/resources/instruments/1/bookings",
        json.dumps({"starts_at": start, "ends_at": end}),
        content_type="application/json",
    )
    assert anon.status_code == 401
    missing = _post(
        client,
        "/api/resources/instruments/999999/bookings",
        make_customer(),
        {"starts_at": start, "ends_at": end},
    )
    assert missing.status_code == 404


def test_provider_approves_through_the_api_and_outsiders_cannot(client):
    sem = make_instrument(policy=make_policy(requires_approval=True))
    alice = make_customer()
    start, end = _slot()
    made = _post(
        client,
        f"/api/resources/instruments/{sem.pk}/bookings",
        alice,
        {"starts_at": start, "ends_at": end},
    ).json()
    assert made["status"] == "pending"
    outsider = _post(client, f"/api/resources/bookings/{made['id']}/approve", make_customer(), {})
    assert outsider.status_code == 404
    staff = make_staff(sem)
    queue = client.get("/api/resources/approvals", headers=_auth(staff)).json()
    assert [b["id"] for b in queue["items"]] == [made["id"]]
    ok = _post(client, f"/api/resources/bookings/{made['id']}/approve", staff, {})
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed"


def test_cancel_and_move_through_the_api(client):
    sem = make_instrument()
    alice = make_customer()
    start, end = _slot()
    made = _post(
        client,
        f"/api/resources/instruments/{sem.pk}/bookings",
        alice,
        {"starts_at": start, "ends_at": end},
    ).json()
    start2, end2 = _slot(days=3)
    moved = _post(
        client,
        f"/api/resources/bookings/{made['id']}/move",
        alice,
        {"starts_at": start2, "ends_at": end2},
    )
    assert moved.status_code == 201 and moved.json()["predecessor_id"] == made["id"]
    cancelled = _post(
        client,
        f"/api/resources/bookings/{moved.json()['id']}/cancel",
        alice,
        {"reason": "计划变更"},
    )
    assert cancelled.json()["status"] == "cancelled"
    mine = client.get("/api/resources/bookings", headers=_auth(alice)).json()
    assert {b["status"] for b in mine["items"]} == {"moved", "cancelled"}


def test_search_detail_and_availability(client):
    sem = make_instrument(name_zh="场发射扫描电镜")
    make_instrument(name_zh="液相色谱仪", category="010500")
    body = client.get("/api/resources/instruments?q=扫描电镜").json()
    assert body["total"] == 1 and body["items"][0]["id"] == str(sem.pk)
    assert {f["value"] for f in body["facets"]["province"]} == {"310000"}
    detail = client.get(f"/api/resources/instruments/{sem.pk}").json()
    prices = {s["mode"]: s["price_enterprise"] for s in detail["services"]}
    assert prices == {"occupy": "600.00", "entrusted": "300.00"}
    cal = client.get(f"/api/resources/instruments/{sem.pk}/availability?days=1").json()
    assert cal["days"][0]["slots"]
    assert (
        client.get(f"/api/resources/instruments/{sem.pk}/availability?start=bad").status_code == 422
    )


def test_utilisation_is_for_operators_analysts_and_the_provider(client):
    sem = make_instrument()
    assert (
        client.get("/api/resources/utilisation", headers=_auth(make_customer())).status_code == 403
    )
    staff = make_staff(sem)
    ok = client.get(f"/api/resources/utilisation?holder={sem.holder_id}", headers=_auth(staff))
    assert ok.status_code == 200 and ok.json()[0]["instruments"] == 1
    assert Booking.objects.count() == 0
