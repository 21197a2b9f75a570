"""The availability search on engine ids gives what it gave when it loaded every candidate."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from typing import Any

import pytest

from techexchange.accounts.tests.factories import make_organisation
from techexchange.resources import indexing, selectors, services
from techexchange.resources.tests.factories import NOW, at, make_customer, make_instrument
from techexchange.search import highlight

pytestmark = pytest.mark.django_db

TUESDAY = date(2026, 3, 3)
FRIDAY = date(2026, 3, 6)


def _previous_search_free(
    index: Any,
    q: str,
    filters: dict[str, list[str]],
    ranges: dict[str, Any],
    sort: str,
    order: str | None,
    origin: tuple[float, float] | None,
    coords: dict[str, tuple[float, float]],
    window: selectors.FreeWindow,
    *,
    now: Any,
    offset: int,
    limit: int,
) -> selectors.SearchResult:
    """`selectors._search_free` as it was before the ids-only search (every document loaded)."""
    page = index.search(
        q,
        filters=filters,
        ranges=ranges,
        sort=order,
        offset=0,
        limit=selectors.FREE_CANDIDATES,
        highlight_width=None,
        count=False,
    )
    free = selectors.free_instruments([int(h.id) for h in page.hits], window, now=now)
    kept = [h for h in page.hits if int(h.id) in free]
    if sort == "distance" and origin is not None:
        far = (math.inf, 0.0)
        by_city = {c: selectors._distance_km(origin, xy) for c, xy in coords.items()}
        kept.sort(key=lambda h: far[0] if (d := by_city.get(h.doc.get("city", ""))) is None else d)
    shown: list[dict[str, Any]] = []
    for h in kept[offset : offset + limit]:
        doc = {**h.doc, "score": h.score}
        c = coords.get(doc.get("city", ""))
        doc["distance_km"] = round(selectors._distance_km(origin, c)) if origin and c else None
        doc["highlights"] = {
            tf.name: highlight(doc[tf.name], page.terms, width=120)
            for tf in indexing.INSTRUMENT.text_fields
            if doc.get(tf.name)
        }
        shown.append(doc)
    counted: dict[str, Counter[str]] = {}
    for name in selectors.FACETS:
        values = [h.doc.get(name) for h in kept]
        counted[name] = Counter(
            [str(v) for v in values if v and not isinstance(v, list)]
            + [str(x) for v in values if isinstance(v, list) for x in set(v)]
        )
    labels = selectors._labels()
    facets = {
        name: [
            selectors.FacetValue(value, labels[name].get(value, value), n)
            for value, n in counted[name].most_common(60)
        ]
        for name in selectors.FACETS
    }
    return selectors.SearchResult(
        total=len(kept), hits=shown, facets=facets, took_ms=0.0, sort=sort, terms=page.terms
    )


NAMES = [
    "场发射扫描电镜",
    "台式扫描电镜",
    "透射电镜",
    "高效液相色谱仪",
    "扫描探针显微镜",
    "电镜制样仪",
]


@pytest.fixture
def catalogue():
    holders = [
        make_organisation(province="310000", city="310100", nature="022"),
        make_organisation(province="320000", city="320100", nature="021"),
        make_organisation(province="320000", city="320500", nature="022"),
        make_organisation(province="340000", city="340100", nature="022"),
        make_organisation(province="330000", city=None, nature="022"),
    ]
    instruments = [
        make_instrument(
            holder=holders[i % len(holders)], name_zh=NAMES[i % len(NAMES)], open_hours=i % 2 == 0
        )
        for i in range(24)
    ]
    customer = make_customer()
    for k, instrument in enumerate(instruments):
        if k % 3 == 0:  # Tuesday taken from 8 to 18: not free for 2 h that day
            for start, end in ((at(3, 8), at(3, 13)), (at(3, 13), at(3, 18))):
                services.book_instrument(
                    instrument=instrument,
                    booked_by=customer,
                    starts_at=start,
                    ends_at=end,
                    now=NOW,
                )
    return instruments


def _view(result: selectors.SearchResult) -> dict[str, Any]:
    return {
        "ids": [h["id"] for h in result.hits],
        "hits": result.hits,
        "total": result.total,
        "facets": {
            name: {(f.value, f.label, f.count) for f in values}
            for name, values in result.facets.items()
        },
        "terms": result.terms,
    }


CASES: list[dict[str, Any]] = [
    {"limit": 50},
    {"limit": 3},
    {"offset": 2, "limit": 4},
    {"sort": "price", "limit": 50},
    {"sort": "-price", "offset": 1, "limit": 5},
    {"sort": "distance", "near": "320100", "limit": 50},
    {"sort": "distance", "near": "320100", "offset": 3, "limit": 4},
    {"sort": "distance", "near": "340100", "offset": 9, "limit": 5},
    {"province": ["320000", "330000"], "limit": 50},
]


@pytest.mark.parametrize("days", [(TUESDAY, TUESDAY), (TUESDAY, FRIDAY)])
def test_availability_search_gives_what_loading_every_candidate_gave(catalogue, monkeypatch, days):
    first, last = days
    window = {"available_from": first, "available_to": last, "min_hours": 2, "now": NOW}
    for q in ("扫描电镜", "电镜", ""):
        for kw in CASES:
            now = selectors.search_instruments(q=q, **window, **kw)
            with monkeypatch.context() as m:
                m.setattr(selectors, "_search_free", _previous_search_free)
                before = selectors.search_instruments(q=q, **window, **kw)
            assert _view(now) == _view(before), (q, kw)
    # The cases are not vacuous: on Tuesday some candidates are booked out, the rest shown.
    shown = selectors.search_instruments(q="电镜", **window, limit=50)
    every = selectors.search_instruments(q="电镜", limit=50, now=NOW)
    assert len({h["city"] for h in shown.hits}) >= 3
    if first == last:
        assert 0 < shown.total < every.total
    else:  # every instrument has two free hours somewhere in four days
        assert shown.total == every.total


def test_the_engine_loads_only_the_page(catalogue, monkeypatch):
    index = indexing.get_index()
    asked: list[list[str]] = []
    original = type(index).documents

    def spy(self: Any, ids: Any) -> Any:
        ids = list(ids)
        asked.append(ids)
        return original(self, ids)

    monkeypatch.setattr(type(index), "documents", spy)
    result = selectors.search_instruments(
        q="电镜", available_from=TUESDAY, available_to=TUESDAY, min_hours=2, now=NOW, limit=3
    )
    assert result.total > 3
    assert asked == [[h["id"] for h in result.hits]]
