"""The statistics page in a real browser: tables, the Sankey chart, the tile map, export."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from techexchange.contracts.tests.factories import make_registered, registrar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_statistics_page_renders_tables_and_charts_and_exports(live_server, page):
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
