"""Write import files from ContractData (the test side of the import layout)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.utils import translation

from techexchange.contracts.codes import (
    ContractType,
    IPType,
    PaymentMode,
    PlanSource,
    Subtype,
    TechField,
)
from techexchange.contracts.importer import COLUMNS
from techexchange.contracts.policies import ContractData

HEADER = [c.header for c in COLUMNS]


def _label(enum: Any, value: str) -> str:
    with translation.override(None):
        return str(enum(value).label)


def row_of(d: ContractData, number: str = "", registered: str = "2022-06-01") -> list[str]:
    """One data row in the Chinese layout."""
    return [
        number,
        d.project_name,
        _label(ContractType, d.contract_type),
        _label(Subtype, d.subtype),
        d.seller.name,
        d.seller.credit_code,
        d.seller.nature,
        d.seller.country,
        d.seller.region_code,
        d.buyer.name,
        d.buyer.credit_code,
        d.buyer.nature,
        d.buyer.country,
        d.buyer.region_code,
        str(d.turnover),
        str(d.technical_amount),
        _label(TechField, d.tech_field),
        _label(IPType, d.ip_type),
        _label(PlanSource, d.plan_source),
        _label(PaymentMode, d.payment_mode),
        d.signing_date.isoformat(),
        d.valid_from.isoformat() if d.valid_from else "",
        d.valid_to.isoformat() if d.valid_to else "",
        registered,
        "上海市技术市场管理办公室",
    ]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", header=None) -> Path:
    """A CSV import file."""
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or HEADER)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """An .xlsx import file (amounts as numbers, like a spreadsheet user would type)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for row in rows:
        ws.append([float(v) if i in (14, 15) else v for i, v in enumerate(row)])
    wb.save(path)
    return path
