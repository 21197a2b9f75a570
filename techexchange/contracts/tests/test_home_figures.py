"""The home page's contract figures: the headline is the latest complete year's."""

from __future__ import annotations

from datetime import date

import pytest

from techexchange.contracts.models import ContractStat
from techexchange.contracts.selectors import contract_figures

pytestmark = pytest.mark.django_db


def cell(year: int, contracts: int) -> ContractStat:
    return ContractStat.objects.create(
        cuboid=0, basis="r", year=year, seller_province="320000", buyer_province="340000",
        contracts=contracts, turnover_fen=100, technical_fen=100,
    )  # fmt: skip


def test_the_headline_is_the_latest_complete_year(monkeypatch):
    monkeypatch.setattr("techexchange.core.clock.today", lambda: date(2026, 3, 1))
    cell(2025, 7)
    cell(2026, 2)  # the year so far
    figures = contract_figures()
    assert figures["registered"] == 9
    assert figures["year"] == 2025 and figures["headline"]["contracts"] == 7


def test_only_the_current_year_shows_the_current_year(monkeypatch):
    monkeypatch.setattr("techexchange.core.clock.today", lambda: date(2026, 3, 1))
    cell(2026, 2)
    assert contract_figures()["year"] == 2026
