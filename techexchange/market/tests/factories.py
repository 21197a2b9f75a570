"""Factories for the market: published offers and requests, brokers, a challenge."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from techexchange.accounts.models import Organisation, OrgRole, User
from techexchange.accounts.tests.factories import (
    grant,
    make_centre,
    make_member,
    make_organisation,
    make_user,
)
from techexchange.market import services
from techexchange.market.codes import ListingKind
from techexchange.market.models import TechnologyOffer, TechnologyRequest

_n = itertools.count(1)
NOW = timezone.make_aware(datetime(2026, 3, 2, 10, 0))


def operator() -> User:
    """A platform operator."""
    user = make_user(f"op{next(_n)}")
    grant(user, "operator")
    return user


def offer_input(**kw: Any) -> services.ListingInput:
    """A complete offer: a Zhejiang university's solid-state battery electrolyte."""
    data: dict[str, Any] = dict(
        title_zh="高离子电导率固态电解质及其制备工艺",
        title_en="High-conductivity solid-state electrolyte and its process",
        summary_zh="本成果提供一种硫化物固态电解质，室温离子电导率达到每厘米十毫西门子，可用于全固态锂电池，"
        "已完成中试验证。",
        description_zh="采用机械球磨与低温烧结结合的工艺，电解质与锂金属负极界面稳定，循环一千次容量保持率百分之九十。",
        tech_field="new_energy",
        tech_keywords=["固态电解质", "锂电池", "硫化物"],
        market_keywords=["储能", "新能源汽车"],
        chain="新能源汽车",
        chain_node="材料",
        cooperation_modes=["licence", "transfer"],
        transaction_mode="negotiated",
        partner_types=["enterprise"],
        contact_name="王老师",
        contact_email="tto@example.invalid",
        contact_phone="0571-00000000",
        maturity=6,
        ip_status="granted",
        achievement_type="patent",
        patent_numbers="ZL202110000000.1",
        price_min=Decimal("800000"),
        price_max=Decimal("1500000"),
    )
    data.update(kw)
    return services.ListingInput(**data)


def request_input(**kw: Any) -> services.ListingInput:
    """A complete request: an Anhui battery maker needs a solid-state electrolyte."""
    data: dict[str, Any] = dict(
        title_zh="寻求全固态锂电池固态电解质技术",
        summary_zh="我公司为动力电池企业，拟开发全固态锂电池，寻求高离子电导率固态电解质材料及量产工艺，"
        "希望以许可或转让方式合作。",
        description_zh="现有产线以液态电解液为主，需导入固态电解质并完成小批量试制。",
        tech_field="new_energy",
        tech_keywords=["固态电解质", "锂电池"],
        market_keywords=["动力电池"],
        chain="新能源汽车",
        chain_node="器件",
        cooperation_modes=["licence", "transfer"],
        partner_types=["university", "institute"],
        target_regions=["330000", "310000"],
        problem="液态电解液安全性不足，需要室温离子电导率不低于每厘米五毫西门子的固态电解质。",
        targets=[{"metric": "离子电导率", "value": "≥5", "unit": "mS/cm"}],
        acceptance_test="第三方检测机构出具电导率与循环测试报告",
        constraints_text="材料成本不高于现有电解液的两倍",
        maturity_min=5,
        maturity_max=8,
        budget_max=Decimal("2000000"),
        contact_name="李经理",
    )
    data.update(kw)
    return services.ListingInput(**data)


def published(
    kind: str,
    owner: Organisation,
    data: services.ListingInput,
    *,
    centre: Any = None,
    now: datetime = NOW,
) -> TechnologyOffer | TechnologyRequest:
    """Create, submit, approve and publish a listing."""
    author = make_member(owner, OrgRole.ADMIN)
    op = operator()
    listing = services.create_listing(
        actor=author, kind=kind, owner=owner, data=data, centre=centre, now=now
    )
    services.submit_listing(actor=author, listing=listing, now=now)
    services.review_listing(actor=op, listing=listing, decision="approve", now=now)
    return services.publish_listing(actor=op, listing=listing, now=now)


def zj_university() -> Organisation:
    """A Zhejiang university (Hangzhou)."""
    return make_organisation(
        province="330000", city="330100", nature="022", name_zh="浙江示例理工大学"
    )


def ah_enterprise() -> Organisation:
    """An Anhui SME (Hefei)."""
    return make_organisation(
        province="340000",
        city="340100",
        nature="150",
        name_zh="合肥示例电池科技有限公司",
        is_sme=True,
    )


def broker(centre: Any = None) -> User:
    """A broker at a (new) sub-centre."""
    user = make_user(f"broker{next(_n)}")
    grant(user, "broker", centre=centre or make_centre())
    return user


__all__ = [
    "NOW",
    "ListingKind",
    "ah_enterprise",
    "broker",
    "offer_input",
    "operator",
    "published",
    "request_input",
    "timedelta",
    "zj_university",
]
