"""JSON list endpoint throughput under gunicorn (WSGI, sync workers) on loopback.

Usage: python bench/api_throughput.py [--workers 2] [--clients 8] [--seconds 10]
       [--path /api/organisations?limit=20]

Starts gunicorn on a free loopback port over the configured database (run `make run` or
`manage.py seed_demo` first so there is data), sends requests from `--clients` threads for
`--seconds`, and prints requests/s, latency median and p95, and the ratio to the baseline
(≈1,300 req/s for a django-ninja list endpoint with 2 sync workers on this machine).
Traffic goes to 127.0.0.1 only; the loop is bounded by time and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE_RPS = 1300.0


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int, timeout: float = 20.0) -> None:
    """Wait until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/regions/310000")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--path", default="/api/organisations?limit=20")
    args = parser.parse_args()

    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "error"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_up(port)
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine: list[float] = []
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                conn.request("GET", args.path)
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                if response.status != 200:
                    with lock:
                        errors[0] += 1
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        begun = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - begun
    finally:
        server.terminate()
        server.wait(10)

    latencies.sort()
    rps = len(latencies) / elapsed
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    print(f"path {args.path}  workers {args.workers}  clients {args.clients}")
    print(f"requests {len(latencies)}  non-200 {errors[0]}  elapsed {elapsed:.1f}s")
    print(
        f"throughput {rps:.0f} req/s  (baseline {BASELINE_RPS:.0f}: ratio {rps / BASELINE_RPS:.2f})"
    )
    print(f"latency median {statistics.median(latencies) * 1000:.1f} ms  p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
