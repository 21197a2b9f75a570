"""The market's use of the search engine: doc types, documents, indexes and needs.

Offers and requests are registered as doc types; only published, unexpired listings are in
the index. Writes add a `SearchOutbox` row inside the same transaction. The rows are not
consumed: each node follows them (ADR 0002) with its own position, shared by its two indexes
(`market.outbox.position` in the index root), and applies them only under its writer lock
(`market.writer.lock`), so two processes never open a tantivy writer on one directory.
`flush_outbox` catches up (the `process_search_outbox` task runs it after commit, and
matching calls it first so a reader sees its own writes); `rebuild_indexes` rebuilds both
indexes and sets the position to the watermark read before scanning; `prune_outbox` deletes
rows older than `OUTBOX_RETENTION` (a node offline longer must rebuild).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from techexchange.core import clock
from techexchange.market.codes import ListingKind, ListingStatus
from techexchange.market.doctypes import OFFER_DOC, REQUEST_DOC
from techexchange.market.models import Listing, SearchOutbox, TechnologyOffer, TechnologyRequest
from techexchange.search import (
    MATCH_RANKING,
    Need,
    SearchIndex,
    registry,
)
from techexchange.search.follower import GAP_GRACE, PositionFile, advance, catch_up, writer_lock

__all__ = [
    "CHAIN_NEIGHBOURS",
    "OFFER_DOC",
    "OUTBOX_RETENTION",
    "REQUEST_DOC",
    "enqueue",
    "flush_outbox",
    "index_for",
    "listing_document",
    "need_from_listing",
    "pending_events",
    "prune_outbox",
    "read_position",
    "rebuild_indexes",
    "reset_indexes",
]

# Industrial chain links next to each other (upstream ↔ downstream): used by the chain fit.
CHAIN_NEIGHBOURS: dict[str, frozenset[str]] = {
    "材料": frozenset({"器件"}),
    "器件": frozenset({"材料", "模组"}),
    "模组": frozenset({"器件", "整机"}),
    "整机": frozenset({"模组", "应用"}),
    "应用": frozenset({"整机"}),
}


def register_doc_types() -> None:
    """Register the market's doc types with the engine (AppConfig.ready)."""
    registry.register(OFFER_DOC)
    registry.register(REQUEST_DOC)


_indexes: dict[tuple[str, str], SearchIndex] = {}
_lock = threading.Lock()


def _root() -> Path:
    default = getattr(settings, "SEARCH_INDEX_DIR", Path(settings.BASE_DIR) / "var" / "search")
    return Path(getattr(settings, "MARKET_INDEX_DIR", default))


def index_for(kind: str) -> SearchIndex:
    """The (process-wide) index of offers or requests."""
    doc = OFFER_DOC if kind == ListingKind.OFFER else REQUEST_DOC
    path = _root() / doc.name
    key = (str(path), doc.name)
    with _lock:
        if key not in _indexes:
            _indexes[key] = SearchIndex(path, doc, ranking=MATCH_RANKING)
        return _indexes[key]


def reset_indexes() -> None:
    """Forget the open indexes (tests switch the directory)."""
    with _lock:
        _indexes.clear()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def listing_document(listing: TechnologyOffer | TechnologyRequest) -> dict[str, Any]:
    """The search document of a listing (description is indexed for relevance, never shown)."""
    keywords = [str(k) for k in (listing.tech_keywords or []) + (listing.market_keywords or [])]
    doc: dict[str, Any] = {
        "id": str(listing.pk),
        "title": listing.title_zh + (" " + listing.title_en if listing.title_en else ""),
        "title_en": listing.title_en,
        "keywords_text": " ".join(keywords),
        "summary": listing.summary_zh + " " + listing.summary_en,
        "body": listing.description_zh,
        "fields": [listing.tech_field] if listing.tech_field else [],
        "province": listing.owner.province_id,
        "modes": list(listing.cooperation_modes or []),
        "regions": [listing.owner.province_id],
        "keywords": keywords,
        "chain_stages": [listing.chain_node] if listing.chain_node else [],
        "updated_at": _iso(listing.last_confirmed_at or listing.published_at),
        "owner_id": listing.owner_id,
    }
    if isinstance(listing, TechnologyOffer):
        doc.update(
            maturity=listing.maturity,
            ip_status=listing.ip_status or None,
            price_min=float(listing.price_min) if listing.price_min is not None else None,
            price_max=float(listing.price_max) if listing.price_max is not None else None,
        )
    else:
        doc["body"] = f"{listing.problem} {listing.description_zh}"
        doc.update(
            maturity_min=listing.maturity_min,
            maturity_max=listing.maturity_max,
            price_min=float(listing.budget_min) if listing.budget_min is not None else None,
            price_max=float(listing.budget_max) if listing.budget_max is not None else None,
        )
    return doc


def need_from_listing(listing: TechnologyOffer | TechnologyRequest) -> Need:
    """What a listing seeks, as the engine's Need (a request seeks offers and vice versa)."""
    text = " ".join(
        [
            listing.title_zh,
            listing.title_en,
            " ".join(listing.tech_keywords or []),
            listing.summary_zh,
        ]
    )
    common: dict[str, Any] = {
        "fields": frozenset([listing.tech_field]) if listing.tech_field else frozenset(),
        "keywords": frozenset(listing.tech_keywords or []),
        "modes": frozenset(listing.cooperation_modes or []),
        "regions": tuple(listing.target_regions or []),
        "chain_stages": frozenset([listing.chain_node]) if listing.chain_node else frozenset(),
    }
    if isinstance(listing, TechnologyRequest):
        text += " " + listing.problem
        budget = listing.budget_max or listing.budget_min
        return Need(
            text=text,
            maturity_min=listing.maturity_min,
            maturity_max=listing.maturity_max,
            ip_statuses=frozenset(listing.acceptable_ip or []),
            budget=float(budget) if budget is not None else None,
            **common,
        )
    return Need(text=text, **common)


def _indexable(listing: Listing, now: datetime) -> bool:
    return listing.status == ListingStatus.PUBLISHED and (
        listing.valid_until is None or listing.valid_until > now
    )


def enqueue(listing: Listing) -> None:
    """Record that a listing changed (call inside the write's transaction)."""
    SearchOutbox.objects.create(listing_id=listing.pk, kind=listing.kind)
    transaction.on_commit(_kick)


def _kick() -> None:
    """Ask a worker to apply the outbox (readers flush on their own if none runs)."""
    from techexchange.market.tasks import process_search_outbox

    process_search_outbox.enqueue()


def _load(kind: str, ids: Iterable[int]) -> dict[int, TechnologyOffer | TechnologyRequest]:
    model: type[TechnologyOffer] | type[TechnologyRequest] = (
        TechnologyOffer if kind == ListingKind.OFFER else TechnologyRequest
    )
    return {x.pk: x for x in model.objects.select_related("owner").filter(pk__in=list(ids))}


# -- following the outbox (ADR 0002) ----------------------------------------------------------

# A reader (matching) waits this long for the writer lock, then serves what is indexed: the
# process holding the lock is applying the rows.
READER_WAIT_SECONDS = 0.5
# The task that runs after each write may wait longer: nobody waits on it.
TASK_WAIT_SECONDS = 30.0
OUTBOX_RETENTION = timedelta(days=7)


def _writer(wait_seconds: float) -> AbstractContextManager[bool]:
    """This node's writer lock on both market indexes."""
    return writer_lock(_root() / "market.writer.lock", wait_seconds=wait_seconds)


def _position() -> PositionFile:
    return PositionFile(_root() / "market.outbox.position")


def read_position() -> int:
    """The id of the last outbox row applied on this node (0 when none)."""
    return _position().read()


def pending_events() -> bool:
    """True when the outbox holds rows this node has not applied (one indexed query)."""
    return SearchOutbox.objects.filter(id__gt=read_position()).exists()


def _fetch(after: int, limit: int) -> list[SearchOutbox]:
    return list(SearchOutbox.objects.filter(id__gt=after).order_by("id")[:limit])


def _apply(rows: Sequence[SearchOutbox], now: datetime) -> None:
    """Bring both indexes up to date with the listings the rows name (as they are now)."""
    for kind in (ListingKind.OFFER, ListingKind.REQUEST):
        ids = {r.listing_id for r in rows if r.kind == kind}
        if not ids:
            continue
        found = _load(kind, ids)
        live = [listing_document(x) for x in found.values() if _indexable(x, now)]
        gone = [str(i) for i in ids if i not in found or not _indexable(found[i], now)]
        index = index_for(kind)
        if live:
            index.upsert(live)
        if gone:
            index.delete(gone)


def _flush_locked(now: datetime) -> int:
    # `now` decides which listings are live; the gap rule measures age on the wall clock,
    # which wrote the rows' created_at.
    return catch_up(
        position=_position(),
        fetch=_fetch,
        apply=lambda rows: _apply(rows, now),
        now=clock.now(),
    )


def flush_outbox(now: datetime, *, wait_seconds: float = READER_WAIT_SECONDS) -> int:
    """Apply the outbox rows this node has not applied; return how many rows were read.

    One query when nothing is pending. When another process of this node holds the writer
    lock longer than `wait_seconds` (-1: wait for ever), gives up and returns 0: the caller
    serves what is indexed, and the holder applies the rows.
    """
    if not pending_events():
        return 0
    with _writer(wait_seconds) as got:
        if not got:
            return 0
        return _flush_locked(now)


def _watermark() -> int:
    """The last outbox id that a scan starting now covers: the highest, but below a young gap.

    A young gap may be a transaction in flight whose listing the scan reads before it commits;
    its row, once visible, must still be above the position.
    """
    at = clock.now()
    recent = list(
        SearchOutbox.objects.filter(created_at__gte=at - GAP_GRACE)
        .order_by("id")
        .only("id", "created_at")
    )
    if not recent:
        return int(SearchOutbox.objects.aggregate(m=Max("id"))["m"] or 0)
    before = SearchOutbox.objects.filter(id__lt=recent[0].id).aggregate(m=Max("id"))["m"]
    return advance(before or 0, recent, at, grace=GAP_GRACE)


def rebuild_indexes(now: datetime) -> dict[str, int]:
    """Rebuild both indexes from the database (published, unexpired listings).

    Holds the writer lock; reads the outbox watermark before scanning, so a row written during
    the scan is above it and applied by the catch-up that follows (searches go on meanwhile).
    """
    out: dict[str, int] = {}
    with _writer(-1):
        watermark = _watermark()
        for kind, model in (
            (ListingKind.OFFER, TechnologyOffer),
            (ListingKind.REQUEST, TechnologyRequest),
        ):
            qs = model.objects.select_related("owner").filter(
                status=ListingStatus.PUBLISHED, valid_until__gt=now
            )
            out[kind] = index_for(kind).rebuild(listing_document(x) for x in qs.iterator())
        _position().write(watermark)
        _flush_locked(now)
    return out


def prune_outbox(now: datetime, *, keep: timedelta = OUTBOX_RETENTION) -> int:
    """Delete outbox rows older than `keep`; return how many (a node offline longer rebuilds)."""
    deleted, _ = SearchOutbox.objects.filter(created_at__lt=now - keep).delete()
    return deleted
