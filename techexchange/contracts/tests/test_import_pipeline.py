"""A large file is checked in chunks, each beside the writing of the chunk before
(`importer._Columns.run_pipelined`). Whatever the file holds, the outcome must be the one of the
sequential import: the same problems, counts, stored rows (numbers included) and rollup cells,
and nothing written when all-or-nothing finds a bad row in any chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from techexchange.contracts import importer
from techexchange.contracts.importer import ImportResult, import_contracts
from techexchange.contracts.models import ContractStat, RegistrationSerial, TechContract
from techexchange.contracts.rollup import rebuild
from techexchange.contracts.tests.rows import write_csv
from techexchange.contracts.tests.test_import_staged import demo_rows, stage_files

# SQLite's staged path (the one pipelined there) runs only outside a caller's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

FIRST_CHUNK_WRITE = "insert (beside the next chunk's check)"  # the first chunk is written
NUMBER, PROJECT, TURNOVER = 0, 1, 14


def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    skip = {"id", "created_at", "updated_at"}
    fields = [f.attname for f in TechContract._meta.concrete_fields if f.attname not in skip]
    rows = sorted(TechContract.objects.values_list(*fields), key=repr)
    stat_fields = [f.name for f in ContractStat._meta.concrete_fields if f.name != "id"]
    return rows, sorted(ContractStat.objects.values_list(*stat_fields))


def outcome(result: ImportResult) -> dict[str, Any]:
    return {
        "problems": [(p.row, p.column, p.code, p.message) for p in result.problems],
        "rows": result.rows,
        "written": result.written,
        "already": result.already_imported,
        "rejected": result.rejected_rows,
        "warnings": dict(result.warnings),
        "committed": result.committed,
    }


def tricky_file(tmp_path: Path, *, first: str, bad_in_second: bool) -> tuple[Path, Path]:
    """A registry file (written first) and a 240-row file (three chunks of 80 rows): a row
    already registered, duplicates across the chunks and within one (of a contract and of a
    number), rows without numbers in every chunk, bad rows in the last chunk if asked; the
    first chunk is "clean", has "dups" (of the registry and within), or "dups+bad" (and a bad
    row)."""
    rows = demo_rows(260)
    registry, rows = rows[:20], rows[20:]
    rows[3] = list(registry[4])  # already registered: skipped as already imported
    if first != "clean":
        rows[5][NUMBER] = registry[6][NUMBER]  # a registered number on another contract
        rows[30] = list(rows[10])  # within the first chunk: the same contract again
    rows[150] = list(rows[40])  # a later chunk, the same contract as a first-chunk row
    rows[160][NUMBER] = rows[50][NUMBER] or rows[51][NUMBER]  # a first-chunk number
    rows[170] = list(rows[140])  # within one chunk
    rows[180][NUMBER] = rows[175][NUMBER] or rows[176][NUMBER]
    rows[190][NUMBER] = registry[8][NUMBER] or registry[9][NUMBER]  # the registry's, later
    rows[200] = list(rows[30])  # a copy of a first-chunk row (a duplicate there, or not)
    if first == "dups+bad":
        rows[60][TURNOVER] = "十万"
    if bad_in_second:
        rows[210][TURNOVER] = "-5"
        rows[220][PROJECT] = ""
    return (
        write_csv(tmp_path / "registry.csv", registry),
        write_csv(tmp_path / "c.csv", rows),
    )


def fresh_registry(path: Path) -> None:
    TechContract.objects.all().delete()
    ContractStat.objects.all().delete()
    RegistrationSerial.objects.all().delete()
    assert import_contracts(path, write_report=False).written == 20


@pytest.mark.parametrize(
    ("valid_rows", "first", "bad_in_second"),
    [
        (True, "dups", False),
        (True, "dups+bad", True),
        (True, "clean", True),
        # All-or-nothing: the first chunk is written, then a later chunk's problems roll it
        # back; or the first chunk's problems stop it before anything is written.
        (False, "clean", False),
        (False, "clean", True),
        (False, "dups", False),
        (False, "dups+bad", True),
    ],
)
def test_the_pipelined_import_equals_the_sequential_one(
    tmp_path, monkeypatch, valid_rows, first, bad_in_second
):
    registry, path = tricky_file(tmp_path, first=first, bad_in_second=bad_in_second)
    monkeypatch.setattr(importer, "STAGE_FILE_ROWS", 30)  # several parts per chunk
    monkeypatch.setattr(
        importer, "PIPELINE_CUTS", (1 / 3, 2 / 3)
    )  # a chunk between the first and last
    staged = connection_stages()

    fresh_registry(registry)
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10)
    monkeypatch.setattr(importer, "SPLIT_READ_FROM", 1)  # read in parts, one per chunk
    monkeypatch.setattr(importer, "SPLIT_READ_VENDORS", {"sqlite", "postgresql"})
    piped = import_contracts(path, valid_rows=valid_rows, write_report=False)
    piped_state = snapshot()
    wrote_first_chunk = FIRST_CHUNK_WRITE in piped.timings
    assert no_stage_files()
    fresh_registry(registry)
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10**9)
    plain = import_contracts(path, valid_rows=valid_rows, write_report=False)
    assert FIRST_CHUNK_WRITE not in plain.timings

    assert outcome(piped) == outcome(plain)
    assert piped_state == snapshot()
    codes = {p[2] for p in outcome(plain)["problems"]}
    assert {"duplicate_contract", "duplicate_number"} <= codes
    assert plain.already_imported == 1
    if staged:
        # The first chunk is written before the next is judged, except when all-or-nothing
        # already failed in the first chunk.
        assert wrote_first_chunk == (valid_rows or first == "clean")
    if valid_rows:
        assert piped.committed and piped.written > 200
        rebuild()
        assert snapshot()[1] == piped_state[1]  # the rollup is a recomputation's
    else:
        assert not piped.committed and piped.written == 0
        assert TechContract.objects.count() == 20  # the registry only


def no_stage_files() -> bool:
    """SQLite: no stage file is still attached (PostgreSQL attaches none)."""
    from django.db import connection

    return connection.vendor != "sqlite" or stage_files() == []


def connection_stages() -> bool:
    """Whether this database takes the pipelined path at all (SQLite needs DuckDB's SQLite
    extension for its staged write; PostgreSQL always copies)."""
    from django.db import connection

    return connection.vendor == "postgresql" or importer._sqlite_extension_file() is not None


def test_a_failure_in_a_later_chunk_writes_nothing(tmp_path, monkeypatch):
    if not connection_stages():
        pytest.skip("no staged path on this SQLite")
    _registry, path = tricky_file(tmp_path, first="dups", bad_in_second=False)
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10)
    original = importer._Columns.in_file

    def broken(self: Any, result: ImportResult, allowed: Any, **kwargs: Any) -> None:
        if kwargs.get("good") == "good_1":
            raise RuntimeError("a later chunk failed")
        original(self, result, allowed, **kwargs)

    monkeypatch.setattr(importer._Columns, "in_file", broken)
    with pytest.raises(RuntimeError, match="a later chunk failed"):
        import_contracts(path, valid_rows=True, write_report=False)
    assert TechContract.objects.count() == 0 and ContractStat.objects.count() == 0
    assert no_stage_files()


@pytest.mark.parametrize("split_from", [1, 10**12])  # the file read in parts, or whole
def test_a_clean_file_is_written_whole_in_chunks(tmp_path, monkeypatch, split_from):
    path = write_csv(tmp_path / "c.csv", demo_rows(240))
    monkeypatch.setattr(importer, "STAGE_FILE_ROWS", 50)
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10)
    monkeypatch.setattr(importer, "SPLIT_READ_FROM", split_from)
    monkeypatch.setattr(importer, "SPLIT_READ_VENDORS", {"sqlite", "postgresql"})
    piped = import_contracts(path, write_report=False)
    assert piped.committed and piped.written == 240 and not piped.problems
    if connection_stages():
        assert FIRST_CHUNK_WRITE in piped.timings
    state = snapshot()
    rebuild()
    assert snapshot() == state
    TechContract.objects.all().delete()
    ContractStat.objects.all().delete()
    RegistrationSerial.objects.all().delete()
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10**9)
    assert outcome(import_contracts(path, write_report=False)) == outcome(piped)
    assert snapshot() == state


@pytest.mark.parametrize("shape", ["no final line end", "a blank line", "a quoted line break"])
def test_a_file_read_in_parts_numbers_its_rows_as_the_whole_file(tmp_path, monkeypatch, shape):
    """Reading in parts needs one record per line: the file is cut at line ends. A blank line
    or a quoted line break sends the file to the reader of irregular files instead, and a
    missing final line end loses no row; the outcome is the whole-file reading's."""
    rows = demo_rows(120)
    rows[100][TURNOVER] = "-5"  # a problem in the last part: its row number must be right
    path = write_csv(tmp_path / "c.csv", rows)
    text = path.read_bytes()
    if shape == "no final line end":
        text = text.rstrip(b"\r\n")
    elif shape == "a blank line":
        lines = text.splitlines(keepends=True)
        text = b"".join([*lines[:90], b"\r\n", *lines[90:]])
    else:
        text = text.replace(rows[95][PROJECT].encode(), b'"' + b"x\r\ny" + b'"', 1)
    path.write_bytes(text)
    splits: list[int] = []
    original = importer._Columns._split

    def spy(self: Any, lines: int) -> Path:
        splits.append(lines)
        return Path(original(self, lines))

    monkeypatch.setattr(importer._Columns, "_split", spy)
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10)
    monkeypatch.setattr(importer, "SPLIT_READ_FROM", 1)
    monkeypatch.setattr(importer, "SPLIT_READ_VENDORS", {"sqlite", "postgresql"})
    piped = import_contracts(path, valid_rows=True, write_report=False)
    assert splits == ([121] if shape == "no final line end" else [])
    piped_state = snapshot()
    TechContract.objects.all().delete()
    ContractStat.objects.all().delete()
    RegistrationSerial.objects.all().delete()
    monkeypatch.setattr(importer, "PIPELINE_FROM", 10**9)
    plain = import_contracts(path, valid_rows=True, write_report=False)
    assert outcome(piped) == outcome(plain)
    assert piped_state == snapshot()
    assert [p.row for p in plain.problems][:1] == [101 + (shape == "a blank line")]
