"""The staged write path (SQLite: DuckDB writes a stage file that the import copies from in SQL)
stores exactly what the row-by-row path stores, and lets go of the stage file afterwards."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from django.db import connection

from techexchange.contracts import importer
from techexchange.contracts.demo import numbered
from techexchange.contracts.importer import import_contracts
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.contracts.rollup import rebuild
from techexchange.contracts.tests.rows import row_of, write_csv

# The staged path runs only outside a caller's transaction: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

STAGE = "stage (DuckDB writes the parts, beside the insert)"


@pytest.fixture
def sqlite_with_extension() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the staged path is SQLite's (PostgreSQL uses COPY)")
    if importer._sqlite_extension_file() is None:
        pytest.skip("duckdb-extension-sqlite is not installed")


def demo_rows(n: int) -> list[list[str]]:
    """Varied valid rows from the demo generator; every fifth without a number."""
    rows = []
    for i, (d, number) in enumerate(itertools.islice(numbered(random.Random(3), 0.05), n)):
        assert d.registration_date is not None
        rows.append(row_of(d, "" if i % 5 == 0 else number, d.registration_date.isoformat()))
    return rows


def stored() -> dict[str, dict[str, Any]]:
    """Every contract's stored fields by duplicate key (generated numbers left out)."""
    skip = {"id", "created_at", "updated_at"}
    out = {}
    for c in TechContract.objects.values():
        values = {k: v for k, v in c.items() if k not in skip}
        if str(values["registration_number"])[8:10] != "99":  # numbered by the import
            values["registration_number"] = "(assigned)"
        out[c["dedupe_key"]] = values
    return out


def cells() -> list[tuple[Any, ...]]:
    fields = [f.name for f in ContractStat._meta.concrete_fields if f.name != "id"]
    return sorted(ContractStat.objects.values_list(*fields))


def attached() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA database_list")
        return [name for _seq, name, _file in cursor.fetchall()]


def stage_files() -> list[str]:
    return [name for name in attached() if name.startswith("contracts_import_stage")]


@pytest.mark.parametrize("file_rows", [100_000, 90])  # one stage file; five (at most four)
def test_staged_import_stores_what_the_row_path_stores(
    tmp_path, monkeypatch, sqlite_with_extension, file_rows
):
    monkeypatch.setattr(importer, "STAGE_FILE_ROWS", file_rows)
    monkeypatch.setattr(importer, "STAGE_CHUNK", 70)  # several copies per file
    path = write_csv(tmp_path / "c.csv", demo_rows(400))

    staged = import_contracts(path)
    assert staged.committed and staged.written == 400, staged.problems[:3]
    assert STAGE in staged.timings
    assert stage_files() == []  # the stage files are let go
    staged_rows, staged_cells, staged_raw = stored(), cells(), raw()
    rebuild()
    assert cells() == staged_cells  # the staged rollup equals a recomputation from the rows

    TechContract.objects.all().delete()
    ContractStat.objects.all().delete()
    monkeypatch.setattr(importer, "_sqlite_extension_file", lambda: None)
    plain = import_contracts(path)
    assert plain.written == 400 and STAGE not in plain.timings
    assert stored() == staged_rows
    assert cells() == staged_cells
    # Byte for byte: each column holds the same storage class and text on both paths.
    assert raw() == staged_raw


def raw() -> dict[str, list[str]]:
    """Each column's stored values as SQLite holds them (storage class and SQL text), by
    duplicate key, with the import's own clock and the numbers it gave left out."""
    table = TechContract._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA table_info({table})")
        columns = [
            r[1] for r in cursor.fetchall() if r[1] not in {"id", "created_at", "updated_at"}
        ]
        exprs = ", ".join(f'typeof("{c}") || \':\' || quote("{c}")' for c in columns)
        # Identifiers from the table's own catalogue; no value is spliced in.
        cursor.execute(f'SELECT dedupe_key, registration_number, {exprs} FROM "{table}"')  # noqa: S608
        return {
            key: [v for c, v in zip(columns, values, strict=True) if c != "registration_number"]
            + [number if number[8:10] == "99" else "(assigned)"]
            for key, number, *values in cursor.fetchall()
        }


def test_staged_reimport_adds_nothing_and_valid_rows_keeps_only_the_good(
    tmp_path, sqlite_with_extension
):
    rows = demo_rows(60)
    bad = list(rows[7])
    bad[14] = "十万"  # 成交额 not a number
    path = write_csv(tmp_path / "c.csv", [*rows[:30], bad, *rows[30:]])

    refused = import_contracts(path)
    assert not refused.committed and TechContract.objects.count() == 0
    assert [(p.row, p.column, p.code) for p in refused.problems] == [
        (31, "成交额", "invalid_amount")
    ]

    first = import_contracts(path, valid_rows=True)
    assert first.written == 60 and first.rejected_rows == 1 and STAGE in first.timings
    before = cells()
    again = import_contracts(path, valid_rows=True)
    assert again.written == 0 and again.already_imported == 60
    assert TechContract.objects.count() == 60 and cells() == before
    assert stage_files() == []


def test_a_failure_while_staging_writes_nothing_and_lets_the_files_go(
    tmp_path, monkeypatch, sqlite_with_extension
):
    monkeypatch.setattr(importer, "STAGE_FILE_ROWS", 50)
    path = write_csv(tmp_path / "c.csv", demo_rows(200))

    def broken(facts: str) -> str:
        raise RuntimeError("cells failed")

    monkeypatch.setattr(importer.columnar, "cells_sql", broken)
    with pytest.raises(RuntimeError, match="cells failed"):
        import_contracts(path)
    assert TechContract.objects.count() == 0 and ContractStat.objects.count() == 0
    assert stage_files() == []
