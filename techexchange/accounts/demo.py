"""Synthetic demo data for accounts: organisations, transfer centres, users for every role.

All names are invented and the records carry `is_synthetic`; the UI footer says so.
Deterministic for a seed and idempotent: organisations are keyed by their credit code.
"""

from __future__ import annotations

import random
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from techexchange.accounts.models import (
    Membership,
    Organisation,
    OrgRole,
    PlatformRole,
    RoleGrant,
    TransferCentre,
    User,
)
from techexchange.core.demo import DEMO_PASSWORD, DemoContext
from techexchange.core.uscc import make_credit_code
from techexchange.regions.data import CITIES

__all__ = ["DEMO_USERS", "organisation_specs", "seed_accounts"]

# Relative weight of each city in the number of organisations (the rest weigh 1).
CITY_WEIGHT = {
    "310100": 24, "320100": 9, "330100": 10, "340100": 8, "320500": 10, "320200": 5,
    "330200": 5, "320400": 3, "320600": 3, "330300": 3, "330400": 2, "330600": 2,
    "340200": 2, "321000": 2, "321100": 2, "320300": 2, "330700": 2,
}  # fmt: skip

# Party nature codes with weights: enterprises far outnumber universities and institutes.
NATURE_WEIGHT = {
    "150": 38, "170": 22, "160": 12, "110": 6, "330": 3, "310": 2, "230": 1, "180": 2,
    "021": 4, "022": 3, "023": 2, "024": 1, "013": 1, "030": 2, "120": 1,
}  # fmt: skip

BRAND = list("华中新瑞联创科恒泰微晶芯光源汇宏博睿达智远成安嘉航海天星德康普信合诚")
FIELD = [
    ("智能装备", "Intelligent Equipment"),
    ("生物医药", "Biopharma"),
    ("新材料", "New Materials"),
    ("微电子", "Microelectronics"),
    ("新能源", "New Energy"),
    ("信息技术", "Information Technology"),
    ("环保科技", "Environmental Technology"),
    ("精密仪器", "Precision Instruments"),
    ("汽车零部件", "Auto Parts"),
    ("医疗器械", "Medical Devices"),
    ("检测技术", "Testing Technology"),
    ("农业科技", "Agritech"),
]
SUFFIX = {"160": "股份有限公司", "110": "集团有限公司"}
UNI = ["理工大学", "科技大学", "工业大学", "师范大学", "医科大学", "农林大学", "信息工程学院"]
INSTITUTE = ["先进制造研究院", "新材料研究所", "生物技术研究所", "智能感知研究院", "能源研究所"]
HOSPITAL = ["第一人民医院", "中心医院", "肿瘤医院"]
ASSOCIATION = ["科技创新促进会", "技术市场协会", "产业技术创新联盟"]

# Users for every role; all share DEMO_PASSWORD (see README).
DEMO_USERS = {
    "operator": "平台运营（长三角科技创新共同体建设办公室）",
    "analyst": "统计分析员",
    "registrar_sh": "上海市技术合同登记员",
    "voucher_js": "江苏省创新券管理员",
    "broker_hf": "东部中心合肥分中心技术经纪人",
    "enterprise_js": "江苏中小企业管理员",
    "enterprise_ah": "安徽中小企业管理员",
    "university_zj": "浙江高校技术转移办公室",
    "member_sh": "上海企业普通成员",
}

SUB_CENTRE_CITIES = [
    "320100", "320500", "320200", "320400", "320600", "321000", "330100", "330200",
    "330400", "330600", "330700", "340100", "340200", "340300", "340500", "310100",
    "321100", "330500", "341800",
]  # fmt: skip


def _org_name(rng: random.Random, city: str, nature: str, serial: int) -> tuple[str, str]:
    """An invented but plausible organisation name (zh, en)."""
    rng_choice = BRAND
    city_zh = next(c.name_zh for c in CITIES if c.code == city).removesuffix("市")
    city_en = next(c.name_en for c in CITIES if c.code == city).split(" (")[0]
    if nature == "022":
        kind = rng.choice(UNI)
        return f"{city_zh}{rng.choice(rng_choice)}{kind}", f"{city_en} University No.{serial}"
    if nature == "021":
        kind = rng.choice(INSTITUTE)
        return f"{city_zh}{kind}（第{serial}）", f"{city_en} Research Institute {serial}"
    if nature == "023":
        return f"{city_zh}市{rng.choice(HOSPITAL)}（{serial}）", f"{city_en} Hospital {serial}"
    if nature.startswith("01"):
        return f"{city_zh}市科学技术局（{serial}）", f"{city_en} Science Bureau {serial}"
    if nature in {"030", "024"}:
        return f"{city_zh}{rng.choice(ASSOCIATION)}（{serial}）", f"{city_en} Association {serial}"
    brand = rng.choice(rng_choice) + rng.choice(rng_choice)
    field_zh, field_en = rng.choice(FIELD)
    suffix = SUFFIX.get(nature, "有限公司")
    return (
        f"{city_zh}{brand}{field_zh}{suffix}",
        f"{city_en} {field_en} Co., Ltd. ({serial})",
    )


def _credit_kind(nature: str) -> tuple[str, str]:
    """Registering authority and entity type characters of a credit code for a party nature."""
    if nature.startswith("01"):
        return "1", "1"
    if nature.startswith("02"):
        return "1", "2"
    if nature == "030":
        return "5", "1"
    return "9", "1"


def organisation_specs(ctx: DemoContext) -> list[Organisation]:
    """The synthetic organisations for this seed and scale, unsaved (pure: no database)."""
    rng = ctx.rng("accounts")
    cities = [c.code for c in CITIES]
    weights = [CITY_WEIGHT.get(c, 1) for c in cities]
    natures = list(NATURE_WEIGHT)
    nature_w = list(NATURE_WEIGHT.values())
    specs = []
    for serial in range(1, ctx.count(1200, minimum=60) + 1):
        city = rng.choices(cities, weights)[0]
        nature = rng.choices(natures, nature_w)[0]
        authority, kind = _credit_kind(nature)
        code = make_credit_code(rng, region_code=city, authority=authority, kind=kind)
        flag = rng.random()
        name_zh, name_en = _org_name(rng, city, nature, serial)
        is_enterprise = nature[:1] in {"1", "2", "3"}
        specs.append(
            Organisation(
                name_zh=name_zh,
                name_en=name_en,
                credit_code=code,
                party_nature=nature,
                province_id=city[:2] + "0000",
                city_id=city,
                address=f"{name_zh[:2]}示例路{serial}号",
                is_sme=is_enterprise and flag < 0.7,
                is_high_tech_zone=is_enterprise and flag < 0.25,
                is_rnd_institution=nature in {"021", "022"} or (is_enterprise and flag > 0.93),
                is_listed=is_enterprise and flag > 0.97,
                is_synthetic=True,
                description="（演示数据）合成的机构简介。",
            )
        )
    return specs


@transaction.atomic
def seed_accounts(ctx: DemoContext) -> None:
    """Create organisations across the 41 cities, centres, and one user per role."""
    existing = set(
        Organisation.objects.filter(is_synthetic=True).values_list("credit_code", flat=True)
    )
    new_orgs = [o for o in organisation_specs(ctx) if o.credit_code not in existing]
    Organisation.objects.bulk_create(new_orgs, batch_size=1000, ignore_conflicts=True)
    _seed_centres(ctx)
    _seed_users(ctx)
    ctx.report["organisations"] = Organisation.objects.count()


def _seed_centres(ctx: DemoContext) -> None:
    """The National Technology Transfer Eastern Center and its 19 sub-centres."""
    rng = ctx.rng("centres")
    host, _ = Organisation.objects.get_or_create(
        credit_code=make_credit_code(rng, region_code="310100", authority="1", kind="2"),
        defaults=dict(
            name_zh="国家技术转移东部中心（演示）",
            name_en="National Technology Transfer Eastern Center (demo)",
            party_nature="024",
            province_id="310000",
            city_id="310100",
            is_transfer_institution=True,
            is_synthetic=True,
        ),
    )
    east, _ = TransferCentre.objects.get_or_create(
        code="ETTC",
        defaults=dict(
            name_zh="国家技术转移东部中心",
            name_en="National Technology Transfer Eastern Center",
            host=host,
            province_id="310000",
            city_id="310100",
            is_synthetic=True,
        ),
    )
    for i, city in enumerate(SUB_CENTRE_CITIES, start=1):
        c = next(x for x in CITIES if x.code == city)
        sub_host, _ = Organisation.objects.get_or_create(
            credit_code=make_credit_code(rng, region_code=city, authority="9", kind="1"),
            defaults=dict(
                name_zh=f"{c.name_zh.removesuffix('市')}技术转移服务有限公司（演示）",
                name_en=f"{c.name_en} Technology Transfer Services (demo)",
                party_nature="150",
                province_id=city[:2] + "0000",
                city_id=city,
                is_transfer_institution=True,
                is_synthetic=True,
            ),
        )
        suffix = "浦东" if city == "310100" else c.name_zh.removesuffix("市")
        TransferCentre.objects.get_or_create(
            code=f"ETTC-{i:02d}",
            defaults=dict(
                name_zh=f"国家技术转移东部中心{suffix}分中心",
                name_en=f"Eastern Center {c.name_en.split(' (')[0]} Sub-centre",
                parent=east,
                host=sub_host,
                province_id=city[:2] + "0000",
                city_id=city,
                is_synthetic=True,
            ),
        )
    ctx.report["centres"] = TransferCentre.objects.count()


def _seed_users(ctx: DemoContext) -> None:
    """One user per role, plus two brokers at every sub-centre."""
    password = make_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for username, label in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(
            username=username,
            defaults=dict(display_name=label, email=f"{username}@demo.invalid", password=password),
        )
        users[username] = user
    centres = {c.city_id: c for c in TransferCentre.objects.filter(parent__isnull=False)}
    RoleGrant.objects.get_or_create(user=users["operator"], role=PlatformRole.OPERATOR)
    RoleGrant.objects.get_or_create(user=users["analyst"], role=PlatformRole.ANALYST)
    RoleGrant.objects.get_or_create(
        user=users["registrar_sh"], role=PlatformRole.REGISTRAR, region_id="310000"
    )
    RoleGrant.objects.get_or_create(
        user=users["voucher_js"], role=PlatformRole.VOUCHER_OFFICER, region_id="320000"
    )
    RoleGrant.objects.get_or_create(
        user=users["broker_hf"], role=PlatformRole.BROKER, centre=centres["340100"]
    )
    for city, centre in sorted(centres.items()):
        for k in (1, 2):
            broker, _ = User.objects.get_or_create(
                username=f"broker_{city}_{k}",
                defaults=dict(
                    display_name=f"{centre.name_zh}经纪人{k}",
                    email=f"broker_{city}_{k}@demo.invalid",
                    password=password,
                ),
            )
            RoleGrant.objects.get_or_create(user=broker, role=PlatformRole.BROKER, centre=centre)
    # Organisation roles: admins of an SME in Jiangsu and Anhui, a Zhejiang university, a member.
    picks: dict[str, dict[str, Any]] = {
        "enterprise_js": dict(province_id="320000", party_nature="170", is_sme=True),
        "enterprise_ah": dict(province_id="340000", party_nature="150", is_sme=True),
        "university_zj": dict(province_id="330000", party_nature="022"),
        "member_sh": dict(province_id="310000", party_nature="150"),
    }
    for username, filters in picks.items():
        org = Organisation.objects.filter(is_synthetic=True, **filters).order_by("id").first()
        if org is None:
            continue
        role = OrgRole.MEMBER if username == "member_sh" else OrgRole.ADMIN
        Membership.objects.get_or_create(
            user=users[username], organisation=org, defaults={"role": role}
        )
    ctx.report["users"] = User.objects.count()
