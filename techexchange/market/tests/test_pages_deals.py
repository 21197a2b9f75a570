"""Deal pages: a deal with co-brokers, the next action and its due date, hand-over."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_centre, make_member
from techexchange.core.audit import entries_for
from techexchange.market import services
from techexchange.market.codes import ListingKind
from techexchange.market.models import Deal, DealBroker
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    broker,
    offer_input,
    published,
    zj_university,
)

pytestmark = pytest.mark.django_db


def _accepted_eoi():
    uni, firm = zj_university(), ah_enterprise()
    offer = published(ListingKind.OFFER, uni, offer_input())
    eoi = services.send_eoi(
        actor=make_member(firm), organisation=firm, listing=offer, message="希望许可", now=NOW
    )
    services.decide_eoi(actor=make_member(uni, OrgRole.ADMIN), eoi_id=eoi.pk, accept=True, now=NOW)
    return eoi


@pytest.fixture
def deal_and_lead():
    lead = broker(make_centre(city="340100"))
    deal = services.create_deal(actor=lead, eoi=_accepted_eoi(), now=NOW)
    return deal, lead


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_broker_opens_a_deal_with_a_co_broker(client):
    eoi = _accepted_eoi()
    lead = broker(make_centre(city="340100"))
    co = broker(make_centre(city="330100"))
    client.force_login(lead)
    assert 'name="co_brokers"' in client.get(reverse("market:deals")).content.decode()
    r = client.post(reverse("market:create_deal", args=[eoi.pk]), {"co_brokers": co.username})
    deal = Deal.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("market:deal", args=[deal.pk])
    rows = {(b.broker_id, b.is_lead) for b in DealBroker.objects.filter(deal=deal)}
    assert rows == {(lead.pk, True), (co.pk, False)}
    assert entries_for(deal).filter(action="market.deal.create").exists()
    page = client.get(reverse("market:deal", args=[deal.pk])).content.decode()
    assert co.username in page and "协办" in page


def test_an_unknown_co_broker_is_named_and_no_deal_is_opened(client):
    eoi = _accepted_eoi()
    client.force_login(broker(make_centre(city="340100")))
    r = client.post(
        reverse("market:create_deal", args=[eoi.pk]), {"co_brokers": "ghost"}, follow=True
    )
    assert any("ghost" in m for m in _messages(r))
    assert not Deal.objects.exists()


def test_a_party_member_cannot_open_a_deal(client):
    eoi = _accepted_eoi()
    client.force_login(make_member(eoi.organisation))
    r = client.post(reverse("market:create_deal", args=[eoi.pk]), follow=True)
    assert any("没有执行此操作的权限" in m for m in _messages(r))
    assert not Deal.objects.exists()


def test_the_lead_broker_sets_the_next_action_and_its_due_date(client, deal_and_lead):
    deal, lead = deal_and_lead
    client.force_login(lead)
    url = reverse("market:deal", args=[deal.pk])
    r = client.post(url, {"op": "next_action", "text": "安排技术尽调", "due": "2026-13-40"})
    assert r.status_code == 400 and "due" in r.context["next_form"].errors
    assert 'data-field="due"' in r.content.decode()
    r = client.post(url, {"op": "next_action", "text": "", "due": ""})
    assert r.status_code == 400 and "text" in r.context["next_form"].errors
    deal.refresh_from_db()
    assert deal.next_action == ""
    r = client.post(url, {"op": "next_action", "text": "安排技术尽调", "due": "2026-03-20"})
    assert r.status_code == 302
    deal.refresh_from_db()
    assert (deal.next_action, deal.next_action_due) == ("安排技术尽调", date(2026, 3, 20))
    assert entries_for(deal).filter(action="market.deal.next_action").exists()


def test_a_party_sees_the_deal_but_cannot_change_or_hand_it_over(client, deal_and_lead):
    deal, _lead = deal_and_lead
    client.force_login(make_member(deal.seller))
    url = reverse("market:deal", args=[deal.pk])
    page = client.get(url).content.decode()
    assert "handover-form" not in page and "next-action-form" not in page
    assert client.post(url, {"op": "next_action", "text": "x"}).status_code == 403
    other = make_centre(city="320500")
    taker = broker(other)
    r = client.post(
        url, {"op": "handover", "to_centre": str(other.pk), "to_broker": taker.username}
    )
    assert r.status_code == 403
    deal.refresh_from_db()
    assert deal.next_action == "" and deal.closing_centre_id != other.pk


def test_the_lead_hands_the_deal_over_to_another_sub_centre(client, deal_and_lead):
    deal, lead = deal_and_lead
    other = make_centre(city="320500")
    taker = broker(other)
    stranger = broker(make_centre(city="310100"))
    client.force_login(lead)
    url = reverse("market:deal", args=[deal.pk])
    r = client.post(url, {"op": "handover", "to_centre": str(other.pk), "to_broker": "nobody"})
    assert r.status_code == 400 and "nobody" in r.context["handover_form"].errors["to_broker"][0]
    r = client.post(
        url, {"op": "handover", "to_centre": str(other.pk), "to_broker": stranger.username}
    )
    assert r.status_code == 400
    assert r.context["handover_form"].errors["to_broker"] == ["接手经纪人不属于该分中心"]
    r = client.post(url, {"op": "handover", "to_centre": "999999", "to_broker": taker.username})
    assert r.status_code == 400 and "to_centre" in r.context["handover_form"].errors
    deal.refresh_from_db()
    assert deal.closing_centre_id == deal.originating_centre_id

    r = client.post(
        url,
        {
            "op": "handover",
            "to_centre": str(other.pk),
            "to_broker": taker.username,
            "note": "买方在苏州",
        },
    )
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.closing_centre_id == other.pk and deal.originating_centre_id != other.pk
    lead_row = DealBroker.objects.get(deal=deal, is_lead=True)
    assert lead_row.broker_id == taker.pk
    entry = entries_for(deal).get(action="market.deal.handover")
    assert entry.reason == "买方在苏州"
