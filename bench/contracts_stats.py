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

from _django import setup

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
M = min(N, 1_500_000)
vendor = setup("stats")

from techexchange.accounts.policies import Actor  # noqa: E402
from techexchange.analytics import Measures  # noqa: E402
from techexchange.contracts import rollup  # noqa: E402
from techexchange.contracts.demo import model_fields, numbered  # noqa: E402
from techexchange.contracts.models import ContractStat  # noqa: E402
from techexchange.contracts.reports import ReportQuery, build_report  # noqa: E402


class Analyst:
    pk = 0
    is_authenticated = True
    _te_actor = Actor(user_id=0, platform_roles=frozenset({"analyst"}))


started = time.perf_counter()
deltas: dict[tuple[object, ...], Measures] = {}
weight = N // M
for d, number in itertools.islice(numbered(random.Random(3), M / 31_000), M):
    rollup.add_contract(deltas, model_fields(d, number), weight)
for m in deltas.values():
    assert isinstance(m, Measures)
rollup.apply_deltas(deltas)
cells = ContractStat.objects.count()
total = sum(ContractStat.objects.filter(cuboid=0, basis="r").values_list("contracts", flat=True))
print(
    f"{vendor}: rollup of {total:,} contracts ({M:,} distinct × {weight}) = {cells:,} cells, "
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
