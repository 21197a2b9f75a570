# ruff: noqa: S608  (DuckDB SQL built from this module's constants; values go through lit())
"""Bulk import of registered contracts from CSV (UTF-8 with or without BOM, GB18030) or .xlsx.

Columnar and set-based: DuckDB reads the file (plain UTF-8 CSV directly; other files through
Python's reader), a vectorised filter (`columnar.derived_sql`) passes the rows the rules
certainly accept and derives their stored fields, and every other row goes through the same
rules as the web (`policies.contract_problems`), which alone name what is wrong. Duplicates are
found by set joins, within the file and against the database; the rows are then written in
bulk (executemany on SQLite, COPY on PostgreSQL) and the statistics rollup gets one aggregate
per cell, all in one transaction.

All-or-nothing by default (one bad row and nothing is written); `valid_rows=True` keeps the
good rows. Re-importing a file adds nothing: a row whose contract (duplicate key) or
registration number is already registered is skipped as already imported. Every rejected row
is reported with its row number (data rows from 1 after the header), column, code and message.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import queue
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone, translation

from techexchange.contracts import bulk, columnar, rollup
from techexchange.contracts.bulk import sqlite_literal as _sqlite_literal
from techexchange.contracts.codes import (
    ACTIVE_STATUSES,
    ContractStatus,
    ContractType,
    IPType,
    PaymentMode,
    PlanSource,
    Subtype,
    TechField,
)
from techexchange.contracts.models import TechContract
from techexchange.contracts.policies import (
    EXPERT_REVIEW_THRESHOLD,
    ContractData,
    PartyData,
    RuleContext,
    contract_problems,
    contract_warnings,
    dedupe_key,
    needs_expert_review,
    registering_region,
    rule_version_for,
    stat_region,
)
from techexchange.contracts.services import next_registration_number, rule_context
from techexchange.core.errors import Problem

__all__ = ["COLUMNS", "ImportResult", "RowProblem", "import_contracts", "read_table"]


@dataclass(frozen=True)
class Column:
    """One column of the layout: the model key, the Chinese header, English aliases."""

    key: str
    header: str
    aliases: tuple[str, ...]
    required: bool = True


COLUMNS: tuple[Column, ...] = (
    Column(
        "registration_number", "合同登记编号", ("registration_number", "registration no"), False
    ),
    Column("project_name", "项目名称", ("project_name", "project")),
    Column("contract_type", "合同类型", ("contract_type", "type")),
    Column("subtype", "合同子类型", ("subtype", "contract_subtype")),
    Column("seller_name", "卖方名称", ("seller_name", "seller")),
    Column("seller_credit_code", "卖方统一社会信用代码", ("seller_credit_code",), False),
    Column("seller_nature", "卖方性质", ("seller_nature",)),
    Column("seller_country", "卖方国别", ("seller_country",), False),
    Column(
        "seller_region_code", "卖方行政区划代码", ("seller_region_code", "seller_region"), False
    ),
    Column("buyer_name", "买方名称", ("buyer_name", "buyer")),
    Column("buyer_credit_code", "买方统一社会信用代码", ("buyer_credit_code",), False),
    Column("buyer_nature", "买方性质", ("buyer_nature",)),
    Column("buyer_country", "买方国别", ("buyer_country",), False),
    Column("buyer_region_code", "买方行政区划代码", ("buyer_region_code", "buyer_region"), False),
    Column("turnover", "成交额", ("turnover", "contract_amount")),
    Column("technical_amount", "技术交易额", ("technical_amount", "technology_amount")),
    Column("tech_field", "技术领域", ("tech_field", "technology_field", "field")),
    Column("ip_type", "知识产权类型", ("ip_type",)),
    Column("plan_source", "计划来源", ("plan_source",)),
    Column("payment_mode", "支付方式", ("payment_mode",)),
    Column("signing_date", "签订日期", ("signing_date", "signed_on")),
    Column("valid_from", "有效期起", ("valid_from",), False),
    Column("valid_to", "有效期止", ("valid_to",), False),
    Column("registration_date", "登记日期", ("registration_date", "registered_on")),
    Column("registration_body", "登记机构", ("registration_body", "registrar"), False),
)
HEADER_OF = {c.key: c.header for c in COLUMNS}
# Fields named by the rules that are not columns of the layout, shown against the nearest one.
FIELD_COLUMN = {
    **HEADER_OF,
    "deductions": "技术交易额",
    "rule_version": "签订日期",
    "registration_region": "合同登记编号",
    "ip_valid_until": "知识产权类型",
}


@dataclass(frozen=True)
class RowProblem:
    """One reason a row was rejected."""

    row: int
    column: str
    code: str
    message: str


@dataclass
class ImportResult:
    """What an import did: counts, the rejected rows' problems, the warnings by code."""

    rows: int = 0
    written: int = 0
    already_imported: int = 0
    rejected_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    committed: bool = False
    dry_run: bool = False
    report_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    cpu: dict[str, float] = field(default_factory=dict)  # this process's CPU seconds per stage

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.problems


def _choices(enum: Any) -> dict[str, str]:
    """Map the exact Chinese labels (and the English slugs) of a choices enum to values."""
    with translation.override(None):
        out = {str(label): value for value, label in enum.choices}
    out.update({v: v for v in enum.values})
    return out


class _Maps:
    """Enumerated columns' lookups, built once per import."""

    def __init__(self) -> None:
        self.type = _choices(ContractType)
        self.subtype = _choices(Subtype)
        self.field = _choices(TechField)
        self.ip = _choices(IPType)
        self.plan = _choices(PlanSource)
        self.payment = _choices(PaymentMode)


# ---- reading ---------------------------------------------------------------------------------


def _sniff_encoding(path: Path) -> str:
    """UTF-8 (BOM or not) when the first megabyte decodes as UTF-8, else GB18030."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value).strip()


def read_table(path: Path) -> tuple[Iterator[list[str]], int | None]:
    """Rows (header first) of a CSV or .xlsx file as lists of strings, and a row count hint."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]

        def xlsx_rows() -> Iterator[list[str]]:
            try:
                for values in ws.iter_rows(values_only=True):
                    yield [_cell(v) for v in values]
            finally:
                wb.close()

        return xlsx_rows(), (ws.max_row - 1 if ws.max_row else None)
    encoding = _sniff_encoding(path)
    with path.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))

    def csv_rows() -> Iterator[list[str]]:
        with path.open(encoding=encoding, newline="") as fh:
            yield from csv.reader(fh)

    return csv_rows(), max(lines - 1, 0)


# ---- parsing ---------------------------------------------------------------------------------


class _RowError(Exception):
    pass


def _date(text: str) -> date | None:
    if not text:
        return None
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError
    return date(int(text[:4]), int(text[5:7]), int(text[8:10]))


def _amount(text: str) -> Decimal:
    value = Decimal(text.replace(",", ""))
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise InvalidOperation
    return value


def _region(text: str) -> str:
    if len(text) == 4 and text.isdigit():  # older forms: 4-digit codes
        return text + "00"
    return text


class _Parser:
    """Turns one row (list of strings) into ContractData, or a list of problems."""

    def __init__(self, index: dict[str, int], maps: _Maps) -> None:
        self.index = index
        self.maps = maps

    def parse(self, row: list[str]) -> tuple[ContractData | None, dict[str, str], list[Problem]]:
        idx = self.index
        get: Callable[[str], str] = lambda key: (  # noqa: E731
            row[idx[key]].strip() if key in idx and idx[key] < len(row) else ""
        )
        problems: list[Problem] = []
        for col in COLUMNS:
            if col.required and not get(col.key):
                problems.append(Problem("required", f"请填写{col.header}", col.key))
        if problems:
            return None, {}, problems

        def pick(key: str, mapping: dict[str, str], code: str) -> str:
            raw = get(key)
            value = mapping.get(raw)
            if value is None:
                problems.append(Problem(code, f"{HEADER_OF[key]}取值无效：{raw}", key))
                return raw
            return value

        def when(key: str) -> date | None:
            try:
                return _date(get(key))
            except ValueError:
                problems.append(
                    Problem("invalid_date", f"{HEADER_OF[key]}应为YYYY-MM-DD格式的日期", key)
                )
                return None

        def money(key: str) -> Decimal:
            try:
                return _amount(get(key))
            except (InvalidOperation, ValueError):
                problems.append(
                    Problem("invalid_amount", f"{HEADER_OF[key]}应为以元为单位的金额", key)
                )
                return Decimal(0)

        contract_type = pick("contract_type", self.maps.type, "unknown_type")
        subtype = pick("subtype", self.maps.subtype, "unknown_subtype")
        tech_field = pick("tech_field", self.maps.field, "unknown_field")
        ip_type = pick("ip_type", self.maps.ip, "unknown_ip_type")
        plan = pick("plan_source", self.maps.plan, "unknown_plan_source")
        payment = pick("payment_mode", self.maps.payment, "unknown_payment_mode")
        turnover = money("turnover")
        technical = money("technical_amount")
        signing = when("signing_date")
        valid_from = when("valid_from")
        valid_to = when("valid_to")
        registered = when("registration_date")
        if problems or signing is None:
            return None, {}, problems
        data = ContractData(
            project_name=get("project_name"),
            contract_type=contract_type,
            subtype=subtype,
            seller=PartyData(
                get("seller_name"),
                get("seller_credit_code").upper(),
                get("seller_nature"),
                get("seller_country") or "156",
                _region(get("seller_region_code")),
            ),
            buyer=PartyData(
                get("buyer_name"),
                get("buyer_credit_code").upper(),
                get("buyer_nature"),
                get("buyer_country") or "156",
                _region(get("buyer_region_code")),
            ),
            turnover=turnover,
            technical_amount=technical,
            signing_date=signing,
            valid_from=valid_from,
            valid_to=valid_to,
            tech_field=tech_field,
            ip_type=ip_type,
            plan_source=plan,
            payment_mode=payment,
            registration_number=get("registration_number"),
            registration_date=registered,
        )
        return data, {"registration_body": get("registration_body")}, []


def _header_index(header: list[str]) -> tuple[dict[str, int], list[RowProblem]]:
    lookup: dict[str, str] = {}
    for col in COLUMNS:
        lookup[col.header] = col.key
        for alias in col.aliases:
            lookup[alias.lower()] = col.key
    index: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff")
        key = (
            lookup.get(name)
            or lookup.get(name.lower().replace(" ", "_"))
            or lookup.get(name.lower())
        )
        if key and key not in index:
            index[key] = i
    missing = [
        RowProblem(0, c.header, "missing_column", f"缺少列：{c.header}")
        for c in COLUMNS
        if c.required and c.key not in index
    ]
    return index, missing


# ---- writing ---------------------------------------------------------------------------------

SQLITE_CACHE_KIB = 160_000  # SQLite's page cache while inserting (KiB)
# …and while a pipelined import writes its first half beside the second half's check, when
# DuckDB holds the most (the whole file, the first half's rows, the second's being checked):
# the rows go in with the indexes dropped, an append that needs little cache. With 160 MB
# there the 1 M-row import peaked at 959–994 MB.
SQLITE_CACHE_OVERLAP_KIB = 32_000
# DuckDB spills to disk beyond this while it reads and checks the file. At 400 MB the scan of
# 1 M rows spilled and ran on one thread (5.2–5.5 s; 2.8 s at 500 MB); with 250 MB while the
# database writes, 1 M-row imports peak at 824–882 MB (docs/benchmarks-contracts.md).
DUCKDB_MEMORY = "500MB"
# While the database writes (SQLite's page cache and index sorts beside it), DuckDB keeps less:
# the write's parts and the rollup aggregate spill sooner, and the process stays under 1 GB.
DUCKDB_MEMORY_WRITING = "250MB"


class _Progress:
    """A plain progress bar on stderr for long imports."""

    def __init__(self, total: int | None, stream: IO[str] | None) -> None:
        self.total = total or 0
        self.stream = stream
        self.step = max(self.total // 50, 10_000)
        self.next = self.step

    def update(self, done: int) -> None:
        if self.stream is None or done < self.next or not self.total:
            return
        self.next = done + self.step
        width = 30
        filled = min(width, width * done // self.total)
        pct = min(100, 100 * done // self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {done:,} rows")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.total >= self.step:
            self.stream.write("\n")


def import_contracts(
    path: Path,
    *,
    valid_rows: bool = False,
    dry_run: bool = False,
    allowed_regions: frozenset[str] | None = None,
    progress: IO[str] | None = None,
    write_report: bool = True,
    today: date | None = None,
) -> ImportResult:
    """Import registered contracts from `path`; see the module docstring for the semantics.

    `allowed_regions` limits rows to the registration regions a registrar works (web import).
    """
    result = ImportResult(dry_run=dry_run)
    ctx = rule_context(today=today, itemised=False)
    rows, total = read_table(path)
    try:
        header = next(rows)
    except StopIteration:
        header = []
    except UnicodeDecodeError:
        header = []
        result.problems.append(
            RowProblem(0, "", "encoding", "文件编码无法识别（应为UTF-8或GB18030）")
        )
    if not result.problems:
        index, missing = _header_index(header)
        result.problems += missing
    if result.problems:
        _finish_report(path, result, write_report)
        return result
    bar = _Progress(total, progress)
    with _Columns(path, header, index, rows, ctx, result.timings) as cols:
        cols.load(result)
        pipelined = not dry_run and cols.pipelined()
        if not pipelined:
            cols.read_all(result)
            cols.check(result)
        started: float | None = None
        try:
            with transaction.atomic():
                if pipelined:
                    if not cols.run_pipelined(result, allowed_regions, valid_rows, bar):
                        raise _NothingKept
                    result.committed = True
                else:
                    cols.in_file(result, allowed_regions)
                    cols.settle(result)
                    keep = not dry_run and (valid_rows or not result.problems)
                    if keep:
                        cols.write(result, bar)
                        result.committed = True
                    elif not dry_run:
                        result.written = 0
                started = time.perf_counter()
        except _NothingKept:  # all-or-nothing and a bad row: what was written is rolled back
            result.written = 0
        if started is not None:
            result.timings["commit"] = time.perf_counter() - started
        result.cpu = cols.cpu
        cols.detach()
    bar.close()
    result.problems.sort(key=lambda p: p.row)  # stable: a row's problems keep their order
    _finish_report(path, result, write_report)
    return result


# ---- the columnar pipeline ---------------------------------------------------------------------


class _NothingKept(Exception):
    """Raised inside the import's transaction to roll back what a pipelined import wrote."""


def _csv_file(path: Path, rows: Iterable[Iterable[Any]]) -> str:
    """Write rows as a fully quoted UTF-8 CSV (None as an empty, unquoted field)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_NOTNULL).writerows(rows)
    return str(path)


def _read_csv_sql(path: str, columns: Iterable[tuple[str, str]], *, header: bool = False) -> str:
    spec = ", ".join(f"{columnar.lit(n)}: {columnar.lit(t)}" for n, t in columns)
    return (
        f"read_csv({columnar.lit(path)}, header={str(header).lower()}, delim=',', quote='\"',"
        f" escape='\"', strict_mode=true, auto_detect=false, columns={{{spec}}})"
    )


class _Columns:
    """The file as DuckDB tables: parsed once, checked by columns, written in bulk.

    `src` (row_no and one stripped cell per layout column) → `good` (rows the rules accept,
    with their stored fields) → `final` (rows to write, numbered).
    """

    def __init__(
        self,
        path: Path,
        header: list[str],
        index: dict[str, int],
        rows: Iterator[list[str]],
        ctx: RuleContext,
        timings: dict[str, float],
    ) -> None:
        import duckdb

        self.timings = timings
        self.cpu: dict[str, float] = {}
        self.clock = time.perf_counter()
        self.cpu_clock = time.process_time()
        self.path = path
        self.header = header
        self.index = index
        self.rows = rows
        self.ctx = ctx
        self.keys = [c.key for c in COLUMNS if c.key in index]
        self.tmp = Path(tempfile.mkdtemp(prefix="contracts-import-"))
        self.con = duckdb.connect()
        self.con.execute(
            f"SET memory_limit = '{DUCKDB_MEMORY}'; "
            f"SET temp_directory = {columnar.lit(str(self.tmp / 'spill'))}; "
            "SET preserve_insertion_order = true"
        )
        self.counter = itertools.count(1)  # names of temporary files (any thread)
        self.extension_loaded = False  # DuckDB's SQLite extension
        self.stages = 0  # stage files attached so far
        self.cells_ready: tuple[Any, threading.Thread, threading.Event] | None = None
        # The second half's thread (run_pipelined) laps into these.
        self.side_timings: dict[str, float] = {}
        self.side_clock = 0.0
        # Staging needs DuckDB's SQLite extension and a connection that can let go of the
        # stage file once the import's transaction ends (not inside a caller's transaction).
        self.staged = (
            connection.vendor == "sqlite"
            and not connection.in_atomic_block
            and _sqlite_extension_file() is not None
        )
        self.stage_alias = "contracts_import_stage"
        self.attached: list[str] = []  # stage files attached to the import's connection
        self.periods: list[tuple[str, int]] = []  # (basis, year) of the rollup cells written
        self.cells = 0  # how many rollup cells the staging thread aggregated
        self.rows_in_src = 0  # rows of `src` (set by load)
        # A large file read in parts (`_split`): the parts not yet appended to `scanned`, as
        # (part file, the last row number it ends on).
        self.parts: list[tuple[Path, int]] = []
        self.part_ends: list[int] = []  # the last row number of every part, in order
        self.scan_sql = ""  # the scan of one part, its file as "{file}"
        self.scan_columns: list[tuple[str, str]] = []

    def __enter__(self) -> _Columns:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cells_ready is not None:  # a failure left the staging thread waiting
            _ready, worker, cancel = self.cells_ready
            cancel.set()
            worker.join()
        if self.attached and not connection.in_atomic_block:
            self.detach()
        self.con.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _lap(self, stage: str, con: Any = None) -> None:
        if con is not None and con is not self.con:  # the second half's thread
            now = time.perf_counter()
            self.side_timings[stage] = self.side_timings.get(stage, 0.0) + now - self.side_clock
            self.side_clock = now
            return
        now, cpu = time.perf_counter(), time.process_time()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.clock
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu - self.cpu_clock
        self.clock, self.cpu_clock = now, cpu

    def _scalar(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return row[0] if row else None

    def _table(
        self, name: str, columns: Iterable[tuple[str, str]], rows: Iterable[Any], con: Any = None
    ) -> None:
        """A DuckDB table from Python rows (through a CSV file: DuckDB inserts slowly)."""
        con = con or self.con
        cols = list(columns)
        path = _csv_file(self.tmp / f"{name}-{next(self.counter)}.csv", rows)
        if os.path.getsize(path) == 0:
            defs = ", ".join(f"{n} {t}" for n, t in cols)
            con.execute(f"CREATE OR REPLACE TABLE {name} ({defs})")
            return
        # DuckDB reads a quoted empty field as NULL: text columns get their '' back.
        picked = ", ".join(f"coalesce({n}, '') AS {n}" if t == "VARCHAR" else n for n, t in cols)
        con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT {picked} FROM {_read_csv_sql(path, cols)}"
        )

    # -- loading

    def _load_direct(self) -> bool:
        """DuckDB reads the CSV itself when it is plain UTF-8 with one record per line."""
        if self.path.suffix.lower() in {".xlsx", ".xlsm"}:
            return False
        if _sniff_encoding(self.path) != "utf-8-sig":
            return False
        lines, last = 0, b"\n"
        with self.path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        lines += last != b"\n"
        width = len(self.header)
        cols = [(f"c{i}", "VARCHAR") for i in range(width)]
        picked = ", ".join(f"{columnar.strip_sql(f'c{self.index[k]}')} AS {k}" for k in self.keys)
        # A row is blank when all its cells hold nothing but white space: the layout's cells
        # are compared once stripped; the other columns (rarely any) are searched together
        # for a character that is not white space. The flag is a column of its own, computed
        # in the same pass: every count or bound over `src` then reads one column, not the 25
        # text columns (five such reads cost 4.6 s at 1 M rows).
        empty = [f"{k} = ''" for k in self.keys]
        extra = [f"c{i}" for i in range(width) if i not in set(self.index.values())]
        if extra:
            anything = columnar.lit(columnar.NOT_SPACE)
            empty.append(f"NOT regexp_matches(concat({', '.join(extra)}), {anything})")
        # Row numbers come from the scanned table's rowid (its position: the scan keeps the
        # file's order under preserve_insertion_order), not from `WITH ORDINALITY`, which
        # makes DuckDB scan and strip on one thread (5.9 s against 2.8 s at 1 M rows).
        scan = (
            f"SELECT {', '.join(self.keys)}, ({' AND '.join(empty) or 'FALSE'}) AS blank"
            f" FROM (SELECT {picked}{''.join(f', {c}' for c in extra)} FROM {{file}})"
        )
        first = self.path
        try:
            if (
                connection.vendor in SPLIT_READ_VENDORS
                and lines - 1 >= PIPELINE_FROM
                and self.path.stat().st_size >= SPLIT_READ_FROM
            ):
                # One record per line in the whole file (the condition of reading it in
                # parts cut at line ends), checked first: a count is a quarter of a scan.
                whole = self._scalar(f"SELECT count(*) FROM {_read_csv_sql(str(first), cols)}")
                if whole != lines:
                    return False  # blank lines or quoted line breaks
                first = self._split(lines)
                self.scan_sql, self.scan_columns = scan, cols
            self.con.execute(
                "CREATE OR REPLACE TABLE scanned AS"
                f" {scan.replace('{file}', _read_csv_sql(str(first), cols))}"
            )
        except Exception:  # anything DuckDB reads differently from Python's csv module
            self.parts, self.part_ends = [], []
            return False
        if first != self.path:
            first.unlink()  # scanned: its copy is no longer needed
        expected = self.part_ends[0] + 1 if self.parts else lines
        if self._scalar("SELECT count(*) FROM scanned") != expected:
            self.con.execute("DROP TABLE scanned")
            self.parts, self.part_ends = [], []
            return False  # blank lines or quoted line breaks: row numbers would shift
        # A view, not a copy (a copy keeps the order on one thread: 2 s at 1 M rows).
        self.con.execute(
            "CREATE OR REPLACE VIEW src AS SELECT rowid AS row_no, * EXCLUDE (blank)"
            " FROM scanned WHERE rowid > 0 AND NOT blank"
        )
        return True

    def _split(self, lines: int) -> Path:
        """Cut the file at line ends near PIPELINE_CUTS (fractions of its bytes) into part
        files; returns the first part, the one read now. The others are appended to
        `scanned` by `read_part` just before their chunk is checked (beside the writing of
        the chunk before), so that the database starts writing after a part is read, not
        the whole file. Their rows keep their numbers: `scanned` numbers rows in the order
        they are appended."""
        size = self.path.stat().st_size
        cuts: list[int] = []
        with self.path.open("rb") as fh:
            for fraction in PIPELINE_CUTS:
                fh.seek(max(int(size * fraction), cuts[-1] if cuts else 0))
                fh.readline()  # to the end of the line the cut falls in
                if fh.tell() < size and (not cuts or fh.tell() > cuts[-1]):
                    cuts.append(fh.tell())
        bounds = [0, *cuts, size]
        paths = []
        ends = []
        row = -1  # the header is row 0
        with self.path.open("rb") as source:
            for k, (start, stop) in enumerate(itertools.pairwise(bounds)):
                path = self.tmp / f"part-{k}.csv"
                count = 0
                with path.open("wb") as out:
                    source.seek(start)
                    left = stop - start
                    while left > 0:
                        block = source.read(min(left, 1 << 22))
                        if not block:
                            break
                        count += block.count(b"\n")
                        out.write(block)
                        left -= len(block)
                row += count
                paths.append(path)
                ends.append(row)
        ends[-1] = lines - 1  # the file's last line may lack its line end
        self.part_ends = ends
        self.parts = list(zip(paths[1:], ends[1:], strict=True))
        return paths[0]

    def read_part(self, k: int, con: Any = None) -> None:
        """Append part `k` of a file read in parts (and any part before it not yet read)
        to `scanned`."""
        con = con or self.con
        while self.parts and self.parts[0][1] <= self.part_ends[k]:
            path, end = self.parts.pop(0)
            read = _read_csv_sql(str(path), self.scan_columns)
            con.execute(f"INSERT INTO scanned {self.scan_sql.replace('{file}', read)}")
            if con.execute("SELECT count(*) FROM scanned").fetchone()[0] != end + 1:
                raise RuntimeError(f"{path.name}: its rows do not match its lines")
            path.unlink()

    def read_all(self, result: ImportResult) -> None:
        """Every part of a file read in parts into `scanned`; the rows then counted."""
        if self.part_ends:
            self.read_part(len(self.part_ends) - 1)
            self.rows_in_src = result.rows = self._scalar("SELECT count(*) FROM src")

    def _load_python(self) -> None:
        """Other files (xlsx, GB18030, irregular CSV): Python's reader, then DuckDB."""
        idx = self.index
        keys = self.keys

        def normalised() -> Iterator[list[Any]]:
            for row_no, row in enumerate(self.rows, start=1):
                if not any(cell.strip() for cell in row):
                    continue
                yield [row_no, *(row[idx[k]] if idx[k] < len(row) else "" for k in keys)]

        self._table("raw", [("row_no", "BIGINT"), *((k, "VARCHAR") for k in keys)], normalised())
        picked = ", ".join(f"{columnar.strip_sql(k)} AS {k}" for k in keys)
        self.con.execute(
            f"CREATE OR REPLACE TABLE scanned AS SELECT row_no, {picked} FROM raw;"
            " CREATE OR REPLACE VIEW src AS SELECT * FROM scanned; DROP TABLE raw"
        )

    # -- checking

    def load(self, result: ImportResult) -> None:
        """The file as the view `src` (row_no and the stripped layout cells)."""
        if not self._load_direct():
            self._load_python()
        # The parts still to be read count as rows until they are (`read_all` counts them).
        pending = self.part_ends[-1] - self.part_ends[0] if self.parts else 0
        self.rows_in_src = result.rows = self._scalar("SELECT count(*) FROM src") + pending
        self._lap("read")

    def check(
        self, result: ImportResult, *, con: Any = None, rows: str = "TRUE", good: str = "good"
    ) -> None:
        """The rows of `src` matching `rows` through the rules, into table `good`: vectorised
        filter, then the reference for the rest."""
        con = con or self.con
        maps = _Maps()
        lookups = {
            "contract_type": maps.type,
            "subtype": maps.subtype,
            "tech_field": maps.field,
            "ip_type": maps.ip,
            "plan_source": maps.plan,
            "payment_mode": maps.payment,
        }
        required = [c.key for c in COLUMNS if c.required]
        source = f"(SELECT * FROM src WHERE {rows})"
        derived = columnar.derived_sql(source, self.keys, self.ctx, required=required, maps=lookups)
        # `good` keeps the `ok` column: the reference reads the rows it does not pass, which
        # are then deleted (one table of a million wide rows instead of two).
        con.execute(f"CREATE OR REPLACE TABLE {good} AS {derived}")
        self._lap("rules (vectorised)", con)
        # Rows the filter did not pass: the reference says what is wrong (or rescues them).
        parser = _Parser(self.index, maps)
        width = max(self.index.values()) + 1
        cur = con.execute(
            f"SELECT s.row_no, {', '.join(f's.{k}' for k in self.keys)} FROM src s"
            f" JOIN {good} c USING (row_no) WHERE NOT c.ok ORDER BY s.row_no"
        )
        rescued: list[list[Any]] = []
        while chunk := cur.fetchmany(10_000):
            for rec in chunk:
                row = [""] * width
                for k, v in zip(self.keys, rec[1:], strict=True):
                    row[self.index[k]] = v
                data, extras, problems = parser.parse(row)
                if data is not None:
                    problems = contract_problems(data, self.ctx)
                    if not problems and data.registration_date is None:
                        problems = [Problem("required", "请填写登记日期", "registration_date")]
                if problems or data is None:
                    _reject_all(result, rec[0], problems)
                    continue
                rescued.append(columnar.as_row(_fields(data, extras, self.ctx), rec[0]))
        con.execute(f"DELETE FROM {good} WHERE NOT ok")
        if rescued:
            self._table(f"rescued_{good}", columnar.GOOD_COLUMNS, rescued, con)
            con.execute(f"INSERT INTO {good} BY NAME SELECT * FROM rescued_{good}")
        self._lap("rules (reference, rows the filter did not pass)", con)

    # -- duplicates, regions, warnings

    def _drop(self, con: Any, good: str, row_nos: list[int]) -> None:
        if row_nos:
            self._table(f"dropped_{good}", [("row_no", "BIGINT")], ([n] for n in row_nos), con)
            con.execute(f"DELETE FROM {good} WHERE row_no IN (SELECT row_no FROM dropped_{good})")

    def in_file(
        self,
        result: ImportResult,
        allowed: frozenset[str] | None,
        *,
        con: Any = None,
        good: str = "good",
        seen: str | None = None,
    ) -> None:
        """Region limits and duplicates within the file (the first row of a contract or
        number wins, in row order); warnings. `seen`: a table of the keys and numbers of the
        rows kept from earlier parts of the file, which come first."""
        con = con or self.con
        if allowed is not None:
            rows = con.execute(
                f"SELECT row_no FROM {good} WHERE registration_region NOT IN"
                f" ({', '.join(columnar.lit(r) for r in sorted(allowed)) or "''"})"
            ).fetchall()
            for (row_no,) in rows:
                _reject(
                    result,
                    row_no,
                    "registration_number",
                    "not_your_region",
                    "该合同不属于您负责的登记地区",
                )
            self._drop(con, good, [r for (r,) in rows])
        # Only rows sharing a key or a number with another row (or with a row kept from an
        # earlier part) need the sequential pass.
        earlier = ""
        seen_keys: set[str] = set()
        seen_numbers: set[str] = set()
        if seen is not None:
            earlier = (
                f" OR dedupe_key IN (SELECT dedupe_key FROM {seen})"
                f" OR (registration_number <> '' AND registration_number IN"
                f" (SELECT registration_number FROM {seen} WHERE registration_number <> ''))"
            )
            seen_keys = {
                k
                for (k,) in con.execute(
                    f"SELECT DISTINCT dedupe_key FROM {seen} JOIN {good} USING (dedupe_key)"
                ).fetchall()
            }
            seen_numbers = {
                n
                for (n,) in con.execute(
                    f"SELECT DISTINCT registration_number FROM {seen} JOIN {good}"
                    " USING (registration_number) WHERE registration_number <> ''"
                ).fetchall()
            }
        shared = con.execute(
            f"SELECT row_no, dedupe_key, registration_number FROM {good} WHERE dedupe_key IN"
            f" (SELECT dedupe_key FROM {good} GROUP BY 1 HAVING count(*) > 1)"
            " OR (registration_number <> '' AND registration_number IN (SELECT"
            f" registration_number FROM {good} GROUP BY 1 HAVING count(*) > 1)){earlier}"
            " ORDER BY row_no"
        ).fetchall()
        dropped: list[int] = []
        for row_no, key, number in shared:
            if key in seen_keys:
                _reject(
                    result,
                    row_no,
                    "project_name",
                    "duplicate_contract",
                    "文件中重复的合同（双方、项目名称、签订日期、成交额相同）",
                )
            elif number and number in seen_numbers:
                _reject(
                    result,
                    row_no,
                    "registration_number",
                    "duplicate_number",
                    f"文件中重复的合同登记编号{number}",
                )
            else:
                seen_keys.add(key)
                if number:
                    seen_numbers.add(number)
                continue
            dropped.append(row_no)
        self._drop(con, good, dropped)
        self._warnings(result, con, good)
        self._lap("duplicates in the file, warnings", con)

    def settle(
        self,
        result: ImportResult,
        allowed: frozenset[str] | None = None,
        *,
        good: str = "good",
        final: str = "final",
        fetch: bool = True,
    ) -> None:
        """Duplicates in the database: table `final` holds the rows of `good` to write.
        `fetch`: read the database's clashing contracts first (else `existing` is reused)."""
        con = self.con
        if fetch:
            self._existing(good)
            self._lap("duplicates in the database (fetch)")
        con.execute(
            f"CREATE OR REPLACE TABLE verdict_{good} AS SELECT g.row_no, g.registration_number,"
            " CASE WHEN k.dedupe_key IS NOT NULL AND (g.registration_number = ''"
            "   OR k.registration_number = g.registration_number) THEN 'already'"
            " WHEN k.dedupe_key IS NOT NULL THEN 'duplicate_contract'"
            " WHEN g.registration_number <> '' AND n.registration_number IS NOT NULL"
            f"   THEN 'duplicate_number' ELSE 'write' END AS verdict FROM {good} g"
            " LEFT JOIN (SELECT dedupe_key, any_value(registration_number) AS registration_number"
            f"   FROM existing WHERE status IN ({', '.join(map(columnar.lit, ACTIVE_STATUSES))})"
            "   GROUP BY 1) k ON k.dedupe_key = g.dedupe_key"
            " LEFT JOIN (SELECT DISTINCT registration_number FROM existing) n"
            "   ON n.registration_number = g.registration_number"
        )
        verdict = f"verdict_{good}"
        result.already_imported += self._scalar(
            f"SELECT count(*) FROM {verdict} WHERE verdict = 'already'"
        )
        for row_no, number, kind in con.execute(
            f"SELECT row_no, registration_number, verdict FROM {verdict}"
            " WHERE verdict LIKE 'duplicate%' ORDER BY row_no"
        ).fetchall():
            if kind == "duplicate_contract":
                _reject(result, row_no, "project_name", kind, "同一合同已以其他编号登记")
            else:
                _reject(
                    result,
                    row_no,
                    "registration_number",
                    kind,
                    f"合同登记编号{number}已被其他合同使用",
                )
        if self._scalar(f"SELECT count(*) FROM {verdict} WHERE verdict <> 'write'"):
            con.execute(
                f"CREATE OR REPLACE TABLE {final} AS SELECT g.* FROM {good} g JOIN {verdict} v"
                " USING (row_no) WHERE v.verdict = 'write'"
            )
        else:  # every row is written (the usual case): no copy
            con.execute(f"DROP TABLE IF EXISTS {final}; ALTER TABLE {good} RENAME TO {final}")
        con.execute(f"DROP TABLE {verdict}")
        result.written += self._scalar(f"SELECT count(*) FROM {final}")
        self._lap("duplicates in the database (join)")

    def _warnings(self, result: ImportResult, con: Any, good: str) -> None:
        """contract_warnings once per group of rows that look alike to it."""
        groups = con.execute(
            "SELECT contract_type, subtype, any_value([turnover, technical_amount]), count(*)"
            f" FROM {good} GROUP BY contract_type, subtype,"
            " CAST(technical_amount AS DECIMAL(18, 2)) < CAST(turnover AS DECIMAL(18, 2)),"
            f" CAST(technical_amount AS DECIMAL(18, 2)) >= {EXPERT_REVIEW_THRESHOLD}"
        ).fetchall()
        for contract_type, subtype, (turnover, technical), n in groups:
            sample = ContractData(
                project_name="",
                contract_type=contract_type,
                subtype=subtype,
                seller=PartyData(""),
                buyer=PartyData(""),
                turnover=Decimal(turnover),
                technical_amount=Decimal(technical),
                signing_date=self.ctx.today,
                tech_field="",
                ip_type="",
                plan_source="",
                payment_mode="",
            )
            for w in contract_warnings(sample):
                result.warnings[w.code] += n

    def _existing_mode(self, in_file: int) -> str:
        """How the database's clashing contracts are read: "none" (an empty registry), "all"
        (the registry is not much larger than the file), or "lookups" (by key and number)."""
        in_db = TechContract.objects.count()
        if in_db == 0 or in_file == 0:
            return "none"
        return "all" if in_db <= 4 * in_file + 100_000 else "lookups"

    def _existing(self, good: str = "good", mode: str | None = None) -> None:
        """The database's contracts that may clash with the rows of `good`, as table
        `existing`."""
        cols = [
            ("dedupe_key", "VARCHAR"),
            ("registration_number", "VARCHAR"),
            ("status", "VARCHAR"),
        ]
        if mode is None:
            mode = self._existing_mode(self._scalar(f"SELECT count(*) FROM {good}"))
        if mode == "none":
            self._table("existing", cols, [])
            return
        table = connection.ops.quote_name(TechContract._meta.db_table)
        select = f"SELECT dedupe_key, registration_number, status FROM {table}"

        def stream(sql: str, params: list[str]) -> Iterator[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                while chunk := cursor.fetchmany(20_000):
                    yield from chunk

        if mode == "all":
            self._table("existing", cols, stream(select, []))
            return

        # A large registry and a small file: look the file's keys and numbers up.
        def lookups() -> Iterator[tuple[Any, ...]]:
            for column in ("dedupe_key", "registration_number"):
                cur = self.con.execute(f"SELECT DISTINCT {column} FROM {good} WHERE {column} <> ''")
                # Only active contracts hold a duplicate key: the partial unique index serves
                # this lookup (there is no full index on dedupe_key).
                active = ", ".join(["%s"] * len(ACTIVE_STATUSES))
                extra = f" AND status IN ({active})" if column == "dedupe_key" else ""
                more = list(ACTIVE_STATUSES) if extra else []
                while values := [v for (v,) in cur.fetchmany(2000)]:
                    marks = ", ".join(["%s"] * len(values))
                    yield from stream(
                        f"{select} WHERE {column} IN ({marks}){extra}", [*values, *more]
                    )

        self._table("existing", cols, lookups())

    # -- writing

    def _number(self, final: str) -> None:
        """Registration numbers for the rows of `final` that have none, in row order per
        registration region and year (reserved from the registry's counters)."""
        con = self.con
        groups = con.execute(
            "SELECT registration_region, year(registration_date), count(*) FROM"
            f" {final} WHERE registration_number = '' GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        numbers: list[tuple[str, int, int, str]] = []
        for region, year, n in groups:
            fresh = next_registration_number(region=region, year=year, count=n)
            numbers += [(region, year, i, number) for i, number in enumerate(fresh, start=1)]
        if numbers:
            self._table(
                "numbers",
                [
                    ("region", "VARCHAR"),
                    ("year", "INTEGER"),
                    ("seq", "BIGINT"),
                    ("number", "VARCHAR"),
                ],
                numbers,
            )
            con.execute(
                f"CREATE OR REPLACE TABLE {final} AS SELECT f.* REPLACE"
                " (coalesce(n.number, f.registration_number) AS registration_number)"
                " FROM (SELECT *, CASE WHEN registration_number = '' THEN row_number() OVER"
                "   (PARTITION BY registration_number = '', registration_region,"
                f"    year(registration_date) ORDER BY row_no) END AS seq FROM {final}) f"
                " LEFT JOIN numbers n ON n.region = f.registration_region"
                "   AND n.year = year(f.registration_date) AND n.seq = f.seq"
            )
            con.execute(f"ALTER TABLE {final} DROP COLUMN seq")
        self._lap("numbering")

    def write(self, result: ImportResult, bar: _Progress) -> None:
        """Number the rows that have no number, insert them in bulk, update the rollup."""
        con = self.con
        # Only `final` is needed from here; row order no longer matters (row numbers are kept).
        con.execute(
            "DROP VIEW IF EXISTS src; DROP TABLE IF EXISTS scanned; DROP TABLE IF EXISTS good;"
            " SET preserve_insertion_order = false"
        )
        self._number("final")
        if self.staged or connection.vendor == "postgresql":
            total = self._scalar("SELECT count(*) FROM final")
            self._writing()
            with _sqlite_cache(), _indexes_rebuilt_after(total):
                self._write_staged("final", bar, 0, cells_from="final")
                self._lap("insert (beside the staging)")
            self._lap("index rebuild")
            self._upsert_staged_cells()
            return
        self._aggregate()
        total = self._scalar("SELECT count(*) FROM final")
        with _sqlite_cache(), _indexes_rebuilt_after(total):
            _insert(con, bar)
            self._lap("insert")
        self._lap("index rebuild")
        self._upsert_rollup()

    # -- the pipeline: the second half of a large file is checked while the first is written

    def pipelined(self) -> bool:
        """Whether this import checks its second half beside writing its first: a large file
        written through the staged path, into a registry whose clashing contracts are read
        once for the whole file (an empty registry, or one read in full)."""
        if not (self.staged or connection.vendor == "postgresql"):
            return False
        rows = self.rows_in_src
        return rows >= PIPELINE_FROM and self._existing_mode(rows) != "lookups"

    def run_pipelined(
        self,
        result: ImportResult,
        allowed: frozenset[str] | None,
        valid_rows: bool,
        bar: _Progress,
    ) -> bool:
        """Check and write the file in chunks by row number (cut at PIPELINE_CUTS): the first
        chunk is checked, then each chunk is written while a thread checks the next, and the last
        is written with the rollup cells of all. The result equals the sequential import's:
        a later row is only ever a duplicate of an earlier one, so a chunk's verdicts do not
        depend on the chunks after it; numbers are reserved chunk after chunk in row order;
        the database's clashing contracts are read before anything is written. Returns False
        when nothing is to be kept (all-or-nothing and a problem found): the caller rolls the
        transaction back."""
        rows = self.rows_in_src
        if self.part_ends:  # read in parts: a chunk per part
            bounds = [0, *self.part_ends]
        else:
            quantiles = ", ".join(str(q) for q in PIPELINE_CUTS)
            found = self.con.execute(
                f"SELECT quantile_disc(row_no, [{quantiles}]), max(row_no) FROM src"
            ).fetchone()
            assert found is not None
            bounds = [0, *sorted(set(found[0])), found[1]]
        chunks = [f"row_no > {a} AND row_no <= {b}" for a, b in itertools.pairwise(bounds)]
        self._lap("chunks")
        goods = [f"good_{k}" for k in range(len(chunks))]
        finals = [f"final_{k}" for k in range(len(chunks))]

        def check_chunk(k: int, into: ImportResult, con: Any = None) -> None:
            con = con or self.con
            self.read_part(k, con)
            self.check(into, con=con, rows=chunks[k], good=goods[k])
            self.in_file(into, allowed, con=con, good=goods[k], seen="seen" if k else None)
            # Keys and numbers kept so far: the chunks after this one are checked against them.
            con.execute(
                f"{'INSERT INTO seen' if k else 'CREATE OR REPLACE TABLE seen AS'}"
                f" SELECT dedupe_key, registration_number FROM {goods[k]}"
            )

        def report_rest(after: int) -> bool:
            """All-or-nothing and a problem found: nothing will be kept, but every row of
            the file is still checked and reported."""
            for k in range(after + 1, len(chunks)):
                check_chunk(k, result)
                self.settle(result, good=goods[k], final=finals[k], fetch=False)
            self.read_all(result)
            return False

        check_chunk(0, result)
        self._existing(goods[0], self._existing_mode(rows))
        self._lap("duplicates in the database (fetch)")
        self.settle(result, good=goods[0], final=finals[0], fetch=False)
        if result.problems and not valid_rows:
            return report_rest(0)
        self._number(finals[0])
        if connection.vendor == "postgresql":  # the backend keeps a core for the COPY
            self.con.execute("SET threads = 1")
        # SQLite attaches every stage file until the transaction ends (ten at most).
        files = max(1, (STAGE_FILES * 2) // len(chunks))
        done = 0
        with _sqlite_cache(), _indexes_rebuilt_after(rows):
            _set_sqlite_cache(SQLITE_CACHE_OVERLAP_KIB)
            for k in range(1, len(chunks)):
                # The next chunk, in a thread with a DuckDB connection of its own.
                following = ImportResult()
                checked: queue.Queue[BaseException | None] = queue.Queue()

                def check_following(
                    k: int = k,
                    into: ImportResult = following,
                    checked: queue.Queue[BaseException | None] = checked,
                ) -> None:
                    con = self.con.cursor()
                    self.side_clock = time.perf_counter()
                    try:
                        check_chunk(k, into, con)
                        checked.put(None)
                    except BaseException as exc:  # handed to the importing thread
                        checked.put(exc)
                    finally:
                        con.close()

                checker = threading.Thread(target=check_following, name="contracts-check-next")
                checker.start()
                try:
                    done = self._write_staged(finals[k - 1], bar, done, files=files)
                    self._lap("insert (beside the next chunk's check)")
                    failure = checked.get()
                    self._lap("waiting for the next chunk's check")
                finally:
                    checker.join()
                if failure is not None:
                    raise failure
                result.problems += following.problems
                result.rejected_rows += following.rejected_rows
                result.warnings.update(following.warnings)
                self.settle(result, good=goods[k], final=finals[k], fetch=False)
                if result.problems and not valid_rows:
                    return report_rest(k)
                self._number(finals[k])
            for stage, seconds in self.side_timings.items():
                self.timings[f"{stage} (next chunk, beside the insert)"] = seconds
            self.read_all(result)  # every part is read by now: the rows counted exactly
            _set_sqlite_cache(SQLITE_CACHE_KIB)
            self.con.execute(
                "DROP VIEW IF EXISTS src; DROP TABLE IF EXISTS scanned; DROP TABLE seen;"
                " SET preserve_insertion_order = false"
            )
            self._writing()
            self._write_staged(
                finals[-1],
                bar,
                done,
                files=files,
                cells_from="(" + " UNION ALL ".join(f"SELECT * FROM {f}" for f in finals) + ")",
            )
            self._lap("insert, last chunk (beside the staging)")
        self._lap("index rebuild")
        self._upsert_staged_cells()
        return True

    # -- staging: DuckDB writes the rows into SQLite files of its own, which the import's
    # connection attaches and copies from in SQL (SQLite), or into CSV parts that it streams
    # to COPY (PostgreSQL): no Python object per row or cell.
    # A thread of DuckDB's writes the next file while the connection copies the last one,
    # then aggregates the rollup cells while the connection rebuilds the indexes: the two
    # halves run on the two cores instead of one after the other.

    def _writing(self) -> None:
        """DuckDB's settings while the database writes."""
        self.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_WRITING}'")
        if connection.vendor == "postgresql":
            # PostgreSQL's backend needs a core of its own for the COPY (33.9 s against
            # 35.0–35.5 s with DuckDB on both cores at 1 M rows; SQLite gained nothing)
            self.con.execute("SET threads = 1")

    def _write_staged(
        self,
        source: str,
        bar: _Progress,
        done: int,
        *,
        cells_from: str | None = None,
        files: int | None = None,
    ) -> int:
        """The rows of table `source` into the contracts table, part after part, while a
        DuckDB thread writes the next part; then (with `cells_from`, a table or subquery of
        every row this import writes) the thread aggregates the rollup cells, picked up by
        `_upsert_staged_cells`. Returns `done` plus the rows written."""
        total = self._scalar(f"SELECT count(*) FROM {source}")
        ranges = self._stage_ranges(source, total, files or STAGE_FILES)
        pg = connection.vendor == "postgresql"
        # PostgreSQL: the columns COPY writes, fixed once.
        copied = _model_columns(written=True) if pg else None
        if not pg and not self.extension_loaded:
            self.con.execute(f"LOAD {columnar.lit(str(_sqlite_extension(self.tmp)))}")
            self.extension_loaded = True
        ready: queue.Queue[tuple[str, Path | BaseException]] = queue.Queue()
        cancel = threading.Event()
        worker = threading.Thread(
            target=self._stage_files,
            args=(source, ranges, copied, cells_from, ready, cancel),
            name="contracts-stage",
        )
        worker.start()
        try:
            for _k in range(len(ranges)):
                path = self._take(ready, "final")
                if copied is not None:
                    done = _copy_csv(path, copied, bar, done)
                else:
                    self.stages += 1
                    alias = self._attach(path, f"{self.stage_alias}_{self.stages}")
                    done = _insert_staged(alias, bar, done)
            if cells_from is not None:
                self.cells_ready = (ready, worker, cancel)  # joined by _upsert_staged_cells
        finally:
            if self.cells_ready is None or self.cells_ready[1] is not worker:
                cancel.set()
                worker.join()
        return done

    @staticmethod
    def _take(ready: queue.Queue[tuple[str, Path | BaseException]], kind: str) -> Path:
        got, item = ready.get()
        if isinstance(item, BaseException):
            raise item
        assert got == kind, (got, kind)
        return item

    def _upsert_staged_cells(self) -> None:
        """The rollup cells the staging thread aggregated, into the rollup."""
        assert self.cells_ready is not None
        ready, worker, cancel = self.cells_ready
        self.cells_ready = None
        try:
            cells = self._take(ready, "cells")
            self._lap("waiting for the rollup aggregate")
            if connection.vendor == "postgresql":
                rollup.upsert_bulk((), csv_path=str(cells), periods=self.periods, cells=self.cells)
            else:
                self.stages += 1
                rollup.upsert_from(
                    f"{self._attach(cells, f'{self.stage_alias}_{self.stages}')}.cells"
                )
            self._lap("rollup (upsert)")
        finally:
            cancel.set()
            worker.join()

    def _stage_ranges(self, source: str, total: int, most: int) -> list[str]:
        """Conditions on the registration number that split `source` into stage files."""
        files = max(1, min(most, -(-total // STAGE_FILE_ROWS)))
        if files == 1:
            return ["TRUE"]
        cuts = self._scalar(
            "SELECT quantile_disc(registration_number,"
            f" [{', '.join(str(i / files) for i in range(1, files))}]) FROM {source}"
        )
        bounds = [None, *sorted(set(cuts)), None]
        out = []
        for low, high in itertools.pairwise(bounds):
            parts = []
            if low is not None:
                parts.append(f"registration_number > {columnar.lit(low)}")
            if high is not None:
                parts.append(f"registration_number <= {columnar.lit(high)}")
            out.append(" AND ".join(parts))
        return out

    def _stage_files(
        self,
        source: str,
        ranges: list[str],
        copied: list[tuple[str, Any]] | None,
        cells_from: str | None,
        ready: queue.Queue[tuple[str, Path | BaseException]],
        cancel: threading.Event,
    ) -> None:
        """The stage files of `source`, one per range in registration-number order (the
        unique indexes then grow at their end), then the rollup cells of `cells_from` (runs
        in its own thread)."""
        con = self.con.cursor()  # a connection of its own to the same DuckDB database
        try:
            varying = ", ".join(
                f"CAST({c} AS VARCHAR) AS {c}" if t == "DATE" else c for c, t in _staged_columns()
            )
            started = time.perf_counter()
            for where in ranges:
                if cancel.is_set():
                    return
                n = next(self.counter)
                if copied is not None:  # CSV for PostgreSQL's COPY
                    path = self.tmp / f"final-{n}.csv"
                    con.execute(
                        # Not sorted: PostgreSQL's indexes fit its buffers at this size,
                        # and sorting every column costs DuckDB more than it saves.
                        f"COPY (SELECT {', '.join(_copy_exprs(copied))} FROM {source}"
                        f" WHERE {where}) TO {columnar.lit(str(path))}"
                        " (FORMAT csv, HEADER false)"
                    )
                    ready.put(("final", path))
                    continue
                path = self.tmp / f"stage-{n}.sqlite3"
                con.execute(
                    f"ATTACH {columnar.lit(str(path))} AS stage (TYPE sqlite);"
                    f" CREATE TABLE stage.final AS SELECT {varying} FROM {source} WHERE {where}"
                    " ORDER BY registration_number; DETACH stage"
                )
                ready.put(("final", path))
            stage = "stage (DuckDB writes the parts, beside the insert)"
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started
            if cells_from is None:
                return
            started = time.perf_counter()
            _aggregate_cells(con, cells_from)
            key = ", ".join(["cuboid", "basis", "year", *rollup.DIMS])
            row = con.execute("SELECT count(*) FROM cells").fetchone()
            self.cells = row[0] if row else 0
            self.timings["rollup cells"] = self.cells
            self.periods = con.execute("SELECT DISTINCT basis, year FROM cells").fetchall()
            if copied is not None:
                path = self.tmp / "cells.csv"
                con.execute(
                    f"COPY (SELECT * FROM cells ORDER BY {key}) TO {columnar.lit(str(path))}"
                    " (FORMAT csv, HEADER false)"
                )
            else:
                path = self.tmp / "stage-cells.sqlite3"
                con.execute(
                    f"ATTACH {columnar.lit(str(path))} AS stage (TYPE sqlite); CREATE TABLE"
                    f" stage.cells AS SELECT * FROM cells ORDER BY {key}; DETACH stage"
                )
            self.timings["rollup (aggregate and stage, beside the insert)"] = (
                time.perf_counter() - started
            )
            ready.put(("cells", path))
        except BaseException as exc:  # handed to the importing thread, which raises it
            ready.put(("error", exc))
        finally:
            con.close()

    def _attach(self, path: Path, alias: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"ATTACH DATABASE %s AS {alias}", [str(path)])
        self.attached.append(alias)
        return alias

    def detach(self) -> None:
        """Let go of the stage files (after the import's transaction has ended)."""
        with connection.cursor() as cursor:
            while self.attached:
                cursor.execute(f"DETACH DATABASE {self.attached.pop()}")

    def _aggregate(self) -> None:
        """One aggregate per cuboid and basis: the rollup cells this import adds to."""
        _aggregate_cells(self.con, "final")
        self._lap("rollup (aggregate)")

    def _upsert_rollup(self) -> None:
        """The cells into the rollup: one `INSERT … ON CONFLICT DO UPDATE` per import."""
        cur = self.con.execute("SELECT * FROM cells")

        def chunks() -> Iterator[list[tuple[Any, ...]]]:
            while cells := cur.fetchmany(20_000):  # in chunks: a million cells would not fit
                yield [(*c[:-2], int(c[-2]), int(c[-1])) for c in cells]

        self.timings["rollup cells"] = rollup.upsert_bulk(chunks())
        self._lap("rollup (upsert)")


def _aggregate_cells(con: Any, source: str) -> None:
    """The rollup cells of the rows of `source` (a table or subquery) into table `cells`."""
    con.execute(f"CREATE OR REPLACE TABLE facts AS {columnar.facts_sql(source)}")
    found = con.execute(columnar.distinct_dims_sql("facts")).fetchone()
    for sql in columnar.coded_facts_sql("facts", dict(zip(rollup.DIMS, found, strict=True))):
        con.execute(sql)
    con.execute("DROP TABLE facts")
    text = ", ".join(f"CAST({d} AS VARCHAR) AS {d}" for d in rollup.DIMS)
    con.execute(
        f"CREATE OR REPLACE TABLE cells AS SELECT * REPLACE ({text})"
        f" FROM ({columnar.cells_sql('facts_coded')})"
    )


def _model_columns(*, written: bool = False) -> list[tuple[str, Any]]:
    """(column, constant or None) for every stored column: None when `final` holds it.

    `written`: only the columns an import writes; those whose constant the database fills in
    itself (the column's default, or NULL) are left out: on PostgreSQL every column of a COPY
    is parsed, and about half of them are constants.
    """
    meta = TechContract._meta
    held = {name for name, _t in columnar.GOOD_COLUMNS}
    now = timezone.now()
    out: list[tuple[str, Any]] = []
    for f in meta.concrete_fields:
        if f.primary_key:
            continue
        column = str(f.column)
        if f.attname in held:
            out.append((column, None))
        elif f.attname == "status":
            out.append((column, ("const", ContractStatus.REGISTERED.value)))
        elif f.attname in ("created_at", "updated_at"):
            if not written:  # the table's clock when written (one timestamp per statement)
                out.append((column, ("const", now)))
        elif f.has_db_default() and (not f.has_default() or f.get_default() == f.db_default):
            if not written:  # the table's default
                value: Any = f.db_default  # a JSON default is a list here: its text
                out.append((column, ("const", "[]" if value == [] else value)))
        else:
            default = f.get_default()
            if not (written and default is None and f.null):  # else NULL, by the table
                out.append((column, ("const", default)))
    return out


def _copy_exprs(columns: list[tuple[str, Any]]) -> list[str]:
    """DuckDB expressions for `columns` (PostgreSQL's COPY), constants inlined."""
    exprs = []
    for column, const in columns:
        if const is None:
            exprs.append(column)
            continue
        value = const[1]
        if value is None:
            exprs.append("NULL")
        elif isinstance(value, bool):
            exprs.append("true" if value else "false")
        elif isinstance(value, int):
            exprs.append(str(value))
        elif isinstance(value, datetime):
            exprs.append(columnar.lit(value.isoformat()))
        else:
            exprs.append(columnar.lit(str(value)))
    return exprs


def _copy_csv(path: Path, columns: list[tuple[str, Any]], bar: _Progress, done: int) -> int:
    """A CSV file of `columns` into the contracts table (PostgreSQL's COPY); returns `done`
    plus its rows."""
    table = connection.ops.quote_name(TechContract._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c, _ in columns)
    sql = f"COPY {table} ({names}) FROM STDIN (FORMAT csv)"
    with connection.cursor() as wrapper, path.open("rb") as fh:
        # Not waiting for the WAL flush at COMMIT: the transaction stays atomic (all rows
        # or none), only a crash in the next fraction of a second could lose a committed
        # import, which the re-import then adds again. Local to this transaction.
        wrapper.execute("SET LOCAL synchronous_commit = off")
        with wrapper.cursor.copy(sql) as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
                done += chunk.count(b"\n")
                bar.update(done)
    path.unlink()
    return done


def _insert(con: Any, bar: _Progress) -> None:
    """`final` into the contracts table with executemany (SQLite without the stage path)."""
    table = connection.ops.quote_name(TechContract._meta.db_table)
    columns = _model_columns(written=True)
    names = ", ".join(connection.ops.quote_name(c) for c, _ in columns)
    done = 0
    varying = []
    marks = []
    for column, const in columns:
        if const is None:
            is_date = dict(columnar.GOOD_COLUMNS)[column] == "DATE"
            varying.append(f"CAST({column} AS VARCHAR)" if is_date else column)
            marks.append("?")
        else:
            marks.append(_sqlite_literal(const[1]))
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(marks)})"
    # In registration-number order: the unique index on the number then grows at its end
    # (new ids grow too) instead of touching pages all over the tree.
    cur = con.execute(f"SELECT {', '.join(varying)} FROM final ORDER BY registration_number")
    with connection.cursor() as wrapper:
        raw = wrapper.cursor
        while rows := cur.fetchmany(20_000):
            # The driver's own executemany: Django's wrapper would rewrite every statement.
            sqlite3.Cursor.executemany(raw, sql, rows)
            done += len(rows)
            bar.update(done)


def _staged_columns() -> list[tuple[str, str]]:
    """The columns of `final` that the contracts table stores (name, DuckDB type)."""
    types = dict(columnar.GOOD_COLUMNS)
    return [(c, types[c]) for c, const in _model_columns() if const is None]


# A file of at least this many rows is checked in chunks, each beside the writing of the one
# before (`_Columns.run_pipelined`).
PIPELINE_FROM = 200_000
# …and, when it is plain UTF-8 of at least this many bytes, also read in parts (cut at line
# ends): the database starts writing once the first part is read and checked, and the next
# part is read beside that write (`_Columns._split`). PostgreSQL only: its backend waits idle
# until the first rows come (1 M rows: 43.0 and 48.7 s against 46.0 and 50.8 s read whole).
# SQLite inserts in this process, on cores already busy: the part read beside its insert
# made it slower (39.3 and 42.0 s against 34.9 and 38.1 s).
SPLIT_READ_FROM = 32 << 20
SPLIT_READ_VENDORS = frozenset({"postgresql"})
# Where the chunks end, as fractions of the file's rows: halves. Each chunk after the first is
# checked while the one before is written. A smaller first chunk (cuts at 10 % and 35 %) let the
# database start sooner but then wait for the next check: no faster on PostgreSQL, and three
# chunks ran DuckDB out of memory staging SQLite's (larger) files (docs/benchmarks-contracts.md).
PIPELINE_CUTS: tuple[float, ...] = (0.5,)
STAGE_CHUNK = 50_000  # rows per INSERT … SELECT from a stage file (the progress bar's step)
STAGE_FILES = 4  # stage files at most (each is attached: SQLite allows ten)
STAGE_FILE_ROWS = 100_000  # rows per stage file at least


def _insert_staged(alias: str, bar: _Progress, done: int) -> int:
    """One stage file's rows into the contracts table, in SQL (SQLite); returns `done` plus
    the rows copied."""
    table = connection.ops.quote_name(TechContract._meta.db_table)
    columns = _model_columns(written=True)
    names = ", ".join(connection.ops.quote_name(c) for c, _ in columns)
    exprs = []
    for column, const in columns:
        if const is None:
            exprs.append(connection.ops.quote_name(column))
            continue
        exprs.append(_sqlite_literal(const[1]))
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} FROM {alias}.final"
        " WHERE rowid > %s AND rowid <= %s ORDER BY rowid"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {alias}.final")
        rows = int(cursor.fetchone()[0])
        for start in range(0, rows, STAGE_CHUNK):
            cursor.execute(sql, [start, start + STAGE_CHUNK])
            bar.update(done + min(rows, start + STAGE_CHUNK))
    return done + rows


def _sqlite_extension_file() -> Path | None:
    """DuckDB's SQLite extension as installed by pip (`duckdb-extension-sqlite`), if any."""
    import importlib.util

    import duckdb

    spec = importlib.util.find_spec("duckdb_extension_sqlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / "sqlite.duckdb_extension"
    return path if path.is_file() else None


def _sqlite_extension(tmp: Path) -> Path:
    """A link to the extension under the name DuckDB derives its entry point from."""
    source = _sqlite_extension_file()
    assert source is not None  # staged only when it exists
    link = tmp / "sqlite_scanner.duckdb_extension"
    if not link.exists():
        link.symlink_to(source)
    return link


def _indexes_rebuilt_after(rows: int) -> AbstractContextManager[None]:
    """The contracts table's indexes that imported rows enter, dropped while a large import
    writes and built once afterwards (`bulk.indexes_rebuilt_after`)."""
    constants = {column: const[1] for column, const in _model_columns() if const is not None}
    return bulk.indexes_rebuilt_after(TechContract, rows, constants)


@contextmanager
def _sqlite_cache() -> Iterator[None]:
    """On SQLite, a page cache that holds the indexes being written (the default is 2 MB)
    while the import writes; set back afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _set_sqlite_cache(kib: int) -> None:
    """On SQLite, the page cache's size from here (inside `_sqlite_cache`)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {-kib}")


def _fields(data: ContractData, extras: dict[str, str], ctx: RuleContext) -> dict[str, Any]:
    sp, sc = stat_region(data.seller.country, data.seller.region_code)
    bp, bc = stat_region(data.buyer.country, data.buyer.region_code)
    return {
        "rule_version": rule_version_for(data.signing_date, ctx.rule_starts),
        "status": ContractStatus.REGISTERED.value,
        "registration_number": data.registration_number,
        "project_name": data.project_name,
        "contract_type": data.contract_type,
        "subtype": data.subtype,
        "signing_date": data.signing_date,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "seller_name": data.seller.name,
        "seller_credit_code": data.seller.credit_code,
        "seller_nature": data.seller.nature,
        "seller_country": data.seller.country,
        "seller_region_code": data.seller.region_code,
        "seller_province": sp,
        "seller_city": sc,
        "buyer_name": data.buyer.name,
        "buyer_credit_code": data.buyer.credit_code,
        "buyer_nature": data.buyer.nature,
        "buyer_country": data.buyer.country,
        "buyer_region_code": data.buyer.region_code,
        "buyer_province": bp,
        "buyer_city": bc,
        "turnover": data.turnover,
        "technical_amount": data.technical_amount,
        "tech_field": data.tech_field,
        "ip_type": data.ip_type,
        "plan_source": data.plan_source,
        "payment_mode": data.payment_mode,
        "registration_region": registering_region(data),
        "registration_body": extras.get("registration_body", "")[:120],
        "registration_date": data.registration_date,
        "needs_expert_review": needs_expert_review(data.technical_amount),
        "dedupe_key": dedupe_key(data),
    }


def _reject(result: ImportResult, row: int, key: str, code: str, message: str) -> None:
    result.rejected_rows += 1
    result.problems.append(RowProblem(row, FIELD_COLUMN.get(key, key), code, message))


def _reject_all(result: ImportResult, row: int, problems: list[Problem]) -> None:
    result.rejected_rows += 1
    for p in problems:
        column = FIELD_COLUMN.get(p.field or "", p.field or "")
        result.problems.append(RowProblem(row, column, p.code, p.message))


def _finish_report(path: Path, result: ImportResult, write: bool) -> None:
    """Write `<file>.errors.csv` beside the input (or remove a stale one when all is well)."""
    if not write:
        return
    report = path.with_name(path.name + ".errors.csv")
    if not result.problems:
        report.unlink(missing_ok=True)
        return
    with report.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "column", "code", "message"])
        for p in result.problems:
            writer.writerow([p.row, p.column, p.code, p.message])
    result.report_path = report


def report_csv(result: ImportResult) -> str:
    """The report as CSV text (for the web download)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["row", "column", "code", "message"])
    for p in result.problems:
        writer.writerow([p.row, p.column, p.code, p.message])
    return buf.getvalue()


def _stderr() -> IO[str]:
    return sys.stderr
