"""The statistics rollup: which cuboids are kept, a contract's facts, atomic upserts, rebuild.

Every registered (or amended) contract adds its measures to one cell of each cuboid, for both
counting bases (registration date and signing date). Registering, amending and cancelling apply
signed deltas inside their own transaction with `INSERT … ON CONFLICT DO UPDATE SET x = x + …`
(the same SQL on SQLite and PostgreSQL), so the figures are current without a rebuild and two
concurrent registrations cannot lose an increment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from techexchange.accounts.codes import report_category_of
from techexchange.analytics import Cuboid, Measures
from techexchange.contracts import bulk
from techexchange.contracts.codes import (
    COUNTED_STATUSES,
    IP_GROUP_OF,
    ContractType,
    Subtype,
)
from techexchange.contracts.models import ContractStat, TechContract

__all__ = [
    "BASES",
    "CUBOIDS",
    "apply_contract",
    "apply_deltas",
    "facts_of",
    "rebuild",
    "upsert_bulk",
    "upsert_cells",
    "upsert_from",
]

# One breakdown at a time, with the province pair, class and field it may be filtered by:
# the breakdown reports read these instead of the full breakdowns cuboid (a tenth to a third of
# its cells; measured at 10 M distinct contracts in docs/benchmarks-contracts.md).
BREAKDOWN_CUBOIDS: tuple[Cuboid, ...] = (
    Cuboid(
        3, "ip", ("seller_province", "buyer_province", "contract_class", "tech_field", "ip_group")
    ),
    Cuboid(
        4,
        "plan",
        ("seller_province", "buyer_province", "contract_class", "tech_field", "plan_source"),
    ),
    Cuboid(
        5,
        "parties",
        (
            "seller_province",
            "buyer_province",
            "contract_class",
            "tech_field",
            "seller_category",
            "buyer_category",
        ),
    ),
)
# Smallest first: the engine picks the first cuboid that keeps every dimension a query needs.
# Ids are stored in the rollup: never reuse or renumber one.
CUBOIDS: tuple[Cuboid, ...] = (
    Cuboid(0, "province_flows", ("seller_province", "buyer_province")),
    *BREAKDOWN_CUBOIDS,
    Cuboid(
        1,
        "city_flows",
        (
            "seller_province",
            "seller_city",
            "buyer_province",
            "buyer_city",
            "contract_class",
            "tech_field",
        ),
    ),
    Cuboid(
        2,
        "breakdowns",
        (
            "seller_province",
            "buyer_province",
            "contract_class",
            "tech_field",
            "seller_category",
            "buyer_category",
            "ip_group",
            "plan_source",
        ),
    ),
)
DIMS = (
    "seller_province",
    "seller_city",
    "buyer_province",
    "buyer_city",
    "contract_class",
    "tech_field",
    "seller_category",
    "buyer_category",
    "ip_group",
    "plan_source",
)
BASES = {"r": "registration_date", "s": "signing_date"}

Key = tuple[Any, ...]  # (cuboid, basis, year, *DIMS)


def contract_class(contract_type: str, subtype: str) -> str:
    """The five-class type; a pre-2021 transfer by patent licence reports as 技术许可."""
    if contract_type == ContractType.TRANSFER and subtype == Subtype.PATENT_LICENCE:
        return ContractType.LICENCE.value
    return contract_type


def fen(amount: Decimal) -> int:
    """Yuan (two decimals) to integer fen."""
    return int(amount * 100)


def facts_of(c: Mapping[str, Any]) -> dict[str, str]:
    """A contract's dimension values (from a dict of model field values)."""
    return {
        "seller_province": c["seller_province"],
        "seller_city": c["seller_city"],
        "buyer_province": c["buyer_province"],
        "buyer_city": c["buyer_city"],
        "contract_class": contract_class(c["contract_type"], c["subtype"]),
        "tech_field": c["tech_field"],
        "seller_category": report_category_of(c["seller_nature"]).value,
        "buyer_category": report_category_of(c["buyer_nature"]).value,
        "ip_group": IP_GROUP_OF.get(c["ip_type"], c["ip_type"]),
        "plan_source": c["plan_source"],
    }


def keys_of(c: Mapping[str, Any]) -> list[Key]:
    """The rollup cells a contract adds to: one per cuboid and counting basis."""
    facts = facts_of(c)
    out = []
    for basis, date_field in BASES.items():
        when: date | None = c[date_field]
        if when is None:
            continue
        for cuboid in CUBOIDS:
            dims = tuple(facts[d] if d in cuboid.dims else "" for d in DIMS)
            out.append((cuboid.id, basis, when.year, *dims))
    return out


def add_contract(deltas: dict[Key, Measures], c: Mapping[str, Any], sign: int = 1) -> None:
    """Accumulate one contract's signed measures into `deltas`."""
    t, a = fen(c["turnover"]), fen(c["technical_amount"])
    for key in keys_of(c):
        m = deltas.get(key)
        if m is None:
            m = deltas[key] = Measures()
        m.contracts += sign
        m.turnover_fen += sign * t
        m.technical_fen += sign * a


def _contract_values(contract: TechContract) -> dict[str, Any]:
    return {f: getattr(contract, f) for f in FACT_FIELDS}


def apply_contract(contract: TechContract, sign: int) -> None:
    """Add (+1) or remove (-1) one contract's measures (call inside its transaction)."""
    deltas: dict[Key, Measures] = {}
    add_contract(deltas, _contract_values(contract), sign)
    apply_deltas(deltas)


def _upsert_sql() -> str:
    table = connection.ops.quote_name(ContractStat._meta.db_table)
    cols = ["cuboid", "basis", "year", *DIMS]
    measures = ["contracts", "turnover_fen", "technical_fen"]
    names = ", ".join(cols + measures)
    marks = ", ".join(["%s"] * (len(cols) + len(measures)))
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
    # Identifiers are constants of this module; every value is a parameter.
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(cols)}) DO UPDATE SET {updates}"
    )


def apply_deltas(deltas: Mapping[Key, Measures]) -> None:
    """Upsert signed deltas into the rollup (exact integer arithmetic, one statement per cell)."""
    upsert_cells(
        [
            (*key, m.contracts, m.turnover_fen, m.technical_fen)
            for key, m in deltas.items()
            if m.contracts or m.turnover_fen or m.technical_fen
        ]
    )


def _copy_into_new_periods(
    cursor: Any,
    table: str,
    names: str,
    csv_path: str,
    periods: Iterable[tuple[str, int]],
    cells: int = 0,
) -> bool:
    """PostgreSQL: COPY the cells straight into the rollup when it holds no cell of their
    (basis, year) periods, so that none can conflict (a year's first import: no temporary
    table, no conflict check). The rollup is locked against other writers from here to the
    end of the transaction (registrations wait; they number before they count, so they hold
    nothing the import waits for). Returns False, having written nothing, when a period
    already has cells. `cells` (the file's lines) tells whether the rollup's indexes are
    dropped and built again around the COPY (`bulk.indexes_rebuilt_after`)."""
    wanted = sorted(set(periods))
    if not wanted:
        return False
    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    # The unique key starts with the cuboid: naming every cuboid lets its index answer.
    pairs = ", ".join(["(%s, %s, %s)"] * (len(CUBOIDS) * len(wanted)))
    params = [v for c in CUBOIDS for basis, year in wanted for v in (c.id, basis, year)]
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE (cuboid, basis, year) IN ({pairs}))",  # noqa: S608
        params,
    )
    if cursor.fetchone()[0]:
        return False
    with bulk.indexes_rebuilt_after(ContractStat, cells):
        _copy_csv_file(cursor, f"{table} ({names})", csv_path)
    return True


def _copy_csv_file(cursor: Any, target: str, csv_path: str) -> None:
    """PostgreSQL: stream a header-less CSV file to `COPY target FROM STDIN` as it is."""
    with (
        open(csv_path, "rb") as fh,
        cursor.cursor.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy,
    ):
        while block := fh.read(1 << 20):
            copy.write(block)


def upsert_bulk(
    chunks: Iterable[list[tuple[Any, ...]]],
    csv_path: str | None = None,
    periods: Iterable[tuple[str, int]] = (),
    cells: int = 0,
) -> int:
    """Many cells at once: loaded into a temporary table (COPY on PostgreSQL, executemany on
    SQLite), then one `INSERT … SELECT … ON CONFLICT DO UPDATE`. Cells must be distinct.

    On PostgreSQL, `csv_path` (a header-less CSV of the same columns, in key order) replaces
    `chunks`; with the cells' (basis, year) `periods`, cells of periods the rollup does not
    hold yet are copied in directly (see `_copy_into_new_periods`; `cells`: the file's lines).
    """
    table = connection.ops.quote_name(ContractStat._meta.db_table)
    cols = ["cuboid", "basis", "year", *DIMS]
    measures = ["contracts", "turnover_fen", "technical_fen"]
    names = ", ".join(cols + measures)
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
    count = 0
    with connection.cursor() as cursor:
        if csv_path is not None and connection.vendor == "postgresql":
            if not _copy_into_new_periods(cursor, table, names, csv_path, periods, cells):
                _add_csv(cursor, table, cols, measures, csv_path)
            return count
        cursor.execute("DROP TABLE IF EXISTS contractstat_delta")
        # Identifiers are constants of this module; every value is loaded as data.
        cursor.execute(
            f"CREATE TEMPORARY TABLE contractstat_delta AS SELECT {names} FROM {table} WHERE 1 = 0"  # noqa: S608
        )
        marks = ", ".join(["%s"] * (len(cols) + len(measures)))
        insert = f"INSERT INTO contractstat_delta ({names}) VALUES ({marks})"  # noqa: S608
        for chunk in chunks:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY contractstat_delta ({names}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                cursor.executemany(insert, chunk)
            count += len(chunk)
        # In key order: the unique index is then written page after page, not at random.
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM contractstat_delta WHERE TRUE "  # noqa: S608
            f"ORDER BY {', '.join(cols)} ON CONFLICT ({', '.join(cols)}) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE contractstat_delta")
    return count


def _add_csv(cursor: Any, table: str, cols: list[str], measures: list[str], csv_path: str) -> None:
    """PostgreSQL: add a CSV file of distinct cells (in key order) to a rollup that already
    holds cells of some of their periods. Under the lock of `_copy_into_new_periods` (no
    other writer adds a cell meanwhile) the cells are split in two: those the rollup holds
    are added to by one `UPDATE … FROM`, the others inserted as they are, in key order.

    Not one `INSERT … ON CONFLICT DO UPDATE`: its speculative insertion checks and claims
    the 13-column key for every cell; a plain insert of 1,343,199 new cells took 8.0 s
    against 14.2 s (`docs/benchmarks-contracts.md`)."""
    names = ", ".join(cols + measures)
    same = " AND ".join(f"r.{c} = d.{c}" for c in cols)
    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    # The join fits in memory instead of spilling (this transaction only).
    cursor.execute("SET LOCAL work_mem = '256MB'")
    # Identifiers are constants of this module; every value is loaded as data.
    for temp in ("contractstat_delta", "contractstat_held"):
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} AS SELECT {names} FROM {table} WHERE 1 = 0"  # noqa: S608
        )
    _copy_csv_file(cursor, f"contractstat_delta ({names})", csv_path)
    cursor.execute("ANALYZE contractstat_delta")
    cursor.execute(
        f"WITH held AS (DELETE FROM contractstat_delta d USING {table} r WHERE {same}"  # noqa: S608
        " RETURNING d.*) INSERT INTO contractstat_held SELECT * FROM held"
    )
    # What is left is new, still in key order (the file's): appended to the unique index.
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM contractstat_delta")  # noqa: S608
    sums = ", ".join(f"{m} = r.{m} + d.{m}" for m in measures)
    cursor.execute(
        f"UPDATE {table} r SET {sums} FROM contractstat_held d WHERE {same}"  # noqa: S608
    )
    cursor.execute("DROP TABLE contractstat_delta, contractstat_held")


def upsert_from(source: str) -> int:
    """Upsert every cell of `source`, a table (or attached SQLite table) with the rollup's
    columns, distinct cells, in key order; return the number of cells."""
    table = connection.ops.quote_name(ContractStat._meta.db_table)
    cols = ["cuboid", "basis", "year", *DIMS]
    names = ", ".join([*cols, "contracts", "turnover_fen", "technical_fen"])
    updates = ", ".join(
        f"{m} = {table}.{m} + excluded.{m}" for m in ("contracts", "turnover_fen", "technical_fen")
    )
    with connection.cursor() as cursor:
        # Identifiers are this module's constants and the importer's table name.
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {source} WHERE TRUE "  # noqa: S608
            f"ORDER BY rowid ON CONFLICT ({', '.join(cols)}) DO UPDATE SET {updates}"
        )
        cursor.execute(f"SELECT count(*) FROM {source}")  # noqa: S608
        (count,) = cursor.fetchone()
    return int(count)


def upsert_cells(params: list[tuple[Any, ...]]) -> None:
    """Upsert cells: (cuboid, basis, year, *DIMS, contracts, turnover_fen, technical_fen)."""
    if not params:
        return
    sql = _upsert_sql()
    with connection.cursor() as cursor:
        for start in range(0, len(params), 5000):
            cursor.executemany(sql, params[start : start + 5000])


FACT_FIELDS = (
    "seller_province",
    "seller_city",
    "buyer_province",
    "buyer_city",
    "contract_type",
    "subtype",
    "tech_field",
    "seller_nature",
    "buyer_nature",
    "ip_type",
    "plan_source",
    "registration_date",
    "signing_date",
    "turnover",
    "technical_amount",
)


def counted_contracts() -> Iterable[dict[str, Any]]:
    """The fact fields of every counted contract, streamed."""
    qs = TechContract.objects.filter(status__in=COUNTED_STATUSES).values(*FACT_FIELDS)
    yield from qs.iterator(chunk_size=5000)


@transaction.atomic
def rebuild() -> int:
    """Recompute the whole rollup from the registered contracts; return the number of cells."""
    ContractStat.objects.all().delete()
    deltas: dict[Key, Measures] = {}
    for c in counted_contracts():
        add_contract(deltas, c)
    apply_deltas(deltas)
    return len(deltas)
