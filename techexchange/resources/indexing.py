"""The instrument document type, and the outbox follower that keeps its index current.

Every write that changes what a search shows (an instrument, its services, its holder's name)
adds an `IndexEvent` in the same transaction. The follower of a node applies the events after
its position, under a per-node file lock: one writer per index per node (ADR 0002). A rebuild
takes the same lock, indexes everything into a new generation while searches go on, then sets
the position to the outbox watermark it read before scanning, and catches up.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
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

# A gap in outbox ids younger than this may be a transaction still in flight: wait for it.
GAP_GRACE = timedelta(seconds=60)
BATCH = 5000

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

_thread_lock = threading.RLock()


@contextmanager
def _writer_lock(*, wait_seconds: float) -> Iterator[bool]:
    """The node's writer lock on the index (a file lock; threads also take a mutex)."""
    path = index_dir()
    path.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    if not _thread_lock.acquire(timeout=max(wait_seconds, 0) if wait_seconds >= 0 else -1):
        yield False
        return
    try:
        fd = os.open(path / "writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if wait_seconds >= 0 and time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.02)
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        _thread_lock.release()


def _position_file() -> Path:
    return index_dir() / "outbox.position"


def read_position() -> int:
    """The id of the last outbox event applied on this node (0 when none)."""
    try:
        return int(_position_file().read_text(encoding="ascii").strip() or 0)
    except FileNotFoundError:
        return 0


def _write_position(value: int) -> None:
    tmp = _position_file().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(str(value), encoding="ascii")
    os.replace(tmp, _position_file())


def pending_events() -> bool:
    """True when the outbox holds events this node has not applied."""
    return IndexEvent.objects.filter(doc_type=INSTRUMENT.name, id__gt=read_position()).exists()


def _apply(events: list[IndexEvent]) -> None:
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


def _advance(position: int, events: list[IndexEvent], now: datetime) -> int:
    """The new position: past every event, but not past a young gap (a transaction in flight)."""
    previous = position
    for event in events:
        if previous and event.id != previous + 1 and now - event.created_at < GAP_GRACE:
            return previous
        previous = event.id
    return previous


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
    total = 0
    while True:
        position = read_position()
        events = list(
            IndexEvent.objects.filter(doc_type=INSTRUMENT.name, id__gt=position).order_by("id")[
                :BATCH
            ]
        )
        if not events:
            return total
        _apply(events)
        total += len(events)
        new_position = _advance(position, events, now)
        _write_position(new_position)
        if new_position == position or len(events) < BATCH:
            return total


def rebuild_index(*, now: datetime | None = None) -> int:
    """Rebuild the index from the database while searches go on; return the document count."""
    from django.utils import timezone

    with _writer_lock(wait_seconds=-1):
        watermark = (
            IndexEvent.objects.filter(doc_type=INSTRUMENT.name).aggregate(m=Max("id"))["m"] or 0
        )
        count = get_index().rebuild(instrument_docs())
        _write_position(watermark)
        _sync_locked(now or timezone.now())
    return count
