"""`manage.py rebuild_contract_stats`: recompute the statistics rollup from the contracts."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.contracts.rollup import rebuild


class Command(BaseCommand):
    """Rebuild the rollup (it is kept current on every write; this repairs or re-derives it)."""

    help = "Recompute the technology contract statistics rollup from the registered contracts."

    def handle(self, *args: Any, **options: Any) -> None:
        """Rebuild in one transaction and print the number of cells."""
        started = time.perf_counter()
        cells = rebuild()
        self.stdout.write(f"{cells} cells in {time.perf_counter() - started:.1f}s")
