# ruff: noqa: S608  (DuckDB SQL built from this module's constants; values go through lit())
"""The import's row rules as vectorised DuckDB expressions: a fast "certainly valid" filter.

`policies.contract_problems` (through the importer's parser) stays the reference: it alone says
*what* is wrong with a row. The expressions here only decide, for a whole column batch at once,
which rows the reference would pass without a single problem, and derive those rows' stored
values (statistical regions, registering region, rule version, duplicate key) exactly as
`importer._fields` would. A row the filter does not pass goes through the reference row by row,
so the filter may be conservative (reject rows the reference would accept) but never lenient;
`tests/test_columnar.py` runs both on the same randomised rows and asserts they agree.

Conservative corners, on purpose: text outside plain ASCII, CJK and CJK punctuation in names
and project names (Python's `str.upper` and DuckDB's `upper` disagree on a few letters),
credit codes with non-ASCII letters, amounts written with exponents, underscores or leading
zeros, more than 14 integer digits, and dates not written as YYYY-MM-DD with ASCII digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from techexchange.accounts.codes import PartyNature, report_category_of
from techexchange.contracts.codes import (
    CHINA,
    HMT_COUNTRIES,
    HMT_PROVINCE_PREFIXES,
    IP_GROUP_OF,
    SUBTYPES_OF,
    ContractType,
    IPType,
    Subtype,
)
from techexchange.contracts.policies import (
    ABROAD,
    EXPERT_REVIEW_THRESHOLD,
    HMT,
    MUNICIPALITIES,
    RuleContext,
    _number_layout,
)
from techexchange.contracts.rollup import BASES, CUBOIDS, DIMS, contract_class

__all__ = ["NOT_SPACE", "WHITESPACE", "cells_sql", "derived_sql", "facts_sql", "lit", "strip_sql"]

# Exactly the characters `str.strip()` removes (str.isspace()).
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Two characters of the alphabet, the six digits of the region, ten of the alphabet.
_USCC_FORMAT = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
# Characters on which `re.sub(r"\s+", "", s).upper()` and DuckDB's upper(regexp_replace(...))
# certainly agree: printable ASCII, CJK ideographs and punctuation, fullwidth forms other than
# letters, middle dot, general punctuation. Anything else goes to the reference.
_SAFE_TEXT = (
    r"[\x{20}-\x{7e}\x{b7}\x{2010}-\x{2027}\x{3000}-\x{303f}\x{3400}-\x{4dbf}"
    r"\x{4e00}-\x{9fff}\x{ff01}-\x{ff20}\x{ff3b}-\x{ff40}\x{ff5b}-\x{ffef}]*"
)


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _in(expr: str, values: Iterable[str]) -> str:
    items = sorted(set(values))
    if not items:
        return "FALSE"
    return f"({expr} IN ({', '.join(lit(v) for v in items)}))"


def _case(expr: str, mapping: Mapping[str, str]) -> str:
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in sorted(mapping.items()))
    return f"(CASE {expr} {whens} ELSE NULL END)"


# A regular expression for any character that is not white space.
NOT_SPACE = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
_WS_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"


def strip_sql(expr: str) -> str:
    """`str.strip()` of a possibly NULL cell ('' for NULL); trims only when there is
    something to trim (trim with a character set is slow). A test compared first/last
    character code points instead of this expression: no faster (8.5 vs 9.4 s at 1 M rows)."""
    edge = f"'^{_WS_CLASS}|{_WS_CLASS}$'"
    return (
        f"coalesce(CASE WHEN regexp_matches({expr}, {edge})"
        f" THEN trim({expr}, {lit(WHITESPACE)}) ELSE {expr} END, '')"
    )


def _stat_province(country: str, region: str) -> str:
    return (
        f"(CASE WHEN {_in(country, HMT_COUNTRIES)}"
        f" OR {_in(f'substr({region}, 1, 2)', HMT_PROVINCE_PREFIXES)}"
        f" THEN {lit(HMT)} WHEN {country} <> '' AND {country} <> {lit(CHINA)} THEN {lit(ABROAD)}"
        f" WHEN length({region}) <> 6 THEN '' ELSE substr({region}, 1, 2) || '0000' END)"
    )


def _stat_city(country: str, region: str) -> str:
    p2 = f"substr({region}, 1, 2)"
    return (
        f"(CASE WHEN {_in(country, HMT_COUNTRIES)} OR {_in(p2, HMT_PROVINCE_PREFIXES)}"
        f" THEN {lit(HMT)} WHEN {country} <> '' AND {country} <> {lit(CHINA)} THEN {lit(ABROAD)}"
        f" WHEN length({region}) <> 6 THEN ''"
        f" WHEN {_in(p2, MUNICIPALITIES)} THEN {p2} || '0100'"
        f" WHEN substr({region}, 3, 2) = '00' THEN {p2} || '0000'"
        f" ELSE substr({region}, 1, 4) || '00' END)"
    )


def _uscc_ok(code: str) -> str:
    """policies._uscc_ok as an expression (code already upper-cased ASCII).

    The format is one regular expression; the check character is right when the weighted sum
    of all 18 values (weight 1 for the check character itself) is a multiple of 31. The
    values come from one list per code (list_inner_product): 2.5 against 6.7 CPU-s at 1 M rows
    for the 36 strpos/substr calls per row it replaces.
    """
    values = (
        f"list_transform(string_split(rpad({code}, 18, '0'), ''),"
        f" c -> strpos({lit(_USCC_ALPHABET)}, c) - 1)"
    )
    weights = [*_USCC_WEIGHTS, 1]
    return (
        f"(regexp_full_match({code}, '{_USCC_FORMAT}')"
        f" AND CAST(list_inner_product({values}, {weights}) AS BIGINT) % 31 = 0)"
    )


def _norm_safe(expr: str) -> str:
    """policies._norm for _SAFE_TEXT (white space there is only the space and U+3000)."""
    return f"upper(replace(replace({expr}, ' ', ''), '\u3000', ''))"


def _date_ok(expr: str) -> str:
    return (
        f"(regexp_full_match({expr}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
        f" AND substr({expr}, 1, 4) <> '0000' AND try_cast({expr} AS DATE) IS NOT NULL)"
    )


_AMOUNT = r"(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?"


def _rule_version(signing: str, starts: Mapping[int, date]) -> str:
    expr = "2001"
    for version, start in sorted(starts.items()):
        expr = (
            f"(CASE WHEN {signing} >= DATE {lit(start.isoformat())} THEN {version} ELSE {expr} END)"
        )
    return expr


def derived_sql(
    source: str,
    keys: Iterable[str],
    ctx: RuleContext,
    *,
    required: Iterable[str],
    maps: Mapping[str, Mapping[str, str]],
) -> str:
    """SELECT over `source` (row_no and one stripped text column per layout key) giving
    `ok` (the reference would accept the row) and every stored field of the row.

    `maps` are the reference parser's lookups of the enumerated columns (label → value).
    """
    present = set(keys)

    def col(key: str) -> str:
        return f"s.{key}" if key in present else "''"

    parsed: list[str] = ["s.row_no"]
    parsed += [f"{col(k)} AS {k}" for k in _LAYOUT_KEYS]
    parsed += [f"{_case(col(k), maps[k])} AS m_{k}" for k in maps]
    for k in ("turnover", "technical_amount"):
        parsed.append(f"replace({col(k)}, ',', '') AS a_{k}")
    for k in ("signing_date", "valid_from", "valid_to", "registration_date"):
        parsed.append(f"CASE WHEN {_date_ok(col(k))} THEN CAST({col(k)} AS DATE) END AS d_{k}")
    for role in ("seller", "buyer"):
        parsed.append(f"upper({col(role + '_credit_code')}) AS {role}_cc")
        parsed.append(
            f"CASE WHEN {col(role + '_country')} = '' THEN {lit(CHINA)}"
            f" ELSE {col(role + '_country')} END AS {role}_ctry"
        )
        region = col(role + "_region_code")
        parsed.append(
            f"CASE WHEN regexp_full_match({region}, '[0-9]{{4}}') THEN {region} || '00'"
            f" ELSE {region} END AS {role}_reg"
        )
    stage1 = f"SELECT {', '.join(parsed)} FROM {source} s"

    # Stage 2: stat regions, registering region, rule version.
    stage2_cols = ["p.*"]
    for role in ("seller", "buyer"):
        stage2_cols.append(f"{_stat_province(f'p.{role}_ctry', f'p.{role}_reg')} AS {role}_prov")
        stage2_cols.append(f"{_stat_city(f'p.{role}_ctry', f'p.{role}_reg')} AS {role}_city")
    stage2_cols.append(f"{_rule_version('p.d_signing_date', ctx.rule_starts)} AS version")
    stage2 = f"SELECT {', '.join(stage2_cols)} FROM ({stage1}) p"

    seller_mainland = f"(q.seller_prov NOT IN ({lit(HMT)}, {lit(ABROAD)}))"
    buyer_mainland = f"(q.buyer_prov NOT IN ({lit(HMT)}, {lit(ABROAD)}))"
    reg_code = f"(CASE WHEN {seller_mainland} THEN q.seller_reg ELSE q.buyer_reg END)"
    where = (
        f"(CASE WHEN {_in(f'substr({reg_code}, 1, 2)', HMT_PROVINCE_PREFIXES)} THEN {lit(HMT)}"
        f" WHEN length({reg_code}) <> 6 THEN '' ELSE substr({reg_code}, 1, 2) || '0000' END)"
    )
    pairs = [f"{t}|{s}" for t, subs in SUBTYPES_OF.items() for s in subs]
    conds: list[str] = []
    conds += [f"q.{k} <> ''" for k in required]
    conds += [f"q.m_{k} IS NOT NULL" for k in maps]
    conds += [f"regexp_full_match(q.a_{k}, '{_AMOUNT}')" for k in ("turnover", "technical_amount")]
    conds += ["q.d_signing_date IS NOT NULL", "q.d_registration_date IS NOT NULL"]
    conds += [f"(q.{k} = '' OR q.d_{k} IS NOT NULL)" for k in ("valid_from", "valid_to")]
    conds.append("length(q.project_name) <= 200")
    conds.append(_in("q.m_contract_type || '|' || q.m_subtype", pairs))
    conds.append(f"NOT (q.m_contract_type = {lit(ContractType.LICENCE)} AND q.version = 2001)")
    conds.append(
        f"NOT (q.m_contract_type = {lit(ContractType.TRANSFER)}"
        f" AND q.m_subtype = {lit(Subtype.PATENT_LICENCE)} AND q.version >= 2021)"
    )
    for role in ("seller", "buyer"):
        ctry, reg, cc = f"q.{role}_ctry", f"q.{role}_reg", f"q.{role}_cc"
        nature = f"q.{role}_nature"
        conds.append(f"regexp_full_match({ctry}, '[0-9]{{3}}')")
        conds.append(_in(nature, PartyNature.values))
        six = f"regexp_full_match({reg}, '[0-9]{{6}}')"
        conds.append(
            f"(CASE WHEN {ctry} = {lit(CHINA)}"
            f" THEN {six} AND {_in(f'substr({reg}, 1, 2) || {lit("0000")}', ctx.provinces)}"
            f" ELSE ({reg} = '' OR {six}) END)"
        )
        code = f"{role}_code"  # the row's credit code in the table of distinct codes
        conds.append(f"{code}.plain")
        needs = (
            f"({ctry} = {lit(CHINA)} AND {nature} <> '400'"
            f" AND NOT {_in(f'substr({reg}, 1, 2)', HMT_PROVINCE_PREFIXES)})"
        )
        conds.append(f"((NOT {needs} AND {cc} = '') OR {code}.valid)")
        conds.append(f"regexp_full_match(q.{role}_name, '{_SAFE_TEXT}')")
    conds.append(f"regexp_full_match(q.project_name, '{_SAFE_TEXT}')")
    conds.append(f"({seller_mainland} OR {buyer_mainland})")
    turnover = "TRY_CAST(q.a_turnover AS DECIMAL(18, 2))"
    technical = "TRY_CAST(q.a_technical_amount AS DECIMAL(18, 2))"
    conds += [f"{turnover} > 0", f"{technical} > 0", f"{technical} <= {turnover}"]
    conds.append(
        f"NOT (q.m_contract_type IN ({lit(ContractType.TRANSFER)}, {lit(ContractType.LICENCE)})"
        f" AND q.m_ip_type IN ('', {lit(IPType.NONE)}))"
    )
    today = f"DATE {lit(ctx.today.isoformat())}"
    conds.append(f"q.d_signing_date <= {today}")
    conds.append(
        "NOT coalesce(q.d_valid_from > q.d_valid_to, FALSE)"
        " AND NOT coalesce(q.d_valid_to < q.d_signing_date, FALSE)"
    )
    conds.append(f"q.d_registration_date >= q.d_signing_date AND q.d_registration_date <= {today}")
    number = "q.registration_number"
    layout = {name: (start, end) for name, start, end in _number_layout(ctx.number_format)}
    number_ok = [f"regexp_full_match({number}, '[0-9]{{16}}')"]
    if "region" in layout:
        start, end = layout["region"]
        part = f"substr({number}, {start + 1}, {end - start})"
        number_ok.append(
            f"({part} = '' OR {where} = '' OR substr({part}, 1, 2) = substr({where}, 1, 2))"
        )
    if "year" in layout:
        start, end = layout["year"]
        part = f"substr({number}, {start + 1}, {end - start})"
        number_ok.append(
            f"({part} = '' OR {part} = lpad(CAST(year(q.d_registration_date) AS VARCHAR), 4, '0'))"
        )
    conds.append(f"({number} = '' OR ({' AND '.join(number_ok)}))")
    ok = " AND ".join(f"coalesce({c}, FALSE)" for c in conds)

    # The key is only used for rows `ok` passes: their credit codes are upper-case ASCII
    # letters and digits, and their names only hold _SAFE_TEXT, whose white space is the
    # space and U+3000. So policies._norm is two replaces here, not a regular expression.
    def party_key(role: str) -> str:
        cc, name = f"q.{role}_cc", _norm_safe(f"q.{role}_name")
        return f"(CASE WHEN {cc} <> '' THEN {cc} ELSE {name} END)"

    seller_key, buyer_key = party_key("seller"), party_key("buyer")
    raw_key = (
        f"{seller_key} || '|' || {buyer_key} || '|' || {_norm_safe('q.project_name')}"
        f" || '|' || q.signing_date || '|' || CAST({turnover} AS VARCHAR)"
    )
    out = [
        "q.row_no",
        f"({ok}) AS ok",
        "q.version AS rule_version",
        "q.registration_number",
        "q.project_name",
        "q.m_contract_type AS contract_type",
        "q.m_subtype AS subtype",
        "q.d_signing_date AS signing_date",
        "q.d_valid_from AS valid_from",
        "q.d_valid_to AS valid_to",
    ]
    for role in ("seller", "buyer"):
        out += [
            f"q.{role}_name",
            f"q.{role}_cc AS {role}_credit_code",
            f"q.{role}_nature",
            f"q.{role}_ctry AS {role}_country",
            f"q.{role}_reg AS {role}_region_code",
            f"q.{role}_prov AS {role}_province",
            f"q.{role}_city AS {role}_city",
        ]
    out += [
        "q.a_turnover AS turnover",
        "q.a_technical_amount AS technical_amount",
        "q.m_tech_field AS tech_field",
        "q.m_ip_type AS ip_type",
        "q.m_plan_source AS plan_source",
        "q.m_payment_mode AS payment_mode",
        f"{where} AS registration_region",
        "left(q.registration_body, 120) AS registration_body",
        "q.d_registration_date AS registration_date",
        f"(try_cast(q.a_technical_amount AS DECIMAL(18, 2)) >= {EXPERT_REVIEW_THRESHOLD})"
        " AS needs_expert_review",
        f"md5({raw_key}) AS dedupe_key",
    ]
    # Credit codes are checked once per distinct code (an organisation signs many contracts:
    # 130 k distinct codes among 2 M in the 1 M-row benchmark file), then joined back.
    raw = [
        f"SELECT DISTINCT {col(role + '_credit_code')} AS raw FROM {source} s"
        for role in ("seller", "buyer")
    ]
    codes = (
        "SELECT raw, regexp_full_match(raw, '[0-9A-Za-z]*') AS plain,"
        f" {_uscc_ok('upper(raw)')} AS valid FROM ({' UNION '.join(raw)})"
    )
    return (
        f"WITH codes AS MATERIALIZED ({codes}) SELECT {', '.join(out)} FROM ({stage2}) q"
        " JOIN codes seller_code ON seller_code.raw = q.seller_credit_code"
        " JOIN codes buyer_code ON buyer_code.raw = q.buyer_credit_code"
    )


# The stored fields of an imported row, in the order derived_sql and the good table hold them.
GOOD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_no", "BIGINT"),
    ("rule_version", "INTEGER"),
    ("registration_number", "VARCHAR"),
    ("project_name", "VARCHAR"),
    ("contract_type", "VARCHAR"),
    ("subtype", "VARCHAR"),
    ("signing_date", "DATE"),
    ("valid_from", "DATE"),
    ("valid_to", "DATE"),
    *(
        (f"{role}_{f}", "VARCHAR")
        for role in ("seller", "buyer")
        for f in ("name", "credit_code", "nature", "country", "region_code", "province", "city")
    ),
    ("turnover", "VARCHAR"),
    ("technical_amount", "VARCHAR"),
    ("tech_field", "VARCHAR"),
    ("ip_type", "VARCHAR"),
    ("plan_source", "VARCHAR"),
    ("payment_mode", "VARCHAR"),
    ("registration_region", "VARCHAR"),
    ("registration_body", "VARCHAR"),
    ("registration_date", "DATE"),
    ("needs_expert_review", "BOOLEAN"),
    ("dedupe_key", "VARCHAR"),
)

_LAYOUT_KEYS = (
    "registration_number",
    "project_name",
    "contract_type",
    "subtype",
    "seller_name",
    "seller_credit_code",
    "seller_nature",
    "seller_country",
    "seller_region_code",
    "buyer_name",
    "buyer_credit_code",
    "buyer_nature",
    "buyer_country",
    "buyer_region_code",
    "turnover",
    "technical_amount",
    "tech_field",
    "ip_type",
    "plan_source",
    "payment_mode",
    "signing_date",
    "valid_from",
    "valid_to",
    "registration_date",
    "registration_body",
)


def facts_sql(source: str) -> str:
    """The rollup dimensions of stored rows (rollup.facts_of as expressions)."""
    classes = {
        f"{t}|{s}": contract_class(t, s) for t in ContractType.values for s in Subtype.values
    }
    categories = {n: report_category_of(n).value for n in PartyNature.values}
    return (
        "SELECT seller_province, seller_city, buyer_province, buyer_city, tech_field,"
        " plan_source, registration_date, signing_date, "
        f"coalesce({_case("contract_type || '|' || subtype", classes)}, contract_type)"
        " AS contract_class, "
        f"coalesce({_case('seller_nature', categories)}, '') AS seller_category, "
        f"coalesce({_case('buyer_nature', categories)}, '') AS buyer_category, "
        f"coalesce({_case('ip_type', dict(IP_GROUP_OF))}, ip_type) AS ip_group, "
        "CAST(CAST(turnover AS DECIMAL(18, 2)) * 100 AS BIGINT) AS turnover_fen, "
        "CAST(CAST(technical_amount AS DECIMAL(18, 2)) * 100 AS BIGINT) AS technical_fen "
        f"FROM {source}"
    )


def coded_facts_sql(facts: str, values: Mapping[str, Iterable[str | None]]) -> list[str]:
    """Statements that copy a table of facts (`facts_sql`) into `{facts}_coded`, each rollup
    dimension as an ENUM of the `values` it takes there (distinct_dims_sql): grouping and
    sorting then compare small integers instead of text. At 1 M contracts the cells took
    0.8 s instead of 2.0 s on one thread, the copy and the distinct values 0.6 s."""
    statements = [f"DROP TABLE IF EXISTS {facts}_coded"]
    casts = []
    for dim in DIMS:
        kept = sorted({v for v in values[dim] or () if v is not None})
        statements += [
            f"DROP TYPE IF EXISTS {facts}_{dim}",
            f"CREATE TYPE {facts}_{dim} AS ENUM ({', '.join(lit(v) for v in kept) or lit('')})",
        ]
        casts.append(f"CAST({dim} AS {facts}_{dim}) AS {dim}")
    statements.append(
        f"CREATE TABLE {facts}_coded AS SELECT * REPLACE ({', '.join(casts)}) FROM {facts}"
    )
    return statements


def distinct_dims_sql(facts: str) -> str:
    """The values each rollup dimension takes in a table of facts: one list per DIMS entry."""
    return f"SELECT {', '.join(f'list(DISTINCT {d})' for d in DIMS)} FROM {facts}"


def cells_sql(facts: str) -> str:
    """The rollup cells (one row per cuboid, basis, year and dimension values, with the
    measures) of a table of facts (`facts_sql`)."""
    parts = []
    for basis, date_field in BASES.items():
        for cuboid in CUBOIDS:
            dims = ", ".join(d if d in cuboid.dims else f"'' AS {d}" for d in DIMS)
            parts.append(
                f"SELECT {cuboid.id} AS cuboid, {lit(basis)} AS basis,"
                f" year({date_field}) AS year, {dims}, count(*) AS contracts,"
                " CAST(sum(turnover_fen) AS BIGINT) AS turnover_fen,"
                " CAST(sum(technical_fen) AS BIGINT) AS technical_fen FROM"
                f" {facts} WHERE {date_field} IS NOT NULL GROUP BY ALL"
            )
    return " UNION ALL ".join(parts)


def as_row(values: Mapping[str, Any], row_no: int) -> list[Any]:
    """A reference-validated row's fields (importer._fields) in GOOD_COLUMNS order."""
    out: list[Any] = []
    for name, _type in GOOD_COLUMNS:
        if name == "row_no":
            out.append(row_no)
            continue
        v = values[name]
        if isinstance(v, date):
            v = v.isoformat()
        elif v is None:
            v = None
        elif not isinstance(v, bool | int):
            v = str(v)
        out.append(v)
    return out
