"""The import's vectorised filter against the reference rules, on the same randomised rows.

The import passes a row without the reference only when the vectorised filter says the reference
would accept it; every other row's problems come from the reference. So the filter must never
accept a row the reference rejects, must derive exactly the fields the reference would store,
and (outside its documented conservative corners) must accept what the reference accepts.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from techexchange.contracts import columnar
from techexchange.contracts.importer import (
    COLUMNS,
    _Columns,
    _fields,
    _header_index,
    _Maps,
    _Parser,
    import_contracts,
    read_table,
)
from techexchange.contracts.policies import contract_problems
from techexchange.contracts.services import rule_context
from techexchange.contracts.tests.factories import contract_data
from techexchange.contracts.tests.rows import HEADER, row_of, write_csv
from techexchange.core.uscc import make_credit_code

pytestmark = pytest.mark.django_db

COL = {c.key: i for i, c in enumerate(COLUMNS)}
TODAY = date(2025, 6, 30)

# (column, values): edge values a mutation writes into one cell. Values marked "~" are in the
# filter's conservative corners (it may send them to the reference although they are fine).
EDGES: dict[str, list[str]] = {
    "registration_number": [
        "",
        "2022310001000009",
        "2022320001000001",
        "2021310001000001",
        "12345",
        "２０２２310001000009~",
        "202231000100000X",
    ],
    "project_name": [
        "",
        "  智能传感器研发 ",
        "\u3000项目\u3000",
        "Straße~",
        "x" * 201,
        "x" * 200,
        "项目\tA",
        "ǅ项目~",
        "Ａ项目~",
    ],
    "contract_type": ["", "技术开发", "development", "技术许可", "licence", "技术转让", "租赁"],
    "subtype": ["", "委托开发", "合作开发", "专利实施许可", "技术培训", "patent_licence", "x"],
    "seller_credit_code": ["", "91310000MA1FL0000X", "9131000 0MA1FL00", "91310000ma1fl0000x~"],
    "seller_nature": ["", "150", "400", "999", "030", " 170 "],
    "seller_country": ["", "156", "840", "344", "15", "abc"],
    "seller_region_code": ["", "310104", "3101", "990101", "810000", "31010", "３１０１０４~"],
    "buyer_credit_code": ["", "91310000MA1FL0000X"],
    "buyer_country": ["", "156", "276", "446"],
    "buyer_region_code": ["", "320505", "3205", "710000", "440305"],
    "turnover": [
        "",
        "1000000.00",
        "1,000,000",
        "1e6~",
        "01000~",
        "-5",
        "0",
        "0.001",
        "1.5",
        "1.000~",
        "1_000~",
        "abc",
        "99999999999999.99",
        "999999999999999~",
    ],
    "technical_amount": ["", "800000", "1000000.00", "2000000", "0", "0.01", "1,000"],
    "tech_field": ["", "电子信息技术", "electronics", "魔法"],
    "ip_type": ["", "专利", "未涉及知识产权", "none", "发明专利", "x"],
    "plan_source": ["", "计划外", "国家计划", "x"],
    "payment_mode": ["", "其他", "提成支付", "x"],
    "signing_date": [
        "",
        "2022-03-01",
        "2020-06-01",
        "2022/03/01",
        "2022-02-30",
        "0000-01-01",
        "2026-01-01",
        "2022-3-1",
        "2020-12-31",
        "2021-01-01",
    ],
    "valid_from": ["", "2022-03-01", "2023-01-01", "bad"],
    "valid_to": ["", "2022-02-01", "2024-01-01", "2022-13-01"],
    "registration_date": ["", "2022-06-01", "2022-01-01", "2026-01-01", "2021-06-01"],
    "registration_body": ["", "x" * 130, "  上海  "],
}


def _mutate(rng: random.Random, row: list[str]) -> list[str]:
    row = list(row)
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        key = rng.choice(sorted(EDGES))
        row[COL[key]] = rng.choice(EDGES[key]).rstrip("~")
    if rng.random() < 0.2:  # a party of its own: a fresh valid credit code
        region = rng.choice(("310104", "320505", "330102", "340104"))
        row[COL["seller_region_code"]] = region
        row[COL["seller_credit_code"]] = make_credit_code(rng, region_code=region)
    return row


def _rows(seed: int, n: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = contract_data(project_name=f"项目{i}")
        number = rng.choice(("", f"2022310001{i:06d}"))
        out.append(_mutate(rng, row_of(d, number)))
    return out


def _reference(
    rows: list[list[str]], ctx
) -> dict[int, tuple[list[tuple[str, str]], dict[str, Any]]]:
    """Row number → (problems as (column, code), stored fields) by the per-row reference."""
    from techexchange.contracts.importer import FIELD_COLUMN

    parser = _Parser({c.key: i for i, c in enumerate(COLUMNS)}, _Maps())
    out = {}
    for row_no, row in enumerate(rows, start=1):
        data, extras, problems = parser.parse(row)
        if data is not None:
            problems = contract_problems(data, ctx)
        cells = [(FIELD_COLUMN.get(p.field or "", p.field or ""), p.code) for p in problems]
        fields = _fields(data, extras, ctx) if data is not None and not problems else {}
        out[row_no] = (cells, fields)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_filter_agrees_with_the_reference_on_random_rows(tmp_path: Path, seed: int) -> None:
    rows = _rows(seed, 400)
    path = write_csv(tmp_path / "c.csv", rows)
    ctx = rule_context(today=TODAY, itemised=False)
    reference = _reference(rows, ctx)
    table, _total = read_table(path)
    header = next(table)
    index, _missing = _header_index(header)
    with _Columns(path, header, index, table, ctx, {}) as cols:
        assert cols._load_direct()
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
        sql = columnar.derived_sql("src", cols.keys, ctx, required=required, maps=lookups)
        cur = cols.con.execute(f"{sql} ORDER BY row_no")
        names = [d[0] for d in cur.description]
        got = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    conservative = 0
    for row_no, (problems, fields) in reference.items():
        derived = got[row_no]
        if problems:
            assert not derived["ok"], (row_no, rows[row_no - 1], problems)
            continue
        if not derived["ok"]:
            conservative += 1
            continue
        expected = columnar.as_row(fields, row_no)
        actual = [derived[name] for name, _t in columnar.GOOD_COLUMNS]
        actual = [v.isoformat() if isinstance(v, date) else v for v in actual]
        assert actual == expected, row_no
    assert conservative <= len(rows) // 5


def test_conservative_rows_still_import_through_the_reference(tmp_path: Path) -> None:
    ok = contract_data(project_name="Straße ǅ 项目")  # upper() differs between Python and DuckDB
    rows = [row_of(ok), row_of(contract_data(project_name="其他项目"))]
    rows[1][COL["turnover"]] = "1000000.000"
    result = import_contracts(write_csv(tmp_path / "c.csv", rows))
    assert result.ok and result.written == 2


@pytest.mark.parametrize("seed", [4, 5])
def test_import_reports_exactly_the_reference_problems(tmp_path: Path, seed: int) -> None:
    rows = _rows(seed, 300)
    path = write_csv(tmp_path / "c.csv", rows)
    ctx = rule_context(itemised=False)
    reference = _reference(rows, ctx)
    result = import_contracts(path, valid_rows=True, dry_run=True)
    expected = [(n, col, code) for n, (problems, _f) in reference.items() for col, code in problems]
    dupes = {"duplicate_contract", "duplicate_number"}
    got = [(p.row, p.column, p.code) for p in result.problems if p.code not in dupes]
    assert got == expected
    assert result.rejected_rows == len({n for n, _c, _k in expected}) + sum(
        p.code in dupes for p in result.problems
    )


def test_blank_lines_and_irregular_csv_keep_row_numbers(tmp_path: Path) -> None:
    good = row_of(contract_data())
    bad = row_of(contract_data(project_name="其他"))
    bad[COL["signing_date"]] = "2022/03/01"
    path = tmp_path / "c.csv"
    lines = [",".join(HEADER), ",".join(good), "", ",".join(bad), ",,,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_contracts(path, valid_rows=True)
    assert [(p.row, p.code) for p in result.problems] == [(3, "invalid_date")]
    assert result.rows == 2 and result.written == 1


def test_strip_sql_is_str_strip_for_every_white_space_and_control_character() -> None:
    import duckdb

    chars = [*columnar.WHITESPACE, *(chr(c) for c in range(33)), "\x7f", "\x85", "\xa0", "a", "项"]
    cells = [f"{c}x{c}" for c in chars] + [f"{c}{c}" for c in chars] + ["", "x", "项 目"]
    got = duckdb.execute(
        f"SELECT list_transform(?::VARCHAR[], v -> {columnar.strip_sql('v')})", [cells]
    ).fetchone()
    assert got is not None and got[0] == [c.strip() for c in cells]
    assert duckdb.execute(f"SELECT {columnar.strip_sql('NULL')}").fetchone() == ("",)


def test_credit_code_expression_is_the_reference_check() -> None:
    """Valid codes, each with one character replaced by any digit or upper-case letter (the
    letters outside the alphabet included), and codes of other lengths: the expression and
    policies._uscc_ok agree on every one."""
    import duckdb

    from techexchange.contracts.policies import _uscc_ok

    rng = random.Random(31)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    codes = []
    for _ in range(400):
        code = make_credit_code(rng, region_code=rng.choice(["310104", "320102", "340100"]))
        codes.append(code)
        at = rng.randrange(18)
        codes.append(code[:at] + rng.choice(alphabet) + code[at + 1 :])
        codes += [code[:17], code + "0", ""]
    got = duckdb.execute(
        f"SELECT list_transform(?::VARCHAR[], v -> {columnar._uscc_ok('v')})", [codes]
    ).fetchone()
    assert got is not None
    expected = [_uscc_ok(c) for c in codes]
    assert got[0] == expected
    assert 400 <= sum(expected) < len(codes) / 2  # both outcomes are well represented


def test_rows_of_white_space_are_skipped_when_duckdb_reads_the_file(tmp_path: Path) -> None:
    """Read directly (no empty line): rows whose cells are all white space are skipped, a
    row with text only in a column outside the layout is not, and numbers do not shift."""
    good = row_of(contract_data())
    bad = row_of(contract_data(project_name="其他"))
    bad[COL["signing_date"]] = "2022/03/01"
    spaces = [" ", "\u3000", "\t"] * (len(HEADER) // 3 + 1)
    path = tmp_path / "c.csv"
    lines = [
        ",".join([*HEADER, "备注"]),
        ",".join([*good, ""]),
        ",".join(spaces[: len(HEADER) + 1]),  # blank: skipped
        ",".join([*bad, " "]),
        ",".join([*[""] * len(HEADER), "只有备注"]),  # not blank: every required cell missing
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, _total = read_table(path)
    header = next(table)
    index, _missing = _header_index(header)
    with _Columns(path, header, index, table, rule_context(itemised=False), {}) as cols:
        assert cols._load_direct()
        assert [r for (r,) in cols.con.execute("SELECT row_no FROM src ORDER BY 1").fetchall()] == [
            1,
            3,
            4,
        ]
    result = import_contracts(path, valid_rows=True)
    assert result.rows == 3 and result.written == 1
    assert {p.row for p in result.problems} == {3, 4}
