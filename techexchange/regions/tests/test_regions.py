"""Reference regions: the 41 YRD cities, every province, statistical regions, blocs."""

from __future__ import annotations

import pytest

from techexchange.core.errors import NotFound
from techexchange.regions.models import Region
from techexchange.regions.selectors import get_bloc, get_region, list_cities

pytestmark = pytest.mark.django_db


def test_yrd_has_41_prefecture_level_cities_split_1_13_11_16():
    counts = {p: list_cities(province=p).count() for p in ("310000", "320000", "330000", "340000")}
    assert counts == {"310000": 1, "320000": 13, "330000": 11, "340000": 16}


def test_every_province_level_region_of_china_is_present():
    assert Region.objects.filter(level="province").count() == 34
    assert get_region("810000").stat_group == "HMT"


def test_statistical_regions_for_hmt_and_abroad_exist():
    assert get_region("HMT").name_zh == "港澳台"
    assert get_region("abroad").name_zh == "境外"


def test_four_digit_codes_of_older_forms_resolve():
    assert get_region("3205").name_zh == "苏州市"
    assert get_region("3100").code == "310000"


def test_unknown_code_raises_not_found():
    with pytest.raises(NotFound):
        get_region("999999")


def test_blocs_have_their_members():
    assert set(get_bloc("YRD").members.values_list("code", flat=True)) == {
        "310000",
        "320000",
        "330000",
        "340000",
    }
    g60 = set(get_bloc("g60").members.values_list("code", flat=True))
    assert len(g60) == 9 and "310117" in g60 and "341800" in g60
    assert get_bloc("DEMO_ZONE").members.count() == 3


def test_districts_sit_under_their_city():
    assert get_region("320509").parent_id == "320500"
    assert get_region("310117").parent.parent_id == "310000"
