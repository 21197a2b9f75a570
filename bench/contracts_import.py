"""Import N generated valid contracts (default 1,000,000), fully validated; compare to a raw load.

    .venv/bin/python bench/contracts_import.py [N] [--upsert]          # SQLite (var/)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/te_bench \
        .venv/bin/python bench/contracts_import.py

Prints rows/s, wall time, peak memory (max RSS) and the ratio to a raw load of the same file
(PostgreSQL COPY into an all-text table, or DuckDB read_csv on SQLite).
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import time
from pathlib import Path

from _django import ROOT, setup

N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
# --upsert: the rollup cells go through the upsert even where the rollup holds no cell of
# their periods yet (PostgreSQL copies those straight in): the cost of a file whose years
# the registry already counts.
UPSERT = "--upsert" in sys.argv
vendor = setup("import")

from django.db import connection  # noqa: E402
from django.utils import translation  # noqa: E402

from techexchange.contracts.codes import (  # noqa: E402
    ContractType,
    IPType,
    PaymentMode,
    PlanSource,
    Subtype,
    TechField,
)
from techexchange.contracts.demo import numbered  # noqa: E402
from techexchange.contracts.importer import COLUMNS, import_contracts  # noqa: E402

path = ROOT / "var" / f"bench-contracts-{N}.csv"
if not path.exists():
    started = time.perf_counter()
    with translation.override(None):
        labels = {
            e: {v: str(lbl) for v, lbl in e.choices}
            for e in (ContractType, Subtype, TechField, IPType, PlanSource, PaymentMode)
        }
    scale = N / 29_000  # the demo gives ~31,000 contracts at scale 1: enough rows for N
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.header for c in COLUMNS])
        n = 0
        for d, number in numbered(random.Random(7), scale):
            w.writerow([
                number, d.project_name, labels[ContractType][d.contract_type],
                labels[Subtype][d.subtype], d.seller.name, d.seller.credit_code, d.seller.nature,
                d.seller.country, d.seller.region_code, d.buyer.name, d.buyer.credit_code,
                d.buyer.nature, d.buyer.country, d.buyer.region_code, d.turnover,
                d.technical_amount, labels[TechField][d.tech_field], labels[IPType][d.ip_type],
                labels[PlanSource][d.plan_source], labels[PaymentMode][d.payment_mode],
                d.signing_date, d.valid_from, d.valid_to, d.registration_date, "（演示）登记机构",
            ])  # fmt: skip
            n += 1
            if n >= N:
                break
    print(f"generated {n:,} rows in {time.perf_counter() - started:.1f}s -> {path}")


def server_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (same host: /proc)."""
    if vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (pid,) = cur.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if UPSERT:
    from techexchange.contracts import rollup

    rollup._copy_into_new_periods = lambda *args, **kwargs: False


def calibration() -> float:
    """Seconds for a fixed pure-Python loop: the machine's speed at the time of the run (the
    project's machines differed by 1.5–2× between sessions and drift within one)."""
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - started


def stolen() -> float | None:
    """CPU seconds the hypervisor gave to other guests so far, all cores (/proc/stat: steal):
    one sign of the machine's swings in speed."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else None


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


size_mb = path.stat().st_size / 1e6
calibrated_before = calibration()
server_before = server_cpu()
cpu_before = process_cpu()
stolen_before = stolen()
started = time.perf_counter()
result = import_contracts(path, write_report=True)
elapsed = time.perf_counter() - started
cpu_used = process_cpu() - cpu_before
stolen_after = stolen()
server_after = server_cpu()
calibrated = (calibrated_before + calibration()) / 2
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(
    f"{vendor}: imported {result.written:,} of {result.rows:,} rows "
    f"({result.rejected_rows} rejected, {result.already_imported} already there) "
    f"in {elapsed:.1f}s = {result.rows / elapsed:,.0f} rows/s; file {size_mb:.0f} MB; "
    f"peak RSS {peak_mb:.0f} MB"
)
for stage, seconds in result.timings.items():
    cpu = result.cpu.get(stage)
    used = f" (CPU {cpu:.2f} s)" if cpu is not None else ""
    print(f"  {stage}: {seconds:.2f}" + ("" if stage.endswith("cells") else " s") + used)
print(f"  process CPU (all threads of the import): {cpu_used:.1f} s")
if server_before is not None and server_after is not None:
    print(f"  PostgreSQL server CPU (the import's backend): {server_after - server_before:.1f} s")
print(f"machine: a 5 M-iteration Python loop took {calibrated:.2f} s (before and after, mean)")
if stolen_before is not None and stolen_after is not None:
    print(f"  CPU stolen by the hypervisor meanwhile: {stolen_after - stolen_before:.1f} s")
if result.problems:
    print("first problems:", result.problems[:3])

# Baseline: a raw load of the same file with no validation.
started = time.perf_counter()
if vendor == "postgresql":
    cols = ", ".join(f"c{i} text" for i in range(len(COLUMNS)))
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE raw_load ({cols})")
        with (
            path.open("rb") as source,
            cur.cursor.copy("COPY raw_load FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := source.read(1 << 20):
                copy.write(chunk)
    baseline = "PostgreSQL COPY into an all-text table"
else:
    import duckdb

    rel = duckdb.sql(f"SELECT count(*) FROM read_csv('{path}', all_varchar=true)")
    assert rel is not None
    rel.fetchall()
    baseline = "DuckDB read_csv (all_varchar)"
raw = time.perf_counter() - started
print(f"baseline {baseline}: {raw:.1f}s; import/baseline ratio {elapsed / raw:.1f}x")
Path(str(path) + ".errors.csv").unlink(missing_ok=True)
