"""Bulk import of registered contracts from CSV (UTF-8 with or without BOM, GB18030) or .xlsx.

One pass, streaming: each row is parsed and checked by the same rules as the web
(`policies.contract_problems`), then written in batches inside one transaction. All-or-nothing
by default (one bad row and the transaction is rolled back); `valid_rows=True` keeps the good
rows. Re-importing a file adds nothing: a row whose contract (duplicate key) or registration
number is already registered is skipped as already imported. Every rejected row is reported
with its row number (data rows from 1 after the header), column, code and message.
"""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone, translation

from techexchange.contracts import rollup
from techexchange.contracts.codes import (
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


class _Writer:
    """Batched raw inserts: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self) -> None:
        meta = TechContract._meta
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in self.fields]
        self.position = {f.attname: i for i, f in enumerate(self.fields)}
        now = timezone.now()
        defaults: list[Any] = []
        for f in self.fields:
            if f.attname in ("created_at", "updated_at"):
                defaults.append(now)
            else:
                defaults.append(f.get_default())  # "" for blank text, None for nullable
        self.defaults = defaults
        self.pg = connection.vendor == "postgresql"
        self.batch: list[list[Any]] = []
        table = connection.ops.quote_name(meta.db_table)
        cols = ", ".join(connection.ops.quote_name(str(c)) for c in self.columns)
        self.copy_sql = f"COPY {table} ({cols}) FROM STDIN"
        marks = ", ".join(["?" if not self.pg else "%s"] * len(self.columns))
        self.insert_sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
        self.json_fields = {self.position["rejection_reasons"]}

    def row(self, values: dict[str, Any]) -> None:
        out = list(self.defaults)
        pos = self.position
        for name, value in values.items():
            out[pos[name]] = value
        self.batch.append(out)
        if len(self.batch) >= 5000:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        with connection.cursor() as wrapper:
            raw = wrapper.cursor
            if self.pg:
                with raw.copy(self.copy_sql) as copy:
                    for values in self.batch:
                        copy.write_row(
                            ["[]" if i in self.json_fields else v for i, v in enumerate(values)]
                        )
            else:
                rows = [
                    [
                        "[]"
                        if i in self.json_fields
                        else (
                            v.isoformat()
                            if isinstance(v, date | datetime)
                            else (str(v) if isinstance(v, Decimal) else v)
                        )
                        for i, v in enumerate(values)
                    ]
                    for values in self.batch
                ]
                # The driver's own executemany: Django's wrapper would rewrite every statement.
                sqlite3.Cursor.executemany(raw, self.insert_sql, rows)
        self.batch = []


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
        self.next += self.step
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
    parser = _Parser(index, _Maps())
    bar = _Progress(total, progress)
    with transaction.atomic():
        _run(rows, parser, ctx, result, allowed_regions, bar)
        bar.close()
        keep = not dry_run and (valid_rows or not result.problems)
        if keep:
            result.committed = True
        else:
            transaction.set_rollback(True)
            result.written = 0 if not dry_run else result.written
    _finish_report(path, result, write_report)
    return result


def _run(
    rows: Iterator[list[str]],
    parser: _Parser,
    ctx: RuleContext,
    result: ImportResult,
    allowed: frozenset[str] | None,
    bar: _Progress,
) -> None:
    writer = _Writer()
    deltas: dict[Any, Any] = {}
    seen_keys: set[str] = set()
    seen_numbers: set[str] = set()
    pending: list[tuple[int, dict[str, Any]]] = []
    needs_number: list[dict[str, Any]] = []

    def settle() -> None:
        """Check a batch against the database, then write its rows."""
        if not pending:
            return
        keys = [v["dedupe_key"] for _, v in pending]
        numbers = [v["registration_number"] for _, v in pending if v["registration_number"]]
        existing_keys = dict(
            TechContract.objects.filter(
                dedupe_key__in=keys, status__in=("registered", "amended", "submitted")
            ).values_list("dedupe_key", "registration_number")
        )
        existing_numbers = dict(
            TechContract.objects.filter(registration_number__in=numbers).values_list(
                "registration_number", "dedupe_key"
            )
        )
        for row_no, values in pending:
            key, number = values["dedupe_key"], values["registration_number"]
            if key in existing_keys and (not number or existing_keys[key] == number):
                result.already_imported += 1
                continue
            if key in existing_keys:
                _reject(
                    result, row_no, "project_name", "duplicate_contract", "同一合同已以其他编号登记"
                )
                continue
            if number and number in existing_numbers:
                _reject(
                    result,
                    row_no,
                    "registration_number",
                    "duplicate_number",
                    f"合同登记编号{number}已被其他合同使用",
                )
                continue
            if not number:
                needs_number.append(values)
                continue
            writer.row(values)
            rollup.add_contract(deltas, values)
            result.written += 1
        pending.clear()

    for row_no, row in enumerate(rows, start=1):
        if not any(cell.strip() for cell in row):
            continue
        result.rows += 1
        bar.update(result.rows)
        data, extras, problems = parser.parse(row)
        if data is not None:
            problems = contract_problems(data, ctx)
            if not problems and data.registration_date is None:
                problems = [Problem("required", "请填写登记日期", "registration_date")]
        if problems or data is None:
            _reject_all(result, row_no, problems)
            continue
        values = _fields(data, extras, ctx)
        if allowed is not None and values["registration_region"] not in allowed:
            _reject(
                result,
                row_no,
                "registration_number",
                "not_your_region",
                "该合同不属于您负责的登记地区",
            )
            continue
        key, number = values["dedupe_key"], values["registration_number"]
        if key in seen_keys:
            _reject(
                result,
                row_no,
                "project_name",
                "duplicate_contract",
                "文件中重复的合同（双方、项目名称、签订日期、成交额相同）",
            )
            continue
        if number and number in seen_numbers:
            _reject(
                result,
                row_no,
                "registration_number",
                "duplicate_number",
                f"文件中重复的合同登记编号{number}",
            )
            continue
        seen_keys.add(key)
        if number:
            seen_numbers.add(number)
        for w in contract_warnings(data):
            result.warnings[w.code] += 1
        pending.append((row_no, values))
        if len(pending) >= 5000:
            settle()
    settle()
    _number_and_write(needs_number, writer, deltas, result)
    writer.flush()
    rollup.apply_deltas(deltas)


def _number_and_write(
    rows: list[dict[str, Any]], writer: _Writer, deltas: dict[Any, Any], result: ImportResult
) -> None:
    """Rows without a number get fresh ones (per registration region and year)."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for values in rows:
        groups.setdefault(
            (values["registration_region"], values["registration_date"].year), []
        ).append(values)
    for (region, year), group in sorted(groups.items()):
        numbers = next_registration_number(region=region, year=year, count=len(group))
        for values, number in zip(group, numbers, strict=True):
            values["registration_number"] = number
            writer.row(values)
            rollup.add_contract(deltas, values)
            result.written += 1


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
