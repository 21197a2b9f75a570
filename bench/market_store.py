"""Storing recommendations: the batch recompute's writes, per request, before and after.

    python bench/market_store.py --offers 50000 --requests 2000 [--db sqlite|postgres://...]

Creates a throw-away database (SQLite in a temporary directory by default, or the
PostgreSQL database named by ``--db``) with organisations, members, ``--offers`` offers and
``--requests`` requests, draws 20 ranked matches per request (popular offers recur, as in
the batch) and times storing them with alerts above the threshold, three rounds (first insert,
then an update where about half of the matches change, then the same matches again) in
interleaved blocks, wall time and CPU time (this process's, and on PostgreSQL the server
backend's, read from /proc):

* ``one``: one transaction per request: the own-listing query, then one ``update_or_create``
  per match and the alert (the code before the bulk path, copied below; ``--ways one,rows``);
* ``orm``: the bulk path of 2026-11-27 morning (commit 251ac58, copied below):
  ``bulk_create(update_conflicts=True)`` of model instances for ``STORE_CHUNK`` requests per
  transaction, then a query for the rows to alert and ``notify`` per alerting request;
* ``rows`` (now): ``market.services._store_and_alert``: plain rows through the cursor,
  unchanged rows not written, the alerts' notifications in one insert (``market.storing``).

``--ways`` picks which (default ``orm,rows``); blocks of ``--block`` requests take turns.
``--check`` instead stores every request with ``orm`` and then (undone) with ``rows``, the
same three rounds, and compares every row (ids by order of creation) and notification.

Prints milliseconds per request and the minutes for 100,000 requests (this process only:
in the recompute it runs beside the matching workers, on the same cores).

    python bench/market_store.py --index DIR --offers 1000000 --requests 100000 --processes 2

The whole recompute instead: with ``--index`` (a directory that `bench/market_match.py
--dir DIR` built with the same ``--offers``), the offers' rows get the index's ids, and the
requests of `market_match.make_need` are matched by `Matcher.match_many` in worker processes
while this process stores each chunk with `_store_and_alert`, as
`market.services.recompute_recommendations` does (it only adds reading the requests).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _setup(db: str) -> None:
    if db == "sqlite":
        db = f"sqlite:///{tempfile.mkdtemp(prefix='market-store-')}/bench.sqlite3"
    os.environ["DATABASE_URL"] = db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offers", type=int, default=50_000)
    ap.add_argument("--requests", type=int, default=2_000)
    ap.add_argument("--block", type=int, default=200, help="requests per interleaved block")
    ap.add_argument("--db", default="sqlite", help="sqlite (temporary) or a postgres:// URL")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--index", default="", help="a market_match.py --dir: time the recompute")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--ways", default="orm,rows", help="comma-separated: one, orm, rows")
    ap.add_argument("--profile", default="", help="write a cProfile of the `rows` way here")
    ap.add_argument(
        "--check", action="store_true", help="compare what orm and rows store, then stop"
    )
    ap.add_argument(
        "--alert-threshold", type=float, default=0.6, help="above 1: time storing without alerts"
    )
    args = ap.parse_args()
    _setup(args.db)
    from django.conf import settings

    settings.MARKET_MATCH_ALERT_THRESHOLD = args.alert_threshold

    from django.db import transaction

    from techexchange.accounts.models import Membership, Organisation, User
    from techexchange.market import services
    from techexchange.market.models import Listing, MatchRecommendation, Notification
    from techexchange.market.tests.reference import orm_store_and_alert
    from techexchange.search import Candidate, Match, Need, rank_candidates

    rng = random.Random(args.seed)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    n_orgs = 500
    orgs = Organisation.objects.bulk_create(
        Organisation(
            name_zh=f"机构{i}",
            credit_code=f"91{i:016d}",
            party_nature="150",
            province_id="320000",
            city_id="320500",
        )
        for i in range(n_orgs)
    )
    users = User.objects.bulk_create(
        User(username=f"u{i}", email=f"u{i}@example.invalid") for i in range(n_orgs)
    )
    Membership.objects.bulk_create(
        Membership(user=u, organisation=o, role="admin") for u, o in zip(users, orgs, strict=True)
    )

    def listings(kind: str, n: int) -> list[Listing]:
        made: list[Listing] = []
        for start in range(0, n, 20_000):  # a million rows without a million objects at once
            part = Listing.objects.bulk_create(
                [
                    Listing(
                        kind=kind,
                        owner=orgs[rng.randrange(n_orgs)],
                        created_by=users[0],
                        title_zh=f"{kind}{i}",
                        status="published",
                        published_at=now,
                        valid_until=now + timedelta(days=365),
                    )
                    for i in range(start, min(n, start + 20_000))
                ],
                batch_size=2000,
            )
            made.extend(part if kind == "request" else [Listing(pk=o.pk) for o in part[:1]])
        return made

    t = time.perf_counter()
    offers = listings("offer", args.offers)
    offer_ids = list(range(offers[0].pk, offers[0].pk + args.offers))  # fresh table: 1..N
    requests = listings("request", args.requests)
    print(
        f"database: {args.offers:,} offers, {args.requests:,} requests in"
        f" {time.perf_counter() - t:.0f} s"
    )
    if args.index:
        recompute(args, requests, now)
        return
    weights = [1 / (r + 1) ** 0.8 for r in range(len(offer_ids))]  # popular offers recur

    def matches_for() -> list[Match]:
        picked = set(rng.choices(offer_ids, weights=weights, k=24))
        need = Need(
            text="x",
            fields=frozenset({"new_energy"}),
            maturity_min=5,
            maturity_max=8,
            modes=frozenset({"licence"}),
            regions=("320000", "330000"),
            budget=1e6,
            chain_stages=frozenset({"材料"}),
        )
        cands = [
            Candidate(
                id=str(pk),
                text_score=rng.uniform(1, 20),
                fields=frozenset({rng.choice(["new_energy", "agriculture"])}),
                maturity=rng.randint(2, 9),
                modes=frozenset({rng.choice(["licence", "transfer"])}),
                regions=frozenset({rng.choice(["320000", "330000", "340000"])}),
                price_min=rng.choice([3e5, 8e5, 2e6]),
                chain_stages=frozenset({"材料"}),
                updated_at=now - timedelta(days=rng.randint(0, 400)),
            )
            for pk in picked
        ]
        return rank_candidates(need, cands, now=now, limit=20)

    found = {r.pk: matches_for() for r in requests}

    def before(batch: Sequence[Listing]) -> None:
        for listing in batch:
            with transaction.atomic():
                kept = _not_own_before(listing, found[listing.pk], 10)
                recs = _store_before(listing, kept)
                services._alert(listing, recs, now)

    def _not_own_before(listing: Listing, ms: Sequence[Match], limit: int) -> list[Match]:
        ids = [int(m.candidate.id) for m in ms]
        own = set(
            Listing.objects.filter(pk__in=ids, owner_id=listing.owner_id).values_list(
                "pk", flat=True
            )
        )
        return [m for m in ms if int(m.candidate.id) not in own][:limit]

    def _store_before(listing: Listing, ms: Sequence[Match]) -> list[MatchRecommendation]:
        ids = [int(m.candidate.id) for m in ms]
        existing = set(
            Listing.objects.filter(pk__in=ids)
            .exclude(owner_id=listing.owner_id)
            .values_list("pk", flat=True)
        )
        MatchRecommendation.objects.filter(need=listing).exclude(candidate_id__in=existing).delete()
        out = []
        rank = 0
        for m in ms:
            cid = int(m.candidate.id)
            if cid not in existing:
                continue
            rank += 1
            rec, _ = MatchRecommendation.objects.update_or_create(
                need=listing,
                candidate_id=cid,
                defaults={
                    "rank": rank,
                    "score": m.score,
                    "components": services._components(m),
                    "reason_zh": m.reason_zh[:300],
                    "reason_en": m.reason_en[:400],
                    "computed_at": now,
                },
            )
            out.append(rec)
        return out

    def orm(batch: Sequence[Listing]) -> None:
        for i in range(0, len(batch), services.STORE_CHUNK):
            part = batch[i : i + services.STORE_CHUNK]
            orm_store_and_alert(
                [(listing, found[listing.pk]) for listing in part], now=now, limit=10
            )

    profiler = cProfile.Profile() if args.profile else None

    def rows(batch: Sequence[Listing]) -> None:
        if profiler is not None:
            profiler.enable()
        for i in range(0, len(batch), services.STORE_CHUNK):
            part = batch[i : i + services.STORE_CHUNK]
            services._store_and_alert(
                [(listing, found[listing.pk]) for listing in part], now=now, limit=10
            )
        if profiler is not None:
            profiler.disable()

    every: dict[str, Callable[[Sequence[Listing]], None]] = {
        "one": before,
        "orm": orm,
        "rows": rows,
    }
    ways = {name: every[name] for name in args.ways.split(",")}
    if args.check:
        check(requests, found, matches_for, orm, rows)
        return
    blocks = [requests[i : i + args.block] for i in range(0, len(requests), args.block)]
    results: dict[str, Any] = {"db": args.db.split(":")[0], "load_before": os.getloadavg()[0]}
    server = _server_cpu()
    for round_ in ("insert", "update", "same"):
        if round_ == "update":  # about half of each request's matches change
            for r in requests:
                fresh = matches_for()
                found[r.pk] = sorted(found[r.pk][:10] + fresh[:10], key=lambda m: -m.score)
        spent = dict.fromkeys(ways, 0.0)
        cpu = dict.fromkeys(ways, 0.0)
        db_cpu = dict.fromkeys(ways, 0.0)
        done = dict.fromkeys(ways, 0)
        names = list(ways)
        for k, block in enumerate(blocks):
            name = names[k % len(names)]
            t, c, d = time.perf_counter(), time.process_time(), server()
            ways[name](block)
            spent[name] += time.perf_counter() - t
            cpu[name] += time.process_time() - c
            db_cpu[name] += server() - d
            done[name] += len(block)
        for name in ways:
            n = max(1, done[name])
            per, per_cpu, per_db = spent[name] / n, cpu[name] / n, db_cpu[name] / n
            results[f"{round_}_{name}_ms"] = round(per * 1000, 3)
            results[f"{round_}_{name}_cpu_ms"] = round(per_cpu * 1000, 3)
            results[f"{round_}_{name}_db_cpu_ms"] = round(per_db * 1000, 3)
            print(
                f"{round_:6s} {name:4s}: {done[name]:,} requests, {per * 1000:.2f} ms each"
                f" (CPU: this process {per_cpu * 1000:.2f} ms, database server"
                f" {per_db * 1000:.2f} ms) → 100,000 in {per * 100_000 / 60:.1f} min"
            )
    results["rows"] = MatchRecommendation.objects.count()
    results["notifications"] = Notification.objects.count()
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results))
    if profiler is not None:
        profiler.dump_stats(args.profile)


def check(
    requests: Sequence[Any],
    found: dict[int, Any],
    matches_for: Callable[[], Any],
    orm: Callable[[Sequence[Any]], None],
    rows: Callable[[Sequence[Any]], None],
) -> None:
    """Store every request with `orm` then (undone) with `rows`, three rounds; compare."""
    from django.db import transaction

    from techexchange.market.models import MatchRecommendation, Notification

    def snapshot() -> tuple[Any, ...]:
        recs = list(
            MatchRecommendation.objects.order_by("pk").values_list(
                "pk", "need_id", "candidate_id", "rank", "score", "components",
                "reason_zh", "reason_en", "alerted_at",
            )
        )  # fmt: skip
        order = {r[0]: i for i, r in enumerate(recs)}
        notes = list(
            Notification.objects.order_by("pk").values_list(
                "user_id", "event", "title", "body", "url", "created_at", "read_at", "in_app",
                "digest_pending", "emailed_at",
            )
        )  # fmt: skip
        return sorted((order[r[0]], *r[1:]) for r in recs), notes

    rounds = [dict(found)]
    for i in range(2):
        if i == 0:  # about half of each request's matches change, then nothing does
            rounds.append(
                {
                    pk: sorted(ms[:10] + matches_for()[:10], key=lambda m: -m.score)
                    for pk, ms in found.items()
                }
            )
        else:
            rounds.append(rounds[-1])
    shots: dict[str, list[Any]] = {}
    for name, way in (("orm", orm), ("rows", rows)):
        shots[name] = []
        with transaction.atomic():
            for matches in rounds:
                found.clear()
                found.update(matches)
                way(requests)
                shots[name].append(snapshot())
            transaction.set_rollback(True)
    for k, (a, b) in enumerate(zip(shots["orm"], shots["rows"], strict=True)):
        same = a == b
        print(
            f"round {k + 1}: {len(a[0]):,} rows, {len(a[1]):,} notifications:"
            f" {'identical' if same else 'DIFFERENT'}"
        )
        if not same:
            raise SystemExit(1)


def _server_cpu() -> Callable[[], float]:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    return used


def recompute(args: argparse.Namespace, requests: Sequence[Any], now: datetime) -> None:
    """Match every request against the bench index and store the results, timed."""
    from market_match import make_need

    from techexchange.market import services
    from techexchange.market.doctypes import OFFER_DOC
    from techexchange.market.models import MatchRecommendation
    from techexchange.search import MATCH_RANKING, Match, Matcher, SearchIndex

    index = SearchIndex(Path(args.index) / "offers", OFFER_DOC, ranking=MATCH_RANKING)
    if index.count() != args.offers:
        raise SystemExit(f"{args.index} holds {index.count():,} offers, not {args.offers:,}")
    rng = random.Random(args.seed + 1)
    needs = [make_need(rng) for _ in requests]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    storing = storing_cpu = 0.0
    batch: list[tuple[Any, Sequence[Match]]] = []
    pending = iter(requests)
    found_all = Matcher(index, pool=100).match_many(
        needs, limit=20, now=now, processes=args.processes
    )
    for found in found_all:
        batch.append((next(pending), found))
        if len(batch) >= services.STORE_CHUNK:
            t, c = time.perf_counter(), time.process_time()
            services._store_and_alert(batch, now=now, limit=10)
            storing += time.perf_counter() - t
            storing_cpu += time.process_time() - c
            batch = []
    if batch:
        t, c = time.perf_counter(), time.process_time()
        services._store_and_alert(batch, now=now, limit=10)
        storing += time.perf_counter() - t
        storing_cpu += time.process_time() - c
    elapsed = time.perf_counter() - started
    n = len(requests)
    print(
        f"recompute: {n:,} requests against {args.offers:,} offers in {elapsed:.1f} s"
        f" ({elapsed / n * 1000:.2f} ms each, storing {storing:.1f} s of it in this process,"
        f" {storing_cpu:.1f} s of CPU)"
        f" → 100,000 requests in {elapsed / n * 100_000 / 60:.1f} min"
    )
    print(
        json.dumps(
            {
                "requests": n,
                "offers": args.offers,
                "processes": args.processes,
                "seconds": round(elapsed, 1),
                "storing_seconds": round(storing, 1),
                "storing_cpu_seconds": round(storing_cpu, 2),
                "per_request_ms": round(elapsed / n * 1000, 2),
                "minutes_for_100k": round(elapsed / n * 100_000 / 60, 1),
                "rows": MatchRecommendation.objects.count(),
                "load_before": load_before,
                "load_after": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
