"""Template filters of the statistics page: amounts in 亿元, the page's columns."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def yi(value: Any) -> str:
    """A yuan amount (decimal string) in 亿元 with two decimals."""
    amount = Decimal(str(value)) / Decimal(100_000_000)
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@register.filter
def is_yuan_column(header: str) -> bool:
    """The exact-yuan columns go to the exports, not to the page."""
    return str(header).endswith("（元）")


@register.filter
def page_cells(row: list[Any], header: list[str]) -> list[Any]:
    """The row's cells without the exact-yuan columns."""
    return [cell for cell, h in zip(row, header, strict=False) if not is_yuan_column(h)]
