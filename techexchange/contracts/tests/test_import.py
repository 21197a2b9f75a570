"""Bulk import: encodings, all-or-nothing, --valid-rows, the report, idempotence."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from techexchange.contracts import importer
from techexchange.contracts.importer import import_contracts
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.contracts.rollup import rebuild
from techexchange.contracts.tests.factories import contract_data, seller
from techexchange.contracts.tests.rows import HEADER, row_of, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def good_rows(n: int = 3) -> list[list[str]]:
    return [row_of(contract_data()) for _ in range(n)]


def mixed_rows() -> list[list[str]]:
    rows = good_rows(3)
    bad_amount = row_of(contract_data(technical_amount=Decimal("2000000")))
    bad_code = row_of(contract_data(seller=seller(credit_code="91310000MA1FL0000X")))
    bad_date = row_of(contract_data())
    bad_date[20] = "2022/03/01"
    return [rows[0], bad_amount, rows[1], bad_code, bad_date, rows[2]]


def read_report(path):
    with path.with_name(path.name + ".errors.csv").open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_import_rejects_whole_file_when_one_row_is_bad(tmp_path):
    path = write_csv(tmp_path / "c.csv", mixed_rows())
    result = import_contracts(path)
    assert not result.committed and result.written == 0
    assert TechContract.objects.count() == 0 and ContractStat.objects.count() == 0
    report = read_report(path)
    assert [(r["row"], r["column"], r["code"]) for r in report] == [
        ("2", "技术交易额", "technical_exceeds_turnover"),
        ("4", "卖方统一社会信用代码", "credit_code_checksum"),
        ("5", "签订日期", "invalid_date"),
    ]


def test_valid_rows_writes_exactly_the_good_rows_and_a_rerun_adds_nothing(tmp_path):
    path = write_csv(tmp_path / "c.csv", mixed_rows())
    first = import_contracts(path, valid_rows=True)
    assert first.committed and first.written == 3 and first.rejected_rows == 3
    assert TechContract.objects.filter(status="registered").count() == 3
    numbers = set(TechContract.objects.values_list("registration_number", flat=True))
    assert all(len(n) == 16 for n in numbers)
    stats = list(ContractStat.objects.order_by("id").values_list("contracts", "turnover_fen"))
    again = import_contracts(path, valid_rows=True)
    assert again.written == 0 and again.already_imported == 3
    assert TechContract.objects.count() == 3
    assert list(ContractStat.objects.order_by("id").values_list("contracts", "turnover_fen")) == (
        stats
    )
    rebuild()
    assert sorted(stats) == sorted(ContractStat.objects.values_list("contracts", "turnover_fen"))


def test_a_file_written_in_several_stage_parts_is_stored_whole(tmp_path, monkeypatch):
    """The write goes out in parts by registration number (stage files or CSV for COPY)."""
    monkeypatch.setattr(importer, "STAGE_FILE_ROWS", 7)
    monkeypatch.setattr(importer, "STAGE_CHUNK", 3)
    rows = good_rows(30)
    for row in rows[::4]:
        row[0] = ""  # numbered by the import
    result = import_contracts(write_csv(tmp_path / "c.csv", rows))
    assert result.written == 30, result.problems[:3]
    numbers = TechContract.objects.values_list("registration_number", flat=True)
    assert len(set(numbers)) == 30 and all(len(n) == 16 for n in numbers)
    stats = sorted(ContractStat.objects.values_list("cuboid", "basis", "year", "contracts"))
    rebuild()
    assert stats == sorted(ContractStat.objects.values_list("cuboid", "basis", "year", "contracts"))


def test_columns_the_database_fills_in_hold_the_model_defaults(tmp_path):
    """The import writes only the columns it must; defaults and NULLs come from the table."""
    before = timezone.now()
    assert import_contracts(write_csv(tmp_path / "c.csv", good_rows(2))).written == 2
    after = timezone.now()
    written = {column for column, _ in importer._model_columns(written=True)}
    left = [f for f in TechContract._meta.concrete_fields if f.column not in written]
    assert len(left) > 30  # the id and the constants the database fills in
    clock = {"created_at", "updated_at"}
    assert clock <= {f.attname for f in left}
    for contract in TechContract.objects.all():
        for f in left:
            if f.attname in clock:  # the database's clock, during the import
                stamp = getattr(contract, f.attname)
                assert before - timedelta(seconds=1) <= stamp <= after, f.name
            elif not f.primary_key:
                expected = f.db_default if f.has_db_default() else f.get_default()
                assert getattr(contract, f.attname) == expected, f.name
        assert contract.status == "registered" and contract.rejection_reasons == []


def test_a_second_file_of_the_same_years_adds_to_the_cells_of_the_first(tmp_path, monkeypatch):
    """PostgreSQL copies the cells of periods the rollup does not hold yet straight in; a
    later file of the same years goes through the upsert. Either way: a rebuild's cells."""
    from django.db import connection

    from techexchange.contracts import rollup

    taken: list[bool] = []
    original = rollup._copy_into_new_periods

    def spy(*args: Any, **kwargs: Any) -> bool:
        out = bool(original(*args, **kwargs))
        taken.append(out)
        return out

    monkeypatch.setattr(rollup, "_copy_into_new_periods", spy)
    first, second = good_rows(6), good_rows(6)
    # Another field (new cells in a counted year) and another year (a period not counted).
    second[0][16] = "新材料及其应用" if second[0][16] != "新材料及其应用" else "电子信息技术"
    second[1][23] = "2023-03-01"  # a year the first file does not count
    fields = [f.name for f in ContractStat._meta.concrete_fields if f.name != "id"]
    assert import_contracts(write_csv(tmp_path / "a.csv", first)).written == 6
    before = {c[:-3]: c[-3] for c in ContractStat.objects.values_list(*fields)}
    assert import_contracts(write_csv(tmp_path / "b.csv", second)).written == 6
    if connection.vendor == "postgresql":
        assert taken == [True, False]
    cells = sorted(ContractStat.objects.values_list(*fields))
    after = {c[:-3]: c[-3] for c in cells}
    # The second file both adds to cells the first made and makes cells of its own.
    assert any(after[k] > n for k, n in before.items()) and set(after) - set(before)
    rebuild()
    assert cells == sorted(ContractStat.objects.values_list(*fields))


def test_dry_run_writes_nothing(tmp_path):
    path = write_csv(tmp_path / "c.csv", good_rows())
    result = import_contracts(path, dry_run=True)
    assert result.written == 3 and not result.committed
    assert TechContract.objects.count() == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_accepted_encoding(tmp_path, encoding):
    path = write_csv(tmp_path / "c.csv", good_rows(2), encoding=encoding)
    assert import_contracts(path).written == 2
    assert TechContract.objects.filter(project_name__startswith="智能传感器").count() == 2


def test_xlsx_import(tmp_path):
    path = write_xlsx(tmp_path / "c.xlsx", good_rows(2))
    result = import_contracts(path)
    assert result.ok and result.written == 2
    assert TechContract.objects.first().turnover == Decimal("1000000.00")


def test_english_headers_are_accepted(tmp_path):
    from techexchange.contracts.importer import COLUMNS

    header = [c.aliases[0] for c in COLUMNS]
    path = write_csv(tmp_path / "c.csv", good_rows(1), header=header)
    assert import_contracts(path).written == 1


def test_missing_column_is_reported_and_nothing_written(tmp_path):
    header = [h for h in HEADER if h != "成交额"]
    rows = [r[:14] + r[15:] for r in good_rows(1)]
    path = write_csv(tmp_path / "c.csv", rows, header=header)
    result = import_contracts(path)
    assert [(p.row, p.column, p.code) for p in result.problems] == [(0, "成交额", "missing_column")]


def test_duplicates_within_the_file_and_numbers_are_rejected(tmp_path):
    d = contract_data()
    rows = [
        row_of(d, "2022310001000009"),
        row_of(d),
        row_of(contract_data(), "2022310001000009"),
    ]
    result = import_contracts(write_csv(tmp_path / "c.csv", rows), valid_rows=True)
    assert [(p.row, p.code) for p in result.problems] == [
        (2, "duplicate_contract"),
        (3, "duplicate_number"),
    ]
    assert TechContract.objects.get().registration_number == "2022310001000009"


def test_number_of_another_region_is_refused(tmp_path):
    rows = [row_of(contract_data(), "2022320001000001")]
    result = import_contracts(write_csv(tmp_path / "c.csv", rows))
    assert [p.code for p in result.problems] == ["registration_region_mismatch"]


def test_command_prints_the_report_and_fails_without_writing(tmp_path, capsys):
    path = write_csv(tmp_path / "c.csv", mixed_rows())
    with pytest.raises(CommandError, match="nothing written"):
        call_command("import_contracts", str(path))
    out = capsys.readouterr().out
    assert "row 2 [技术交易额] technical_exceeds_turnover" in out
    assert TechContract.objects.count() == 0
    call_command("import_contracts", str(path), "--valid-rows")
    assert TechContract.objects.count() == 3


def test_warnings_do_not_reject(tmp_path):
    result = import_contracts(write_csv(tmp_path / "c.csv", good_rows(2)))
    assert result.ok and result.warnings["objectives_unverified"] == 2
