"""Export in the national reporting layout: instrument records and service records (xlsx)."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import Workbook

from techexchange.resources.models import Instrument, UsageRecord

__all__ = ["INSTRUMENT_COLUMNS", "SERVICE_COLUMNS", "national_workbook"]

INSTRUMENT_COLUMNS = [
    "资产编号", "仪器名称", "英文名称", "所属单位", "所属设施/中心", "分类编码", "仪器来源",
    "原值（万元）", "产地国别", "生产制造商", "规格型号", "启用日期", "主要技术指标", "主要功能",
    "主要学科领域", "服务内容", "典型成果", "运行状态", "共享模式", "共享规定", "收费标准",
    "省份", "城市", "区县", "地址", "联系人", "联系电话", "联系邮箱",
]  # fmt: skip
SERVICE_COLUMNS = [
    "资产编号", "仪器名称", "服务方式", "申请人", "用户单位", "用户省份", "开始时间", "结束时间",
    "服务机时", "样品数", "服务内容", "支撑项目", "经费来源", "服务金额（元）", "对外服务",
    "跨省服务", "满意度",
]  # fmt: skip


def national_workbook(*, start: datetime, end: datetime, holder_id: int | None = None) -> bytes:
    """Two sheets: 仪器信息 (every instrument) and 服务记录 (service records in [start, end))."""
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("仪器信息")
    sheet.append(INSTRUMENT_COLUMNS)
    instruments = Instrument.objects.select_related("holder", "facility", "province", "city")
    if holder_id is not None:
        instruments = instruments.filter(holder_id=holder_id)
    for i in instruments.order_by("holder_id", "asset_id").iterator(chunk_size=2000):
        sheet.append(
            [
                i.asset_id, i.name_zh, i.name_en, i.holder.name_zh,
                i.facility.name_zh if i.facility else "", i.category_id,
                i.get_source_display(), float(i.original_value), i.country, i.manufacturer,
                i.model_number, i.commissioned_on.isoformat() if i.commissioned_on else "",
                i.specs, i.functions, i.disciplines, i.service_content, i.outcomes,
                i.get_state_display(), i.get_sharing_mode_display(), i.sharing_rules,
                i.fee_standard, i.province.name_zh, i.city.name_zh if i.city else "", i.county,
                i.address, i.contact_name, i.contact_phone, i.contact_email,
            ]
        )  # fmt: skip
    records = wb.create_sheet("服务记录")
    records.append(SERVICE_COLUMNS)
    usage = UsageRecord.objects.filter(started_at__gte=start, started_at__lt=end).select_related(
        "instrument", "user", "organisation"
    )
    if holder_id is not None:
        usage = usage.filter(instrument__holder_id=holder_id)
    for u in usage.order_by("started_at", "id").iterator(chunk_size=2000):
        records.append(
            [
                u.instrument.asset_id, u.instrument.name_zh, u.get_mode_display(),
                str(u.user) if u.user else "", u.organisation.name_zh if u.organisation else "",
                u.customer_province, u.started_at.isoformat(), u.ended_at.isoformat(),
                float(u.hours), u.samples, u.content, u.project, u.funding_source,
                float(u.amount), "是" if u.is_external else "否",
                "是" if u.is_cross_province else "否", u.satisfaction or "",
            ]
        )  # fmt: skip
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
