"""Booking under load: 64 concurrent HTTP clients for 30 s on a few instruments (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/te_resources_bench \
        python bench/booking_load.py --clients 64 --seconds 30 --instruments 4

Every client posts random overlapping slots to `POST /api/resources/instruments/{id}/bookings`
against gunicorn on loopback. Afterwards the database is checked for overlapping active
bookings (there must be none) and the answers are counted: 201 booked, 409 overlap, 422
refused by a rule, any 5xx is a failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SEARCH_INDEX_DIR", str(ROOT / "var" / "bench-booking-search"))

import _django  # noqa: E402
import _serve  # noqa: E402

OVERLAPS = """
SELECT count(*) FROM resources_booking a JOIN resources_booking b
  ON a.instrument_id = b.instrument_id AND a.id < b.id
 WHERE a.status IN ('pending','confirmed','checked_in')
   AND b.status IN ('pending','confirmed','checked_in')
   AND a.kind = 'slot' AND b.kind = 'slot'
   AND a.starts_at < b.blocked_until AND b.starts_at < a.blocked_until
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--instruments", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    vendor = _django.setup("booking-load")
    from django.db import connection

    from techexchange.accounts.models import OrgRole
    from techexchange.accounts.services import create_api_token
    from techexchange.accounts.tests.factories import make_member, make_organisation
    from techexchange.core import clock
    from techexchange.resources.tests.factories import make_instrument, make_policy

    holder = make_organisation(province="310000", city="310100", nature="022")
    policy = make_policy(name="bench", buffer_minutes=30, max_duration_minutes=240)
    instruments = [
        make_instrument(holder=holder, policy=policy).pk for _ in range(args.instruments)
    ]
    tokens = []
    for _ in range(args.clients):
        org = make_organisation(province="320000", city="320500", nature="170")
        _t, raw = create_api_token(user=make_member(org, OrgRole.MEMBER))
        tokens.append(raw)
    base = (clock.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    connection.close()

    env = {
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "LOG_LEVEL": "ERROR",
        "SEARCH_INDEX_DIR": os.environ["SEARCH_INDEX_DIR"],
    }
    server = _serve.start(args.port, args.workers, env)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + args.seconds

    def client(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        headers = {"Authorization": f"Bearer {tokens[k]}", "Content-Type": "application/json"}
        while time.perf_counter() < stop_at:
            start = base + timedelta(minutes=30 * rng.randrange(0, 48 * 3))
            end = start + timedelta(minutes=30 * rng.randint(1, 6))
            body = json.dumps({"starts_at": start.isoformat(), "ends_at": end.isoformat()})
            url = f"/api/resources/instruments/{rng.choice(instruments)}/bookings"
            t0 = time.perf_counter()
            try:
                conn.request("POST", url, body, headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
                status = 599
            took = (time.perf_counter() - t0) * 1000
            with lock:
                statuses[status] += 1
                latencies.append(took)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    _serve.stop(server)
    with connection.cursor() as cur:
        cur.execute(OVERLAPS)
        overlaps = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM resources_booking WHERE status = 'confirmed'")
        booked = cur.fetchone()[0]
    total = sum(statuses.values())
    lat = sorted(latencies)
    print(f"database: {vendor}; {args.clients} clients, {args.instruments} instruments, "
          f"{args.workers} gunicorn workers, {elapsed:.1f}s")  # fmt: skip
    print(
        f"requests: {total} = {total / elapsed:.0f} req/s; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    print(
        f"latency: median {statistics.median(lat):.0f} ms, "
        f"p95 {lat[int(len(lat) * 0.95) - 1]:.0f} ms"
    )
    print(f"confirmed bookings: {booked}; overlapping active pairs: {overlaps}")
    five = sum(n for s, n in statuses.items() if s >= 500)
    if overlaps or five:
        sys.exit(f"FAILED: {overlaps} overlaps, {five} 5xx")


if __name__ == "__main__":
    main()
