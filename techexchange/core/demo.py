"""Shared pieces of the synthetic demo data: the context every app's seeder receives."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEMO_PASSWORD", "DemoContext"]

# Every demo user signs in with this password (documented in the README).
DEMO_PASSWORD = "TechX-demo-2026"  # noqa: S105 - documented demo password


@dataclass
class DemoContext:
    """What a seeder needs: a deterministic random source per app, the scale, and a report."""

    seed: int
    scale: float
    report: dict[str, int] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def rng(self, name: str) -> random.Random:
        """A random source that depends only on the seed and `name` (stable across apps)."""
        return random.Random(f"{self.seed}:{name}")

    def count(self, base: int, minimum: int = 1) -> int:
        """Scale a base count, never below `minimum`."""
        return max(minimum, round(base * self.scale))
