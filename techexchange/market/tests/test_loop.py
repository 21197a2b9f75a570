"""The closed loop without a browser: match → NDA → EoI → deal → registered contract → stats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import grant, make_centre, make_member, make_user
from techexchange.contracts.selectors import list_contracts_for
from techexchange.core.errors import ValidationFailed
from techexchange.market import selectors, services
from techexchange.market.codes import DealStage, ListingKind, Tier
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    broker,
    offer_input,
    operator,
    published,
    request_input,
    zj_university,
)

pytestmark = pytest.mark.django_db


def _noise(n: int = 6) -> None:
    """Unrelated offers so ranking has something to rank against."""
    for i in range(n):
        published(
            ListingKind.OFFER,
            zj_university(),
            offer_input(
                title_zh=f"智慧农业病虫害图像识别系统{i}",
                summary_zh="基于深度学习的农作物病虫害识别与预警平台，支持手机拍照识别，准确率达到百分之九十五以上。",
                description_zh="适用于水稻、小麦等大田作物。",
                tech_field="agriculture",
                tech_keywords=["图像识别", "病虫害", "智慧农业"],
                chain_node="应用",
                maturity=8,
            ),
        )


def test_request_gets_the_zhejiang_offer_first_with_components_and_a_reason():
    _noise()
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    request = published(ListingKind.REQUEST, ah_enterprise(), request_input())
    recs = services.recommend(listing=request, now=NOW)
    assert recs[0].candidate_id == offer.pk
    names = {c["name"] for c in recs[0].components}
    assert {"text", "field", "maturity", "mode", "region", "price", "chain", "freshness"} <= names
    assert recs[0].reason_zh.startswith("推荐理由：") and recs[0].reason_en
    reverse = services.recommend(listing=offer, now=NOW)
    assert reverse[0].candidate_id == request.pk


def test_the_whole_loop_ends_in_a_registered_zhejiang_to_anhui_contract():
    uni, firm = zj_university(), ah_enterprise()
    offer = published(ListingKind.OFFER, uni, offer_input())
    request = published(ListingKind.REQUEST, firm, request_input())
    services.recommend(listing=request, now=NOW)
    buyer = make_member(firm, OrgRole.ADMIN)
    seller = make_member(uni, OrgRole.ADMIN)
    assert selectors.viewer_tier(buyer, offer) == Tier.SUMMARY
    services.accept_nda(actor=buyer, listing=offer, organisation=firm, version=1, now=NOW)
    assert selectors.viewer_tier(buyer, offer) == Tier.FULL
    eoi = services.send_eoi(
        actor=buyer,
        organisation=firm,
        listing=offer,
        message="希望洽谈专利许可",
        intended_mode="licence",
        now=NOW,
    )
    assert eoi.components  # carried over from the stored recommendation
    services.decide_eoi(actor=seller, eoi_id=eoi.pk, accept=True, now=NOW)
    centre = make_centre(city="340100")
    lead = broker(centre)
    deal = services.create_deal(actor=lead, eoi=eoi, now=NOW)
    assert (deal.seller, deal.buyer) == (uni, firm)
    for stage in ("nda", "due_diligence", "terms"):
        services.move_deal(actor=lead, deal=deal, to=stage, now=NOW)
    with pytest.raises(ValidationFailed) as exc:
        services.move_deal(actor=lead, deal=deal, to="signed", now=NOW)
    assert exc.value.problems[0].field == "amount"
    deal = services.move_deal(
        actor=lead,
        deal=deal,
        to="signed",
        terms=services.DealTerms(amount=Decimal("1200000")),
        now=NOW,
    )
    contract = services.prefill_registration(actor=seller, deal=deal, now=NOW)
    assert contract.seller_name == uni.name_zh and contract.buyer_name == firm.name_zh
    assert contract.contract_type == "licence" and contract.tech_field == "energy"
    assert contract.turnover == Decimal("1200000.00")
    deal.refresh_from_db()
    services.submit_registration(actor=seller, deal=deal, now=NOW)
    registrar = make_user()
    grant(registrar, "registrar", region_id="330000")
    deal = services.register_deal_contract(actor=registrar, deal=deal, now=NOW)
    assert deal.stage == DealStage.REGISTERED and len(deal.registration_number) == 16
    counted = list_contracts_for(operator(), status="registered")
    assert [(c.seller_province, c.buyer_province) for c in counted] == [("330000", "340000")]
    figures = selectors.market_figures(now=NOW)
    assert figures["funnel"]["registered"] == 1
    assert figures["brokers"][0]["amount"] == Decimal("1200000.00")
    services.move_deal(actor=lead, deal=deal, to="closed_won", now=NOW)


def test_declines_and_acceptances_move_the_stored_weights():
    offer = published(
        ListingKind.OFFER,
        zj_university(),
        offer_input(price_min=Decimal("5000000"), price_max=None),
    )
    firm = ah_enterprise()
    request = published(ListingKind.REQUEST, firm, request_input())
    services.recommend(listing=request, now=NOW)
    before = selectors.stored_weights()
    buyer = make_member(firm)
    seller = make_member(offer.owner)
    eoi = services.send_eoi(
        actor=buyer, organisation=firm, listing=offer, message="价格可谈吗", now=NOW
    )
    services.decide_eoi(actor=seller, eoi_id=eoi.pk, accept=False, reason="price", now=NOW)
    after_decline = selectors.stored_weights()
    # The price component had flagged the gap (budget 2 M < price 5 M): the decline confirms it.
    assert eoi.components["price"] < 0.5 and after_decline.price > before.price
    eoi2 = services.send_eoi(
        actor=buyer, organisation=firm, listing=offer, message="再谈谈", now=NOW
    )
    services.decide_eoi(actor=seller, eoi_id=eoi2.pk, accept=True, now=NOW)
    after_accept = selectors.stored_weights()
    assert after_accept.text > after_decline.text
    stats = selectors.decline_statistics(owner_ids=[offer.owner_id])
    assert stats == {"price": 1}


def test_declining_needs_a_reason():
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    firm = ah_enterprise()
    eoi = services.send_eoi(
        actor=make_member(firm), organisation=firm, listing=offer, message="你好", now=NOW
    )
    with pytest.raises(ValidationFailed) as exc:
        services.decide_eoi(actor=make_member(offer.owner), eoi_id=eoi.pk, accept=False, now=NOW)
    assert exc.value.problems[0].field == "reason"


def test_handover_moves_the_closing_centre_and_shares_the_credit():
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    request = published(ListingKind.REQUEST, ah_enterprise(), request_input())
    first, second = make_centre(city="330100"), make_centre(city="340100")
    lead = broker(first)
    deal = services.create_deal(actor=lead, offer=offer, request=request, now=NOW)
    successor = broker(second)
    services.handover_deal(
        actor=lead, deal=deal, to_centre=second, to_broker=successor, note="买方在合肥", now=NOW
    )
    deal.refresh_from_db()
    assert deal.originating_centre == first and deal.closing_centre == second
    shares = {b.broker_id: b.share for b in deal.brokers.all()}
    assert shares == {lead.pk: Decimal("50.00"), successor.pk: Decimal("50.00")}
    services.move_deal(
        actor=successor, deal=deal, to="closed_lost", lost_reason="买方预算取消", now=NOW
    )


@pytest.mark.parametrize("processes", [1, 2])
def test_the_batch_recompute_stores_what_one_by_one_matching_finds(processes, monkeypatch):
    _noise()
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    request = published(ListingKind.REQUEST, ah_enterprise(), request_input())
    one = [
        (r.candidate_id, round(r.score, 6)) for r in services.recommend(listing=request, now=NOW)
    ]
    assert one[0][0] == offer.pk
    monkeypatch.setattr(services, "BATCH_IN_PROCESSES_FROM", 0)  # worker processes even so
    assert services.recompute_recommendations(now=NOW, processes=processes) == 1
    stored = selectors.stored_recommendations(request)
    assert [(r.candidate_id, round(r.score, 6)) for r in stored] == one
