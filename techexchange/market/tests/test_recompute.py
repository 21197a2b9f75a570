"""The batch recompute's bulk storing: own listings, stale rows and alerts, as one by one."""

from __future__ import annotations

import pytest
from django.core import mail

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member
from techexchange.market import matching, services
from techexchange.market.codes import ListingKind
from techexchange.market.models import MatchRecommendation
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    offer_input,
    published,
    request_input,
    zj_university,
)
from techexchange.search import Candidate, Need, rank_candidates

pytestmark = pytest.mark.django_db


def _alert_mails() -> list[list[str]]:
    return [m.to for m in mail.outbox if "高匹配" in m.subject]


def test_recompute_skips_own_offers_drops_stale_rows_and_alerts_once(settings):
    settings.MARKET_MATCH_ALERT_THRESHOLD = 0.5
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    firm = ah_enterprise()
    own = published(ListingKind.OFFER, firm, offer_input(title_zh="本公司固态电解质制备工艺"))
    owner = make_member(firm, OrgRole.ADMIN)
    services.set_notification_preference(
        user=owner, event="match_alert", in_app=True, email="instant"
    )
    request = published(ListingKind.REQUEST, firm, request_input())
    other = published(ListingKind.REQUEST, zj_university(), request_input(title_zh="另一项需求"))
    matching.flush_outbox(NOW)
    raw = services._matcher(ListingKind.REQUEST).match(
        matching.need_from_listing(request), limit=20, now=NOW
    )
    assert own.pk in {int(m.candidate.id) for m in raw}  # found, so the batch must drop it
    mail.outbox.clear()

    assert services.recompute_recommendations(now=NOW, processes=1) == 2
    recs = list(MatchRecommendation.objects.filter(need=request).order_by("rank"))
    assert [r.candidate_id for r in recs] == [offer.pk]  # never its own organisation's offer
    assert recs[0].rank == 1 and recs[0].alerted_at == NOW
    assert _alert_mails() == [[owner.email]]

    # A row no longer recommended goes; a row recommended again keeps its id and alert.
    stale = MatchRecommendation.objects.create(
        need=request,
        candidate=other,
        rank=2,
        score=0.9,
        reason_zh="旧",
        reason_en="old",
        computed_at=NOW,
    )
    assert services.recompute_recommendations(now=NOW, processes=1) == 2
    again = list(MatchRecommendation.objects.filter(need=request).order_by("rank"))
    assert [(r.pk, r.candidate_id, r.alerted_at) for r in again] == [(recs[0].pk, offer.pk, NOW)]
    assert not MatchRecommendation.objects.filter(pk=stale.pk).exists()
    assert _alert_mails() == [[owner.email]]  # already alerted: no second e-mail


def test_store_recommendations_returns_the_stored_rows_best_first():
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    second = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="固态电解质"))
    request = published(ListingKind.REQUEST, ah_enterprise(), request_input())
    found = rank_candidates(
        Need(text="固态电解质"),
        [Candidate(id=str(offer.pk), text_score=2.0), Candidate(id=str(second.pk), text_score=1.0)],
    )
    recs = services.store_recommendations(listing=request, matches=found, now=NOW)
    assert [r.candidate_id for r in recs] == [int(m.candidate.id) for m in found]
    assert [r.rank for r in recs] == [1, 2]
    assert all(r.pk is not None and r.computed_at == NOW for r in recs)
    assert recs[0].components and recs[0].components[0]["name"] == "text"
    # Storing fewer replaces the set.
    only = services.store_recommendations(listing=request, matches=found[1:], now=NOW)
    assert [(r.candidate_id, r.rank) for r in only] == [(int(found[1].candidate.id), 1)]
    assert MatchRecommendation.objects.filter(need=request).count() == 1
