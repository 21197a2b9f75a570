"""Report latency over a rollup of N registered contracts (default 10,000,000).

    .venv/bin/python bench/contracts_stats.py [N]       # SQLite in var/, or DATABASE_URL

The rollup is filled from generated contract facts (the demo generator, scaled): generating
and aggregating 10 M contracts one by one in Python would take long, so M = min(N, 1.5 M)
distinct contracts are generated and each counts N/M times: the cell count is that of M
contracts (a lower bound for 10 M), the sums those of N. Then it times, warm, p50/p95 of
the flow matrix and inter-bloc headline for one year, and the slowest filter combination.
"""

from __future__ import annotations

import itertools
import random
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

from _django import setup

args = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(args[0]) if args else 10_000_000
DISTINCT = "--distinct" in sys.argv
M = min(N, 300_000 if DISTINCT else 1_500_000)
vendor = setup("stats")

from techexchange.accounts.policies import Actor  # noqa: E402
from techexchange.analytics import Measures  # noqa: E402
from techexchange.contracts import rollup  # noqa: E402
from techexchange.contracts.demo import model_fields, numbered  # noqa: E402
from techexchange.contracts.models import ContractStat  # noqa: E402
from techexchange.contracts.reports import ReportQuery, build_report  # noqa: E402


def distinct_rollup(n: int, m: int) -> None:
    """N distinct contracts' cells, built in DuckDB: M generated contracts (the demo
    generator), each copied N/M times with every dimension but the two provinces and the
    dates redrawn independently from the generated values (cities within the province). Redrawn
    independently, dimensions combine more freely than real contracts do, so the cell count is
    an upper estimate for N real contracts; the upsert goes through `rollup.upsert_bulk`."""
    import csv
    import tempfile
    from pathlib import Path

    import duckdb

    from techexchange.contracts import columnar

    tmp = Path(tempfile.mkdtemp(prefix="stats-"))
    fields = list(rollup.FACT_FIELDS)
    with (tmp / "base.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for d, number in itertools.islice(numbered(random.Random(3), m / 31_000), m):
            f = model_fields(d, number)
            w.writerow([f[k] for k in fields])
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '2GB'; SET temp_directory = '{tmp}/spill'")
    spec = ", ".join(f"'{k}': '{'DATE' if k.endswith('_date') else 'VARCHAR'}'" for k in fields)
    con.execute(
        "CREATE TABLE base AS SELECT row_number() OVER () AS i, * FROM"
        f" read_csv('{tmp}/base.csv', header=false, columns={{{spec}}})"
    )
    m = con.execute("SELECT count(*) FROM base").fetchone()[0]  # type: ignore[index]
    copies = -(-n // m)  # at least n distinct contracts
    # Pools: every generated value of a dimension (so redraws keep its distribution).
    redraw = ["contract_type", "subtype", "tech_field", "seller_nature", "buyer_nature",
              "ip_type", "plan_source", "turnover", "technical_amount"]  # fmt: skip
    con.execute(
        "CREATE TABLE cities AS SELECT p, city, row_number() OVER (PARTITION BY p) - 1 AS n,"
        " count(*) OVER (PARTITION BY p) AS cnt FROM (SELECT seller_province AS p,"
        " seller_city AS city FROM base UNION ALL SELECT buyer_province, buyer_city FROM base)"
    )
    con.execute("CREATE TABLE counts AS SELECT p, any_value(cnt) AS cnt FROM cities GROUP BY p")
    # The random draws as plain columns first: then every join below is an equi-join.
    keys = ", ".join(
        f"CAST(1 + hash(b.i, c.k, {j}) % {m} AS BIGINT) AS r{j}" for j in range(len(redraw))
    )
    con.execute(
        "CREATE TABLE draws AS SELECT b.i, b.seller_province, b.buyer_province,"
        " b.registration_date, b.signing_date,"
        " CAST(hash(b.i, c.k, 'sc') % sn.cnt AS BIGINT) AS sc_n,"
        f" CAST(hash(b.i, c.k, 'bc') % bn.cnt AS BIGINT) AS bc_n, {keys}"
        f" FROM base b CROSS JOIN range({copies}) c(k)"
        " JOIN counts sn ON sn.p = b.seller_province JOIN counts bn ON bn.p = b.buyer_province"
    )
    joins = " ".join(f"JOIN base r{j} ON r{j}.i = d.r{j}" for j in range(len(redraw)))
    picks = ", ".join(f"r{j}.{k}" for j, k in enumerate(redraw))
    con.execute(
        "CREATE TABLE facts_src AS SELECT d.seller_province, sc.city AS seller_city,"
        " d.buyer_province, bc.city AS buyer_city, d.registration_date, d.signing_date,"
        f" {picks} FROM draws d"
        " JOIN cities sc ON sc.p = d.seller_province AND sc.n = d.sc_n"
        f" JOIN cities bc ON bc.p = d.buyer_province AND bc.n = d.bc_n {joins}"
    )
    made = con.execute("SELECT count(*) FROM facts_src").fetchone()[0]  # type: ignore[index]
    print(f"{made:,} distinct contracts from {m:,} generated ({copies} draws each)")
    con.execute("DROP TABLE draws")
    con.execute(f"CREATE TABLE facts AS {columnar.facts_sql('facts_src')}")
    con.execute(f"CREATE TABLE cells AS {columnar.cells_sql('facts')}")
    cur = con.execute("SELECT * FROM cells")

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        while rows := cur.fetchmany(50_000):
            yield [tuple(r) for r in rows]

    rollup.upsert_bulk(chunks())


class Analyst:
    pk = 0
    is_authenticated = True
    _te_actor = Actor(user_id=0, platform_roles=frozenset({"analyst"}))


started = time.perf_counter()
if DISTINCT:
    distinct_rollup(N, M)
    how = "distinct, every dimension but the provinces and dates redrawn"
else:
    deltas: dict[tuple[object, ...], Measures] = {}
    weight = N // M
    for d, number in itertools.islice(numbered(random.Random(3), M / 31_000), M):
        rollup.add_contract(deltas, model_fields(d, number), weight)
    for m in deltas.values():
        assert isinstance(m, Measures)
    rollup.apply_deltas(deltas)
    how = f"{M:,} distinct × {weight}"
cells = ContractStat.objects.count()
total = sum(ContractStat.objects.filter(cuboid=0, basis="r").values_list("contracts", flat=True))
print(
    f"{vendor}: rollup of {total:,} contracts ({how}) = {cells:,} cells, "
    f"built in {time.perf_counter() - started:.0f}s"
)


def timed(query: ReportQuery, runs: int = 40) -> tuple[float, float]:
    build_report(Analyst(), query)  # warm
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        build_report(Analyst(), query)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


for name, q in [
    ("flows, province, 2023", ReportQuery("flows", 2023, 2023)),
    ("inter-bloc YRD, 2023", ReportQuery("inter-bloc", 2023, 2023)),
    ("output ranked + YoY, 2023", ReportQuery("output", 2023, 2023)),
]:
    p50, p95 = timed(q)
    print(f"{name}: median {p50:.1f} ms, p95 {p95:.1f} ms")

worst = (0.0, "")
combos = itertools.product(
    ["flows", "by-field", "by-party", "by-type", "inter-bloc"],
    ["province", "city"],
    ["registration", "signing"],
    ["", "service"],
    ["", "electronics"],
)
n_combos = 0
for table, level, basis, ctype, field in combos:
    q = ReportQuery(
        table, 2019, 2025, level=level, basis=basis, contract_type=ctype, tech_field=field
    )
    p50, p95 = timed(q, runs=3)
    n_combos += 1
    if p95 > worst[0]:
        worst = (p95, f"{table}/{level}/{basis}/{ctype or '-'}/{field or '-'} 2019–2025")
print(
    f"{n_combos} filter combinations (all years 2019–2025): slowest {worst[0]:.0f} ms ({worst[1]})"
)
