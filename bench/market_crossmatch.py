"""Cost of cross-matching per request: candidates of a challenge, instruments of a listing.

    DATABASE_URL=sqlite:////tmp/xm.sqlite3 SEARCH_INDEX_DIR=/tmp/xm-search \\
        python bench/market_crossmatch.py [--rounds 20]

Runs over an already seeded database (`manage.py seed_demo`), unlike the other benchmarks
that build their own: it measures the three endpoints on the demo data. For each endpoint it
prints the wall-clock median and p95 of the whole request (through the test client, as
`operator`), the number of SQL queries, and the engine part alone (the `crossmatch`
function, no HTTP). The first call of each is reported apart (it opens the indexes and, for
experts, builds the expert index). Prints the load average beside the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _timed(fn: Callable[[], Any], rounds: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    fn()
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return first, times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from techexchange.accounts.models import User
    from techexchange.core import clock
    from techexchange.market import crossmatch
    from techexchange.market.models import Challenge, Listing
    from techexchange.market.selectors import get_listing
    from techexchange.resources.models import Expert, Instrument

    operator = User.objects.get(username="operator")
    client = Client()
    client.force_login(operator)
    challenges = list(Challenge.objects.filter(status="open").order_by("pk"))
    listings = list(Listing.objects.filter(status="published").order_by("pk")[:20])
    if not challenges or not listings:
        raise SystemExit("seed the demo first (manage.py seed_demo)")
    print(
        f"data: {Listing.objects.count()} listings, {len(challenges)} open challenges, "
        f"{Expert.objects.count()} experts, {Instrument.objects.count()} instruments"
    )
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    ch, listing = challenges[0], get_listing(listings[0].pk)
    now = clock.now()
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            f"GET /api/market/challenges/{ch.pk}/candidates",
            lambda: client.get(f"/api/market/challenges/{ch.pk}/candidates"),
            lambda: crossmatch.challenge_candidates(ch, now=now),
        ),
        (
            f"GET /api/market/challenges/{ch.pk}/resources",
            lambda: client.get(f"/api/market/challenges/{ch.pk}/resources"),
            lambda: crossmatch.related_resources(ch),
        ),
        (
            f"GET /api/market/listings/{listing.pk}/resources",
            lambda: client.get(f"/api/market/listings/{listing.pk}/resources"),
            lambda: crossmatch.related_resources(listing),
        ),
    ]
    for name, request, engine in cases:
        first, times = _timed(request, args.rounds)
        with CaptureQueriesContext(connection) as queries:
            status = request().status_code
        _first, engine_times = _timed(engine, args.rounds)
        print(
            f"{name}: {status}, first {first:.0f} ms; request median "
            f"{statistics.median(times):.1f} ms p95 {_p95(times):.1f} ms; "
            f"{len(queries)} SQL; crossmatch alone median {statistics.median(engine_times):.1f} ms"
        )
    print("demo candidates:")
    for c in challenges:
        found = crossmatch.challenge_candidates(c, now=now)
        print(f"  {c.title_zh}")
        for t in found.teams[:3]:
            print(f"    team {t.score:.2f} {t.name}: {t.reason}")
        for e in found.experts[:3]:
            print(f"    expert {e.score:.2f} {e.name} ({e.detail['fields']}): {e.reason}")
        for r in crossmatch.related_resources(c)[:3]:
            print(f"    instrument {r.score:.2f} {r.name} ({r.detail['province']}): {r.reason}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
