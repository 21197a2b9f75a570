"""The demo contracts follow the published shape of the statistics (DOMAIN.md §3)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from techexchange.accounts.codes import report_category_of
from techexchange.contracts.demo import seed_contracts
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.core.demo import DemoContext

pytestmark = pytest.mark.django_db
YRD = {"310000", "320000", "330000", "340000"}


@pytest.fixture(scope="module")
def contracts(django_db_setup, django_db_blocker):
    # django_db_setup first: without it the seeding would reach the real database.
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            seed_contracts(DemoContext(seed=1, scale=0.3))
            rows = list(
                TechContract.objects.values(
                    "seller_province", "buyer_province", "seller_nature", "contract_type",
                    "turnover", "technical_amount", "ip_type",
                )
            )  # fmt: skip
            transaction.set_rollback(True)
    return rows


def share(rows, pred):
    total = sum(r["turnover"] for r in rows)
    return sum(r["turnover"] for r in rows if pred(r)) / total


def test_shanghai_is_a_net_exporter(contracts):
    out = sum(r["turnover"] for r in contracts if r["seller_province"] == "310000")
    absorbed = sum(r["turnover"] for r in contracts if r["buyer_province"] == "310000")
    assert out > absorbed * Decimal("1.2")


def test_services_and_development_are_the_largest_types(contracts):
    by_type = defaultdict(Decimal)
    for r in contracts:
        by_type[r["contract_type"]] += r["turnover"]
    top = sorted(by_type, key=by_type.get, reverse=True)[:2]
    assert set(top) == {"service", "development"}


def test_enterprises_sell_about_ninety_percent_of_output_value(contracts):
    yrd = [r for r in contracts if r["seller_province"] in YRD]
    got = share(yrd, lambda r: report_category_of(r["seller_nature"]) == "enterprise")
    assert 0.85 <= got <= 0.95


def test_technical_amount_is_two_thirds_to_four_fifths_of_turnover(contracts):
    ratio = sum(r["technical_amount"] for r in contracts) / sum(r["turnover"] for r in contracts)
    assert Decimal("0.67") <= ratio <= Decimal("0.80")


def test_amounts_are_heavy_tailed(contracts):
    amounts = sorted((r["turnover"] for r in contracts), reverse=True)
    top_decile = sum(amounts[: len(amounts) // 10])
    assert top_decile / sum(amounts) > Decimal("0.45")


def test_inter_provincial_share_is_about_fourteen_percent_of_yrd_value(contracts):
    yrd = [r for r in contracts if r["seller_province"] in YRD]
    got = share(
        yrd, lambda r: r["buyer_province"] in YRD and r["buyer_province"] != r["seller_province"]
    )
    assert 0.10 <= got <= 0.18


def test_seeding_twice_adds_nothing():
    ctx = DemoContext(seed=2, scale=0.02)
    seed_contracts(ctx)
    counts = (TechContract.objects.count(), ContractStat.objects.count())
    seed_contracts(ctx)
    assert (TechContract.objects.count(), ContractStat.objects.count()) == counts
