"""The market dashboard: listings by province × field, EoIs, deals by stage, conversion, leagues."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_centre, make_member
from techexchange.market import services
from techexchange.market.codes import ListingKind
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    broker,
    offer_input,
    published,
    zj_university,
)

pytestmark = pytest.mark.django_db


def _market() -> None:
    uni, firm = zj_university(), ah_enterprise()
    offer = published(ListingKind.OFFER, uni, offer_input())
    sent = services.send_eoi(
        actor=make_member(firm), organisation=firm, listing=offer, message="有意", now=NOW
    )
    services.decide_eoi(actor=make_member(uni, OrgRole.ADMIN), eoi_id=sent.pk, accept=True, now=NOW)
    other = ah_enterprise()
    services.send_eoi(
        actor=make_member(other), organisation=other, listing=offer, message="也有意", now=NOW
    )
    services.create_deal(actor=broker(make_centre(city="340100")), eoi=sent, now=NOW)


def test_the_dashboard_shows_eois_by_status_deals_by_stage_and_chart_data(client):
    _market()
    page = client.get(reverse("market:home"))
    assert page.status_code == 200
    rows = dict((str(label), n) for label, n in page.context["eoi_rows"])
    assert rows["已接受"] == 1 and rows["待回复"] == 1
    body = page.content.decode()
    assert 'data-testid="eoi-statuses"' in body and 'id="stage-chart"' in body
    start = body.index('<script id="market-chart-data" type="application/json">')
    data = json.loads(body[start:].split(">", 1)[1].split("</script>", 1)[0])
    assert dict(data["stages"])["对接引荐"] == 1
    assert data["funnel"][0][0] == "获得推荐的信息"
    assert dict(data["funnel"])["交易"] == 1
    assert "vendor/echarts/echarts.min.js" in body


def test_league_tables_are_for_brokers_and_analysts_only(client):
    _market()
    assert 'data-testid="broker-league"' not in client.get(reverse("market:home")).content.decode()
    client.force_login(broker())
    assert 'data-testid="broker-league"' in client.get(reverse("market:home")).content.decode()
