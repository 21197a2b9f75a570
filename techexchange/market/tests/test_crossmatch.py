"""Cross-matching: candidate teams and experts for a challenge, instruments for a listing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from techexchange.accounts.models import Organisation, OrgRole
from techexchange.accounts.tests.factories import make_member, make_organisation, make_user
from techexchange.market import crossmatch
from techexchange.market.models import Challenge, ChallengeObjective
from techexchange.market.tests.factories import (
    NOW,
    ListingKind,
    offer_input,
    published,
    request_input,
)
from techexchange.resources.models import Expert
from techexchange.resources.tests.factories import make_instrument

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _indexes(settings, tmp_path):
    """Instruments and experts get a fresh index directory per test, as listings do."""
    settings.SEARCH_INDEX_DIR = str(tmp_path / "resources-search")
    settings.MARKET_EXPERT_CHECK_SECONDS = 0
    crossmatch.reset_expert_index()
    yield
    crossmatch.reset_expert_index()


def org(province: str = "330000", city: str = "330100", **kw: Any) -> Organisation:
    """A university (a seller nature) in `city`."""
    return make_organisation(province=province, city=city, nature="022", **kw)


def perovskite_offer(owner: Organisation, title: str = "钙钛矿叠层太阳能电池制备工艺") -> Any:
    """A published offer about perovskite tandem solar cells."""
    return published(
        ListingKind.OFFER,
        owner,
        offer_input(
            title_zh=title,
            title_en="",
            summary_zh="本成果提供钙钛矿叠层太阳能电池的大面积制备与封装工艺，组件效率超过百分之二十六。",
            description_zh="钙钛矿薄膜狭缝涂布与界面钝化。",
            tech_keywords=["钙钛矿", "叠层电池", "光伏"],
            market_keywords=["光伏电站"],
        ),
    )


def challenge(sponsor: Organisation, **kw: Any) -> Challenge:
    """An open challenge on perovskite module stability."""
    data: dict[str, Any] = dict(
        title_zh="钙钛矿光伏组件长期稳定性攻关",
        sponsor=sponsor,
        created_by=make_user(),
        problem="钙钛矿光伏组件在湿热环境下衰减快，需要提升封装与界面稳定性。",
        tech_field="new_energy",
        reward=Decimal("5000000"),
        deadline=NOW + timedelta(days=30),
        status="open",
    )
    data.update(kw)
    ch = Challenge.objects.create(**data)
    ChallengeObjective.objects.create(
        challenge=ch,
        metric="湿热老化后效率保持率",
        target="≥90%",
        verification="第三方",
        weight=100,
    )
    return ch


def expert(organisation: Organisation, name: str, fields: str, expertise: str) -> Expert:
    """An expert of the directory in Hangzhou."""
    return Expert.objects.create(
        name=name,
        organisation=organisation,
        title="研究员",
        fields=fields,
        expertise=expertise,
        province_id="330000",
        city_id="330100",
    )


FILLERS = [
    ("五轴联动数控系统误差补偿", ["数控系统", "五轴联动"]),
    ("协作机器人谐波减速器", ["谐波减速器", "机器人"]),
    ("工业视觉缺陷检测算法", ["机器视觉", "缺陷检测"]),
    ("碳纤维复合材料快速固化树脂", ["碳纤维", "树脂"]),
    ("城市燃气管网泄漏监测", ["光纤传感", "泄漏监测"]),
    ("水稻病虫害图像识别", ["图像识别", "病虫害"]),
]


@pytest.fixture
def perovskite_world() -> dict[str, Any]:
    """A sponsor, a perovskite team, a battery team, and experts of each kind."""
    sponsor = make_organisation(province="320000", city="320500", nature="150")
    pv_team = org(name_zh="钙钛矿光伏研究院")
    battery_team = org(province="340000", city="340100", name_zh="固态电池研究所")
    published(ListingKind.OFFER, battery_team, offer_input())  # solid-state electrolytes
    others = org(province="310000", city="310100")
    for title, keywords in FILLERS:  # a market, not three offers: idf needs a corpus
        published(
            ListingKind.OFFER,
            others,
            offer_input(title_zh=title, title_en="", summary_zh=title, description_zh=title,
                        tech_field="advanced_manufacturing", tech_keywords=keywords),
        )  # fmt: skip
    pv_offer = perovskite_offer(pv_team)
    perovskite_offer(pv_team, "钙钛矿组件封装胶膜")
    experts = {
        "battery": expert(battery_team, "周电池", "电化学储能", "长期从事固态电解质与锂电池研究"),
        "pv": expert(pv_team, "陈光伏", "钙钛矿光伏", "钙钛矿薄膜制备、界面钝化与组件稳定性"),
        "ceramic": expert(org(), "王陶瓷", "新型陶瓷与精细工艺", "结构陶瓷烧结"),
    }
    return {
        "sponsor": sponsor,
        "pv_team": pv_team,
        "battery_team": battery_team,
        "pv_offer": pv_offer,
        "experts": experts,
        "challenge": challenge(sponsor),
    }


# -- candidates ------------------------------------------------------------------------------


def test_a_perovskite_challenge_gets_the_perovskite_team_first_naming_its_offer(perovskite_world):
    w = perovskite_world
    found = crossmatch.challenge_candidates(w["challenge"], now=NOW)
    assert found.teams, "the perovskite team should be a candidate"
    first = found.teams[0]
    assert first.organisation_id == w["pv_team"].pk
    assert w["pv_offer"].title_zh in first.reason
    assert first.reason.startswith("推荐理由：拥有相关成果")
    assert {o["id"] for o in first.offers} >= {w["pv_offer"].pk}
    names = {c["name"] for c in first.components}
    assert {"text", "field"} <= names
    assert all(0 <= c["value"] <= 1 for c in first.components)
    scores = [t.score for t in found.teams]
    assert scores == sorted(scores, reverse=True)


def test_the_expert_whose_expertise_is_perovskite_comes_first(perovskite_world):
    w = perovskite_world
    found = crossmatch.challenge_candidates(w["challenge"], now=NOW)
    assert found.experts[0].id == w["experts"]["pv"].pk
    assert found.experts[0].reason.startswith("推荐理由：")
    assert "研究专长与问题高度相关" in found.experts[0].reason
    assert found.experts[0].detail["organisation"] == "钙钛矿光伏研究院"


def test_the_sponsor_and_its_experts_are_never_candidates(perovskite_world):
    w = perovskite_world
    sponsor = w["pv_team"]  # the best team sponsors this one
    expert(sponsor, "李同单位", "钙钛矿光伏", "钙钛矿叠层电池与组件封装稳定性")
    ch = challenge(sponsor, end_user=w["battery_team"])
    found = crossmatch.challenge_candidates(ch, now=NOW, limit=10)
    team_ids = {t.organisation_id for t in found.teams}
    assert sponsor.pk not in team_ids
    assert w["battery_team"].pk not in team_ids  # the end user is the sponsor's side too
    assert all(e.detail["organisation"] != sponsor.name_zh for e in found.experts)
    assert "李同单位" not in {e.name for e in found.experts}


def test_new_experts_are_found_without_a_rebuild_and_removed_ones_drop_out(perovskite_world):
    w = perovskite_world
    crossmatch.challenge_candidates(w["challenge"], now=NOW)  # builds the expert index
    newcomer = expert(org(), "赵新人", "钙钛矿光伏", "钙钛矿组件湿热稳定性与封装")
    ids = [e.id for e in crossmatch.challenge_candidates(w["challenge"], now=NOW).experts]
    assert newcomer.pk in ids
    w["experts"]["pv"].delete()
    ids = [e.id for e in crossmatch.challenge_candidates(w["challenge"], now=NOW).experts]
    assert w["experts"]["pv"].pk not in ids and newcomer.pk in ids


def test_a_challenge_nothing_matches_gets_empty_lists(perovskite_world):
    ch = challenge(make_organisation(), title_zh="量子", problem="量子", tech_field="")
    ChallengeObjective.objects.filter(challenge=ch).delete()
    found = crossmatch.challenge_candidates(ch, now=NOW)
    assert found.teams == [] and found.experts == []
    assert crossmatch.related_resources(ch) == []


# -- instruments -----------------------------------------------------------------------------


def mass_spec_request() -> Any:
    """A published request about mass spectrometry of drug impurities (Jiangsu)."""
    buyer = make_organisation(province="320000", city="320500", nature="150")
    return published(
        ListingKind.REQUEST,
        buyer,
        request_input(
            title_zh="寻求药物杂质质谱分析方法",
            tech_field="bio_medical",
            tech_keywords=["质谱", "药物杂质"],
            market_keywords=["医药"],
        ),
    )


def test_a_mass_spectrometry_listing_gets_the_mass_spectrometer_first_with_reasons():
    make_instrument(
        name_zh="万能材料试验机", name_en="Universal testing machine", category="020100"
    )
    ms = make_instrument(
        name_zh="液相色谱-质谱联用仪",
        name_en="LC-MS",
        category="010200",
        functions="小分子定性定量、代谢组学、药物杂质分析",
    )
    found = crossmatch.related_resources(mass_spec_request())
    assert found[0].id == ms.pk
    assert found[0].reason.startswith("推荐理由：")
    assert "仪器功能与需求相关" in found[0].reason
    names = {c["name"]: c for c in found[0].components}
    assert names["field"]["value"] == 1.0  # 质谱仪器 serves bio-medicine
    assert names["mode"]["value"] == 1.0  # the factory's instrument offers 委托测试
    assert 0 < names["region"]["value"] < 1  # Shanghai instrument, Jiangsu request


def test_same_province_comes_before_the_rest_of_the_yrd_at_equal_text():
    shanghai = make_instrument(name_zh="液相色谱-质谱联用仪", category="010200")
    jiangsu = make_instrument(
        name_zh="液相色谱-质谱联用仪",
        category="010200",
        holder=make_organisation(province="320000", city="320500", nature="022"),
    )
    found = crossmatch.related_resources(mass_spec_request())
    assert [r.id for r in found[:2]] == [jiangsu.pk, shanghai.pk]
    region = {c["name"]: c for c in found[0].components}["region"]
    assert region["value"] == 1.0 and region["note"] == "位于同一省份"
    assert "位于长三角其他省份" in {c["name"]: c for c in found[1].components}["region"]["note"]


def test_instruments_not_shared_outside_are_not_suggested():
    make_instrument(name_zh="液相色谱-质谱联用仪", category="010200", sharing_mode="none")
    assert crossmatch.related_resources(mass_spec_request()) == []


def test_a_listing_query_uses_only_teaser_fields():
    """Protected words (description, problem) never reach the query."""
    make_instrument(name_zh="液相色谱-质谱联用仪", category="010200", functions="质谱分析")
    listing = published(
        ListingKind.REQUEST,
        make_organisation(),
        request_input(
            title_zh="城市排水管网智能巡检",
            tech_field="urban_social",
            tech_keywords=["管网巡检"],
            market_keywords=["水务"],
            description_zh="巡检中采集的水样需要液相色谱-质谱联用仪做质谱分析。",
            problem="水样中污染物需要质谱定量分析。",
            summary_zh="我公司负责城市排水管网运维，巡检采集的水样需要质谱分析，寻求合作单位。",
        ),
    )
    assert crossmatch.related_resources(listing) == []


# -- API and pages ---------------------------------------------------------------------------


def _bearer(user: Any) -> dict[str, str]:
    from techexchange.accounts.services import create_api_token

    _t, raw = create_api_token(user=user)
    return {"Authorization": f"Bearer {raw}"}


def test_candidates_api_is_for_the_sponsor_brokers_and_operators(client, perovskite_world):
    from techexchange.accounts.tests.factories import grant
    from techexchange.market.tests.factories import broker, operator

    ch = perovskite_world["challenge"]
    url = f"/api/market/challenges/{ch.pk}/candidates"
    assert client.get(url).status_code == 401
    outsider = make_member(make_organisation(), OrgRole.ADMIN)
    refused = client.get(url, headers=_bearer(outsider))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    sponsor_member = make_member(perovskite_world["sponsor"], OrgRole.MEMBER)
    assert client.get(url, headers=_bearer(sponsor_member)).status_code == 403
    reviewer = make_user()
    ch.experts.add(reviewer)
    expert_user = make_user()
    grant(expert_user, "analyst")
    for user in (
        make_member(perovskite_world["sponsor"], OrgRole.ADMIN),
        broker(),
        operator(),
        reviewer,
    ):
        got = client.get(url, headers=_bearer(user))
        assert got.status_code == 200, got.content
        body = got.json()
        assert body["teams"][0]["organisation"] == perovskite_world["pv_team"].pk
        assert body["teams"][0]["components"][0]["note"]
        assert body["experts"][0]["id"] == perovskite_world["experts"]["pv"].pk
    assert client.get(url, headers=_bearer(expert_user)).status_code == 403


def test_candidates_of_a_draft_are_hidden_from_everyone_but_its_sponsor(client, perovskite_world):
    from techexchange.market.tests.factories import broker

    draft = challenge(perovskite_world["sponsor"], status="draft")
    url = f"/api/market/challenges/{draft.pk}/candidates"
    assert client.get(url, headers=_bearer(broker())).status_code == 404
    admin = make_member(perovskite_world["sponsor"], OrgRole.ADMIN)
    assert client.get(url, headers=_bearer(admin)).status_code == 200


def test_resources_api_for_listings_and_challenges(client, perovskite_world):
    ms = make_instrument(name_zh="液相色谱-质谱联用仪", category="010200", functions="药物杂质")
    listing = mass_spec_request()
    body = client.get(f"/api/market/listings/{listing.pk}/resources").json()
    assert body[0]["id"] == ms.pk and body[0]["reason"] and body[0]["holder"]
    assert set(body[0]) >= {"score", "components", "province", "modes", "price"}
    assert "owner" not in body[0] and "problem" not in body[0]
    got = client.get(f"/api/market/challenges/{perovskite_world['challenge'].pk}/resources")
    assert got.status_code == 200 and isinstance(got.json(), list)


@pytest.mark.parametrize(
    "url",
    [
        "/api/market/listings/99999999/resources",
        "/api/market/challenges/99999999/resources",
        "/api/market/listings/abc/resources",
        "/api/market/challenges/1/resources?limit=abc",
    ],
)
def test_bad_resource_calls_are_4xx_never_500(client, url):
    assert 400 <= client.get(url).status_code < 500


def test_a_draft_listing_has_no_resources_for_outsiders(client):
    from techexchange.market import services

    owner = make_organisation()
    author = make_member(owner, OrgRole.ADMIN)
    draft = services.create_listing(
        actor=author, kind=ListingKind.REQUEST, owner=owner, data=request_input(), now=NOW
    )
    assert client.get(f"/api/market/listings/{draft.pk}/resources").status_code == 404
    assert (
        client.get(f"/api/market/listings/{draft.pk}/resources", headers=_bearer(author))
    ).status_code == 200


def test_limit_is_capped_and_empty_catalogue_is_an_empty_list(client):
    listing = mass_spec_request()
    got = client.get(f"/api/market/listings/{listing.pk}/resources?limit=500")
    assert got.status_code == 200 and got.json() == []
    for _ in range(12):
        make_instrument(name_zh="液相色谱-质谱联用仪", category="010200")
    got = client.get(f"/api/market/listings/{listing.pk}/resources?limit=500")
    assert len(got.json()) == crossmatch.MAX_RESULTS


def test_pages_show_related_instruments_and_candidates_to_those_allowed(client, perovskite_world):
    make_instrument(name_zh="钙钛矿薄膜X射线衍射仪", category="010300", functions="钙钛矿物相")
    ch = perovskite_world["challenge"]
    html = client.get(f"/market/challenges/{ch.pk}/").content.decode()
    assert 'data-testid="related-resources"' in html
    assert 'data-testid="candidate-teams"' not in html
    assert "钙钛矿光伏研究院" not in html
    client.force_login(make_member(perovskite_world["sponsor"], OrgRole.ADMIN))
    html = client.get(f"/market/challenges/{ch.pk}/").content.decode()
    assert 'data-testid="candidate-teams"' in html and "钙钛矿光伏研究院" in html
    assert 'data-testid="candidate-experts"' in html and "陈光伏" in html
    offer = perovskite_world["pv_offer"]
    client.logout()
    html = client.get(f"/market/listings/{offer.pk}/").content.decode()
    assert 'data-testid="related-resources"' in html and "钙钛矿薄膜X射线衍射仪" in html


def test_candidates_sharing_only_boilerplate_with_the_challenge_are_left_out(perovskite_world):
    """Feedback retrieval always returns something; without a specific word it is noise."""
    ch = challenge(
        perovskite_world["sponsor"],
        title_zh="大尺寸硅片低损伤切割关键技术攻关",
        problem="大尺寸硅片切割的良率与寿命制约国产替代，面向长三角揭榜攻关。",
        tech_field="advanced_manufacturing",
    )
    ChallengeObjective.objects.filter(challenge=ch).delete()
    assert crossmatch.challenge_candidates(ch, now=NOW).teams == []
