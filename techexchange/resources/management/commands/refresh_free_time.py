"""`refresh_free_time`: rebuild the availability filter's free-time summary from the calendars."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.resources import services


class Command(BaseCommand):
    """After a bulk load, or as a repair; the services keep the summary current otherwise."""

    help = "Rebuild the free-time summary (profiles and day rows) of every instrument."

    def handle(self, *args: Any, **options: Any) -> None:
        """Rebuild and say how many day rows and how long."""
        started = time.perf_counter()
        n = services.refresh_free_time()
        self.stdout.write(f"{n} day rows in {time.perf_counter() - started:.1f}s")
