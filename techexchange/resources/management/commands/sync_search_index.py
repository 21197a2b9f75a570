"""`sync_search_index [--follow]`: apply the outbox to this node's index (once, or forever)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.resources import indexing


class Command(BaseCommand):
    """The node's index follower."""

    help = "Apply pending search-index events; --follow keeps following (one per node)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--follow and --interval."""
        parser.add_argument("--follow", action="store_true")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        """Apply pending events, once or in a loop."""
        while True:
            n = indexing.sync_index()
            if n or not options["follow"]:
                self.stdout.write(f"applied {n} events")
            if not options["follow"]:
                return
            time.sleep(options["interval"])
