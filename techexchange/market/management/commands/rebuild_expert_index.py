"""Rebuild the market's index of the expert directory (after a bulk import or edits)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from techexchange.market import crossmatch


class Command(BaseCommand):
    """`manage.py rebuild_expert_index`."""

    help = "重建专家检索索引（候选专家匹配用）"

    def handle(self, *args: Any, **options: Any) -> None:
        """Index every expert anew; searches go on meanwhile."""
        n = crossmatch.rebuild_expert_index()
        self.stdout.write(f"experts indexed: {n}")
