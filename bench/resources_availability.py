"""Instrument search with an availability window at seed scale: engine and HTTP latency.

    python bench/resources_availability.py --scale 100            # seed, index, measure
    python bench/resources_availability.py --reuse                # same DB and index
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME python bench/resources_availability.py

Seeds accounts and resources at `--scale` (100 = the seed's 37,000 instruments) into a scratch
database (a SQLite file in var/, or an emptied `DATABASE_URL`), rebuilds the instrument index,
then times `selectors.search_instruments(q, available_from=, available_to=, min_hours=2)` in
process ("engine": the whole selector, index and database) and `GET /api/resources/instruments`
with the same window against gunicorn on loopback ("HTTP"), for 1-, 7- and 30-day windows
starting tomorrow. Prints the load average beside every figure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# One index per database: a PostgreSQL run does not clobber the SQLite run's index.
_URL = os.environ.get("DATABASE_URL", "")
_DB = _URL.rsplit("/", 1)[-1].split("?")[0] if _URL.startswith("postgres") else ""
INDEX_DIR = ROOT / "var" / ("bench-resources-availability" + (f"-{_DB}" if _DB else ""))
os.environ["SEARCH_INDEX_DIR"] = str(INDEX_DIR)

import _django  # noqa: E402
import _serve  # noqa: E402

QUERIES = ["扫描电镜", "质谱", "液相色谱", "X射线衍射", "激光", "显微镜", "热分析", "核磁共振",
           "材料力学性能", "流式细胞", "网络分析仪", "工业CT 缺陷", "高性能计算", "粒度",
           "红外光谱", "电镜 能谱", "透射电镜 晶格", "三坐标", "中试 反应釜", ""]  # fmt: skip
WINDOWS = (1, 7, 30)


def p95(xs: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def load() -> str:
    """The 1-minute load average."""
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    """Seed (or reuse), then measure each window in process and over HTTP."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--queries", type=int, default=60, help="per window")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--min-hours", type=float, default=2.0)
    parser.add_argument("--reuse", action="store_true", help="keep the database and index")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    if args.reuse:
        if not os.environ.get("DATABASE_URL"):
            path = ROOT / "var" / "bench-resources-availability.sqlite3"
            os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
    else:
        _django.setup("resources-availability")
    from django.core.management import call_command
    from django.db import connection

    from techexchange.accounts.demo import seed_accounts
    from techexchange.core import clock
    from techexchange.core.demo import DemoContext
    from techexchange.resources import indexing, selectors
    from techexchange.resources.demo import seed_resources
    from techexchange.resources.models import Booking, Instrument

    if not args.reuse:
        t0 = time.perf_counter()
        ctx = DemoContext(seed=1, scale=args.scale)
        seed_accounts(ctx)
        seed_resources(ctx)
        print(f"seeded scale {args.scale:g} in {time.perf_counter() - t0:.0f}s (load {load()})")
        t0 = time.perf_counter()
        n = indexing.rebuild_index()
        print(f"index: {n} documents in {time.perf_counter() - t0:.1f}s")
        if "refresh_free_time" in _commands():
            t0 = time.perf_counter()
            call_command("refresh_free_time", verbosity=0)
            print(f"free-time summary built in {time.perf_counter() - t0:.1f}s")
    if indexing.get_index().needs_rebuild:  # built by an older engine format: rebuild
        t0 = time.perf_counter()
        n = indexing.rebuild_index()
        print(
            f"index was of another format: rebuilt {n} documents in {time.perf_counter() - t0:.1f}s"
        )
    print(
        f"{connection.vendor}: {Instrument.objects.count():,} instruments, "
        f"{Booking.objects.count():,} bookings"
    )
    tomorrow = clock.now().date() + timedelta(days=1)
    rng = random.Random(3)
    plans = []
    for _ in range(args.queries):
        filters: dict[str, list[str]] = {}
        if rng.random() < 0.3:
            filters["province"] = [rng.choice(["310000", "320000", "330000", "340000"])]
        plans.append((rng.choice(QUERIES), filters))
    results: dict[int, list[float]] = {}
    for days in WINDOWS:
        last = tomorrow + timedelta(days=days - 1)
        for q, f in plans[:5]:  # warm-up
            selectors.search_instruments(
                q=q,
                province=f.get("province"),
                available_from=tomorrow,
                available_to=last,
                min_hours=args.min_hours,
            )
        ms, kept = [], []
        for q, f in plans:
            t0 = time.perf_counter()
            res = selectors.search_instruments(
                q=q,
                province=f.get("province"),
                available_from=tomorrow,
                available_to=last,
                min_hours=args.min_hours,
            )
            ms.append((time.perf_counter() - t0) * 1000)
            kept.append(res.total)
        results[days] = ms
        print(
            f"in process, {days:>2}-day window: median {statistics.median(ms):.1f} ms, "
            f"p95 {p95(ms):.1f} ms, max {max(ms):.1f} ms over {len(ms)} queries; "
            f"free kept median {statistics.median(kept):.0f} (load {load()})"
        )
    if args.no_http:
        return
    server = _serve.start(
        args.port,
        2,
        {
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "LOG_LEVEL": "ERROR",
            "SEARCH_INDEX_DIR": str(INDEX_DIR),
        },
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        for days in WINDOWS:
            last = tomorrow + timedelta(days=days - 1)
            http_ms = []
            for k, (q, f) in enumerate(plans[:10] + plans):
                params = [("q", q), ("available_from", tomorrow.isoformat())]
                params += [("available_to", last.isoformat()), ("min_hours", str(args.min_hours))]
                params += [(n, v) for n, vs in f.items() for v in vs]
                url = "/api/resources/instruments?" + urllib.parse.urlencode(params)
                t0 = time.perf_counter()
                conn.request("GET", url)
                resp = conn.getresponse()
                body = resp.read()
                took = (time.perf_counter() - t0) * 1000
                assert resp.status == 200, (resp.status, body[:300])
                if k >= 10:
                    http_ms.append(took)
            total = json.loads(body)["total"]
            print(
                f"HTTP, {days:>2}-day window: median {statistics.median(http_ms):.1f} ms, "
                f"p95 {p95(http_ms):.1f} ms over {len(http_ms)} requests; "
                f"last total {total} (load {load()})"
            )
    finally:
        _serve.stop(server)


def _commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())


if __name__ == "__main__":
    main()
