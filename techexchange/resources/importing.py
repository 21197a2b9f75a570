"""Import instruments from CSV (UTF-8 or GB18030) or xlsx in the national field layout.

All or nothing: every row is checked by the same rules as the web (`services.instrument_problems`)
first; one bad row and nothing is written, with every problem reported by row and column.
Rows are written through `services.save_instrument` (the one write path); a row whose asset id
the holder already has updates that instrument, so re-importing a file changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from techexchange.accounts.models import Organisation
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import require
from techexchange.core.errors import Problem, ValidationFailed
from techexchange.resources import services
from techexchange.resources.models import (
    Instrument,
    InstrumentSource,
    OperatingState,
    ServiceMode,
    ServiceUnit,
    SharingMode,
)

__all__ = ["COLUMNS", "ImportResult", "import_instruments", "read_rows"]

# Header → InstrumentInput field (the national layout; English headers are accepted too).
COLUMNS: dict[str, str] = {
    "资产编号": "asset_id", "仪器名称": "name_zh", "英文名称": "name_en", "分类编码": "category",
    "仪器来源": "source", "原值（万元）": "original_value", "产地国别": "country",
    "生产制造商": "manufacturer", "规格型号": "model_number", "启用日期": "commissioned_on",
    "主要技术指标": "specs", "主要功能": "functions", "主要学科领域": "disciplines",
    "服务内容": "service_content", "典型成果": "outcomes", "运行状态": "state",
    "共享模式": "sharing_mode", "共享规定": "sharing_rules", "收费标准": "fee_standard",
    "省份代码": "province", "城市代码": "city", "区县": "county", "地址": "address",
    "联系人": "contact_name", "联系电话": "contact_phone", "联系邮箱": "contact_email",
    "服务名称": "service_name", "服务方式": "service_mode", "计价单位": "service_unit",
    "校内价": "price_internal", "校外价": "price_external", "企业价": "price_enterprise",
}  # fmt: skip
REQUIRED = ("资产编号", "仪器名称", "分类编码", "原值（万元）", "省份代码")
_BY_LABEL = {
    "source": {str(label): value for value, label in InstrumentSource.choices},
    "state": {str(label): value for value, label in OperatingState.choices},
    "sharing_mode": {str(label): value for value, label in SharingMode.choices},
    "service_mode": {str(label): value for value, label in ServiceMode.choices},
    "service_unit": {str(label): value for value, label in ServiceUnit.choices},
}
_FIELD_TO_HEADER = {v: k for k, v in COLUMNS.items()}


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    created: int
    updated: int


def read_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV or xlsx file as header → text (first row is the header)."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise ValidationFailed(
                "无法读取文件",
                problems=[Problem("unreadable", f"不是有效的xlsx文件：{exc}", "file")],
            ) from None
        sheet = wb.worksheets[0]
        table = [
            ["" if c is None else _cell(c) for c in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed(
                "无法读取文件",
                problems=[Problem("encoding", "文件编码须为UTF-8或GB18030", "file")],
            )
        table = list(csv.reader(io.StringIO(text)))
    if not table:
        raise ValidationFailed("文件为空", problems=[Problem("empty", "文件为空", "file")])
    header = [h.strip() for h in table[0]]
    return [
        dict(zip(header, [c.strip() for c in row], strict=False))
        for row in table[1:]
        if any(c.strip() for c in row)
    ]


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _decimal(raw: str) -> Decimal:
    value = Decimal(raw.replace(",", "").replace("，", ""))
    if not value.is_finite():
        raise InvalidOperation
    return value


def _parse(row: dict[str, str], n: int) -> tuple[services.InstrumentInput | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(header: str, code: str, message: str) -> None:
        problems.append(
            Problem(code, f"第{n}行「{header}」：{message}", header, {"row": n, "column": header})
        )

    values: dict[str, Any] = {}
    for header, name in COLUMNS.items():
        raw = row.get(header, "")
        if name in _BY_LABEL and raw:
            raw = _BY_LABEL[name].get(raw, raw)
        values[name] = raw
    for header in REQUIRED:
        if not row.get(header):
            bad(header, "required", "必填")
    for name in ("original_value", "price_internal", "price_external", "price_enterprise"):
        raw = values[name]
        if raw:
            try:
                values[name] = _decimal(raw)
            except (InvalidOperation, ValueError):
                bad(_FIELD_TO_HEADER[name], "not_a_number", f"不是数字：{raw}")
                values[name] = Decimal(0)
        else:
            values[name] = Decimal(0)
    if values["commissioned_on"]:
        try:
            values["commissioned_on"] = date.fromisoformat(values["commissioned_on"])
        except ValueError:
            bad("启用日期", "invalid_date", "日期须为 YYYY-MM-DD")
            values["commissioned_on"] = None
    else:
        values["commissioned_on"] = None
    svc: tuple[services.ServiceInput, ...] = ()
    if values["service_name"]:
        svc = (
            services.ServiceInput(
                name=values["service_name"],
                mode=values["service_mode"],
                unit=values["service_unit"],
                price_internal=values["price_internal"],
                price_external=values["price_external"],
                price_enterprise=values["price_enterprise"],
            ),
        )
    fields = {
        k: v
        for k, v in values.items()
        if k in services.InstrumentInput.__dataclass_fields__
        and (v != "" or k in ("asset_id", "name_zh", "category", "province"))
    }
    data = services.InstrumentInput(**fields, services=svc)
    for p in services.instrument_problems(data):
        header = _FIELD_TO_HEADER.get(p.field or "", p.field or "")
        bad(header, p.code, p.message)
    return (None if problems else data), problems


def import_instruments(
    *, actor: Any, holder: Organisation, data: bytes, filename: str
) -> ImportResult:
    """Check every row, then write them all (or nothing) through the one write path."""
    require(actor, Action.MANAGE_RESOURCE, Target(organisation_id=holder.pk))
    rows = read_rows(data, filename)
    missing = [h for h in REQUIRED if rows and h not in rows[0]]
    if missing:
        raise ValidationFailed(
            "缺少必需的列",
            problems=[
                Problem("missing_column", f"缺少列「{h}」", h, {"column": h}) for h in missing
            ],
        )
    parsed: list[services.InstrumentInput] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=1):
        item, row_problems = _parse(row, n)
        asset = row.get("资产编号", "")
        if asset and asset in seen:
            row_problems.append(
                Problem(
                    "duplicate_row",
                    f"第{n}行「资产编号」：与第{seen[asset]}行重复",
                    "资产编号",
                    {"row": n, "column": "资产编号"},
                )
            )
        seen.setdefault(asset, n)
        problems += row_problems
        if item is not None:
            parsed.append(item)
    if problems:
        raise ValidationFailed(
            f"导入失败：{len(problems)}处错误，未写入任何数据", problems=problems
        )
    existing = {
        i.asset_id: i for i in Instrument.objects.filter(holder=holder, asset_id__in=list(seen))
    }
    created = updated = 0
    with transaction.atomic():
        for item in parsed:
            instrument = existing.get(item.asset_id)
            services.save_instrument(actor=actor, holder=holder, data=item, instrument=instrument)
            if instrument is None:
                created += 1
            else:
                updated += 1
    return ImportResult(created=created, updated=updated)
