"""Notifications: preferences per event, instant e-mail, the daily digest, match alerts."""

from __future__ import annotations

import pytest
from django.core import mail

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member
from techexchange.market import services
from techexchange.market.codes import ListingKind
from techexchange.market.models import Notification
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    offer_input,
    published,
    request_input,
    zj_university,
)

pytestmark = pytest.mark.django_db


def test_eoi_reaches_the_owner_in_app_and_in_the_daily_digest_only_once():
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    firm = ah_enterprise()
    mail.outbox.clear()
    services.send_eoi(
        actor=make_member(firm), organisation=firm, listing=offer, message="有意合作", now=NOW
    )
    assert Notification.objects.filter(
        event="eoi_received", user__memberships__organisation=offer.owner
    ).exists()
    assert mail.outbox == []
    sent = services.send_daily_digest(now=NOW)
    assert sent >= 1 and any("每日汇总" in m.subject for m in mail.outbox)
    assert services.send_daily_digest(now=NOW) == 0


def test_instant_email_preference_and_match_alerts_above_the_threshold(settings):
    settings.MARKET_MATCH_ALERT_THRESHOLD = 0.5
    published(ListingKind.OFFER, zj_university(), offer_input())
    firm = ah_enterprise()
    owner = make_member(firm, OrgRole.ADMIN)
    services.set_notification_preference(
        user=owner, event="match_alert", in_app=True, email="instant"
    )
    request = published(ListingKind.REQUEST, firm, request_input())
    mail.outbox.clear()
    services.recommend(listing=request, now=NOW)
    assert [m.to for m in mail.outbox if "高匹配" in m.subject] == [[owner.email]]
    services.recommend(listing=request, now=NOW)  # already alerted: no second e-mail
    assert len([m for m in mail.outbox if "高匹配" in m.subject]) == 1


def test_saved_search_alerts_on_new_listings():
    firm = ah_enterprise()
    user = make_member(firm)
    services.save_search(user=user, kind="offer", query="固态电解质", now=NOW)
    from datetime import timedelta

    published(ListingKind.OFFER, zj_university(), offer_input(), now=NOW + timedelta(hours=1))
    assert services.run_saved_searches(now=NOW + timedelta(hours=2)) == 1
    assert Notification.objects.filter(user=user, event="saved_search").count() == 1
