"""Synthetic demo data for resources: facilities, instruments, bases, experts, bookings, usage.

Names, specs and prices are modelled on real instrument types and list prices but every record
is invented (`is_synthetic`). Deterministic for a seed and idempotent: a rerun adds nothing.
At scale 1 there are 6 major facilities, 370 instruments, 32 bases, 2,000 experts; at scale
100 the seed's 22 / 37,000 / 315 / 200,000.

History (past bookings and their service records) is written in bulk, not through the booking
service, because its rules refuse the past; the slots are generated back to back per instrument
so they respect the same invariants (no overlap, on the grid, none over an outage).
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from techexchange.accounts.models import Membership, Organisation, OrgRole, User
from techexchange.core import clock
from techexchange.core.demo import DEMO_PASSWORD, DemoContext
from techexchange.resources import freetime, indexing
from techexchange.resources.models import (
    Booking,
    BookingPolicy,
    Expert,
    Facility,
    Instrument,
    InstrumentService,
    OpenHours,
    ResearchBase,
    UsageRecord,
)

__all__ = ["seed_resources"]

# (name zh, name en, category, [(maker, model)], specs, functions, value range 万元, hourly ¥)
TEMPLATES: list[tuple[str, str, str, list[tuple[str, str]], str, str, tuple[int, int], int]] = [
    ("场发射扫描电子显微镜", "Field-emission scanning electron microscope", "010100",
     [("蔡司", "Sigma 300"), ("日立", "SU8010"), ("赛默飞", "Apreo 2"), ("日本电子", "JSM-IT800")],
     "分辨率 0.8 nm@15 kV、1.6 nm@1 kV；加速电压 0.02–30 kV；放大倍数 12–2,000,000×；"
     "配能谱仪（EDS）",
     "材料表面形貌观察、微区成分分析、断口与失效分析", (300, 900), 450),
    ("台式扫描电镜", "Tabletop scanning electron microscope", "010100",
     [("飞纳", "Phenom XL G2"), ("日立", "TM4000Plus II")],
     "分辨率 < 10 nm；放大倍数 20–200,000×；样品仓 100 mm × 100 mm；背散射与二次电子探测器",
     "快速形貌观察、颗粒统计、质量检验", (50, 120), 200),
    ("透射电子显微镜", "Transmission electron microscope", "010100",
     [("赛默飞", "Talos F200X"), ("日本电子", "JEM-2100F")],
     "点分辨率 0.19 nm，线分辨率 0.10 nm；加速电压 200 kV；STEM-HAADF；EDS 面扫描",
     "纳米材料结构、晶格像、电子衍射、元素分布", (800, 2500), 1200),
    ("X射线衍射仪", "X-ray diffractometer", "010300",
     [("布鲁克", "D8 Advance"), ("理学", "SmartLab 9kW")],
     "Cu 靶，2θ 范围 −110°–168°，测角重现性 0.0001°；高温附件至 1200 ℃",
     "物相定性定量分析、晶粒尺寸、残余应力、薄膜掠入射", (150, 400), 300),
    ("X射线光电子能谱仪", "X-ray photoelectron spectrometer", "010300",
     [("赛默飞", "ESCALAB Xi+"), ("岛津", "AXIS Supra+")],
     "单色化 Al Kα 源；能量分辨率 ≤ 0.45 eV；最小束斑 20 μm；深度剖析离子枪",
     "表面元素组成与化学态分析、深度剖析", (500, 900), 800),
    ("液相色谱-质谱联用仪", "Liquid chromatography-mass spectrometer", "010200",
     [("安捷伦", "6546 Q-TOF"), ("沃特世", "Xevo TQ-XS"), ("赛默飞", "Orbitrap Exploris 480")],
     "质量范围 50–6,000 m/z；分辨率 ≥ 45,000 FWHM；质量精度 < 1 ppm",
     "小分子定性定量、代谢组学、药物杂质分析", (300, 800), 600),
    ("气相色谱-质谱联用仪", "Gas chromatography-mass spectrometer", "010200",
     [("安捷伦", "8890-5977B"), ("岛津", "GCMS-QP2020 NX")],
     "质量范围 1.5–1,050 u；EI/CI 源；检测限 1.5 fg OFN",
     "挥发性有机物分析、环境污染物、香精香料", (80, 200), 300),
    ("电感耦合等离子体质谱仪", "Inductively coupled plasma mass spectrometer", "010200",
     [("安捷伦", "7900"), ("赛默飞", "iCAP RQ")],
     "质量范围 2–260 amu；检出限 ppt 级；碰撞反应池",
     "痕量与超痕量元素分析、同位素比值", (150, 300), 400),
    ("高效液相色谱仪", "High-performance liquid chromatograph", "010500",
     [("安捷伦", "1260 Infinity II"), ("岛津", "LC-20AD")],
     "四元梯度泵；流速 0.001–10 mL/min；二极管阵列检测器 190–950 nm",
     "药物含量测定、有机物分离纯度分析", (50, 120), 150),
    ("核磁共振波谱仪", "Nuclear magnetic resonance spectrometer", "010600",
     [("布鲁克", "AVANCE NEO 600 MHz"), ("日本电子", "JNM-ECZ400S")],
     "磁场 9.4–14.1 T；宽带探头；变温 −150–180 ℃；二维谱",
     "有机结构鉴定、固体核磁、动力学研究", (400, 1500), 500),
    ("傅里叶变换红外光谱仪", "Fourier-transform infrared spectrometer", "010400",
     [("赛默飞", "Nicolet iS50"), ("布鲁克", "INVENIO R")],
     "光谱范围 7,800–350 cm⁻¹；分辨率 0.09 cm⁻¹；ATR 与显微红外附件",
     "官能团鉴定、高分子材料分析、微区红外", (60, 150), 150),
    ("激光扫描共聚焦显微镜", "Confocal laser scanning microscope", "010800",
     [("蔡司", "LSM 980"), ("徕卡", "STELLARIS 5"), ("尼康", "AX R")],
     "激光 405/488/561/640 nm；分辨率 120 nm（Airyscan）；活细胞培养系统",
     "细胞成像、荧光共定位、三维重构", (200, 600), 350),
    ("原子力显微镜", "Atomic force microscope", "010800",
     [("布鲁克", "Dimension Icon"), ("牛津仪器", "Cypher ES")],
     "噪声 < 30 pm；扫描范围 90 μm × 90 μm；PeakForce 定量纳米力学",
     "表面形貌、粗糙度、纳米力学与电学性质", (150, 400), 300),
    ("同步热分析仪", "Simultaneous thermal analyser", "010900",
     [("耐驰", "STA 449 F3"), ("梅特勒-托利多", "TGA/DSC 3+")],
     "温度范围 室温–1,600 ℃；天平分辨率 0.1 μg；可联用红外与质谱",
     "热稳定性、分解温度、相变与比热", (60, 150), 200),
    ("流式细胞仪", "Flow cytometer", "011000",
     [("BD", "FACSymphony A5"), ("贝克曼库尔特", "CytoFLEX LX")],
     "激光 5 根；检测参数 30 色；灵敏度 < 80 MESF（FITC）",
     "细胞表型、细胞周期、凋亡检测", (200, 600), 300),
    ("电子万能材料试验机", "Universal testing machine", "020100",
     [("英斯特朗", "5982"), ("岛津", "AG-X plus 100kN")],
     "最大载荷 100 kN；力值精度 ±0.5%；高低温环境箱 −70–350 ℃",
     "拉伸、压缩、弯曲、剥离力学性能测试", (60, 200), 200),
    ("激光粒度分析仪", "Laser diffraction particle size analyser", "020500",
     [("马尔文帕纳科", "Mastersizer 3000")],
     "测量范围 0.01–3,500 μm；干湿法进样",
     "粉体、乳液粒径分布测定", (50, 100), 150),
    ("矢量网络分析仪", "Vector network analyser", "040200",
     [("是德科技", "PNA-X N5247B"), ("罗德与施瓦茨", "ZNA67")],
     "频率范围 10 MHz–67 GHz；动态范围 > 120 dB；四端口",
     "射频器件 S 参数、天线与微波电路测试", (200, 600), 500),
    ("半导体参数分析仪", "Semiconductor parameter analyser", "040500",
     [("是德科技", "B1500A")],
     "电流分辨率 0.1 fA；电压 ±200 V；C-V 与脉冲 I-V 模块",
     "晶体管特性、器件可靠性、晶圆级测试", (150, 300), 400),
    ("工业计算机断层扫描系统", "Industrial computed tomography system", "110100",
     [("蔡司", "METROTOM 1500"), ("尼康", "XT H 450")],
     "射线源 225–450 kV；体素 4 μm；最大样品 Φ350 mm × 600 mm",
     "内部缺陷无损检测、尺寸测量、逆向工程", (400, 1200), 700),
    ("高性能计算集群", "High-performance computing cluster", "130200",
     [("曙光", "TC6600"), ("浪潮", "NF5280M6 集群")],
     "计算节点 128 个；双精度峰值 500 TFLOPS；并行存储 2 PB",
     "数值模拟、分子动力学、人工智能训练", (800, 3000), 100),
    ("飞秒激光器", "Femtosecond laser", "140100",
     [("相干", "Astrella"), ("光谱物理", "Spitfire Ace")],
     "脉宽 < 35 fs；单脉冲能量 7 mJ；重复频率 1 kHz；中心波长 800 nm",
     "超快光谱、激光微加工、非线性光学", (300, 900), 600),
    ("高低温湿热试验箱", "Temperature and humidity chamber", "120400",
     [("爱斯佩克", "ARS-1100"), ("伟思富奇", "C 340")],
     "温度 −70–180 ℃；湿度 10–98% RH；容积 1,000 L",
     "电子产品环境可靠性试验", (30, 80), 80),
    ("中试反应釜装置", "Pilot-scale reactor", "120500",
     [("森松", "PR-500L"), ("自研", "中试线 II 期")],
     "容积 500 L；设计压力 1.0 MPa；温度 −20–250 ℃；防爆",
     "工艺放大、小批量试制、工艺验证", (200, 800), 900),
    ("三坐标测量机", "Coordinate measuring machine", "030100",
     [("海克斯康", "GLOBAL S"), ("蔡司", "CONTURA G2")],
     "测量范围 1,000 × 1,200 × 800 mm；示值误差 1.5 + L/350 μm",
     "精密零件尺寸与形位公差检测", (100, 300), 300),
]  # fmt: skip

MAJOR_FACILITIES = [
    ("上海光源", "Shanghai Synchrotron Radiation Facility", "310100"),
    ("全超导托卡马克核聚变实验装置", "Experimental Advanced Superconducting Tokamak", "340100"),
    (
        "国家蛋白质科学研究（上海）设施",
        "National Facility for Protein Science in Shanghai",
        "310100",
    ),
    ("稳态强磁场实验装置", "Steady High Magnetic Field Facility", "340100"),
    ("未来网络试验设施", "China Environment for Network Innovations", "320100"),
    (
        "超重力离心模拟与实验装置",
        "Centrifugal Hypergravity and Interdisciplinary Facility",
        "330100",
    ),
    ("上海超强超短激光实验装置", "Shanghai Superintense Ultrafast Laser Facility", "310100"),
    ("合肥同步辐射装置", "Hefei Light Source", "340100"),
    ("软X射线自由电子激光装置", "Shanghai Soft X-ray FEL", "310100"),
    ("硬X射线自由电子激光装置", "Shanghai High Repetition Rate XFEL", "310100"),
    (
        "聚变堆主机关键系统综合研究设施",
        "Comprehensive Research Facility for Fusion Technology",
        "340100",
    ),
    ("活细胞结构与功能成像等线站工程", "Live-cell Imaging Beamlines", "310100"),
    ("高效低碳燃气轮机试验装置", "Low-carbon Gas Turbine Test Facility", "310100"),
    ("大型地震工程模拟研究设施", "Earthquake Engineering Simulation Facility", "320100"),
    ("极弱磁场重大科技基础设施（杭州部分）", "Zero-magnetic-field Facility (Hangzhou)", "330100"),
    ("长三角先进材料中试平台", "YRD Advanced Materials Pilot Platform", "320500"),
    ("深海科考装备试验设施", "Deep-sea Equipment Test Facility", "330200"),
    ("集成电路先进工艺验证平台", "Advanced IC Process Validation Platform", "310100"),
    ("量子信息与量子科技创新研究设施", "Quantum Information Research Facility", "340100"),
    ("感存算一体化超级中试中心", "Sensing-Storage-Computing Super Pilot Centre", "310100"),
    ("智能网联汽车综合试验场", "Connected Vehicle Proving Ground", "320500"),
    ("海洋综合科学考察船平台", "Ocean Research Vessel Platform", "310100"),
]

BASE_FIELDS = [
    "新型陶瓷与精细工艺", "纳米器件与应用", "生物反应器工程", "高分子材料", "集成光电子",
    "微电子与固体电子学", "遗传工程", "药物研究", "土木工程防灾", "海洋动力过程",
    "先进焊接", "金属基复合材料", "数字制造装备", "农业生物技术", "环境模拟与污染控制",
    "化学工程", "电力设备电气绝缘", "流体动力与机电系统", "智能感知", "量子通信",
]  # fmt: skip
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红文斌宁波晨曦瑞")
TITLES = ["研究员", "教授", "副研究员", "副教授", "高级工程师", "正高级工程师"]


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _holders(rng: random.Random) -> list[Organisation]:
    holders = list(
        Organisation.objects.filter(is_synthetic=True, party_nature__in=["021", "022", "023"])
        .exclude(city=None)
        .order_by("pk")
    )
    return holders or list(Organisation.objects.exclude(city=None).order_by("pk")[:20])


def _policies() -> list[BookingPolicy]:
    specs: list[dict[str, Any]] = [
        dict(name="标准共享规则（演示）", buffer_minutes=0),
        dict(name="需审批的大型设备（演示）", requires_approval=True, buffer_minutes=30,
             max_hours_per_week=16),
        dict(name="需上机培训（演示）", requires_qualification=True, max_hours_per_day=8),
    ]  # fmt: skip
    out = []
    for spec in specs:
        policy, _ = BookingPolicy.objects.get_or_create(name=spec["name"], defaults=spec)
        out.append(policy)
    return out


@transaction.atomic
def seed_resources(ctx: DemoContext) -> None:
    """Create facilities, instruments, research bases, experts, bookings and usage."""
    rng = ctx.rng("resources")
    holders = _holders(rng)
    if not holders:
        return
    policies = _policies()
    facilities = _seed_facilities(ctx, rng, holders)
    n_new = _seed_instruments(ctx, rng, holders, facilities, policies)
    _seed_bases(ctx, rng, holders)
    _seed_experts(ctx, rng)
    _seed_bookings(ctx, rng)
    # Bookings went in bulk, behind the services: build the availability summary once.
    freetime.rebuild(now=clock.now())
    if n_new:
        transaction.on_commit(indexing.rebuild_index)
    ctx.report["major facilities"] = Facility.objects.filter(kind="major").count()
    ctx.report["instruments"] = Instrument.objects.count()
    ctx.report["research bases"] = ResearchBase.objects.count()
    ctx.report["experts"] = Expert.objects.count()
    ctx.report["bookings"] = Booking.objects.count()


def _seed_facilities(
    ctx: DemoContext, rng: random.Random, holders: list[Organisation]
) -> list[Facility]:
    by_city: dict[str, list[Organisation]] = {}
    for h in holders:
        by_city.setdefault(str(h.city_id), []).append(h)
    n_major = min(len(MAJOR_FACILITIES), ctx.count(6))
    out = []
    for name_zh, name_en, city in MAJOR_FACILITIES[:n_major]:
        holder = rng.choice(by_city.get(city) or holders)
        f, _ = Facility.objects.get_or_create(
            name_zh=f"{name_zh}（演示）",
            defaults=dict(
                name_en=name_en, kind="major", holder=holder, province_id=city[:2] + "0000",
                city_id=city, description="（演示数据）国家重大科研基础设施，面向长三角开放共享。",
                contact_name="开放共享办公室", contact_phone="021-0000 0000", is_synthetic=True,
            ),
        )  # fmt: skip
        out.append(f)
    kinds = ["centre", "centre", "service_unit", "pilot_line"]
    labels = {
        "centre": "分析测试中心",
        "service_unit": "公共技术服务平台",
        "pilot_line": "中试基地",
    }
    for k in range(ctx.count(40)):
        holder = holders[k % len(holders)]
        kind = kinds[k % len(kinds)]
        f, _ = Facility.objects.get_or_create(
            name_zh=f"{holder.name_zh}{labels[kind]}",
            defaults=dict(
                kind=kind, holder=holder, province_id=holder.province_id, city_id=holder.city_id,
                description="（演示数据）", is_synthetic=True,
            ),
        )  # fmt: skip
        out.append(f)
    return out


def _seed_instruments(
    ctx: DemoContext,
    rng: random.Random,
    holders: list[Organisation],
    facilities: list[Facility],
    policies: list[BookingPolicy],
) -> int:
    target = ctx.count(370, minimum=20)
    existing = Instrument.objects.filter(is_synthetic=True).count()
    if existing >= target:
        return 0
    by_holder: dict[int, list[Facility]] = {}
    for f in facilities:
        by_holder.setdefault(f.holder_id, []).append(f)
    states = ["normal"] * 16 + ["standby", "remote", "occasional_fault", "awaiting_repair"]
    today = clock.today()
    batch: list[Instrument] = []
    plans: list[tuple[int, int, int]] = []
    for serial in range(existing + 1, target + 1):
        t = TEMPLATES[rng.randrange(len(TEMPLATES))]
        name_zh, name_en, cat, makers, specs, functions, (vlo, vhi), hourly = t
        maker, model = rng.choice(makers)
        holder = holders[rng.randrange(len(holders))]
        facility = rng.choice(by_holder[holder.pk]) if by_holder.get(holder.pk) else None
        value = Decimal(rng.randint(vlo * 100, vhi * 100)) / 100
        batch.append(
            Instrument(
                asset_id=f"DEMO-{serial:06d}", name_zh=name_zh, name_en=name_en, holder=holder,
                facility=facility, category_id=cat, source="bought", original_value=value,
                country="156" if maker in ("曙光", "浪潮", "自研", "森松", "伟思富奇") else
                rng.choice(["840", "276", "392", "826"]),
                manufacturer=maker, model_number=model,
                commissioned_on=today - timedelta(days=rng.randint(200, 3650)),
                specs=specs, functions=functions,
                disciplines=rng.choice(["材料科学;物理学", "化学;生物学", "电子信息;物理学",
                                        "生物医学工程;药学", "机械工程;材料科学"]),
                service_content="占用共享、技术共享与委托测试", state=rng.choice(states),
                sharing_mode="external" if rng.random() < 0.9 else "internal",
                sharing_rules="按《大型科研仪器开放共享管理办法》执行（演示）",
                fee_standard="按服务项目收费，企业用户执行企业价（演示）",
                province_id=holder.province_id, city_id=holder.city_id,
                address=holder.address, contact_name="仪器管理员",
                contact_phone=f"0{rng.randint(10, 99)}-{rng.randint(10000000, 99999999)}",
                policy=policies[rng.randrange(len(policies))], is_synthetic=True,
            )
        )  # fmt: skip
        plans.append((hourly, rng.randint(80, 130), rng.randint(0, 9)))
    Instrument.objects.bulk_create(batch, batch_size=2000)
    created = list(
        Instrument.objects.filter(is_synthetic=True, asset_id__in=[i.asset_id for i in batch])
        .order_by("asset_id")
        .values_list("pk", "asset_id")
    )
    services: list[InstrumentService] = []
    hours: list[OpenHours] = []
    for (pk, _asset), (hourly, pct, flag) in zip(created, plans, strict=True):
        base = Decimal(hourly * pct) / 100
        services.append(
            InstrumentService(
                instrument_id=pk, name="机时使用", mode="occupy" if flag < 6 else "technical",
                unit="hour", price_internal=(base * Decimal("0.5")).quantize(Decimal("1")),
                price_external=base.quantize(Decimal("1")),
                price_enterprise=(base * Decimal("1.5")).quantize(Decimal("1")),
            )
        )  # fmt: skip
        services.append(
            InstrumentService(
                instrument_id=pk, name="委托测试", mode="entrusted", unit="sample",
                price_internal=(base * Decimal("0.4")).quantize(Decimal("1")),
                price_external=(base * Decimal("0.8")).quantize(Decimal("1")),
                price_enterprise=(base * Decimal("1.2")).quantize(Decimal("1")),
            )
        )  # fmt: skip
        if flag >= 7:
            services.append(
                InstrumentService(
                    instrument_id=pk, name="远程测试", mode="remote", unit="run",
                    price_internal=base, price_external=base * 2, price_enterprise=base * 3,
                )
            )  # fmt: skip
        if flag < 5:
            hours += [
                OpenHours(instrument_id=pk, weekday=d, opens=time(8), closes=time(20))
                for d in range(5)
            ]
    InstrumentService.objects.bulk_create(services, batch_size=5000)
    OpenHours.objects.bulk_create(hours, batch_size=5000)
    return len(batch)


def _seed_bases(ctx: DemoContext, rng: random.Random, holders: list[Organisation]) -> None:
    target = min(315, ctx.count(32, minimum=5))
    existing = ResearchBase.objects.filter(is_synthetic=True).count()
    kinds = ["key_lab"] * 5 + ["eng_centre"] * 2 + ["innov_centre", "field_station", "clinical"]
    batch = []
    for n in range(existing + 1, target + 1):
        holder = holders[n % len(holders)]
        field = BASE_FIELDS[n % len(BASE_FIELDS)]
        kind = kinds[n % len(kinds)]
        suffix = {"key_lab": "全国重点实验室", "eng_centre": "国家工程技术研究中心",
                  "innov_centre": "国家技术创新中心", "field_station": "国家野外科学观测研究站",
                  "clinical": "国家临床医学研究中心"}[kind]  # fmt: skip
        batch.append(
            ResearchBase(
                name_zh=f"{field}{suffix}（演示{n}）", kind=kind, holder=holder,
                province_id=holder.province_id, city_id=holder.city_id, fields=field,
                description="（演示数据）依托单位的国家级科研基地。",
                approved_year=rng.randint(1985, 2024), is_synthetic=True,
            )
        )  # fmt: skip
    ResearchBase.objects.bulk_create(batch, batch_size=2000)


def _seed_experts(ctx: DemoContext, rng: random.Random) -> None:
    target = ctx.count(2000, minimum=20)
    existing = Expert.objects.filter(is_synthetic=True).count()
    if existing >= target:
        return
    orgs = list(
        Organisation.objects.filter(is_synthetic=True)
        .exclude(city=None)
        .values_list("pk", "province_id", "city_id")
    )
    batch = []
    for n in range(existing, target):
        pk, province, city = orgs[n % len(orgs)]
        field = BASE_FIELDS[rng.randrange(len(BASE_FIELDS))]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        batch.append(
            Expert(
                name=name, organisation_id=pk, title=rng.choice(TITLES), fields=field,
                expertise=f"长期从事{field}研究，熟悉{rng.choice(TEMPLATES)[0]}的测试方法与数据解析。",
                province_id=province, city_id=city, is_synthetic=True,
            )
        )  # fmt: skip
        if len(batch) >= 5000:
            Expert.objects.bulk_create(batch)
            batch = []
    Expert.objects.bulk_create(batch)


def _customers(ctx: DemoContext, rng: random.Random) -> list[tuple[int, int, str, str]]:
    """Demo researchers and engineers who book: (user, organisation, category, province)."""
    password = make_password(DEMO_PASSWORD)
    orgs = list(Organisation.objects.filter(is_synthetic=True).exclude(city=None).order_by("pk"))
    out = []
    for k in range(min(len(orgs), ctx.count(60, minimum=10))):
        org = orgs[(k * 7919) % len(orgs)]
        user, _ = User.objects.get_or_create(
            username=f"researcher_{k:04d}",
            defaults=dict(
                display_name=f"演示用户{k}", email=f"r{k}@demo.invalid", password=password
            ),
        )
        Membership.objects.get_or_create(
            user=user, organisation=org, defaults={"role": OrgRole.MEMBER}
        )
        nature = org.party_nature
        category = "enterprise" if nature[:1] in {"1", "2", "3"} else "external"
        out.append((user.pk, org.pk, category, org.province_id))
    return out


def _seed_bookings(ctx: DemoContext, rng: random.Random) -> None:
    if Booking.objects.filter(purpose__startswith="（演示）").exists():
        return
    customers = _customers(ctx, rng)
    tz = _tz()
    today = clock.today()
    now = clock.now()
    instruments = list(
        Instrument.objects.filter(is_synthetic=True, state__in=["normal", "standby", "remote"])
        .values_list("pk", "holder_id", "province_id")
        .order_by("pk")
    )
    services = {
        s["instrument_id"]: (s["pk"], s["price_enterprise"], s["price_external"])
        for s in InstrumentService.objects.filter(
            instrument_id__in=[i[0] for i in instruments], mode__in=["occupy", "technical"]
        ).values("pk", "instrument_id", "price_enterprise", "price_external")
    }
    bookings: list[Booking] = []
    usage_plan: list[tuple[int, dict[str, Any]]] = []
    for pk, holder_id, province in instruments:
        sessions = rng.randint(0, 14)
        day = today - timedelta(days=rng.randint(100, 180))
        svc = services.get(pk)
        for _s in range(sessions):
            day += timedelta(days=rng.randint(2, 12))
            if day >= today:
                break
            start = datetime.combine(day, time(rng.choice([9, 10, 13, 14])), tzinfo=tz)
            hours = rng.choice([1, 2, 2, 3, 4])
            end = start + timedelta(hours=hours)
            user, org, category, cprov = rng.choice(customers)
            fate = rng.random()
            status = "completed" if fate < 0.8 else ("no_show" if fate < 0.88 else "cancelled")
            late = status == "cancelled" and rng.random() < 0.4
            bookings.append(
                Booking(
                    instrument_id=pk, service_id=svc[0] if svc else None, user_id=user,
                    organisation_id=org, customer_category=category, starts_at=start,
                    ends_at=end, blocked_until=end, status=status, purpose="（演示）课题测试",
                    created_at=start - timedelta(days=3), late_cancel=late,
                    cancelled_at=start - timedelta(hours=2) if status == "cancelled" else None,
                    checked_in_at=start if status == "completed" else None,
                    finished_at=end if status == "completed" else None,
                )
            )  # fmt: skip
            if status == "completed":
                used = Decimal(hours) - Decimal(rng.choice([0, 0, 0, 25, 50])) / 100
                price = (svc[1] if category == "enterprise" else svc[2]) if svc else Decimal(0)
                usage_plan.append(
                    (
                        len(bookings) - 1,
                        dict(
                            instrument_id=pk, service_id=svc[0] if svc else None, mode="occupy",
                            user_id=user, organisation_id=org, customer_province=cprov,
                            started_at=start, ended_at=start + timedelta(hours=float(used)),
                            hours=used, samples=rng.randint(0, 12), is_external=org != holder_id,
                            is_cross_province=cprov != province, content="（演示）样品测试",
                            project="（演示）国家自然科学基金项目", funding_source="国家级项目",
                            amount=(used * price).quantize(Decimal("0.01")),
                            satisfaction=rng.choice([None, 3, 4, 4, 5, 5, 5]), created_at=end,
                        ),
                    )
                )  # fmt: skip
        # A few future bookings to fill the calendars.
        cursor = datetime.combine(today + timedelta(days=1), time(9), tzinfo=tz)
        for _f in range(rng.randint(0, 3)):
            cursor += timedelta(days=rng.randint(0, 3), hours=rng.choice([0, 1, 4]))
            if cursor.hour >= 18:
                cursor = cursor.replace(hour=9) + timedelta(days=1)
            end = cursor + timedelta(hours=2)
            user, org, category, _cp = rng.choice(customers)
            pending = rng.random() < 0.25
            bookings.append(
                Booking(
                    instrument_id=pk, service_id=svc[0] if svc else None, user_id=user,
                    organisation_id=org, customer_category=category, starts_at=cursor,
                    ends_at=end, blocked_until=end + timedelta(minutes=30),
                    buffer=timedelta(minutes=30), status="pending" if pending else "confirmed",
                    hold_expires_at=min(now + timedelta(days=1), cursor) if pending else None,
                    request_reasons=["approval_required"] if pending else [],
                    purpose="（演示）课题测试", created_at=now,
                )
            )  # fmt: skip
            cursor = end + timedelta(hours=1)
    Booking.objects.bulk_create(bookings, batch_size=5000)
    UsageRecord.objects.bulk_create(
        [UsageRecord(booking_id=bookings[i].pk, **data) for i, data in usage_plan],
        batch_size=5000,
    )
