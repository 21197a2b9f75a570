"""The catalogue's search: the engine fed through the outbox, facets, filters and sorting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_organisation
from techexchange.resources import indexing, selectors, services
from techexchange.resources.models import IndexEvent
from techexchange.resources.tests.factories import make_instrument, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    sh = make_organisation(province="310000", city="310100", nature="022")
    nj = make_organisation(province="320000", city="320100", nature="021")
    hf = make_organisation(province="340000", city="340100", nature="022")
    return {
        "sh": make_instrument(holder=sh, name_zh="场发射扫描电镜"),
        "nj": make_instrument(holder=nj, name_zh="台式扫描电镜", name_en="Tabletop SEM"),
        "hf": make_instrument(holder=hf, name_zh="透射电镜", category="010100"),
        "lc": make_instrument(holder=sh, name_zh="高效液相色谱仪", category="010500"),
    }


def ids(result):
    return [h["id"] for h in result.hits]


def test_search_finds_by_chinese_words_and_filters_by_province(catalogue):
    every = selectors.search_instruments(q="扫描电镜")
    assert set(ids(every)[:2]) == {str(catalogue["sh"].pk), str(catalogue["nj"].pk)}
    assert str(catalogue["lc"].pk) not in ids(every)
    shanghai = selectors.search_instruments(q="扫描电镜", province=["310000"])
    assert ids(shanghai) == [str(catalogue["sh"].pk)]
    assert "<mark>" in shanghai.hits[0]["highlights"]["title"]


def test_facets_count_every_value_with_labels(catalogue):
    result = selectors.search_instruments()
    provinces = {f.value: (f.label, f.count) for f in result.facets["province"]}
    assert provinces["310000"] == ("上海市", 2) and provinces["340000"][1] == 1
    categories = {f.value: f.count for f in result.facets["category"]}
    assert categories == {"010000": 4}
    modes = {f.value for f in result.facets["mode"]}
    assert modes == {"occupy", "entrusted"}


def test_price_range_and_price_sort(catalogue):
    catalogue["nj"].services.filter(mode="entrusted").update(price_enterprise=Decimal("50"))
    services.touch_instruments([catalogue["nj"].pk])
    cheap = selectors.search_instruments(price_max=100)
    assert ids(cheap) == [str(catalogue["nj"].pk)]
    by_price = selectors.search_instruments(sort="price")
    assert ids(by_price)[0] == str(catalogue["nj"].pk)


def test_distance_sort_starts_in_the_nearest_city(catalogue):
    from_hefei = selectors.search_instruments(q="电镜", sort="distance", near="340100")
    assert ids(from_hefei)[0] == str(catalogue["hf"].pk)
    assert from_hefei.hits[0]["distance_km"] == 0
    from_shanghai = selectors.search_instruments(q="电镜", sort="distance", near="310100")
    assert ids(from_shanghai)[0] == str(catalogue["sh"].pk)
    second_page = selectors.search_instruments(
        q="电镜", sort="distance", near="310100", offset=1, limit=1
    )
    assert ids(second_page) == [str(catalogue["nj"].pk)]  # Nanjing is nearer than Hefei


def test_every_write_reaches_the_index_through_the_outbox(catalogue):
    admin = make_staff(catalogue["sh"], OrgRole.ADMIN)
    data = services.InstrumentInput(
        asset_id="NEW-1", name_zh="原子力显微镜", category="010800", original_value=Decimal("320"),
        province="310000", city="310100",
    )  # fmt: skip
    services.save_instrument(actor=admin, holder=catalogue["sh"].holder, data=data)
    assert IndexEvent.objects.filter(op="upsert").exists()
    assert selectors.search_instruments(q="原子力").total == 1
    assert not indexing.pending_events()


def test_rebuild_replaces_the_index_and_keeps_the_outbox_position(catalogue, capsys):
    selectors.search_instruments()  # the node follows the outbox
    call_command("rebuild_search_index")
    assert "4" in capsys.readouterr().out
    assert indexing.get_index().count() == 4
    assert not indexing.pending_events()
    assert selectors.search_instruments(q="液相色谱").total == 1


def test_an_instrument_deleted_from_the_database_leaves_the_index(catalogue):
    selectors.search_instruments()
    pk = catalogue["lc"].pk
    catalogue["lc"].delete()
    indexing.emit([pk], op="delete")
    assert selectors.search_instruments(q="液相色谱").total == 0


def test_instrument_problems_name_their_fields():
    data = services.InstrumentInput(
        asset_id="",
        name_zh="x" * 201,
        category="999999",
        original_value=Decimal("-1"),
        province="990000",
    )
    codes = {(p.field, p.code) for p in services.instrument_problems(data)}
    assert {("asset_id", "required"), ("name_zh", "too_long"), ("category", "unknown_category"),
            ("original_value", "negative"), ("province", "unknown_region")} <= codes  # fmt: skip
