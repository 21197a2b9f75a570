"""Market matching speed: one request against N offers, and the batch of all open requests.

    python bench/market_match.py --offers 1000000 --requests 200 --batch 3000 --processes 2

Builds an index of N synthetic offers (generated from word lists, nothing from shared data)
with the market's own doc type, then times `Matcher.match` for requests (engine time:
wall-clock around the call, in this process) with three profiles: RM3 without the
common-term cutoff (the ranking before the cutoff existed, pool 200), `MATCH_RANKING` (terms
in more than 10 % of the offers only score, at most 64 selecting terms) with pool 200, and
with pool 100 as the market calls it. Finally the batch path, `Matcher.match_many` over
`--processes` worker processes (pool 100, storing nothing) on `--batch` requests, startup
included, gives the time for 100,000 open requests (measured when `--batch 100000`,
otherwise extrapolated from the batch).
"""

from __future__ import annotations

import argparse
import dataclasses
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

from techexchange.search import MATCH_RANKING, Matcher, Need, SearchIndex
from techexchange.search.registry import DocType, KeywordField, NumericField, TextField

# The market's doc type (same fields as techexchange.market.matching.OFFER_DOC; no Django here).
OFFER_DOC = DocType(
    name="market_offer",
    text_fields=(
        TextField("title", 3),
        TextField("keywords_text", 2),
        TextField("summary", 1),
        TextField("body", 1),
    ),
    keyword_fields=(KeywordField("fields"), KeywordField("province"), KeywordField("modes")),
    numeric_fields=(NumericField("price_min"), NumericField("price_max")),
    stored=(
        "title_en",
        "maturity",
        "ip_status",
        "regions",
        "keywords",
        "chain_stages",
        "updated_at",
        "owner_id",
        "maturity_min",
        "maturity_max",
    ),
)
NO_CUTOFF = dataclasses.replace(MATCH_RANKING, max_df=1.0, max_query_terms=0)

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


def offers(n: int, seed: int, now: datetime) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(1, n + 1):
        yield make_offer(i, rng, now)


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
    args = ap.parse_args()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    root = Path(args.dir or tempfile.mkdtemp(prefix="market-bench-"))
    index = SearchIndex(root / "offers", OFFER_DOC, ranking=MATCH_RANKING)
    if index.count() != args.offers:
        t = time.perf_counter()
        index.rebuild(offers(args.offers, args.seed, now))
        print(f"index: {args.offers:,} offers in {time.perf_counter() - t:.0f} s")
    rng = random.Random(args.seed + 1)
    needs = [make_need(rng) for _ in range(args.requests)]
    results: dict[str, Any] = {"offers": args.offers, "load_before": os.getloadavg()[0]}
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
    batch = [make_need(rng) for _ in range(args.batch)]
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
