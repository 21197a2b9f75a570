"""`rebuild_market_index`: rebuild this node's offer and request indexes from the database.

Safe while serving: searches use the old generations until the switch; writes made meanwhile
wait in the outbox and are applied right after (ADR 0002). A new node, or one offline longer
than the outbox retention, runs it.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.core import clock
from techexchange.market import matching


class Command(BaseCommand):
    """Rebuild the market's search indexes on this node."""

    help = "Rebuild this node's market search indexes (offers, requests) from the database."

    def handle(self, *args: Any, **options: Any) -> None:
        """Rebuild and report the counts."""
        started = time.perf_counter()
        counts = matching.rebuild_indexes(clock.now())
        took = time.perf_counter() - started
        parts = ", ".join(f"{kind}: {n}" for kind, n in counts.items())
        self.stdout.write(f"{parts} documents in {took:.1f}s")
