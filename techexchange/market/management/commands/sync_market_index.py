"""`sync_market_index [--follow]`: apply the market outbox to this node's indexes (ADR 0002)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.core import clock
from techexchange.market import matching


class Command(BaseCommand):
    """The node's follower of the market outbox (one per node on a multi-machine deployment)."""

    help = "Apply pending market search-index events on this node; --follow keeps following."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--follow and --interval."""
        parser.add_argument("--follow", action="store_true")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        """Apply pending events, once or in a loop."""
        while True:
            n = matching.flush_outbox(clock.now(), wait_seconds=matching.TASK_WAIT_SECONDS)
            if n or not options["follow"]:
                self.stdout.write(f"applied {n} events")
            if not options["follow"]:
                return
            time.sleep(options["interval"])
