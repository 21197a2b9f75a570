"""Indexes dropped before a bulk write and built once after it, on SQLite and PostgreSQL.

Sorting a million keys once beats a million random B-tree inserts: on this project's 2-core
machine, COPY of 1 M contracts into PostgreSQL took 14.9 backend CPU-s with its three
secondary indexes and 7.3 s without; building the three afterwards, 2.2 s (parallel workers on
the second core). The rollup's 1.34 M cells: 7.7 s with the primary key and the 13-column
unique key, 2.3 s without, 2.0 s to build both (docs/benchmarks-contracts.md).

Everything happens inside the caller's transaction: a unique index that no longer holds fails
to build and nothing is kept. The price is the lock: SQLite's readers keep reading the
committed indexes (WAL), but PostgreSQL's readers of the table wait for the transaction's end
(dropping an index takes the table's ACCESS EXCLUSIVE lock). So only a write at least as large
as what the table already holds drops them (a first load, or one that doubles the registry).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Index, Model, UniqueConstraint

__all__ = ["REBUILD_INDEXES_FROM", "indexes_rebuilt_after", "sqlite_literal"]

# A write of at least this many rows, and at least as many as the table holds, drops the
# indexes it would enter and builds them afterwards.
REBUILD_INDEXES_FROM = 100_000
# PostgreSQL: memory for building an index (SET LOCAL; the server's default is 64 MB, which
# leaves a parallel build one worker: each needs 32 MB).
PG_MAINTENANCE_WORK_MEM = "256MB"


def sqlite_literal(value: Any) -> str:
    """A constant column's value as a SQLite literal (datetimes as Django stores them)."""
    if isinstance(value, datetime):
        value = connection.ops.adapt_datetimefield_value(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def holds_fewer_than(table: str, rows: int) -> bool:
    """Whether `table` holds fewer than `rows` rows (counts at most `rows` of them)."""
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quoted} LIMIT %s) AS t", [rows])  # noqa: S608
        return int(cursor.fetchone()[0]) < rows


@contextmanager
def indexes_rebuilt_after(
    model: type[Model], rows: int, constants: Mapping[str, Any] | None = None
) -> Iterator[None]:
    """Around a write of `rows` rows into `model`'s table: the indexes those rows enter are
    dropped first and built again afterwards, when the write is large (see
    REBUILD_INDEXES_FROM). `constants` are the columns every written row holds the same value
    in: a partial index whose condition is false on them is left alone (no row enters it).
    Indexes that foreign keys point at stay (they cannot be dropped without the keys)."""
    table = model._meta.db_table
    if rows < REBUILD_INDEXES_FROM or not holds_fewer_than(table, rows + 1):
        yield
        return
    if connection.vendor == "sqlite":
        drops, builds = _sqlite_indexes(model, constants or {})
    elif connection.vendor == "postgresql":
        drops, builds = _pg_indexes(model, constants or {})
    else:
        drops, builds = [], []
    with connection.cursor() as cursor:
        for sql in drops:
            cursor.execute(sql)
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and builds:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{PG_MAINTENANCE_WORK_MEM}'")
        for sql in builds:
            cursor.execute(sql)  # a unique index that no longer holds fails: nothing is kept


def _sqlite_indexes(
    model: type[Model], constants: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """SQLite keeps each index's CREATE statement as it ran: built again from it."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
            " AND sql IS NOT NULL ORDER BY name",
            [table],
        )
        indexes = cursor.fetchall()
    probe = _probe(table, constants)
    found = [(name, sql) for name, sql in indexes if entered(sql.partition(" WHERE ")[2], probe)]
    drops = [f"DROP INDEX {connection.ops.quote_name(name)}" for name, _sql in found]
    return drops, [sql for _name, sql in found]


def _pg_indexes(model: type[Model], constants: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Plain indexes are dropped and created again; those behind a primary key or unique
    constraint, through the constraint (same name). An index or constraint the model declares
    is built with Django's own statement, the one its migration ran: PostgreSQL's description
    of a partial index (pg_get_indexdef) reads back as a differently written condition. The
    others (the primary key) from that description."""
    table = model._meta.db_table
    quoted = connection.ops.quote_name(table)
    editor = connection.schema_editor(atomic=False)  # only to write statements, never run
    declared = {
        str(item.name): str(item.create_sql(model, editor))
        for item in [*model._meta.indexes, *model._meta.constraints]
        if isinstance(item, Index | UniqueConstraint)
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid),"
            " coalesce(pg_get_expr(x.indpred, x.indrelid), ''),"
            " c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid"
            "  AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u')"
            " WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint f"
            "  WHERE f.contype = 'f' AND f.conindid = x.indexrelid)"
            " ORDER BY i.relname",
            [quoted],
        )
        found = cursor.fetchall()
    probe = _probe(table, constants)
    drops: list[str] = []
    builds: list[str] = []
    for index, definition, where, constraint, constraint_def in found:
        if not entered(where, probe):
            continue
        if constraint:
            name = connection.ops.quote_name(constraint)
            drops.append(f"ALTER TABLE {quoted} DROP CONSTRAINT {name}")
            builds.append(
                declared.get(
                    constraint, f"ALTER TABLE {quoted} ADD CONSTRAINT {name} {constraint_def}"
                )
            )
        else:
            drops.append(f"DROP INDEX {connection.ops.quote_name(index)}")
            builds.append(declared.get(index, definition))
    return drops, builds


def _probe(table: str, constants: Mapping[str, Any]) -> tuple[str, list[Any] | None] | None:
    """A one-row SELECT of the written rows' constant columns, with its parameters (None when
    there are no constants): partial index conditions are evaluated against it (`entered`)."""
    if not constants:
        return None
    quote = connection.ops.quote_name
    if connection.vendor != "postgresql":
        row = ", ".join(f"{sqlite_literal(v)} AS {quote(c)}" for c, v in constants.items())
        return f"SELECT {row}", None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [quote(table)],
        )
        types = dict(cursor.fetchall())
    known = [c for c in constants if c in types]
    row = ", ".join(f"CAST(%s AS {types[c]}) AS {quote(c)}" for c in known)
    return f"SELECT {row}", [constants[c] for c in known]


def entered(where: str, probe: tuple[str, list[Any] | None] | None) -> bool:
    """Whether written rows enter an index with condition `where` ('' for none): False only
    when the condition reads nothing but the constant columns of `probe` (`_probe`) and is
    false (or NULL) on them."""
    if not where or probe is None:
        return True
    row, params = probe
    false = "false" if connection.vendor == "postgresql" else "0"
    sql = f"SELECT coalesce(({where}), {false}) FROM ({row}) AS probe"  # noqa: S608
    try:
        # A savepoint: on PostgreSQL a failed statement would end the caller's transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return bool(cursor.fetchone()[0])
    except DatabaseError:  # the condition reads a column the rows fill in
        return True
