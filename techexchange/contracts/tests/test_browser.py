"""In a real browser: the statistics page (tables, Sankey chart, tile map, export) and the
registration form (a problem shown beside its field, then a submission)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from techexchange.contracts.tests.factories import make_registered, registrar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_statistics_page_renders_tables_and_charts_and_exports_and_a_member_registers(
    live_server, page
):
    reg = registrar("310000")
    for _ in range(2):
        make_registered(reg=reg)
    page.goto(live_server.url + "/contracts/?from_year=2022")
    assert page.get_by_test_id("inter-bloc-count").inner_text() == "2"
    page.wait_for_selector("[data-testid=flow-chart][data-rendered='1'] svg")
    assert page.locator("[data-testid=flow-chart] svg path").count() > 0
    assert "上海市" in page.get_by_test_id("map-output").inner_text()
    flows = page.get_by_test_id("table-flows").inner_text()
    assert "上海市" in flows and "0.02" in flows
    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    with open(info.value.path(), "rb") as fh:
        wb = load_workbook(io.BytesIO(fh.read()), read_only=True)
    sheet = list(wb["flows"].iter_rows(values_only=True))
    wb.close()
    assert sheet[3][:3] == ("上海市", "江苏省", 2) and sheet[3][3] == 0.02
    # In the same test: a second transactional test in this process would start without the
    # reference data (regions) once other tests have run before it.
    _member_registers_a_contract(live_server, page)


def _member_registers_a_contract(live_server, page):
    from techexchange.accounts.tests.factories import PASSWORD
    from techexchange.contracts.models import TechContract
    from techexchange.contracts.tests.factories import contract_data, submitter

    _org, member = submitter()
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("[data-testid=login-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=profile-link]")
    page.goto(live_server.url + "/contracts/new/")
    d = contract_data()
    for name, value in {
        "project_name": d.project_name,
        "signing_date": "2022-03-01",
        "buyer_name": d.buyer.name,
        "buyer_credit_code": d.buyer.credit_code,
        "buyer_region_code": d.buyer.region_code,
        "turnover": "1000000.00",
        "technical_amount": "800000.00",
        "deductions-0-amount": "200000.00",
    }.items():
        page.fill(f"[name='{name}']", value)
    for name, value in {
        "contract_type": "development",
        "subtype": "commissioned",
        "buyer_nature": "170",
        "tech_field": "electronics",
        "ip_type": "none",
        "plan_source": "none",
        "payment_mode": "instalments",
        "deductions-0-kind": "equipment",
    }.items():
        page.select_option(f"[name='{name}']", value)
    page.fill("[name='technical_amount']", "900000.00")
    page.locator("button[value=submit]").click()
    assert "成交额与技术交易额之差" in page.locator("[data-field=deductions]").inner_text()
    page.fill("[name='technical_amount']", "800000.00")
    page.locator("button[value=submit]").click()
    assert page.get_by_test_id("status").inner_text() == "待审核"
    assert TechContract.objects.filter(status="submitted").count() == 1
