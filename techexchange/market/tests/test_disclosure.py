"""Tiered disclosure and NDA gating for every role, through the web page and the API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from techexchange.accounts.models import OrgRole
from techexchange.accounts.services import create_api_token
from techexchange.accounts.tests.factories import grant, make_centre, make_member, make_organisation
from techexchange.market import services
from techexchange.market.codes import ListingKind, Tier
from techexchange.market.models import AccessLog
from techexchange.market.tests.factories import NOW, offer_input, published, zj_university

pytestmark = pytest.mark.django_db

SECRET = "采用机械球磨与低温烧结结合的工艺"
SUMMARY = "本成果提供一种硫化物固态电解质"

# role → expected tier on someone else's offer (the NDA holder signed it).
EXPECTED = {
    "anonymous": Tier.TEASER,
    "outsider": Tier.SUMMARY,
    "nda_holder": Tier.FULL,
    "nda_revoked": Tier.SUMMARY,
    "owner_member": Tier.FULL,
    "owner_admin": Tier.FULL,
    "operator": Tier.FULL,
    "broker_of_centre": Tier.FULL,
    "broker_elsewhere": Tier.SUMMARY,
    "voucher_officer": Tier.SUMMARY,
    "registrar": Tier.SUMMARY,
    "analyst": Tier.SUMMARY,
}


@pytest.fixture
def world():
    centre = make_centre(city="330100")
    offer = published(ListingKind.OFFER, zj_university(), offer_input(), centre=centre)
    services.add_attachment(
        actor=make_member(offer.owner, OrgRole.ADMIN),
        listing=offer,
        name="检测报告",
        tier=Tier.FULL,
        content="离子电导率 10.2 mS/cm",
    )
    people = {"anonymous": AnonymousUser()}
    people["owner_member"] = make_member(offer.owner)
    people["owner_admin"] = make_member(offer.owner, OrgRole.ADMIN)
    for role in (
        "outsider",
        "nda_holder",
        "nda_revoked",
        "operator",
        "broker_of_centre",
        "broker_elsewhere",
        "voucher_officer",
        "registrar",
        "analyst",
    ):
        people[role] = make_member(
            make_organisation(province="340000", city="340100"), OrgRole.ADMIN
        )
    grant(people["operator"], "operator")
    grant(people["broker_of_centre"], "broker", centre=centre)
    grant(people["broker_elsewhere"], "broker", centre=make_centre())
    grant(people["voucher_officer"], "voucher_officer", region_id="320000")
    grant(people["registrar"], "registrar", region_id="330000")
    grant(people["analyst"], "analyst")
    for role in ("nda_holder", "nda_revoked"):
        user = people[role]
        org = user.memberships.get().organisation
        acc = services.accept_nda(actor=user, listing=offer, organisation=org, version=1, now=NOW)
    services.revoke_access(
        actor=people["owner_admin"], listing=offer, acceptance_id=acc.pk, reason="合作终止", now=NOW
    )
    return offer, people


@pytest.mark.parametrize("role", list(EXPECTED))
def test_web_page_shows_each_role_only_its_tier(client, world, role):
    offer, people = world
    if role != "anonymous":
        client.force_login(people[role])
    html = client.get(f"/market/listings/{offer.pk}/").content.decode()
    assert offer.title_zh in html
    assert (SUMMARY in html) == (EXPECTED[role] >= Tier.SUMMARY)
    assert (SECRET in html) == (EXPECTED[role] == Tier.FULL)
    assert ("ZL202110000000.1" in html) == (EXPECTED[role] == Tier.FULL)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_api_returns_protected_fields_only_at_their_tier(client, world, role):
    offer, people = world
    headers = {}
    if role != "anonymous":
        _t, raw = create_api_token(user=people[role])
        headers = {"Authorization": f"Bearer {raw}"}
    body = client.get(f"/api/market/listings/{offer.pk}", headers=headers).json()
    assert body["tier"] == EXPECTED[role]
    full = EXPECTED[role] == Tier.FULL
    for field in ("description_zh", "patent_numbers", "contact_email", "contact_phone"):
        assert (body[field] is not None) == full, field
    assert (body["summary_zh"] is not None) == (EXPECTED[role] >= Tier.SUMMARY)
    att = body["attachments"][0]
    assert att["visible"] == full
    got = client.get(f"/api/market/listings/{offer.pk}/attachments/{att['id']}", headers=headers)
    assert (got.status_code == 200) == full
    if not full:
        assert got.status_code in {401, 403} and "10.2" not in got.content.decode()


def test_every_access_to_protected_content_is_logged_and_the_owner_sees_it(client, world):
    offer, people = world
    client.force_login(people["nda_holder"])
    client.get(f"/market/listings/{offer.pk}/")
    att = offer.attachments.get()
    client.get(f"/market/listings/{offer.pk}/attachments/{att.pk}/")
    log = list(AccessLog.objects.filter(listing=offer).values_list("user_id", "what", "channel"))
    assert (people["nda_holder"].pk, "details", "web") in log
    assert (people["nda_holder"].pk, f"attachment:{att.pk}", "web") in log
    client.force_login(people["owner_admin"])
    page = client.get(f"/market/listings/{offer.pk}/access/").content.decode()
    assert "已撤销" in page and str(people["nda_holder"]) in page
    client.force_login(people["outsider"])
    assert client.get(f"/market/listings/{offer.pk}/access/").status_code == 403


def test_nda_acceptance_through_the_api_opens_the_details(client, world):
    offer, people = world
    _t, raw = create_api_token(user=people["outsider"])
    headers = {"Authorization": f"Bearer {raw}"}
    stale = client.post(
        f"/api/market/listings/{offer.pk}/nda",
        {"version": 9},
        content_type="application/json",
        headers=headers,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "nda_outdated"
    ok = client.post(
        f"/api/market/listings/{offer.pk}/nda",
        {"version": 1},
        content_type="application/json",
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json()["description_zh"].startswith("采用")


def test_drafts_are_invisible_to_outsiders(client, world):
    offer, people = world
    draft = services.create_listing(
        actor=people["owner_admin"], kind="offer", owner=offer.owner, data=offer_input(), now=NOW
    )
    assert client.get(f"/api/market/listings/{draft.pk}").status_code == 404
    client.force_login(people["outsider"])
    assert client.get(f"/market/listings/{draft.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/market/listings?kind=nope", None),
        ("get", "/api/market/listings/abc", None),
        ("get", "/api/market/listings/99999999", None),
        ("post", "/api/market/listings", '{"kind": "offer", "title_zh": ""}'),
        ("post", "/api/market/listings", '{"kind": "offer", "title_zh": "x", "maturity": 12}'),
        ("post", "/api/market/listings", "{not json"),
        ("post", "/api/market/eois", '{"message": ""}'),
        ("post", "/api/market/eois/1/decide", '{"accept": false, "reason": "bogus"}'),
        ("post", "/api/market/deals/1/move", '{"stage": "signed", "amount": -5}'),
        ("post", "/api/market/challenges", '{"sponsor": 1}'),
        ("get", "/api/market/dashboard", None),
    ],
)
def test_malformed_market_input_gets_a_4xx_with_code_never_a_500(client, world, method, url, body):
    _offer, people = world
    _t, raw = create_api_token(user=people["outsider"])
    kwargs = {"content_type": "application/json"} if body is not None else {}
    args = (url, body) if body is not None else (url,)
    response = getattr(client, method)(*args, headers={"Authorization": f"Bearer {raw}"}, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert {"code", "message", "details"} <= set(response.json())
