"""Matching quality: our matcher against plain BM25 on a corpus of offers and keyword requests.

    python bench/match_eval.py --data ../shared/data/match-dev

DIR/corpus.jsonl holds offers (id, title, abstract, ...); DIR/queries.jsonl holds requests
(id, text, relevant ids). Prints nDCG@10 (binary) and Recall@50 for both methods, on the two
halves of the queries (even / odd positions: parameters were chosen on the even half) and in
full, plus timings. The last line is JSON: {"ours": {...}, "bm25": {...}}.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rjieba

from techexchange.search import (
    MATCH_RANKING,
    DocType,
    Matcher,
    Need,
    SearchIndex,
    TextField,
)

OFFER = DocType(
    name="bench_offer",
    text_fields=(TextField("title", weight=3), TextField("abstract", weight=1)),
)

Ranker = Callable[[str], list[str]]


class PlainBM25:
    """Okapi BM25 (k1 = 1.2, b = 0.75, Lucene idf) over rjieba tokens of title + abstract."""

    def __init__(self, docs: Sequence[dict[str, Any]], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids = [str(d["id"]) for d in docs]
        self.k1, self.b = k1, b
        tfs = [Counter(rjieba.cut(d.get("title", "") + d.get("abstract", ""))) for d in docs]
        self.lengths = [sum(tf.values()) for tf in tfs]
        self.avg = sum(self.lengths) / max(1, len(docs))
        df: Counter[str] = Counter()
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, tf in enumerate(tfs):
            df.update(tf.keys())
            for term, count in tf.items():
                self.postings[term].append((i, count))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def rank(self, text: str, limit: int = 100) -> list[str]:
        scores: dict[int, float] = defaultdict(float)
        for term in rjieba.cut(text):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [self.ids[i] for i, _ in best]


def evaluate(
    rank: Ranker, queries: Sequence[dict[str, Any]]
) -> tuple[dict[str, float], list[float]]:
    """Mean nDCG@10 and Recall@50, and per-query latencies in ms."""
    ndcg: list[float] = []
    recall: list[float] = []
    latencies: list[float] = []
    for q in queries:
        relevant = set(q["relevant"])
        started = time.perf_counter()
        ranked = rank(q["text"])
        latencies.append((time.perf_counter() - started) * 1000)
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
        ndcg.append(dcg / ideal if ideal else 0.0)
        recall.append(len(relevant & set(ranked[:50])) / len(relevant) if relevant else 0.0)
    metrics = {
        "ndcg10": round(statistics.fmean(ndcg), 4) if ndcg else 0.0,
        "recall50": round(statistics.fmean(recall), 4) if recall else 0.0,
    }
    return metrics, latencies


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0.0


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="directory with the jsonl files")
    args = parser.parse_args()
    corpus = load(args.data / "corpus.jsonl")
    queries = load(args.data / "queries.jsonl")
    print(f"{len(corpus)} offers, {len(queries)} requests from {args.data}")

    with tempfile.TemporaryDirectory(prefix="match-eval-") as tmp:
        started = time.perf_counter()
        index = SearchIndex(tmp, OFFER, ranking=MATCH_RANKING)
        index.rebuild(
            {"id": d["id"], "title": d.get("title", ""), "abstract": d.get("abstract", "")}
            for d in corpus
        )
        ours_build = time.perf_counter() - started
        matcher = Matcher(index, pool=100)

        def ours(text: str) -> list[str]:
            return [m.candidate.id for m in matcher.match(Need(text=text), limit=100)]

        started = time.perf_counter()
        bm25 = PlainBM25(corpus)
        bm25_build = time.perf_counter() - started

        halves = {"A (even, tuning)": queries[0::2], "B (odd, held out)": queries[1::2]}
        results: dict[str, dict[str, float]] = {}
        timings: dict[str, list[float]] = {}
        for name, rank, build in (("ours", ours, ours_build), ("bm25", bm25.rank, bm25_build)):
            for half, qs in halves.items():
                metrics, _ = evaluate(rank, qs)
                print(
                    f"{name:5s} {half:18s} nDCG@10 {metrics['ndcg10']:.4f}  "
                    f"Recall@50 {metrics['recall50']:.4f}"
                )
            metrics, latencies = evaluate(rank, queries)
            results[name] = metrics
            timings[name] = latencies
            print(
                f"{name:5s} {'all':18s} nDCG@10 {metrics['ndcg10']:.4f}  "
                f"Recall@50 {metrics['recall50']:.4f}  index build {build:.2f} s  "
                f"query median {statistics.median(latencies):.2f} ms  p95 {p95(latencies):.2f} ms"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
