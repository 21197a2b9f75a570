"""The instrument document type, and the outbox follower that keeps its index current.

Every write that changes what a search shows (an instrument, its services, its holder's name)
adds an `IndexEvent` in the same transaction. The follower of a node applies the events after
its position, under a per-node file lock: one writer per index per node (ADR 0002). A rebuild
takes the same lock, indexes everything into a new generation while searches go on, then sets
the position to the outbox watermark it read before scanning, and catches up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch, QuerySet

from techexchange.resources.models import (
    BOOKABLE_STATES,
    IndexEvent,
    Instrument,
    InstrumentService,
    SharingMode,
)
from techexchange.search import (
    DocType,
    KeywordField,
    NumericField,
    SearchIndex,
    TextField,
    registry,
)
from techexchange.search.follower import (
    BATCH,
    GAP_GRACE,
    LOCK_FILE,
    POSITION_FILE,
    PositionFile,
    catch_up,
    writer_lock,
)

__all__ = [
    "INSTRUMENT",
    "emit",
    "get_index",
    "instrument_docs",
    "pending_events",
    "rebuild_index",
    "register",
    "sync_index",
]

INSTRUMENT = DocType(
    name="instrument",
    text_fields=(
        TextField("title", weight=3),
        TextField("model", weight=2),
        TextField("category_name", weight=2),
        TextField("specs", weight=1),
        TextField("functions", weight=1),
        TextField("holder_name", weight=1),
        TextField("services_text", weight=1),
    ),
    keyword_fields=(
        KeywordField("province"),
        KeywordField("city"),
        KeywordField("category"),
        KeywordField("subcategory"),
        KeywordField("mode"),
        KeywordField("availability"),
        KeywordField("holder"),
    ),
    numeric_fields=(NumericField("price"), NumericField("value")),
    stored=(
        "name_zh",
        "name_en",
        "holder_name_zh",
        "province_name",
        "city_name",
        "category_label",
        "price_unit",
        "state",
    ),
)

_indexes: dict[str, SearchIndex] = {}
_indexes_lock = threading.Lock()


def register() -> None:
    """Register the instrument doc type with the engine (AppConfig.ready)."""
    registry.register(INSTRUMENT)


def index_dir() -> Path:
    """The directory of the instrument index on this node."""
    return Path(settings.SEARCH_INDEX_DIR) / INSTRUMENT.name


def get_index() -> SearchIndex:
    """The process's handle on the instrument index (opened once per directory)."""
    path = index_dir()
    key = str(path)
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = SearchIndex(path, INSTRUMENT)
        return index


def emit(instrument_ids: Iterable[int], op: str = "upsert") -> None:
    """Record in the outbox that instruments changed (call inside the write's transaction).

    On commit a task asks the follower to apply the events.
    """
    from django.utils import timezone

    at = timezone.now()
    events = [
        IndexEvent(doc_type=INSTRUMENT.name, object_id=str(i), op=op, created_at=at)
        for i in instrument_ids
    ]
    if not events:
        return
    IndexEvent.objects.bulk_create(events)
    transaction.on_commit(_enqueue_sync)


def _enqueue_sync() -> None:
    from techexchange.resources.tasks import sync_search_index

    sync_search_index.enqueue()


# -- documents --------------------------------------------------------------------------------


def _availability(instrument: Instrument) -> str:
    if instrument.sharing_mode == SharingMode.NONE:
        return "not_shared"
    if instrument.state not in BOOKABLE_STATES:
        return "out_of_service"
    if instrument.sharing_mode == SharingMode.INTERNAL:
        return "internal_only"
    return "open"


def instrument_doc(instrument: Instrument) -> dict[str, Any]:
    """The search document of one instrument (expects holder, regions, category loaded)."""
    services: list[InstrumentService] = [s for s in instrument.services.all() if s.is_active]
    prices = [s.price_enterprise for s in services]
    cheapest = min(services, key=lambda s: s.price_enterprise) if services else None
    category = instrument.category
    return {
        "id": str(instrument.pk),
        "title": f"{instrument.name_zh} {instrument.name_en}".strip(),
        "model": f"{instrument.manufacturer} {instrument.model_number}".strip(),
        "category_name": f"{category.name_zh} {category.parent.name_zh if category.parent else ''}",
        "specs": instrument.specs,
        "functions": instrument.functions,
        "holder_name": instrument.holder.name_zh,
        "services_text": " ".join(s.name for s in services),
        "province": instrument.province_id,
        "city": instrument.city_id or "",
        "category": category.top_code,
        "subcategory": category.code,
        "mode": sorted({s.mode for s in services}),
        "availability": _availability(instrument),
        "holder": str(instrument.holder_id),
        "price": float(min(prices)) if prices else None,
        "value": float(instrument.original_value or Decimal(0)),
        "name_zh": instrument.name_zh,
        "name_en": instrument.name_en,
        "holder_name_zh": instrument.holder.name_zh,
        "province_name": instrument.province.name_zh,
        "city_name": instrument.city.name_zh if instrument.city else "",
        "category_label": category.name_zh,
        "price_unit": cheapest.unit if cheapest else "",
        "state": instrument.state,
    }


def _loaded(qs: QuerySet[Instrument]) -> QuerySet[Instrument]:
    return qs.select_related("holder", "province", "city", "category__parent").prefetch_related(
        Prefetch("services", queryset=InstrumentService.objects.order_by("id"))
    )


def instrument_docs(qs: QuerySet[Instrument] | None = None) -> Iterator[dict[str, Any]]:
    """Stream search documents for instruments (all of them by default)."""
    qs = _loaded(qs if qs is not None else Instrument.objects.all())
    for instrument in qs.order_by("pk").iterator(chunk_size=2000):
        yield instrument_doc(instrument)


# -- the follower -----------------------------------------------------------------------------


def _writer_lock(*, wait_seconds: float) -> AbstractContextManager[bool]:
    """The node's writer lock on the index (a file lock; threads also take a mutex)."""
    return writer_lock(index_dir() / LOCK_FILE, wait_seconds=wait_seconds)


def _position() -> PositionFile:
    return PositionFile(index_dir() / POSITION_FILE)


def read_position() -> int:
    """The id of the last outbox event applied on this node (0 when none)."""
    return _position().read()


def pending_events() -> bool:
    """True when the outbox holds events this node has not applied."""
    return IndexEvent.objects.filter(doc_type=INSTRUMENT.name, id__gt=read_position()).exists()


def _fetch(after: int, limit: int) -> list[IndexEvent]:
    return list(
        IndexEvent.objects.filter(doc_type=INSTRUMENT.name, id__gt=after).order_by("id")[:limit]
    )


def _apply(events: Sequence[IndexEvent]) -> None:
    latest: dict[str, str] = {}
    for event in events:
        latest[event.object_id] = event.op
    upserts = [int(i) for i, op in latest.items() if op == "upsert" and i.isdigit()]
    docs = list(instrument_docs(Instrument.objects.filter(pk__in=upserts)))
    found = {d["id"] for d in docs}
    gone = [i for i in latest if i not in found]
    index = get_index()
    if docs:
        index.upsert(docs)
    if gone:
        index.delete(gone)


def sync_index(*, wait_seconds: float = 2.0, now: datetime | None = None) -> int:
    """Apply pending outbox events to this node's index; return how many were read.

    Gives up (returns 0) when another writer holds the lock longer than `wait_seconds`
    (a rebuild): it catches up itself when it finishes.
    """
    from django.utils import timezone

    with _writer_lock(wait_seconds=wait_seconds) as got:
        if not got:
            return 0
        return _sync_locked(now or timezone.now())


def _sync_locked(now: datetime) -> int:
    return catch_up(
        position=_position(), fetch=_fetch, apply=_apply, now=now, grace=GAP_GRACE, batch=BATCH
    )


def rebuild_index(*, now: datetime | None = None) -> int:
    """Rebuild the index from the database while searches go on; return the document count."""
    from django.utils import timezone

    with _writer_lock(wait_seconds=-1):
        watermark = (
            IndexEvent.objects.filter(doc_type=INSTRUMENT.name).aggregate(m=Max("id"))["m"] or 0
        )
        count = get_index().rebuild(instrument_docs())
        _position().write(watermark)
        _sync_locked(now or timezone.now())
    return count
