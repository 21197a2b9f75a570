"""The market's use of the search engine: doc types, documents, indexes and needs.

Offers and requests are registered as doc types; only published, unexpired listings are in
the index. Writes enqueue a `SearchOutbox` row inside the same transaction; `flush_outbox`
applies every pending row in one batch per index (the `process_search_outbox` task runs it
after commit, and matching flushes first so a reader always sees its own writes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from techexchange.market.codes import ListingKind, ListingStatus
from techexchange.market.doctypes import OFFER_DOC, REQUEST_DOC
from techexchange.market.models import Listing, SearchOutbox, TechnologyOffer, TechnologyRequest
from techexchange.search import (
    MATCH_RANKING,
    Need,
    SearchIndex,
    registry,
)

__all__ = [
    "CHAIN_NEIGHBOURS",
    "OFFER_DOC",
    "REQUEST_DOC",
    "enqueue",
    "flush_outbox",
    "index_for",
    "listing_document",
    "need_from_listing",
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


def flush_outbox(now: datetime) -> int:
    """Apply every pending outbox row to the indexes; return how many rows were consumed."""
    rows = list(SearchOutbox.objects.order_by("id").values_list("id", "listing_id", "kind"))
    if not rows:
        return 0
    for kind in (ListingKind.OFFER, ListingKind.REQUEST):
        ids = {lid for _, lid, k in rows if k == kind}
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
    SearchOutbox.objects.filter(id__in=[r[0] for r in rows]).delete()
    return len(rows)


def rebuild_indexes(now: datetime) -> dict[str, int]:
    """Rebuild both indexes from the database (published, unexpired listings)."""
    out: dict[str, int] = {}
    for kind, model in (
        (ListingKind.OFFER, TechnologyOffer),
        (ListingKind.REQUEST, TechnologyRequest),
    ):
        qs = model.objects.select_related("owner").filter(
            status=ListingStatus.PUBLISHED, valid_until__gt=now
        )
        out[kind] = index_for(kind).rebuild(listing_document(x) for x in qs.iterator())
    SearchOutbox.objects.all().delete()
    return out
