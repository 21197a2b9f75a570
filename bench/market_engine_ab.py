"""The matching engine's batch path, timed and fingerprinted, for A/B runs of two checkouts.

    python bench/market_engine_ab.py --root /tmp/wt-old --dir /tmp/mm-100k --requests 2000
    python bench/market_engine_ab.py --root . --dir /tmp/mm-100k --requests 2000

Opens the offer index that `bench/market_match.py --dir DIR` built, as a `match_many` worker
does (`doc_cache=WORKER_DOC_CACHE`, pool 100, the market's chain neighbours), and runs
`Matcher.match_many` (limit 20) over `--requests` synthetic requests of the index's corpus,
after 20 others to warm the segmenter and the page cache (the caches are emptied after them).
Imports the engine from `--root`, so two checkouts run the same harness on the same index and
requests. Prints wall-clock and CPU time per request, the load average before and after, and
a digest of every result's candidate id and score to 9 digits (`--full`: also a digest of
every candidate, component and reason; run with PYTHONHASHSEED=0 so that sets print alike).
`--processes 2` times the worker processes instead, and reports their CPU time (user +
system, startup included) apart from the parent's.
`--profile FILE` runs under cProfile and prints the 30 largest own times.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The market's chain neighbours (techexchange.market.matching needs Django settings).
NEIGHBOURS = {
    "材料": frozenset({"器件"}),
    "器件": frozenset({"材料", "模组"}),
    "模组": frozenset({"器件", "整机"}),
    "整机": frozenset({"模组", "应用"}),
    "应用": frozenset({"整机"}),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True, help="the checkout whose engine to run")
    ap.add_argument("--dir", default="/tmp/mm-100k", help="bench/market_match.py's --dir")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--corpus", choices=("templated", "varied"), default="templated")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--profile", default="")
    args = ap.parse_args()
    root = str(Path(args.root).resolve())
    sys.path.insert(0, root)
    sys.path.insert(1, os.path.join(root, "bench"))
    import market_match as mm

    from techexchange.market.doctypes import OFFER_DOC
    from techexchange.search import MATCH_RANKING, Matcher, SearchIndex, matching

    assert matching.__file__ is not None and matching.__file__.startswith(root)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    path = os.path.join(args.dir, "offers")
    index = SearchIndex(path, OFFER_DOC, ranking=MATCH_RANKING, doc_cache=matching.WORKER_DOC_CACHE)
    new_need = mm.make_varied_need if args.corpus == "varied" else mm.make_need
    rng = random.Random(1234)
    needs = [new_need(rng) for _ in range(20 + args.requests)]
    warm, needs = needs[:20], needs[20:]
    list(Matcher(index, chain_neighbours=NEIGHBOURS, pool=100).match_many(warm, now=now))
    index = SearchIndex(path, OFFER_DOC, ranking=MATCH_RANKING, doc_cache=matching.WORKER_DOC_CACHE)
    matcher = Matcher(index, chain_neighbours=NEIGHBOURS, pool=100)
    short, full = hashlib.sha256(), hashlib.sha256()
    load = os.getloadavg()[0]
    profile = cProfile.Profile() if args.profile else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    results: Any = matcher.match_many(needs, limit=args.limit, now=now, processes=args.processes)
    for matches in results:
        for m in matches:
            short.update(f"{m.candidate.id}:{m.score:.9f};".encode())
            if args.full:
                full.update(repr((m.candidate, m.components, m.reason_zh, m.reason_en)).encode())
        short.update(b"|")
        full.update(b"|")
    if profile:
        profile.disable()
    wall = (time.perf_counter() - started) / len(needs) * 1000
    cpu = (time.process_time() - cpu) / len(needs) * 1000
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = (
        (done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime) / len(needs) * 1000
    )
    line = (
        f"{args.root} {args.corpus} n={len(needs)} processes={args.processes}:"
        f" {wall:.3f} ms/request wall, {cpu:.3f} ms CPU"
        + (f" (+ workers {workers:.3f} ms CPU, startup included)" if args.processes > 1 else "")
        + f", load {load:.2f} ->"
        f" {os.getloadavg()[0]:.2f}, digest {short.hexdigest()[:16]}"
    )
    print(line + (f" full {full.hexdigest()[:16]}" if args.full else ""))
    if profile:
        profile.dump_stats(args.profile)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
