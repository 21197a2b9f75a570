"""Money in exact decimals: yuan with two places, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["CENT", "YI", "parse_yuan", "to_yi", "to_yuan"]

CENT = Decimal("0.01")
YI = Decimal("100000000")  # 1 亿元
WAN = Decimal("10000")  # 1 万元


def to_yuan(value: Decimal | int | str) -> Decimal:
    """Quantise a value to yuan with two decimal places (half up)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_yuan(raw: str) -> Decimal:
    """Parse a yuan amount typed by a person ("1,234.50", "１２３"); raise ValueError if bad."""
    text = raw.strip().replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {raw!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {raw!r}")
    if value != value.quantize(CENT):
        raise ValueError(f"more than two decimal places: {raw!r}")
    return value.quantize(CENT)


def to_yi(value: Decimal) -> Decimal:
    """Convert yuan to 亿元 with two decimals, as published reports show it."""
    return (value / YI).quantize(CENT, rounding=ROUND_HALF_UP)
