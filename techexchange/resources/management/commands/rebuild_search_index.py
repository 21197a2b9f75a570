"""`rebuild_search_index`: rebuild this node's instrument index from the database.

Safe while serving: searches use the old generation until the switch; writes made meanwhile
wait in the outbox and are applied right after (ADR 0002).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.resources import indexing


class Command(BaseCommand):
    """Rebuild the search index of instruments."""

    help = "Rebuild this node's search index of instruments from the database (safe while serving)."

    def handle(self, *args: Any, **options: Any) -> None:
        """Rebuild and report the count and the rate."""
        started = time.perf_counter()
        count = indexing.rebuild_index()
        took = time.perf_counter() - started
        rate = count / took if took else 0.0
        self.stdout.write(f"instrument: {count} documents in {took:.1f}s ({rate:,.0f}/s)")
