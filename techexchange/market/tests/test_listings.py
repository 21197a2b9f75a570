"""Listings: completeness, lifecycle, validity and freshness."""

from __future__ import annotations

from datetime import timedelta

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member
from techexchange.core.audit import entries_for
from techexchange.core.errors import Conflict, ValidationFailed
from techexchange.market import policies, services
from techexchange.market.codes import ListingKind, ListingStatus
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    offer_input,
    operator,
    published,
    request_input,
    zj_university,
)

pytestmark = pytest.mark.django_db


def test_checker_finds_blockers_for_an_offer_without_maturity_or_ip():
    findings = policies.completeness_findings("offer", {"title_zh": "x", "summary_zh": "短"})
    codes = {(f.severity.value, f.field) for f in findings}
    assert ("blocker", "maturity") in codes and ("blocker", "ip_status") in codes
    assert ("blocker", "tech_field") in codes and ("major", "summary_zh") in codes


def test_complete_offer_has_no_blockers_and_only_minor_findings():
    data = vars(offer_input())
    findings = policies.completeness_findings("offer", data)
    assert not policies.blocking(findings)
    assert {f.severity for f in findings} <= {policies.Severity.MINOR}


def test_submission_is_refused_while_blockers_remain_and_nothing_changes():
    org = zj_university()
    author = make_member(org, OrgRole.ADMIN)
    listing = services.create_listing(
        actor=author, kind="offer", owner=org, data=offer_input(maturity=None), now=NOW
    )
    with pytest.raises(ValidationFailed) as exc:
        services.submit_listing(actor=author, listing=listing, now=NOW)
    assert exc.value.problems[0].field == "maturity"
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT


def test_bad_input_names_the_field_and_writes_nothing():
    org = zj_university()
    author = make_member(org)
    with pytest.raises(ValidationFailed) as exc:
        services.create_listing(
            actor=author,
            kind="offer",
            owner=org,
            data=offer_input(tech_keywords=list("abcdef"), maturity=12),
            now=NOW,
        )
    assert {p.field for p in exc.value.problems} == {"tech_keywords", "maturity"}
    assert not org.listings.exists()


def test_reviewer_asks_for_changes_with_findings_then_approves():
    org = ah_enterprise()
    author = make_member(org)
    op = operator()
    listing = services.create_listing(
        actor=author, kind="request", owner=org, data=request_input(), now=NOW
    )
    services.submit_listing(actor=author, listing=listing, now=NOW)
    with pytest.raises(ValidationFailed):
        services.review_listing(actor=op, listing=listing, decision="changes", now=NOW)
    services.review_listing(
        actor=op,
        listing=listing,
        decision="changes",
        findings=[{"field": "targets", "message": "请补充循环寿命指标"}],
        now=NOW,
    )
    assert listing.status == ListingStatus.CHANGES_REQUESTED
    services.submit_listing(actor=author, listing=listing, now=NOW)
    services.review_listing(actor=op, listing=listing, decision="approve", now=NOW)
    services.publish_listing(actor=author, listing=listing, now=NOW)
    assert listing.status == ListingStatus.PUBLISHED
    assert listing.valid_until == NOW + timedelta(days=365)
    actions = set(entries_for(listing).values_list("action", flat=True))
    assert {"market.request.submit", "market.request.review", "market.request.publish"} <= actions


def test_renewal_extends_validity_but_never_past_two_years():
    listing = published(ListingKind.OFFER, zj_university(), offer_input())
    owner = make_member(listing.owner)
    later = NOW + timedelta(days=340)
    services.renew_listing(actor=owner, listing=listing, now=later)
    assert listing.valid_until == later + timedelta(days=365)
    with pytest.raises(Conflict):
        services.renew_listing(actor=owner, listing=listing, now=NOW + timedelta(days=731))


def test_expiry_reminder_is_sent_once_and_expired_listings_are_archived():
    listing = published(ListingKind.OFFER, zj_university(), offer_input())
    soon = NOW + timedelta(days=350)
    assert services.send_expiry_reminders(now=soon) == 1
    assert services.send_expiry_reminders(now=soon) == 0
    assert services.archive_expired_listings(now=NOW + timedelta(days=366)) == 1
    listing.refresh_from_db()
    assert listing.status == ListingStatus.ARCHIVED


def test_a_broker_of_another_centre_cannot_review():
    from techexchange.accounts.tests.factories import make_centre
    from techexchange.core.errors import PermissionDenied
    from techexchange.market.tests.factories import broker

    centre = make_centre()
    org = ah_enterprise()
    author = make_member(org)
    listing = services.create_listing(
        actor=author, kind="request", owner=org, data=request_input(), centre=centre, now=NOW
    )
    services.submit_listing(actor=author, listing=listing, now=NOW)
    with pytest.raises(PermissionDenied):
        services.review_listing(actor=broker(), listing=listing, decision="approve", now=NOW)
    services.review_listing(actor=broker(centre), listing=listing, decision="approve", now=NOW)
