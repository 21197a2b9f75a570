"""Factories for resources: an instrument with a service and a policy, people who book it."""

from __future__ import annotations

import itertools
from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from techexchange.accounts.models import Organisation, OrgRole, User
from techexchange.accounts.tests.factories import make_member, make_organisation
from techexchange.resources import indexing
from techexchange.resources.models import (
    BookingPolicy,
    Instrument,
    InstrumentService,
    OpenHours,
)

_serial = itertools.count(1)
TZ = ZoneInfo("Asia/Shanghai")

# A fixed "now" for rule tests: Monday 2026-03-02 09:00 in Shanghai.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in March 2026 (the 2nd is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ)


def make_policy(**kwargs: Any) -> BookingPolicy:
    """A policy profile with permissive defaults unless told otherwise."""
    defaults: dict[str, Any] = dict(
        name=f"规则{next(_serial)}",
        min_notice_create_minutes=0,
        min_notice_change_minutes=0,
        late_cancel_minutes=0,
        requires_check_in=True,
        horizon_days=60,
    )
    defaults.update(kwargs)
    return BookingPolicy.objects.create(**defaults)


def make_holder(**kwargs: Any) -> Organisation:
    """A university in Shanghai that holds instruments."""
    return make_organisation(province="310000", city="310100", nature="022", **kwargs)


def make_instrument(
    *,
    holder: Organisation | None = None,
    policy: BookingPolicy | None = None,
    name_zh: str = "场发射扫描电镜",
    category: str = "010100",
    open_hours: bool = False,
    **kwargs: Any,
) -> Instrument:
    """An instrument in Shanghai with an hourly service (prices per customer category)."""
    holder = holder or make_holder()
    n = next(_serial)
    instrument = Instrument.objects.create(
        asset_id=kwargs.pop("asset_id", f"A{n:06d}"),
        name_zh=name_zh,
        name_en=kwargs.pop("name_en", "Field-emission SEM"),
        holder=holder,
        category_id=category,
        original_value=kwargs.pop("original_value", Decimal("680.00")),
        manufacturer=kwargs.pop("manufacturer", "蔡司"),
        model_number=kwargs.pop("model_number", "Sigma 300"),
        specs=kwargs.pop("specs", "分辨率 0.8 nm @ 15 kV；放大倍数 10–1,000,000"),
        province_id=kwargs.pop("province_id", holder.province_id),
        city_id=kwargs.pop("city_id", holder.city_id),
        policy=policy if policy is not None else make_policy(),
        **kwargs,
    )
    InstrumentService.objects.create(
        instrument=instrument,
        name="形貌观察",
        mode="occupy",
        unit="hour",
        price_internal=Decimal("200.00"),
        price_external=Decimal("400.00"),
        price_enterprise=Decimal("600.00"),
    )
    InstrumentService.objects.create(
        instrument=instrument,
        name="委托测试",
        mode="entrusted",
        unit="sample",
        price_internal=Decimal("100.00"),
        price_external=Decimal("200.00"),
        price_enterprise=Decimal("300.00"),
    )
    if open_hours:
        for weekday in range(5):
            OpenHours.objects.create(
                instrument=instrument, weekday=weekday, opens=time(8), closes=time(18)
            )
    indexing.emit([instrument.pk])
    return instrument


def make_customer(province: str = "320000", city: str = "320500", **kwargs: Any) -> User:
    """A member of an SME in Jiangsu (an enterprise customer)."""
    org = make_organisation(province=province, city=city, nature="170", is_sme=True)
    return make_member(org, OrgRole.MEMBER, **kwargs)


def make_staff(instrument: Instrument, role: str = OrgRole.MEMBER) -> User:
    """Staff of the instrument's holder (member: approves; admin: manages, overrides)."""
    return make_member(instrument.holder, role)
