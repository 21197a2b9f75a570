"""Enqueue the platform's periodic jobs when due: `run_periodic` (once) or `--loop` (a beat).

Run one `manage.py run_periodic --loop` per deployment (more are harmless: a row lock makes a
job enqueue once) next to at least one `manage.py db_worker`, or call `run_periodic` from cron.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from techexchange.core import clock
from techexchange.core.periodic import Job, enqueue_due
from techexchange.market import tasks as market_tasks
from techexchange.resources import tasks as resource_tasks

SCHEDULE = [
    Job("resources.sync_search_index", resource_tasks.sync_search_index, timedelta(minutes=1)),
    Job("market.process_search_outbox", market_tasks.process_search_outbox, timedelta(minutes=1)),
    Job("resources.release_no_shows", resource_tasks.release_no_shows, timedelta(minutes=5)),
    Job(
        "market.recompute_recommendations",
        market_tasks.recompute_all_recommendations,
        timedelta(hours=6),
    ),
    Job("market.daily_jobs", market_tasks.daily_market_jobs, timedelta(days=1)),
    # A repair: the booking services keep the summary current in their own transactions.
    Job("resources.refresh_free_time", resource_tasks.refresh_free_time, timedelta(days=1)),
]


class Command(BaseCommand):
    """`run_periodic [--loop] [--interval SECONDS]`."""

    help = "Enqueue periodic jobs that are due (once, or every --interval seconds with --loop)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--loop and --interval."""
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument("--interval", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        """Enqueue what is due; with --loop, again after every interval."""
        while True:
            names = enqueue_due(SCHEDULE, now=clock.now())
            self.stdout.write(f"enqueued: {', '.join(names) or '-'}")
            if not options["loop"]:
                return
            time.sleep(max(1.0, options["interval"]))
