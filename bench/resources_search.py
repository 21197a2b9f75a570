"""Instrument search at 10× the seed: index build rate, engine and HTTP latency with facets.

    python bench/resources_search.py --docs 370000 --queries 300

Builds synthetic instrument documents (the resources doc type, demo templates, the 41 cities)
into this node's index through `indexing.get_index().rebuild`, times `SearchIndex.search`
with the catalogue's five facets and random filters (engine), then the same queries as
`GET /api/resources/instruments` against gunicorn on loopback (whole HTTP request).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
INDEX_DIR = ROOT / "var" / "bench-resources-search"
os.environ["SEARCH_INDEX_DIR"] = str(INDEX_DIR)

import _django  # noqa: E402
import _serve  # noqa: E402

QUERIES = ["扫描电镜", "质谱", "液相色谱", "X射线衍射", "激光", "显微镜", "热分析", "核磁共振",
           "材料力学性能", "流式细胞", "网络分析仪", "工业CT 缺陷", "高性能计算", "粒度",
           "红外光谱",
           "电镜 能谱", "Orbitrap", "透射电镜 晶格", "三坐标", "中试 反应釜"]  # fmt: skip


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=370_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reuse", action="store_true", help="keep the index and database built")
    args = parser.parse_args()
    if args.reuse:
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench-resources-search.sqlite3'}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
    else:
        _django.setup("resources-search")
    from techexchange.regions.data import CITIES
    from techexchange.resources import indexing
    from techexchange.resources.demo import TEMPLATES
    from techexchange.resources.selectors import FACETS

    rng = random.Random(1)
    cities = [
        (c.code, c.name_zh) for c in CITIES if c.code.endswith("00") and c.code[:2] in "31323334"
    ]
    modes = ["occupy", "technical", "entrusted", "remote"]

    def docs() -> Iterator[dict[str, Any]]:
        for i in range(1, args.docs + 1):
            t = TEMPLATES[rng.randrange(len(TEMPLATES))]
            maker, model = rng.choice(t[3])
            city, city_name = rng.choice(cities)
            price = float(rng.randint(t[7] // 2, t[7] * 2))
            yield {
                "id": str(i), "title": f"{t[0]} {t[1]}", "model": f"{maker} {model}",
                "category_name": t[2], "specs": t[4], "functions": t[5],
                "holder_name": f"{city_name}第{i % 900}研究院",
                "services_text": "机时使用 委托测试",
                "province": city[:2] + "0000", "city": city, "category": t[2][:2] + "0000",
                "subcategory": t[2], "mode": rng.sample(modes, rng.randint(1, 3)),
                "availability": "open" if rng.random() < 0.85 else "internal_only",
                "holder": str(i % 900), "price": price,
                "value": float(rng.randint(t[6][0], t[6][1])),
                "name_zh": t[0], "name_en": t[1], "holder_name_zh": f"{city_name}第{i % 900}研究院",
                "province_name": "", "city_name": city_name, "category_label": t[2],
                "price_unit": "hour", "state": "normal",
            }  # fmt: skip

    index = indexing.get_index()
    if args.reuse:
        print(f"index reused: {index.count()} docs")
    else:
        started = time.perf_counter()
        count = index.rebuild(docs())
        build = time.perf_counter() - started
        print(f"index build: {count} docs in {build:.1f}s = {count / build:,.0f} docs/s")

    qrng = random.Random(2)
    plans = []
    for _ in range(args.queries):
        filters: dict[str, list[str]] = {}
        if qrng.random() < 0.5:
            filters["province"] = [qrng.choice(["310000", "320000", "330000", "340000"])]
        if qrng.random() < 0.3:
            filters["category"] = ["010000"]
        price = (None, float(qrng.choice([300, 600, 1000]))) if qrng.random() < 0.2 else None
        plans.append((qrng.choice(QUERIES), filters, price))
    for q, f, p in plans[:20]:  # warm-up
        index.search(q, filters=f, ranges={"price": p} if p else None, facets=FACETS, limit=20)
    engine = []
    for q, f, p in plans:
        t0 = time.perf_counter()
        page = index.search(q, filters=f, ranges={"price": p} if p else None, facets=FACETS,
                            facet_size=60, limit=20)  # fmt: skip
        engine.append((time.perf_counter() - t0) * 1000)
        assert page.total >= 0
    print(f"engine search (5 facets): median {statistics.median(engine):.1f} ms, "
          f"p95 {p95(engine):.1f} ms over {len(engine)} queries")  # fmt: skip

    server = _serve.start(args.port, 2, {"DATABASE_URL": os.environ["DATABASE_URL"],
                                         "LOG_LEVEL": "ERROR",
                                         "SEARCH_INDEX_DIR": str(INDEX_DIR)})  # fmt: skip
    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        http_ms = []
        for k, (q, f, p) in enumerate(plans[:20] + plans):
            params = [("q", q)] + [(n, v) for n, vs in f.items() for v in vs]
            if p:
                params.append(("price_max", str(p[1])))
            url = "/api/resources/instruments?" + urllib.parse.urlencode(params)
            t0 = time.perf_counter()
            conn.request("GET", url)
            resp = conn.getresponse()
            body = resp.read()
            took = (time.perf_counter() - t0) * 1000
            assert resp.status == 200, (resp.status, body[:200])
            if k >= 20:
                http_ms.append(took)
        data = json.loads(body)
        print(f"HTTP search (gunicorn, 5 facets): median {statistics.median(http_ms):.1f} ms, "
              f"p95 {p95(http_ms):.1f} ms over {len(http_ms)} requests; "
              f"last total {data['total']}")  # fmt: skip
    finally:
        _serve.stop(server)


if __name__ == "__main__":
    main()
