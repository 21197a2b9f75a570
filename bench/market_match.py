"""Market matching speed: one request against N offers, and the batch of all open requests.

    python bench/market_match.py --offers 1000000 --requests 200 --batch 3000 --processes 2

Builds an index of N synthetic offers (generated from word lists, nothing from shared data)
with the market's own doc type, then times `Matcher.match` for requests (engine time:
wall-clock around the call, in this process) with three profiles: RM3 without the cost
bounds (the ranking before them, pool 200; the search itself no longer counts matches),
`MATCH_RANKING` (terms in more than 10 % of the offers only score, at most 64 selecting
terms, negligible expansion terms left out) with pool 200, and with pool 100 as the market
calls it. Finally the batch path, `Matcher.match_many` over
`--processes` worker processes (pool 100, storing nothing) on `--batch` requests, startup
included, gives the time for 100,000 open requests (measured when `--batch 100000`,
otherwise extrapolated from the batch).

The batch here stores nothing: `bench/market_store.py --index DIR` times the whole recompute
on an index built here, storing included.

`--corpus templated` (the default, as before) writes every offer from one summary template and
~60 content words: each expansion term then has tens of thousands of postings and equal scores,
the worst case. `--corpus varied` draws compound terms (~800 materials, 58 objects, 40
processes, 30 applications, 20 metrics, Zipf-distributed) into six summary templates and a
pool of body sentences with numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from techexchange.market.doctypes import OFFER_DOC  # Django-free: no settings needed
from techexchange.search import MATCH_RANKING, Matcher, Need, SearchIndex

# The matching ranking as it was before the cost bounds (RM3 10 docs / 30 terms only).
NO_CUTOFF = dataclasses.replace(
    MATCH_RANKING, max_df=1.0, max_query_terms=0, feedback_min_share=0.0
)

FIELDS = [
    "electronic_info",
    "advanced_manufacturing",
    "bio_medical",
    "new_materials",
    "new_energy",
    "environment",
    "agriculture",
    "transport",
    "urban_social",
    "aerospace",
    "nuclear",
]
MATERIALS = [
    "固态电解质",
    "碳化硅",
    "氮化镓",
    "钙钛矿",
    "石墨烯",
    "碳纤维",
    "镁合金",
    "氮化硼",
    "聚酰亚胺",
    "陶瓷基板",
    "稀土永磁",
    "钠离子正极",
    "硅碳负极",
    "水凝胶",
    "纳米纤维素",
]
OBJECTS = [
    "功率模块",
    "锂电池",
    "光伏组件",
    "传感器",
    "血管支架",
    "减速器",
    "数控系统",
    "燃料电池",
    "检测试剂盒",
    "散热基板",
    "电机",
    "储能系统",
    "无人机",
    "机器人关节",
    "污水处理装置",
]
VERBS = [
    "制备工艺",
    "封装技术",
    "界面改性",
    "低成本量产",
    "可靠性提升",
    "智能检测",
    "精密成型",
    "在线监测",
    "热管理",
    "表面处理",
]
APPS = [
    "新能源汽车",
    "储能电站",
    "消费电子",
    "医疗器械",
    "轨道交通",
    "航空航天",
    "智慧农业",
    "工业互联网",
    "城市管网",
    "化工园区",
]
PROVINCES = ["310000", "320000", "330000", "340000"]
NODES = ["材料", "器件", "模组", "整机", "应用"]


def make_offer(i: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    m, o, v, a = rng.choice(MATERIALS), rng.choice(OBJECTS), rng.choice(VERBS), rng.choice(APPS)
    price = rng.choice([30, 50, 80, 120, 200, 500]) * 10000
    return {
        "id": str(i),
        "title": f"{m}{o}{v}",
        "keywords_text": f"{m} {o} {v}",
        "summary": f"本成果面向{a}，突破{m}{v}关键工艺，{o}主要性能优于行业平均水平，已完成中试。",
        "body": (
            f"以{m}为核心材料，结合{rng.choice(VERBS)}与{rng.choice(VERBS)}，"
            f"适用于{rng.choice(APPS)}。"
        ),
        "fields": [rng.choice(FIELDS)],
        "province": rng.choice(PROVINCES),
        "modes": rng.sample(["transfer", "licence", "joint_dev", "service"], 2),
        "regions": [rng.choice(PROVINCES)],
        "keywords": [m, o, v],
        "chain_stages": [rng.choice(NODES)],
        "maturity": rng.randint(2, 9),
        "ip_status": rng.choice(["granted", "applied", "secret", "none"]),
        "price_min": float(price),
        "price_max": float(price * 2),
        "updated_at": (now - timedelta(days=rng.randint(0, 700))).isoformat(),
        "owner_id": rng.randint(1, 50_000),
    }


def offers(n: int, seed: int, now: datetime, corpus: str = "templated") -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    make = make_varied_offer if corpus == "varied" else make_offer
    for i in range(1, n + 1):
        yield make(i, rng, now)


def make_need(rng: random.Random) -> Need:
    m, o, a = rng.choice(MATERIALS), rng.choice(OBJECTS), rng.choice(APPS)
    return Need(
        text=f"寻求{a}用{m}{o}解决方案 {m} {o} 现有产品性能不足，需要成熟技术",
        fields=frozenset([rng.choice(FIELDS)]),
        keywords=frozenset([m, o]),
        maturity_min=5,
        maturity_max=8,
        modes=frozenset(["licence", "transfer"]),
        regions=tuple(rng.sample(PROVINCES, 2)),
        budget=float(rng.choice([50, 100, 200, 300]) * 10000),
        chain_stages=frozenset([rng.choice(NODES)]),
    )


# -- the varied corpus: thousands of compound terms, Zipf-distributed, several templates -----


def _words(text: str) -> list[str]:
    return text.split()


V_MODIFIERS = _words(
    "高镍 单晶 纳米 多孔 柔性 超薄 高纯 改性 复合 无铅 低温 高导热 耐高温 可降解 生物基"
    " 稀土掺杂 高熵 非晶 梯度 自修复"
)
V_MATERIALS = _words(
    "正极材料 负极材料 固态电解质 碳化硅 氮化镓 钙钛矿 石墨烯 碳纤维 镁合金 钛合金 氮化硼"
    " 聚酰亚胺 陶瓷基板 永磁体 水凝胶 纳米纤维素 量子点 气凝胶 铜箔 隔膜 光刻胶 硅片"
    " 玻璃纤维 环氧树脂 聚乳酸 铝合金 高温合金 涂层 催化剂 吸附剂 分子筛 膜材料 液晶材料"
    " 导电浆料 封装胶 磁性材料 压电陶瓷 热电材料 储氢合金 相变材料"
)
V_OBJECTS = _words(
    "功率模块 锂电池 光伏组件 传感器 血管支架 减速器 数控系统 燃料电池 检测试剂盒 散热基板"
    " 电机 储能系统 无人机 机器人关节 污水处理装置 激光器 探测器 芯片 射频前端 显示面板"
    " 电解槽 换热器 阀门 轴承 齿轮箱 叶片 变流器 逆变器 充电桩 电驱系统 雷达 摄像模组"
    " 人工关节 诊断仪 疫苗佐剂 药物载体 种子包衣 灌溉控制器 饲料添加剂 农机具 制动盘"
    " 钢轨探伤仪 桥梁监测系统 管道机器人 焊接机器人 注塑模具 增材制造设备 真空泵 压缩机"
    " 风机 水泵 滤料 脱硝装置 垃圾分选设备 土壤修复药剂 空气净化器 智能电表 配电终端"
)
V_PROCESSES = _words(
    "制备工艺 封装技术 界面改性 低成本量产 可靠性提升 智能检测 精密成型 在线监测 热管理"
    " 表面处理 连续化生产 绿色合成 缺陷诊断 寿命预测 快速烧结 激光焊接 等离子喷涂 原子层沉积"
    " 数字孪生 故障预警 自适应控制 模块化设计 轻量化设计 回收再利用 低温烧结 干法电极"
    " 湿法冶金 化学气相沉积 电化学抛光 微纳加工 视觉定位 边缘计算 多物理场仿真 振动抑制"
    " 降噪设计 防腐处理 密封结构 柔性装配 高通量筛选 靶向递送"
)
V_APPS = _words(
    "新能源汽车 储能电站 消费电子 医疗器械 轨道交通 航空航天 智慧农业 工业互联网 城市管网"
    " 化工园区 海上风电 数据中心 半导体制造 生物医药 冷链物流 建筑节能 船舶制造 矿山安全"
    " 电网调度 水务处理 钢铁冶金 纺织印染 食品加工 养殖业 安防监控 家用电器 通信基站"
    " 卫星互联网 核电站 氢能产业"
)
V_METRICS = _words(
    "能量密度 循环寿命 转换效率 导热系数 抗拉强度 疲劳寿命 检测灵敏度 响应时间 良品率 能耗"
    " 噪声 定位精度 稳定性 耐腐蚀性 功率密度 使用寿命 产能 制造成本 纯度 回收率"
)
V_SUMMARIES = (
    "本成果面向{a}，突破{m}{p}关键工艺，{o}{k}达到国内领先水平。",
    "针对{a}领域{o}{k}不足的问题，团队开发了基于{m}的{p}方法。",
    "项目围绕{m}与{o}，形成{p}成套技术，已在{a}企业完成验证。",
    "采用{p}路线制备{m}，使{o}{k}提升{n}%，适合{a}场景规模应用。",
    "提供{o}{p}整体方案，核心为{m}，{k}较进口产品提高{n}%。",
    "研发{m}{o}，解决{a}中{k}与成本难以兼顾的难题。",
)
V_SENTENCES = (
    "已申请发明专利{n}项。",
    "中试线产能可达每年{n}万件。",
    "与{a}龙头企业开展了联合测试。",
    "{k}实测提升{n}%，{k2}保持稳定。",
    "可与现有{o2}产线兼容，改造成本低。",
    "关键设备国产化率超过{n}%。",
    "团队在{m2}方向有十余年积累。",
    "支持{p2}与{p}工艺组合。",
    "适用于{a2}等场景。",
    "样品已通过第三方检测。",
)


def _zipf(items: list[str] | tuple[str, ...], s: float = 0.9) -> list[float]:
    return list(itertools.accumulate(1 / (r + 1) ** s for r in range(len(items))))


_W = {
    name: _zipf(items)
    for name, items in (
        ("mod", V_MODIFIERS),
        ("mat", V_MATERIALS),
        ("obj", V_OBJECTS),
        ("proc", V_PROCESSES),
        ("app", V_APPS),
        ("met", V_METRICS),
    )
}


def _pick(rng: random.Random, items: list[str], key: str) -> str:
    return rng.choices(items, cum_weights=_W[key])[0]


def _varied_slots(rng: random.Random) -> dict[str, str]:
    return {
        "m": _pick(rng, V_MODIFIERS, "mod") + _pick(rng, V_MATERIALS, "mat"),
        "m2": _pick(rng, V_MATERIALS, "mat"),
        "o": _pick(rng, V_OBJECTS, "obj"),
        "o2": _pick(rng, V_OBJECTS, "obj"),
        "p": _pick(rng, V_PROCESSES, "proc"),
        "p2": _pick(rng, V_PROCESSES, "proc"),
        "a": _pick(rng, V_APPS, "app"),
        "a2": _pick(rng, V_APPS, "app"),
        "k": _pick(rng, V_METRICS, "met"),
        "k2": _pick(rng, V_METRICS, "met"),
        "n": str(rng.randint(3, 95)),
    }


def make_varied_offer(i: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    doc = make_offer(i, rng, now)  # the structured fields
    x = _varied_slots(rng)
    body = "".join(rng.choice(V_SENTENCES).format(**x) for _ in range(rng.randint(2, 5)))
    doc.update(
        title=f"{x['m']}{x['o']}{x['p']}",
        keywords_text=f"{x['m']} {x['o']} {x['p']} {x['a']}",
        summary=rng.choice(V_SUMMARIES).format(**x),
        body=body,
        keywords=[x["m"], x["o"], x["p"]],
    )
    return doc


def make_varied_need(rng: random.Random) -> Need:
    need = make_need(rng)  # the structured criteria
    x = _varied_slots(rng)
    text = (
        f"寻求{x['a']}用{x['m']}{x['o']}{x['p']}方案 {x['m']} {x['o']}"
        f" 现有{x['o']}{x['k']}不足，希望{x['k2']}提升{x['n']}%"
    )
    return dataclasses.replace(need, text=text, keywords=frozenset([x["m"], x["o"]]))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_matches(matcher: Matcher, needs: list[Need], now: datetime) -> list[float]:
    out = []
    for need in needs:
        t = time.perf_counter()
        matcher.match(need, limit=10, now=now)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offers", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", default="")
    ap.add_argument(
        "--corpus",
        choices=("templated", "varied"),
        default="templated",
        help="templated: one summary template, ~60 content words (the worst case);"
        " varied: thousands of compound terms, Zipf-distributed, several templates",
    )
    args = ap.parse_args()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    root = Path(args.dir or tempfile.mkdtemp(prefix="market-bench-"))
    index = SearchIndex(root / "offers", OFFER_DOC, ranking=MATCH_RANKING)
    marker = root / "corpus.txt"
    built = marker.read_text() if marker.exists() else "templated"
    if index.count() != args.offers or built != args.corpus:
        t = time.perf_counter()
        index.rebuild(offers(args.offers, args.seed, now, args.corpus))
        marker.write_text(args.corpus)
        print(f"index: {args.offers:,} {args.corpus} offers in {time.perf_counter() - t:.0f} s")
    new_need = make_varied_need if args.corpus == "varied" else make_need
    rng = random.Random(args.seed + 1)
    needs = [new_need(rng) for _ in range(args.requests)]
    results: dict[str, Any] = {
        "offers": args.offers,
        "corpus": args.corpus,
        "load_before": os.getloadavg()[0],
    }
    for name, ranking, pool in (
        ("no_cutoff", NO_CUTOFF, 200),
        ("match", MATCH_RANKING, 200),
        ("market", MATCH_RANKING, 100),
    ):
        index.ranking = ranking
        matcher = Matcher(index, pool=pool)
        time_matches(matcher, needs[:10], now)  # warm the page cache
        ms = time_matches(matcher, needs, now)
        results[name] = {
            "pool": pool,
            "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(pct(ms, 0.95), 1),
        }
        print(
            f"{name:9s} pool {pool}: median {statistics.median(ms):.1f} ms,"
            f" p95 {pct(ms, 0.95):.1f} ms"
        )
    index.ranking = MATCH_RANKING
    matcher = Matcher(index, pool=100)
    batch = [new_need(rng) for _ in range(args.batch)]
    t = time.perf_counter()
    done = sum(1 for _ in matcher.match_many(batch, limit=10, now=now, processes=args.processes))
    elapsed = time.perf_counter() - t
    per = elapsed / done
    results["batch"] = {
        "requests": done,
        "processes": args.processes,
        "seconds": round(elapsed, 1),
        "per_request_ms": round(per * 1000, 2),
        "minutes_for_100k": round(per * 100_000 / 60, 1),
        "measured": done >= 100_000,
    }
    results["load_after"] = os.getloadavg()[0]
    print(
        f"batch: {done:,} requests in {elapsed:.1f} s over {args.processes} processes"
        f" ({per * 1000:.2f} ms each) → 100,000 requests in {per * 100_000 / 60:.1f} min"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
