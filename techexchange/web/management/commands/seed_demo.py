"""Load the synthetic, deterministic and idempotent demo data of every app."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from techexchange.accounts.demo import seed_accounts
from techexchange.contracts.demo import seed_contracts
from techexchange.core.demo import DemoContext
from techexchange.market.demo import seed_market
from techexchange.resources.demo import seed_resources

# Each app's seeder, in dependency order; later issues append theirs.
SEEDERS = [
    ("accounts", seed_accounts),
    ("resources", seed_resources),
    ("contracts", seed_contracts),
    ("market", seed_market),
]


class Command(BaseCommand):
    """`seed_demo --scale S --seed N`."""

    help = "Load synthetic demo data (deterministic for a seed; a rerun adds nothing)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--scale and --seed."""
        parser.add_argument("--scale", type=float, default=1.0, help="size multiplier (1 = demo)")
        parser.add_argument("--seed", type=int, default=1, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run every seeder and print what exists afterwards."""
        scale = options["scale"]
        if not 0 < scale <= 1000:
            raise CommandError("--scale must be greater than 0 and at most 1000")
        ctx = DemoContext(seed=options["seed"], scale=scale)
        for name, seeder in SEEDERS:
            started = time.perf_counter()
            seeder(ctx)
            self.stdout.write(f"{name}: {time.perf_counter() - started:.1f}s")
        for key, value in ctx.report.items():
            self.stdout.write(f"  {key}: {value}")
        self.stdout.write(self.style.SUCCESS("Demo data ready (synthetic)."))
