"""The sharing journey in a real browser: search, filter, book a free slot, provider approves."""

from __future__ import annotations

import pytest

from techexchange.accounts.tests.factories import PASSWORD, make_organisation
from techexchange.resources.models import Booking
from techexchange.resources.tests.factories import (
    make_customer,
    make_instrument,
    make_policy,
    make_staff,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base, user):
    page.goto(base + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("[data-testid=login-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=profile-link]")


def test_a_jiangsu_enterprise_books_a_shanghai_sem_and_the_provider_approves(live_server, page):
    shanghai = make_organisation(
        province="310000", city="310100", nature="022", name_zh="上海示例大学"
    )
    nanjing = make_organisation(
        province="320000", city="320100", nature="021", name_zh="南京示例研究所"
    )
    sem = make_instrument(
        holder=shanghai, name_zh="场发射扫描电镜", policy=make_policy(requires_approval=True)
    )
    make_instrument(holder=nanjing, name_zh="台式扫描电镜")
    make_instrument(holder=shanghai, name_zh="高效液相色谱仪", category="010500")
    buyer = make_customer(province="320000", city="320500", username="js_enterprise")
    provider = make_staff(sem)

    _sign_in(page, live_server.url, buyer)
    page.goto(live_server.url + "/resources/")
    page.get_by_test_id("search-q").fill("扫描电镜")
    page.get_by_test_id("search-submit").click()
    page.wait_for_selector("[data-testid=facet-province-310000]")
    assert "台式扫描电镜" in page.get_by_test_id("results").inner_text()
    page.get_by_test_id("facet-province-310000").click()
    page.wait_for_selector("[data-testid=facet-province-310000].on")
    results = page.get_by_test_id("results").inner_text()
    assert "场发射扫描电镜" in results and "台式扫描电镜" not in results

    page.get_by_test_id("hit-link").first.click()
    assert "场发射扫描电镜" in page.get_by_test_id("instrument-name").inner_text()
    assert "¥600.00" in page.get_by_test_id("services").inner_text()
    page.get_by_test_id("free-slot").first.click()

    page.wait_for_selector("[data-testid=my-bookings]")
    row = page.get_by_test_id("booking-row").first
    assert "场发射扫描电镜" in row.inner_text() and row.get_attribute("data-status") == "pending"

    page.context.clear_cookies()
    _sign_in(page, live_server.url, provider)
    page.goto(live_server.url + "/resources/approvals/")
    assert "js_enterprise" in page.get_by_test_id("approval-queue").inner_text()
    page.get_by_test_id("approve").first.click()
    page.wait_for_selector("[data-testid=queue-empty]")
    booking = Booking.objects.get(user=buyer)
    assert booking.status == "confirmed" and booking.decided_by == provider

    page.context.clear_cookies()
    _sign_in(page, live_server.url, buyer)
    page.goto(live_server.url + "/resources/bookings/")
    assert page.get_by_test_id("booking-row").first.get_attribute("data-status") == "confirmed"
