"""Cuboids (pre-aggregated groupings of a fact table) and the additive measures they hold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["Cuboid", "Measures", "choose_cuboid", "fen_to_yuan", "sum_by"]

CENT = Decimal("0.01")


def fen_to_yuan(fen: int) -> Decimal:
    """Exact yuan with two decimals from integer fen."""
    return Decimal(fen).scaleb(-2).quantize(CENT)


@dataclass(frozen=True)
class Cuboid:
    """A grouping kept in the rollup: an id (stored), a name and the dimensions it keeps."""

    id: int
    name: str
    dims: tuple[str, ...]

    def covers(self, needed: Iterable[str]) -> bool:
        """True when every needed dimension is kept by this cuboid."""
        return set(needed) <= set(self.dims)

    def key(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The cuboid's key for a fact (its dimension values, in order)."""
        return tuple(str(values[d]) for d in self.dims)


def choose_cuboid(cuboids: Sequence[Cuboid], needed: Iterable[str]) -> Cuboid:
    """The first (smallest, by convention listed first) cuboid that keeps every needed dim."""
    wanted = set(needed)
    for cuboid in cuboids:
        if cuboid.covers(wanted):
            return cuboid
    raise LookupError(f"no cuboid keeps {sorted(wanted)}")


@dataclass
class Measures:
    """Additive measures of a set of contracts: count and two amounts in integer fen."""

    contracts: int = 0
    turnover_fen: int = 0
    technical_fen: int = 0

    def add(self, other: Measures | Mapping[str, Any]) -> None:
        """Add another set of measures (or a row holding them) in place."""
        if isinstance(other, Measures):
            self.contracts += other.contracts
            self.turnover_fen += other.turnover_fen
            self.technical_fen += other.technical_fen
        else:
            self.contracts += int(other["contracts"] or 0)
            self.turnover_fen += int(other["turnover_fen"] or 0)
            self.technical_fen += int(other["technical_fen"] or 0)

    @property
    def turnover(self) -> Decimal:
        """成交额 in yuan."""
        return fen_to_yuan(self.turnover_fen)

    @property
    def technical_amount(self) -> Decimal:
        """技术交易额 in yuan."""
        return fen_to_yuan(self.technical_fen)

    @property
    def average_wan(self) -> Decimal | None:
        """Average 成交额 per contract in 万元 (two decimals), None without contracts."""
        if not self.contracts:
            return None
        return (Decimal(self.turnover_fen) / Decimal(self.contracts) / Decimal(1_000_000)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )

    def as_json(self) -> dict[str, Any]:
        """Counts as integers and amounts as decimal strings in yuan."""
        return {
            "contracts": self.contracts,
            "turnover": str(self.turnover),
            "technical_amount": str(self.technical_amount),
        }


def sum_by(
    rows: Iterable[Mapping[str, Any]], dims: Sequence[str]
) -> dict[tuple[str, ...], Measures]:
    """Sum rows' measures by the values of `dims`."""
    out: dict[tuple[str, ...], Measures] = {}
    for row in rows:
        key = tuple(str(row[d]) for d in dims)
        m = out.get(key)
        if m is None:
            m = out[key] = Measures()
        m.add(row)
    return out
