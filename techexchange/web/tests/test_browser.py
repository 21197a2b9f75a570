"""The foundation's journey in a real browser: Chinese home, English switch, sign-in, directory."""

from __future__ import annotations

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import PASSWORD, make_member, make_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_reads_chinese_home_switches_to_english_signs_in_and_browses(live_server, page):
    org = make_organisation(
        province="340000",
        city="340100",
        name_zh="合肥示例光电有限公司",
        name_en="Hefei Example Photonics Co., Ltd.",
    )
    make_organisation(province="320000", city="320500", name_zh="苏州示例材料有限公司")
    user = make_member(org, OrgRole.ADMIN, username="alice")

    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_test_id("org-total").inner_text() == "2"
    assert "入驻机构" in page.content()

    page.get_by_test_id("lang-en").click()
    page.wait_for_selector("html[lang=en]")
    assert "Organisations" in page.locator("nav.mainnav").inner_text()

    page.get_by_test_id("login-link").click()
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("[data-testid=login-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=profile-link]")
    assert page.locator("html").get_attribute("lang") == "en"  # the choice persisted

    page.locator("nav.mainnav a[data-area=directory]").click()
    page.select_option("select[name=province]", "340000")
    page.locator("[data-testid=org-filters] button").click()
    table = page.get_by_test_id("org-table").inner_text()
    assert "Hefei Example Photonics" in table and "苏州示例材料" not in table
    page.get_by_text("Hefei Example Photonics Co., Ltd.").click()
    assert page.locator("h1").inner_text() == "Hefei Example Photonics Co., Ltd."
