"""Start gunicorn on loopback for a benchmark and wait until it answers."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """gunicorn config.wsgi on 127.0.0.1:port; returns once /api/regions answers."""
    full = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
         "--backlog", "256"],
        cwd=ROOT, env=full,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/resources/instruments?limit=1")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started."""
    proc.terminate()
    proc.wait(timeout=30)
