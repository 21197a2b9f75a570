"""Render report tables as JSON-ready dicts, CSV, xlsx (openpyxl) or a plain text table."""

from __future__ import annotations

import csv
import io
import unicodedata
from decimal import Decimal
from typing import Any

from techexchange.analytics.tables import Table

__all__ = ["to_csv", "to_json", "to_text", "to_xlsx"]


def to_json(table: Table) -> dict[str, Any]:
    """The table's JSON payload (amounts as decimal strings in yuan, counts as integers)."""
    return table.data


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    return value


def to_csv(tables: list[Table]) -> str:
    """CSV with, for each table, its title and definition then the header and rows."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for table in tables:
        writer.writerow([table.title])
        writer.writerow([f"口径：{table.definition}"])
        writer.writerow(table.header)
        writer.writerows([[_plain(v) for v in row] for row in table.rows])
        writer.writerow([])
    return buf.getvalue()


def to_xlsx(tables: list[Table]) -> bytes:
    """An .xlsx workbook with one sheet per table (numbers as numbers, definition on top)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for table in tables:
        ws = wb.create_sheet(title=table.kind[:31])
        ws.append([table.title])
        ws.append([f"口径：{table.definition}"])
        ws.append(table.header)
        for row in table.rows:
            ws.append([float(v) if isinstance(v, Decimal) else _plain(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def to_text(table: Table) -> str:
    """An aligned text table for a terminal (wide characters count double)."""
    cells = [table.header] + [[str(_plain(v)) for v in row] for row in table.rows]
    widths = [max(_width(str(r[i])) for r in cells if i < len(r)) for i in range(len(table.header))]
    lines = [table.title, f"口径：{table.definition}"]
    for row in cells:
        parts = []
        for i, value in enumerate(row):
            text = str(value)
            pad = " " * (widths[i] - _width(text)) if i < len(widths) else ""
            parts.append(pad + text if i > 1 or text[:1].isdigit() else text + pad)
        lines.append("  ".join(parts))
    return "\n".join(lines) + "\n"
