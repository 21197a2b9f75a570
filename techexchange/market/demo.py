"""Synthetic market demo data: offers, requests, challenges, EoIs and deals across the YRD.

Texts are assembled from invented technology themes (nothing copied from real listings or
from the evaluation data); records are written in bulk and carry `is_synthetic`. Deterministic
for a seed and idempotent: a rerun finds the synthetic listings and adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from techexchange.accounts.models import Organisation, RoleGrant, TransferCentre, User
from techexchange.core import clock
from techexchange.core.demo import DemoContext
from techexchange.market.codes import DealStage, EoiStatus, ListingKind, ListingStatus
from techexchange.market.models import (
    Challenge,
    ChallengeObjective,
    Deal,
    DealBroker,
    ExpressionOfInterest,
    Listing,
    MilestoneTemplate,
    NdaVersion,
    SearchOutbox,
    TechnologyOffer,
    TechnologyRequest,
)

__all__ = ["seed_market"]

# (field, chain node, theme, object, tech keywords, market keywords)
THEMES: list[tuple[str, str, str, str, list[str], list[str]]] = [
    (
        "new_energy",
        "材料",
        "硫化物固态电解质",
        "全固态锂电池",
        ["固态电解质", "锂电池", "界面改性"],
        ["储能", "新能源汽车"],
    ),
    (
        "new_energy",
        "模组",
        "钙钛矿叠层光伏组件封装",
        "光伏电站",
        ["钙钛矿", "叠层电池", "封装"],
        ["光伏", "建筑一体化"],
    ),
    (
        "electronic_info",
        "器件",
        "车规级碳化硅功率模块",
        "电驱系统",
        ["碳化硅", "功率模块", "银烧结"],
        ["新能源汽车", "充电桩"],
    ),
    (
        "electronic_info",
        "应用",
        "工业视觉缺陷检测算法",
        "产线质检",
        ["机器视觉", "深度学习", "缺陷检测"],
        ["电子制造", "汽车零部件"],
    ),
    (
        "advanced_manufacturing",
        "整机",
        "五轴联动数控系统",
        "精密加工中心",
        ["数控系统", "五轴联动", "误差补偿"],
        ["航空结构件", "模具"],
    ),
    (
        "advanced_manufacturing",
        "器件",
        "协作机器人关节减速器",
        "协作机器人",
        ["谐波减速器", "力矩控制", "机器人"],
        ["3C装配", "医疗机器人"],
    ),
    (
        "bio_medical",
        "应用",
        "肿瘤早筛甲基化检测试剂盒",
        "体外诊断",
        ["甲基化", "液体活检", "早筛"],
        ["医院检验科", "体检中心"],
    ),
    (
        "bio_medical",
        "材料",
        "可降解镁合金血管支架",
        "介入器械",
        ["镁合金", "可降解", "血管支架"],
        ["心血管介入"],
    ),
    (
        "new_materials",
        "材料",
        "高导热氮化硼复合材料",
        "电子散热",
        ["氮化硼", "导热", "复合材料"],
        ["消费电子", "服务器"],
    ),
    (
        "new_materials",
        "材料",
        "碳纤维复合材料快速固化树脂",
        "轻量化结构件",
        ["碳纤维", "树脂", "快速固化"],
        ["轨道交通", "低空飞行器"],
    ),
    (
        "environment",
        "应用",
        "高盐废水分盐结晶工艺",
        "零排放处理",
        ["分盐结晶", "膜浓缩", "高盐废水"],
        ["煤化工", "印染"],
    ),
    (
        "agriculture",
        "应用",
        "水稻病虫害图像识别",
        "智慧植保",
        ["图像识别", "病虫害", "无人机"],
        ["种植合作社"],
    ),
    (
        "transport",
        "整机",
        "氢燃料电池重卡动力系统",
        "港口物流",
        ["燃料电池", "电堆", "热管理"],
        ["物流", "港口"],
    ),
    (
        "urban_social",
        "应用",
        "城市燃气管网泄漏监测",
        "城市生命线",
        ["光纤传感", "泄漏监测", "数字孪生"],
        ["燃气公司", "城市管理"],
    ),
]
PROVINCES = ["310000", "320000", "330000", "340000"]
SELLER_NATURES = ["021", "022", "150", "160"]
BUYER_NATURES = ["150", "160", "170", "110"]


@transaction.atomic
def seed_market(ctx: DemoContext) -> None:
    """Offers, requests, EoIs, deals and challenges (bulk writes; under a second at scale 1)."""
    if Listing.objects.filter(is_synthetic=True).exists():
        ctx.report["market listings"] = Listing.objects.count()
        return
    rng = ctx.rng("market")
    now = clock.now()
    creator = (
        User.objects.filter(username="operator").first() or User.objects.order_by("id").first()
    )
    if creator is None:
        return
    orgs: dict[str, dict[str, list[int]]] = {p: {"sell": [], "buy": []} for p in PROVINCES}
    for pk, prov, nature in Organisation.objects.filter(
        is_synthetic=True, province_id__in=PROVINCES
    ).values_list("id", "province_id", "party_nature"):
        if nature in SELLER_NATURES:
            orgs[prov]["sell"].append(pk)
        if nature in BUYER_NATURES:
            orgs[prov]["buy"].append(pk)
    centres = list(TransferCentre.objects.filter(parent__isnull=False).order_by("code"))
    n_offers, n_requests = ctx.count(400, 20), ctx.count(200, 10)
    offers: list[TechnologyOffer] = []
    for i in range(n_offers):
        field, node, theme, obj, tk, mk = rng.choice(THEMES)
        prov = rng.choice(PROVINCES)
        if not orgs[prov]["sell"]:
            continue
        age = rng.randint(0, 300)
        price = Decimal(rng.choice([30, 50, 80, 120, 200, 500])) * 10000
        offers.append(
            TechnologyOffer(
                kind=ListingKind.OFFER,
                owner_id=rng.choice(orgs[prov]["sell"]),
                created_by=creator,
                centre=rng.choice(centres) if centres else None,
                title_zh=f"{theme}技术{'及其制备工艺' if node == '材料' else '及应用'}（{i + 1}）",
                title_en=f"{theme} technology ({i + 1})" if rng.random() < 0.5 else "",
                summary_zh=(
                    f"本成果面向{obj}，突破{tk[0]}关键工艺，主要性能指标优于行业平均水平，"
                    f"已完成{rng.choice(['小试', '中试', '示范应用'])}，"
                    f"可提供{rng.choice(['专利许可', '技术转让', '合作开发'])}。"
                ),
                description_zh=(
                    f"技术路线：以{tk[1]}为核心，结合{tk[-1]}，形成可复制的工艺包；"
                    "配套检测方法与质量标准。（演示数据）"
                ),
                tech_field=field,
                tech_keywords=tk,
                market_keywords=mk,
                chain_node=node,
                cooperation_modes=rng.sample(["transfer", "licence", "joint_dev", "service"], 2),
                transaction_mode="negotiated",
                partner_types=["enterprise"],
                contact_name="技术转移办公室",
                maturity=rng.randint(3, 8),
                ip_status=rng.choice(["granted", "applied", "secret"]),
                achievement_type="patent",
                price_min=price,
                price_max=price * 2,
                status=ListingStatus.PUBLISHED,
                first_published_at=now - timedelta(days=age),
                published_at=now - timedelta(days=age),
                last_confirmed_at=now - timedelta(days=rng.randint(0, age)),
                valid_until=now - timedelta(days=age) + timedelta(days=365),
                is_synthetic=True,
            )
        )
    requests: list[TechnologyRequest] = []
    for i in range(n_requests):
        field, node, theme, obj, tk, mk = rng.choice(THEMES)
        prov = rng.choice(PROVINCES)
        if not orgs[prov]["buy"]:
            continue
        age = rng.randint(0, 200)
        requests.append(
            TechnologyRequest(
                kind=ListingKind.REQUEST,
                owner_id=rng.choice(orgs[prov]["buy"]),
                created_by=creator,
                centre=rng.choice(centres) if centres else None,
                title_zh=f"寻求{obj}用{theme}解决方案（{i + 1}）",
                summary_zh=f"我公司从事{mk[0]}相关业务，现有产品在{tk[0]}方面存在瓶颈，寻求成熟技术或联合开发，预算可议。",
                description_zh=f"现有工艺良率偏低，希望引入{tk[1]}技术并完成小批量验证。（演示数据）",
                problem=f"{obj}中{tk[0]}性能不足，影响产品可靠性与成本。",
                targets=[{"metric": f"{tk[0]}性能", "value": "提升30%", "unit": ""}],
                acceptance_test="第三方检测报告与小批量试产验证",
                tech_field=field,
                tech_keywords=tk[:2],
                market_keywords=mk,
                chain_node=node,
                cooperation_modes=["licence", "joint_dev"],
                partner_types=["university", "institute"],
                target_regions=rng.sample(PROVINCES, 2),
                maturity_min=5,
                maturity_max=8,
                budget_max=Decimal(rng.choice([50, 100, 200, 300])) * 10000,
                status=ListingStatus.PUBLISHED,
                first_published_at=now - timedelta(days=age),
                published_at=now - timedelta(days=age),
                last_confirmed_at=now - timedelta(days=age),
                valid_until=now - timedelta(days=age) + timedelta(days=365),
                is_synthetic=True,
            )
        )
    # Multi-table inheritance cannot bulk_create children; save one by one (small counts).
    for listing in [*offers, *requests]:
        listing.save()
    NdaVersion.objects.bulk_create(
        NdaVersion(
            listing=x,
            version=1,
            created_at=now,
            text="接收方对详细内容保密，仅用于评估合作（演示）。",
        )
        for x in [*offers, *requests]
    )
    SearchOutbox.objects.bulk_create(
        SearchOutbox(listing_id=x.pk, kind=x.kind) for x in [*offers, *requests]
    )
    _seed_eois_and_deals(ctx, rng, offers, requests, centres, creator, now)
    _seed_challenges(ctx, rng, orgs, creator, now)
    ctx.report["market listings"] = Listing.objects.count()
    ctx.report["market deals"] = Deal.objects.count()


def _seed_eois_and_deals(
    ctx: DemoContext,
    rng: Any,
    offers: list[TechnologyOffer],
    requests: list[TechnologyRequest],
    centres: list[TransferCentre],
    creator: User,
    now: Any,
) -> None:
    brokers = {
        g.centre_id: g.user for g in RoleGrant.objects.filter(role="broker").select_related("user")
    }
    reasons = ["too_early", "price", "ip", "capacity", "not_relevant", "benefit_unclear"]
    for req in requests[: ctx.count(120, 6)]:
        same = [o for o in offers if o.tech_field == req.tech_field] or offers
        offer = rng.choice(same)
        status = rng.choices([EoiStatus.ACCEPTED, EoiStatus.DECLINED, EoiStatus.SENT], [4, 3, 2])[0]
        eoi = ExpressionOfInterest.objects.create(
            listing=offer,
            organisation_id=req.owner_id,
            sent_by=creator,
            intended_mode="licence",
            message="贵单位成果与我司需求契合，希望进一步交流技术细节与合作方式。",
            status=status,
            decline_reason=rng.choice(reasons) if status == EoiStatus.DECLINED else "",
            sent_at=now - timedelta(days=rng.randint(5, 90)),
            decided_at=now - timedelta(days=rng.randint(0, 4))
            if status != EoiStatus.SENT
            else None,
        )
        if status != EoiStatus.ACCEPTED or not centres:
            continue
        centre = rng.choice(centres)
        stage = rng.choice(
            [
                DealStage.INTRO,
                DealStage.NDA,
                DealStage.DUE_DILIGENCE,
                DealStage.TERMS,
                DealStage.SIGNED,
                DealStage.CLOSED_LOST,
            ]
        )
        amount = Decimal(rng.randint(20, 300)) * 10000
        deal = Deal.objects.create(
            title=f"{offer.title_zh[:40]}许可项目",
            offer=offer,
            request=req,
            eoi=eoi,
            seller_id=offer.owner_id,
            buyer_id=req.owner_id,
            stage=stage,
            originating_centre=centre,
            closing_centre=rng.choice([centre, *centres[:3]]),
            next_action="组织技术交流会",
            next_action_due=(now + timedelta(days=rng.randint(3, 30))).date(),
            amount=amount if stage == DealStage.SIGNED else None,
            lost_reason="买方预算调整" if stage == DealStage.CLOSED_LOST else "",
            tech_field=offer.tech_field,
            created_by=creator,
            created_at=now - timedelta(days=30),
            updated_at=now - timedelta(days=rng.randint(0, 20)),
            is_synthetic=True,
        )
        lead = brokers.get(centre.pk) or creator
        DealBroker.objects.create(
            deal=deal, broker=lead, centre=centre, is_lead=True, share=Decimal("100")
        )


def _seed_challenges(
    ctx: DemoContext, rng: Any, orgs: dict[str, dict[str, list[int]]], creator: User, now: Any
) -> None:
    topics = [
        ("车规级碳化硅功率模块封装", "electronic_info"),
        ("长寿命钠离子储能电池", "new_energy"),
        ("高端医用导管精密挤出", "bio_medical"),
        ("大尺寸硅片低损伤切割", "advanced_manufacturing"),
    ]
    for k, (topic, field) in enumerate(topics[: ctx.count(4, 2)]):
        prov = PROVINCES[k % 4]
        if not orgs[prov]["buy"]:
            continue
        parallel = k % 2 == 0
        ch = Challenge.objects.create(
            title_zh=f"{topic}关键技术攻关",
            sponsor_id=orgs[prov]["buy"][0],
            created_by=creator,
            problem=f"{topic}的良率与寿命制约国产替代，面向长三角揭榜攻关。",
            tech_field=field,
            reward=Decimal(rng.choice([300, 500, 800])) * 10000,
            funding_model="发榜方出资，地方配套",
            eligibility="不设年龄、学历、职称限制，具备攻关能力的团队均可揭榜。",
            selection_mode="parallel" if parallel else "single",
            max_teams=2 if parallel else 1,
            ip_terms="背景知识产权归各自所有，攻关成果由发榜方优先受让。",
            deadline=now + timedelta(days=30 + 10 * k),
            status="open",
            is_synthetic=True,
        )
        ChallengeObjective.objects.create(
            challenge=ch,
            metric="关键性能指标",
            target="提升50%",
            verification="第三方检测",
            weight=70,
        )
        ChallengeObjective.objects.create(
            challenge=ch, metric="成本", target="下降20%", verification="用户单位核算", weight=30
        )
        MilestoneTemplate.objects.create(
            challenge=ch, order=1, title="样品验证", months=6, payment_share=Decimal("30")
        )
        MilestoneTemplate.objects.create(
            challenge=ch, order=2, title="小批量验证", months=12, payment_share=Decimal("70")
        )
