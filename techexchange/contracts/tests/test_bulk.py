"""A large import drops the indexes its rows enter and builds them again, exactly as they were,
on SQLite and PostgreSQL (contracts.bulk); a smaller one, or one into a fuller table, does not;
a unique index that no longer holds fails the import and leaves everything as it was."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from techexchange.contracts import bulk
from techexchange.contracts.demo import numbered
from techexchange.contracts.importer import import_contracts
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.contracts.rollup import rebuild
from techexchange.contracts.tests.rows import row_of, write_csv

# The staged path (SQLite) runs only outside a caller's transaction: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

CONTRACTS = TechContract._meta.db_table
ROLLUP = ContractStat._meta.db_table


def demo_rows(n: int, seed: int = 3) -> list[list[str]]:
    rows = []
    for d, number in itertools.islice(numbered(random.Random(seed), 0.05), n):
        assert d.registration_date is not None
        rows.append(row_of(d, number, d.registration_date.isoformat()))
    return rows


def schema(table: str) -> set[tuple[Any, ...]]:
    """The table's indexes and key constraints as the database describes them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                [table],
            )
            return set(cursor.fetchall())
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass",
            [table, table],
        )
        return set(cursor.fetchall())


@pytest.fixture
def dropped(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every statement that dropped an index or key, by table."""
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 10)
    seen: dict[str, list[str]] = {}
    for name in ("_sqlite_indexes", "_pg_indexes"):
        original = getattr(bulk, name)

        def spy(model: Any, constants: Any, original: Any = original) -> Any:
            drops, builds = original(model, constants)
            seen.setdefault(model._meta.db_table, []).extend(drops)
            return drops, builds

        monkeypatch.setattr(bulk, name, spy)
    return seen


def test_a_large_import_rebuilds_the_indexes_its_rows_enter_and_keeps_the_rest(tmp_path, dropped):
    before = {CONTRACTS: schema(CONTRACTS), ROLLUP: schema(ROLLUP)}
    assert import_contracts(write_csv(tmp_path / "c.csv", demo_rows(120))).written == 120
    # Imported rows are registered and numbered: they enter the duplicate key, the number and
    # the registration date; the review queue (submitted contracts only) stays; so does the
    # primary key, which the links and deductions point at.
    names = " ".join(dropped[CONTRACTS])
    for index in (
        "contract_one_registration_per_contract",
        "contract_regdate_idx",
        "contract_registration_number_unique",
    ):
        assert index in names
    assert "contract_submitted_queue_idx" not in names and "pkey" not in names
    assert len(dropped[CONTRACTS]) == 3
    if connection.vendor == "postgresql":  # the cells of new periods are copied in
        assert sorted(dropped[ROLLUP]) == [
            f'ALTER TABLE {connection.ops.quote_name(ROLLUP)} DROP CONSTRAINT "{name}"'
            for name in ("contracts_contractstat_pkey", "contractstat_cell_unique")
        ]
    assert schema(CONTRACTS) == before[CONTRACTS] and schema(ROLLUP) == before[ROLLUP]
    cells = sorted(ContractStat.objects.values_list("cuboid", "basis", "year", "contracts"))
    rebuild()  # the rollup the import wrote is the rebuild's
    assert sorted(ContractStat.objects.values_list("cuboid", "basis", "year", "contracts")) == (
        cells
    )
    with connection.cursor() as cursor:  # the rebuilt indexes answer
        cursor.execute(
            f"SELECT count(*) FROM {CONTRACTS} WHERE registration_number = %s",  # noqa: S608
            [TechContract.objects.order_by("?").values_list("registration_number")[0][0]],
        )
        assert cursor.fetchone()[0] == 1


def test_a_smaller_import_than_the_registry_keeps_its_indexes(tmp_path, dropped):
    assert import_contracts(write_csv(tmp_path / "a.csv", demo_rows(120))).written == 120
    dropped.clear()
    more = demo_rows(160)[120:]  # 40 new contracts into 120
    assert import_contracts(write_csv(tmp_path / "b.csv", more)).written == 40
    assert CONTRACTS not in dropped


def test_a_unique_index_that_no_longer_holds_fails_and_nothing_changes(monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)
    before = schema(ROLLUP)
    cell = {
        "cuboid": 0,
        "basis": "r",
        "year": 2024,
        "seller_province": "310000",
        "buyer_province": "320000",
    }
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        bulk.indexes_rebuilt_after(ContractStat, 2),
    ):
        # Two rows of one cell: possible only with the unique key dropped.
        ContractStat.objects.bulk_create([ContractStat(**cell), ContractStat(**cell)])
    assert ContractStat.objects.count() == 0
    assert schema(ROLLUP) == before


def test_indexes_stay_for_a_write_below_the_threshold(monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 100)
    with transaction.atomic(), bulk.indexes_rebuilt_after(ContractStat, 99):
        # The unique key is there: the second row of the cell is refused at once.
        ContractStat.objects.create(cuboid=0, basis="r", year=2024)
        with pytest.raises(IntegrityError), transaction.atomic():
            ContractStat.objects.create(cuboid=0, basis="r", year=2024)
