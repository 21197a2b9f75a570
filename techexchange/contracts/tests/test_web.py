"""Pages and API: statistics with export, the review queue, the web import."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from techexchange.accounts.tests.factories import PASSWORD
from techexchange.contracts import services
from techexchange.contracts.models import TechContract
from techexchange.contracts.tests.factories import (
    contract_data,
    contract_input,
    make_registered,
    registrar,
    submitter,
)
from techexchange.contracts.tests.rows import row_of, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered():
    reg = registrar("310000")
    for _ in range(3):
        make_registered(reg=reg)
    make_registered(reg=reg, buyer=contract_data().seller)  # within Shanghai
    return reg


def test_stats_page_shows_tables_in_yi_yuan_with_definitions(client, registered):
    html = client.get("/contracts/?from_year=2022").content.decode()
    assert 'data-testid="table-flows"' in html and "口径" in html
    assert 'data-testid="inter-bloc-count">3<' in html
    assert "0.03" in html  # 3 × 1,000,000 元 = 0.03 亿元


def test_xlsx_export_holds_the_same_numbers(client, registered):
    response = client.get("/contracts/export.xlsx?from_year=2022")
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(wb["inter-bloc"].iter_rows(values_only=True))
    assert rows[2][1] == "项数" and rows[3][1] == 3 and rows[3][4] == 3000000
    assert "口径" in rows[1][0]


def test_api_stats_json_and_city_level_permission(client, registered):
    data = client.get("/api/contracts/stats/inter-bloc?year=2022").json()
    assert (data["contracts"], data["turnover"]) == (3, "3000000.00")
    assert client.get("/api/contracts/stats/flows?year=2022&level=city").status_code == 403
    bad = client.get("/api/contracts/stats/flows?year=2022&level=street")
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "level"


def test_api_register_needs_the_regions_registrar(client):
    org, member = submitter()
    contract = services.submit_contract(actor=member, organisation=org, inp=contract_input())
    other = registrar("320000")
    client.login(username=other.username, password=PASSWORD)
    assert client.post(
        f"/api/contracts/{contract.pk}/register", {}, content_type="application/json"
    ).status_code in (403, 404)
    reg = registrar("310000")
    client.login(username=reg.username, password=PASSWORD)
    from django.middleware.csrf import get_token  # noqa: F401 - session writes need CSRF

    client.handler.enforce_csrf_checks = False
    response = client.post(
        f"/api/contracts/{contract.pk}/register",
        {"registration_date": "2022-06-01"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["registration_number"]) == 16


def test_registrar_reviews_the_queue_on_the_web(client):
    org, member = submitter()
    contract = services.submit_contract(actor=member, organisation=org, inp=contract_input())
    reg = registrar("310000")
    client.login(username=reg.username, password=PASSWORD)
    assert contract.project_name in client.get("/contracts/review/").content.decode()
    client.post(f"/contracts/review/{contract.pk}/", {"decision": "register"})
    assert TechContract.objects.get(pk=contract.pk).status == "registered"


def test_web_import_reports_rows_and_writes_nothing_on_error(client, tmp_path):
    reg = registrar("310000")
    client.login(username=reg.username, password=PASSWORD)
    rows = [row_of(contract_data()), row_of(contract_data(technical_amount=Decimal("9e6")))]
    path = write_csv(tmp_path / "up.csv", rows)
    with path.open("rb") as fh:
        html = client.post("/contracts/import/", {"file": fh}).content.decode()
    assert "technical_exceeds_turnover" in html and TechContract.objects.count() == 0
    with path.open("rb") as fh:
        client.post("/contracts/import/", {"file": fh, "valid_rows": "on"})
    assert TechContract.objects.count() == 1


def test_import_page_is_for_registrars_only(client):
    _org, member = submitter()
    client.login(username=member.username, password=PASSWORD)
    assert client.get("/contracts/import/").status_code == 403
