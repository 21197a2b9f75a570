"""The recompute's storing as the ORM did it (commit 251ac58): the reference that the plain-row
path (`market.storing`) is compared with, in the tests and in `bench/market_store.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F

from techexchange.accounts.models import User
from techexchange.market import services, storing
from techexchange.market.models import Listing, MatchRecommendation
from techexchange.search import Match


def orm_store_and_alert(
    batch: Sequence[tuple[Listing, Sequence[Match]]], *, now: Any, limit: int
) -> None:
    """The ORM path this replaced (commit 251ac58), kept here as the reference."""
    with transaction.atomic():
        ids = {int(m.candidate.id) for _, found in batch for m in found}
        owner_of = dict(Listing.objects.filter(pk__in=ids).values_list("pk", "owner_id"))
        rows: list[MatchRecommendation] = []
        keep: set[tuple[int, int]] = set()
        for listing, found in batch:
            rank = 0
            for m in found:
                if rank >= limit:
                    break
                cid = int(m.candidate.id)
                if owner_of.get(cid, listing.owner_id) == listing.owner_id or (
                    (listing.pk, cid) in keep
                ):
                    continue
                rank += 1
                keep.add((listing.pk, cid))
                rows.append(
                    MatchRecommendation(
                        need_id=listing.pk,
                        candidate_id=cid,
                        rank=rank,
                        score=m.score,
                        components=storing.components(m),
                        reason_zh=m.reason_zh[:300],
                        reason_en=m.reason_en[:400],
                        computed_at=now,
                    )
                )
        stored = MatchRecommendation.objects.filter(need_id__in=[n.pk for n, _ in batch])
        stale = [
            p
            for p, n, c in stored.values_list("pk", "need_id", "candidate_id")
            if (n, c) not in keep
        ]
        MatchRecommendation.objects.filter(pk__in=stale).delete()
        MatchRecommendation.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["need", "candidate"],
            update_fields=["rank", "score", "components", "reason_zh", "reason_en", "computed_at"],
        )
        fresh: dict[int, list[tuple[int, str]]] = {}
        for pk, need_id, reason in (
            MatchRecommendation.objects.filter(
                need_id__in=[n.pk for n, _ in batch],
                score__gte=services._alert_threshold(),
                alerted_at__isnull=True,
            )
            .order_by("need_id", "rank")
            .values_list("pk", "need_id", "reason_zh")
        ):
            fresh.setdefault(need_id, []).append((pk, reason))
        users: dict[int, list[User]] = {}
        for user in (
            User.objects.filter(
                memberships__organisation_id__in={n.owner_id for n, _ in batch}, is_active=True
            )
            .annotate(org_id=F("memberships__organisation_id"))
            .order_by("pk")
        ):
            users.setdefault(user.org_id, []).append(user)
        for listing, _ in batch:
            if listing.pk in fresh:
                reasons = [r for _, r in fresh[listing.pk]]
                services._send_alert(listing, reasons, users.get(listing.owner_id, []), now)
        alerted = [pk for recs in fresh.values() for pk, _ in recs]
        MatchRecommendation.objects.filter(pk__in=alerted).update(alerted_at=now)
