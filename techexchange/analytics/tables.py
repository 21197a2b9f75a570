"""Report tables built from aggregated rows: flow matrices, ranked breakdowns, headlines.

Every table states its definition (口径): published series differ in scope, so a figure without
its definition is a trap. Shares and growth rates are Decimal percentages with two places.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from techexchange.analytics.cube import Measures, sum_by

__all__ = ["Table", "breakdown_table", "flow_table", "growth", "headline", "region_table", "share"]

CENT = Decimal("0.01")
YI_FEN = Decimal(10_000_000_000)  # 1 亿元 in fen

Rows = Iterable[Mapping[str, Any]]
Label = Callable[[str], str]


def yi(fen: int) -> Decimal:
    """Fen to 亿元 with two decimals (half up), as reports print."""
    return (Decimal(fen) / YI_FEN).quantize(CENT, rounding=ROUND_HALF_UP)


def share(part: int, whole: int) -> Decimal | None:
    """`part` as a percentage of `whole` (two decimals), None when `whole` is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


def growth(current: int, previous: int) -> Decimal | None:
    """Year-on-year growth in percent; None without a base ("增长3.31倍" would be 331.00)."""
    if not previous:
        return None
    return (Decimal(current - previous) * 100 / Decimal(previous)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class Table:
    """A report table: JSON payload (`data`), display header/rows, and its definition."""

    kind: str
    title: str
    definition: str
    header: list[str]
    rows: list[list[Any]]
    data: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


MEASURE_HEADER = [
    "项数",
    "成交额（亿元）",
    "技术交易额（亿元）",
    "成交额（元）",
    "技术交易额（元）",
]


def _measure_cells(m: Measures) -> list[Any]:
    return [m.contracts, yi(m.turnover_fen), yi(m.technical_fen), m.turnover, m.technical_amount]


def flow_table(
    rows: Rows,
    *,
    seller_dim: str,
    buyer_dim: str,
    label_of: Label,
    definition: str,
    order: Sequence[str] = (),
    level: str = "province",
) -> Table:
    """The 流向 matrix as cells (seller region × buyer region), in `order` then code order."""
    cells = sum_by(rows, (seller_dim, buyer_dim))
    rank = {code: i for i, code in enumerate(order)}

    def sort_key(code: str) -> tuple[int, str]:
        return (rank.get(code, len(rank)), code)

    keys = sorted(cells, key=lambda k: (sort_key(k[0]), sort_key(k[1])))
    regions = sorted({k[0] for k in keys} | {k[1] for k in keys}, key=sort_key)
    data_cells = [
        {"seller_region": s, "buyer_region": b, **cells[(s, b)].as_json()} for s, b in keys
    ]
    display = [[label_of(s), label_of(b), *_measure_cells(cells[(s, b)])] for s, b in keys]
    matrix = [
        [yi(cells[(s, b)].turnover_fen) if (s, b) in cells else None for b in regions]
        for s in regions
    ]
    return Table(
        kind="flows",
        title="技术合同流向（卖方地区 → 买方地区）",
        definition=definition,
        header=["卖方地区", "买方地区", *MEASURE_HEADER],
        rows=display,
        data={"definition": definition, "level": level, "cells": data_cells},
        extra={
            "regions": [{"code": r, "label": label_of(r)} for r in regions],
            "matrix": matrix,
            "links": [
                {"source": s, "target": b, "value": str(yi(cells[(s, b)].turnover_fen))}
                for s, b in keys
            ],
        },
    )


def breakdown_table(
    current: Rows,
    previous: Rows,
    *,
    kind: str,
    title: str,
    dim: str,
    label_of: Label,
    definition: str,
    keys: Sequence[str] = (),
    ranked: bool = False,
) -> Table:
    """Count, 成交额, 技术交易额, average, share and year-on-year growth by one dimension.

    `current` holds the rows of the period; `previous` those of the period one year earlier (for
    growth). `keys` lists every category in report order (zero rows included); others follow.
    """
    now = sum_by(current, (dim,))
    before = sum_by(previous, (dim,))
    total = Measures()
    for m in now.values():
        total.add(m)
    order = list(keys) + sorted(k for (k,) in now if k not in keys)
    if ranked:
        order = sorted(
            (k for k in order if (k,) in now), key=lambda k: (-now[(k,)].turnover_fen, k)
        )
    out_rows: list[dict[str, Any]] = []
    display: list[list[Any]] = []
    for i, key in enumerate(order, start=1):
        m = now.get((key,), Measures())
        p = before.get((key,), Measures())
        sh = share(m.turnover_fen, total.turnover_fen)
        gr = growth(m.turnover_fen, p.turnover_fen)
        avg = m.average_wan
        row: dict[str, Any] = {
            "key": key,
            "label": label_of(key),
            **m.as_json(),
            "average_wan": None if avg is None else str(avg),
            "share": _pct(sh),
            "yoy": _pct(gr),
        }
        if ranked:
            row["rank"] = i
        out_rows.append(row)
        display.append(([i] if ranked else []) + [label_of(key), *_measure_cells(m), avg, sh, gr])
    tot_avg = total.average_wan
    header = (["排名"] if ranked else []) + [
        "类别" if not ranked else "地区",
        *MEASURE_HEADER,
        "平均每项（万元）",
        "占比（%）",
        "同比增长（%）",
    ]
    display.append(
        ([""] if ranked else [])
        + ["合计", *_measure_cells(total), tot_avg, share(total.turnover_fen, total.turnover_fen)]
        + [growth(total.turnover_fen, sum(m.turnover_fen for m in before.values()))]
    )
    return Table(
        kind=kind,
        title=title,
        definition=definition,
        header=header,
        rows=display,
        data={
            "definition": definition,
            "rows": out_rows,
            "total": {**total.as_json(), "average_wan": None if tot_avg is None else str(tot_avg)},
        },
    )


def region_table(
    current: Rows,
    previous: Rows,
    *,
    kind: str,
    title: str,
    dim: str,
    label_of: Label,
    definition: str,
) -> Table:
    """输出 or 吸纳 by region, ranked by 成交额."""
    return breakdown_table(
        current,
        previous,
        kind=kind,
        title=title,
        dim=dim,
        label_of=label_of,
        definition=definition,
        ranked=True,
    )


def headline(
    rows: Rows,
    *,
    seller_dim: str,
    buyer_dim: str,
    members: Iterable[str],
    bloc: str,
    subject: str,
    definition: str,
) -> Table:
    """Contracts between different members of a bloc: the off-diagonal of its sub-matrix."""
    inside = set(members)
    m = Measures()
    for row in rows:
        s, b = str(row[seller_dim]), str(row[buyer_dim])
        if s in inside and b in inside and s != b:
            m.add(row)
    text = f"{subject}相互间技术合同{m.contracts}项，成交额{yi(m.turnover_fen)}亿元"
    return Table(
        kind="inter-bloc",
        title=f"{subject}相互间技术合同",
        definition=definition,
        header=["板块", *MEASURE_HEADER, "说明"],
        rows=[[bloc, *_measure_cells(m), text]],
        data={"bloc": bloc, **m.as_json(), "text": text, "definition": definition},
    )
