"""Search engine throughput and latency on synthetic instrument-like Chinese documents.

    python bench/search_bench.py --docs 370000
    python bench/search_bench.py --docs 1000000 --queries 500

Generates documents from word lists (nothing from shared data), builds the index through
``SearchIndex.rebuild`` (docs/s), then times ``search`` with facets and filters and
``Matcher.match`` for a request against the same documents. Engine times are wall-clock
around the public calls, in this process.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from techexchange.search import (
    MATCH_RANKING,
    DocType,
    KeywordField,
    Matcher,
    Need,
    NumericField,
    SearchIndex,
    TextField,
)

PREFIXES = [
    "高分辨",
    "便携式",
    "全自动",
    "超高效",
    "场发射",
    "台式",
    "落地式",
    "在线",
    "激光",
    "高通量",
    "低温",
    "智能",
    "三维",
    "多功能",
]
CORES = [
    "液相色谱仪",
    "气相色谱仪",
    "质谱仪",
    "电子显微镜",
    "原子力显微镜",
    "拉曼光谱仪",
    "红外光谱仪",
    "核磁共振波谱仪",
    "X射线衍射仪",
    "热重分析仪",
    "差示扫描量热仪",
    "流式细胞仪",
    "基因测序仪",
    "离心机",
    "电化学工作站",
    "激光粒度仪",
    "比表面积分析仪",
    "万能试验机",
    "疲劳试验机",
    "三坐标测量机",
    "风洞",
    "光刻机",
    "镀膜机",
    "等离子体刻蚀机",
    "超算节点",
    "动物影像系统",
    "冷冻电镜",
    "同步辐射光束线",
    "声学测试系统",
]
USES = [
    "材料",
    "表征",
    "成分",
    "分析",
    "生物",
    "医药",
    "环境",
    "监测",
    "食品",
    "安全",
    "半导体",
    "工艺",
    "新能源",
    "电池",
    "化工",
    "催化",
    "航空",
    "结构",
    "疲劳",
    "测试",
    "集成电路",
    "检测",
    "蛋白质",
    "结构",
    "解析",
    "细胞",
    "成像",
    "土壤",
    "重金属",
    "水质",
    "大气",
    "颗粒物",
]
SPECS = [
    "分辨率{n}纳米",
    "检测限{n}ppm",
    "最大载荷{n}千牛",
    "温度范围{n}摄氏度",
    "扫描速度{n}次每秒",
    "精度{n}微米",
    "通量{n}样本每天",
]
PLACES = {
    "上海": ["浦东", "徐汇", "闵行", "嘉定", "松江"],
    "江苏": ["南京", "苏州", "无锡", "常州", "南通"],
    "浙江": ["杭州", "宁波", "嘉兴", "湖州", "绍兴"],
    "安徽": ["合肥", "芜湖", "马鞍山", "滁州", "宣城"],
}
CATEGORIES = [
    "分析仪器",
    "物理性能测试",
    "计量仪器",
    "电子测量",
    "医学科研",
    "特种检测",
    "工艺试验",
    "计算资源",
]
MODES = ["委托测试", "自主上机", "培训", "联合研发"]

INSTRUMENT = DocType(
    name="bench_instrument",
    text_fields=(TextField("name", weight=3), TextField("description")),
    keyword_fields=(
        KeywordField("province"),
        KeywordField("city"),
        KeywordField("category"),
        KeywordField("modes"),
    ),
    numeric_fields=(NumericField("price"),),
    stored=("maturity", "owner"),
)


def make_doc(i: int, rng: random.Random) -> dict[str, Any]:
    province = rng.choice(list(PLACES))
    core = rng.choice(CORES)
    uses = rng.sample(USES, 6)
    specs = [s.format(n=rng.randint(1, 999)) for s in rng.sample(SPECS, 2)]
    description = (
        f"本{core}主要用于{uses[0]}{uses[1]}与{uses[2]}{uses[3]}，"
        f"{specs[0]}，{specs[1]}，可服务{uses[4]}{uses[5]}等领域的企业和科研团队。"
    )
    return {
        "id": f"ins-{i}",
        "name": f"{rng.choice(PREFIXES)}{core} TX-{rng.randint(100, 9999)}",
        "description": description,
        "province": province,
        "city": rng.choice(PLACES[province]),
        "category": rng.choice(CATEGORIES),
        "modes": rng.sample(MODES, rng.randint(1, 3)),
        "price": rng.choice([200, 500, 800, 1200, 3000, 8000]),
        "maturity": rng.randint(3, 9),
        "owner": f"单位{rng.randint(1, 5000)}",
    }


def docs(n: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield make_doc(i, rng)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="index directory (default: tmp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="search-bench-", dir=args.dir) as tmp:
        index = SearchIndex(tmp, INSTRUMENT)
        started = time.perf_counter()
        count = index.rebuild(docs(args.docs, args.seed))
        build = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
        print(
            f"indexed {count} docs in {build:.1f} s = {count / build:,.0f} docs/s, "
            f"index {size_mb:,.0f} MB"
        )

        rng = random.Random(args.seed + 1)
        search_ms: list[float] = []
        totals: list[int] = []
        for _ in range(args.queries):
            text = (
                rng.choice(CORES) if rng.random() < 0.5 else f"{rng.choice(USES)}{rng.choice(USES)}"
            )
            province = rng.choice(list(PLACES))
            t0 = time.perf_counter()
            page = index.search(
                text,
                filters={"province": province},
                ranges={"price": (None, rng.choice([800, 3000, 8000]))},
                facets=["city", "category", "modes"],
                limit=10,
            )
            search_ms.append((time.perf_counter() - t0) * 1000)
            totals.append(page.total)
        print(
            f"search+facets+filters: median {statistics.median(search_ms):.1f} ms, "
            f"p95 {pct(search_ms, 0.95):.1f} ms (median matches {statistics.median(totals):,.0f})"
        )

        matcher = Matcher(SearchIndex(tmp, INSTRUMENT, ranking=MATCH_RANKING), pool=200)
        match_ms: list[float] = []
        for _ in range(max(20, args.queries // 3)):
            need = Need(
                text=f"需要{rng.choice(CORES)}做{rng.choice(USES)}{rng.choice(USES)}测试",
                maturity_min=6,
                regions=(rng.choice(list(PLACES)),),
                budget=float(rng.choice([500, 3000])),
            )
            t0 = time.perf_counter()
            matcher.match(need, limit=20)
            match_ms.append((time.perf_counter() - t0) * 1000)
        print(
            f"match (pool 200, RM3): median {statistics.median(match_ms):.1f} ms, "
            f"p95 {pct(match_ms, 0.95):.1f} ms"
        )
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {rss_mb:,.0f} MB")
        print(
            json.dumps(
                {
                    "docs": count,
                    "docs_per_s": round(count / build),
                    "search_p95_ms": round(pct(search_ms, 0.95), 1),
                    "search_median_ms": round(statistics.median(search_ms), 1),
                    "match_p95_ms": round(pct(match_ms, 0.95), 1),
                    "match_median_ms": round(statistics.median(match_ms), 1),
                    "peak_rss_mb": round(rss_mb),
                }
            )
        )


if __name__ == "__main__":
    main()
