"""Pages of resources: the catalogue, an instrument, booking from the calendar, queues, feeds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from techexchange.accounts.tests.factories import grant, make_user
from techexchange.core import clock
from techexchange.resources.models import Booking
from techexchange.resources.tests.factories import (
    make_customer,
    make_instrument,
    make_policy,
    make_staff,
)

pytestmark = pytest.mark.django_db


def _next_10am():
    return (
        (clock.now() + timedelta(days=2))
        .astimezone()
        .replace(hour=10, minute=0, second=0, microsecond=0)
    )


def test_search_page_shows_hits_and_facets(client):
    make_instrument(name_zh="场发射扫描电镜")
    html = client.get("/resources/?q=扫描电镜").content.decode()
    assert "<mark>" in html and 'data-testid="facet-province-310000"' in html


def test_instrument_page_shows_prices_and_calendar(client):
    sem = make_instrument()
    html = client.get(f"/resources/instruments/{sem.pk}/?view=day").content.decode()
    assert "¥600.00" in html and 'data-testid="calendar"' in html


def test_booking_from_the_page_and_seeing_it_in_my_bookings(client):
    sem = make_instrument(policy=make_policy(requires_approval=True))
    alice = make_customer()
    client.force_login(alice)
    start = _next_10am()
    response = client.post(
        f"/resources/instruments/{sem.pk}/book/", {"starts_at": start.isoformat()}
    )
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.status == "pending" and booking.ends_at - booking.starts_at == timedelta(hours=1)
    assert 'data-status="pending"' in client.get("/resources/bookings/").content.decode()
    staff = make_staff(sem)
    client.force_login(staff)
    assert 'data-testid="approval-row"' in client.get("/resources/approvals/").content.decode()
    client.post(f"/resources/bookings/{booking.pk}/approve/", {"next": "/resources/approvals/"})
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_a_refused_booking_shows_the_reason_and_writes_nothing(client):
    sem = make_instrument()
    client.force_login(make_customer())
    response = client.post(
        f"/resources/instruments/{sem.pk}/book/", {"starts_at": "2020-01-01T10:00"}, follow=True
    )
    assert "不能预约已经开始或过去的时段" in response.content.decode()
    assert not Booking.objects.exists()
    bad = client.post(
        f"/resources/instruments/{sem.pk}/book/", {"starts_at": "nonsense"}, follow=True
    )
    assert bad.status_code == 200 and "时间格式有误" in bad.content.decode()


def test_ics_feeds_for_a_user_and_an_instrument(client):
    sem = make_instrument()
    alice = make_customer()
    client.force_login(alice)
    client.post(f"/resources/instruments/{sem.pk}/book/", {"starts_at": _next_10am().isoformat()})
    page = client.get("/resources/bookings/").content.decode()
    link = page.split('data-testid="ics-link">')[1].split("<")[0]
    client.logout()
    feed = client.get(link.replace("http://testserver", ""))
    assert (
        feed["Content-Type"].startswith("text/calendar") and "BEGIN:VEVENT" in feed.content.decode()
    )
    assert client.get("/resources/ics/forged.ics").status_code == 404
    busy = client.get(f"/resources/instruments/{sem.pk}/calendar.ics").content.decode()
    assert "BEGIN:VEVENT" in busy and str(alice) not in busy


def test_directory_pages_render(client):
    for url in ("/resources/facilities/", "/resources/bases/", "/resources/experts/"):
        assert client.get(url).status_code == 200


def test_dashboards_and_export_need_the_right_role(client):
    import io

    from openpyxl import load_workbook

    sem = make_instrument()
    client.force_login(make_customer())
    assert client.get("/resources/operations/").status_code == 403
    client.force_login(make_staff(sem))
    assert client.get("/resources/dashboard/").status_code == 200
    analyst = make_user()
    grant(analyst, "analyst")
    client.force_login(analyst)
    assert "utilisation" in client.get("/resources/operations/?group_by=city").content.decode()
    xlsx = client.get("/resources/export.xlsx?year=2026")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["仪器信息", "服务记录"] and wb["仪器信息"].max_row == 2
