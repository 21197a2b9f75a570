"""Statistics equal a direct recomputation from the rows; the output identity holds."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command

from techexchange.accounts.codes import report_category_of
from techexchange.accounts.policies import Actor
from techexchange.contracts import services
from techexchange.contracts.demo import seed_contracts
from techexchange.contracts.models import TechContract
from techexchange.contracts.reports import ReportQuery, build_report
from techexchange.contracts.rollup import contract_class
from techexchange.contracts.tests.factories import registrar
from techexchange.core.demo import DemoContext
from techexchange.core.errors import PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db
YRD = {"310000", "320000", "330000", "340000"}


class Operator:
    pk = 0
    is_authenticated = True
    _te_actor = Actor(user_id=0, platform_roles=frozenset({"operator"}))


@pytest.fixture
def world():
    seed_contracts(DemoContext(seed=5, scale=0.05))
    # Some contracts leave the statistics: the reports must follow.
    for contract in TechContract.objects.filter(seller_province="310000")[:5]:
        services.cancel_contract(actor=registrar("310000"), contract=contract, reason="测试注销")
    return [c for c in TechContract.objects.filter(status__in=["registered", "amended"])]


def sums(rows, key):
    out = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for c in rows:
        cell = out[key(c)]
        cell[0] += 1
        cell[1] += c.turnover
        cell[2] += c.technical_amount
    return {k: (v[0], f"{v[1]:.2f}", f"{v[2]:.2f}") for k, v in out.items()}


def report(**kw):
    kw.setdefault("from_year", 2022)
    kw.setdefault("to_year", kw["from_year"])
    return build_report(Operator(), ReportQuery(**kw)).data


def test_flows_equal_a_recomputation_from_the_rows(world):
    year = [c for c in world if c.registration_date.year == 2022]
    expected = sums(year, lambda c: (c.seller_province, c.buyer_province))
    data = report(table="flows", bloc="")
    got = {
        (c["seller_region"], c["buyer_region"]): (
            c["contracts"],
            c["turnover"],
            c["technical_amount"],
        )
        for c in data["cells"]
    }
    assert got == expected
    assert "港澳台" in data["definition"]


def test_city_flows_by_signing_date_with_a_type_filter(world):
    rows = [
        c
        for c in world
        if c.signing_date.year == 2021 and contract_class(c.contract_type, c.subtype) == "service"
    ]
    expected = sums(rows, lambda c: (c.seller_city, c.buyer_city))
    data = report(
        table="flows",
        bloc="",
        level="city",
        basis="signing",
        contract_type="service",
        from_year=2021,
    )
    got = {
        (c["seller_region"], c["buyer_region"]): (
            c["contracts"],
            c["turnover"],
            c["technical_amount"],
        )
        for c in data["cells"]
    }
    assert got == expected


def test_inter_bloc_headline_is_the_off_diagonal_of_the_yrd_matrix(world):
    rows = [
        c for c in world
        if c.registration_date.year == 2023 and c.seller_province in YRD
        and c.buyer_province in YRD and c.seller_province != c.buyer_province
    ]  # fmt: skip
    data = report(table="inter-bloc", from_year=2023)
    total = sum((c.turnover for c in rows), Decimal(0))
    assert (data["contracts"], data["turnover"]) == (len(rows), f"{total:.2f}")
    assert data["text"].startswith(f"三省一市相互间技术合同{len(rows)}项，成交额")


def test_output_plus_imports_equals_total_turnover(world):
    for year in (2019, 2022, 2025):
        data = report(table="output", bloc="", from_year=year)
        outputs = sum(Decimal(r["turnover"]) for r in data["rows"])
        imports = Decimal(data["imports"]["turnover"])
        total = sum((c.turnover for c in world if c.registration_date.year == year), Decimal(0))
        assert outputs + imports == total == Decimal(data["all_contracts"]["turnover"])
        assert data["total"]["contracts"] + data["imports"]["contracts"] == len(
            [c for c in world if c.registration_date.year == year]
        )


def test_breakdowns_equal_recomputation(world):
    yrd_sellers = [
        c for c in world if c.registration_date.year == 2020 and c.seller_province in YRD
    ]
    cases = {
        "by-type": lambda c: contract_class(c.contract_type, c.subtype),
        "by-field": lambda c: c.tech_field,
        "by-party": lambda c: report_category_of(c.seller_nature).value,
        "by-plan": lambda c: c.plan_source,
    }
    for table, key in cases.items():
        expected = sums(yrd_sellers, lambda c, key=key: key(c))
        data = report(table=table, from_year=2020)
        got = {
            r["key"]: (r["contracts"], r["turnover"], r["technical_amount"])
            for r in data["rows"]
            if r["contracts"]
        }
        assert got == expected, table


def test_four_class_view_folds_licences_into_transfer(world):
    five = {r["key"]: r["contracts"] for r in report(table="by-type", from_year=2023)["rows"]}
    four = {
        r["key"]: r["contracts"] for r in report(table="by-type", from_year=2023, classes=4)["rows"]
    }
    assert "licence" not in four
    assert four["transfer"] == five["transfer"] + five["licence"]


def test_json_of_the_command_matches_the_api_shape(world, capsys):
    import json

    call_command("contract_report", "--table", "inter-bloc", "--year", "2022", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"bloc", "contracts", "turnover", "technical_amount", "text", "definition"}
    assert isinstance(data["contracts"], int) and "." in data["turnover"]


def test_city_level_needs_the_detail_permission(world):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        build_report(AnonymousUser(), ReportQuery("flows", 2022, 2022, level="city"))
    assert build_report(AnonymousUser(), ReportQuery("flows", 2022, 2022)).data["cells"]


def test_bad_query_names_the_field():
    with pytest.raises(ValidationFailed) as exc:
        build_report(Operator(), ReportQuery("flows", 2022, 2021, level="street"))
    assert {p.field for p in exc.value.problems} == {"year", "level"}


def test_breakdown_reports_read_their_own_cuboid_which_equals_the_breakdowns_cuboid(world):
    from importlib import import_module

    from django.db import connection

    from techexchange.contracts.models import ContractStat
    from techexchange.contracts.rollup import CUBOIDS, rebuild

    chosen = {
        c.id
        for c in CUBOIDS
        if c.covers({"seller_province", "buyer_province", "seller_category", "buyer_category"})
    }
    assert 5 in chosen and CUBOIDS.index(next(c for c in CUBOIDS if c.id == 5)) < [
        c.id for c in CUBOIDS
    ].index(2)

    def cells(ids):
        fields = [f.name for f in ContractStat._meta.concrete_fields if f.name != "id"]
        live = ContractStat.objects.filter(cuboid__in=ids).exclude(contracts=0, turnover_fen=0)
        return sorted(live.values_list(*fields))  # cells emptied by a cancellation left out

    incremental = cells([3, 4, 5])
    assert incremental  # the services maintain the new cuboids
    rebuild()
    assert cells([3, 4, 5]) == incremental
    # The data migration derives the same cells from the breakdowns cuboid alone.
    migration = import_module("techexchange.contracts.migrations.0003_breakdown_cuboids")

    class Editor:
        quote_name = staticmethod(connection.ops.quote_name)

    Editor.connection = connection
    ContractStat.objects.filter(cuboid__in=[3, 4, 5]).delete()
    migration.derive(None, Editor())
    assert cells([3, 4, 5]) == incremental
