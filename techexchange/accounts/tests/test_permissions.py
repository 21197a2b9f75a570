"""The permission matrix: every role × every protected action, through the one chokepoint."""

from __future__ import annotations

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import can_user
from techexchange.accounts.tests.factories import grant, make_centre, make_member, make_organisation

pytestmark = pytest.mark.django_db

# Expected answers for the persona's own scope (own organisation, own sub-centre).
# Columns: anonymous, member, org_admin, operator, broker, voucher_officer, registrar, analyst.
ROLES = [
    "anonymous",
    "member",
    "org_admin",
    "operator",
    "broker",
    "voucher_officer",
    "registrar",
    "analyst",
]
MATRIX: dict[Action, tuple[int, ...]] = {
    Action.VIEW_ORGANISATION: (1, 1, 1, 1, 1, 1, 1, 1),
    Action.VIEW_ORGANISATION_CONTACTS: (0, 1, 1, 1, 1, 1, 1, 1),
    Action.EDIT_ORGANISATION: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.MANAGE_MEMBERS: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.VERIFY_ORGANISATION: (0, 0, 0, 1, 0, 0, 0, 0),
    Action.MANAGE_CENTRES: (0, 0, 0, 1, 0, 0, 0, 0),
    Action.VIEW_CENTRE_PIPELINE: (0, 0, 0, 1, 1, 0, 0, 0),
    Action.VIEW_AUDIT_LOG: (0, 0, 0, 1, 0, 0, 0, 0),
    Action.VIEW_PLATFORM_DASHBOARD: (0, 0, 0, 1, 0, 0, 0, 1),
    Action.CREATE_API_TOKEN: (0, 1, 1, 1, 1, 1, 1, 1),
    Action.ASSIGN_ROLES: (0, 0, 0, 1, 0, 0, 0, 0),
    # Resources: the target organisation is the instrument's holder, so "member" is provider
    # staff (approves bookings, sees utilisation) and "org_admin" manages its instruments.
    Action.BOOK_INSTRUMENT: (0, 1, 1, 1, 1, 1, 1, 1),
    Action.APPROVE_BOOKING: (0, 1, 1, 1, 0, 0, 0, 0),
    Action.MANAGE_RESOURCE: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.OVERRIDE_POLICY: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.VIEW_UTILISATION: (0, 1, 1, 1, 0, 0, 0, 1),
    # Technology market: the target organisation is the listing owner / sponsor / deal party.
    Action.LISTING_CREATE: (0, 1, 1, 1, 0, 0, 0, 0),
    Action.LISTING_EDIT: (0, 1, 1, 1, 0, 0, 0, 0),
    Action.LISTING_REVIEW: (0, 0, 0, 1, 1, 0, 0, 0),
    Action.LISTING_VIEW_SUMMARY: (0, 1, 1, 1, 1, 1, 1, 1),
    Action.LISTING_VIEW_DETAILS: (0, 1, 1, 1, 1, 0, 0, 0),
    Action.LISTING_MANAGE_ACCESS: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.NDA_ACCEPT: (0, 0, 0, 1, 1, 1, 1, 1),
    Action.EOI_SEND: (0, 0, 0, 1, 1, 1, 1, 1),
    Action.EOI_DECIDE: (0, 1, 1, 0, 0, 0, 0, 0),
    Action.DEAL_CREATE: (0, 0, 0, 1, 1, 0, 0, 0),
    Action.DEAL_MANAGE: (0, 0, 0, 1, 1, 0, 0, 0),
    Action.DEAL_VIEW: (0, 0, 0, 1, 1, 0, 0, 0),
    Action.CHALLENGE_MANAGE: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.CHALLENGE_APPLY: (0, 0, 0, 1, 1, 1, 1, 1),
    Action.CHALLENGE_REVIEW: (0, 0, 0, 1, 0, 0, 0, 0),
    Action.CHALLENGE_DECIDE: (0, 0, 1, 1, 0, 0, 0, 0),
    Action.VIEW_MARKET_DASHBOARD: (0, 0, 0, 1, 1, 0, 0, 1),
    Action.SUBMIT_CONTRACT: (0, 1, 1, 1, 0, 0, 0, 0),
    Action.VIEW_CONTRACT: (0, 1, 1, 1, 0, 0, 1, 0),
    Action.REVIEW_CONTRACT: (0, 0, 0, 0, 0, 0, 1, 0),
    Action.VIEW_CONTRACT_STATS: (1, 1, 1, 1, 1, 1, 1, 1),
    Action.VIEW_CONTRACT_STATS_DETAIL: (0, 0, 0, 1, 0, 0, 1, 1),
}


def test_matrix_lists_every_action():
    assert set(MATRIX) == set(Action)


@pytest.fixture
def world():
    from django.contrib.auth.models import AnonymousUser

    org = make_organisation()
    centre = make_centre()
    personas = {
        "anonymous": AnonymousUser(),
        "member": make_member(org, OrgRole.MEMBER),
        "org_admin": make_member(org, OrgRole.ADMIN),
        "operator": make_member(make_organisation(), OrgRole.MEMBER),
        "broker": make_member(make_organisation(), OrgRole.MEMBER),
        "voucher_officer": make_member(make_organisation(), OrgRole.MEMBER),
        "registrar": make_member(make_organisation(), OrgRole.MEMBER),
        "analyst": make_member(make_organisation(), OrgRole.MEMBER),
    }
    grant(personas["operator"], "operator")
    grant(personas["broker"], "broker", centre=centre)
    grant(personas["voucher_officer"], "voucher_officer", region_id="320000")
    grant(personas["registrar"], "registrar", region_id="320000")
    grant(personas["analyst"], "analyst")
    target = Target(organisation_id=org.pk, centre_id=centre.pk, region_code="320000")
    return personas, target


@pytest.mark.parametrize("action", list(Action))
def test_every_role_gets_the_expected_answer_for(world, action):
    personas, target = world
    got = tuple(int(can_user(personas[role], action, target)) for role in ROLES)
    assert got == MATRIX[action], dict(zip(ROLES, got, strict=True))


def test_org_admin_cannot_edit_another_organisation(world):
    personas, _target = world
    other = make_organisation()
    assert not can_user(personas["org_admin"], Action.EDIT_ORGANISATION, Target(other.pk))


def test_broker_cannot_see_another_sub_centres_pipeline(world):
    personas, _target = world
    other = make_centre()
    assert not can_user(personas["broker"], Action.VIEW_CENTRE_PIPELINE, Target(centre_id=other.pk))


def test_registrar_cannot_review_another_regions_contracts(world):
    personas, _target = world
    assert not can_user(personas["registrar"], Action.REVIEW_CONTRACT, Target(region_code="310000"))


def test_member_cannot_submit_for_another_organisation(world):
    personas, _target = world
    other = make_organisation()
    assert not can_user(personas["member"], Action.SUBMIT_CONTRACT, Target(other.pk))


def test_provider_staff_cannot_approve_bookings_of_another_holder(world):
    personas, _target = world
    other = make_organisation()
    assert not can_user(personas["member"], Action.APPROVE_BOOKING, Target(other.pk))


def test_superuser_acts_as_operator():
    from techexchange.accounts.tests.factories import make_user

    admin = make_user(is_superuser=True)
    assert can_user(admin, Action.VERIFY_ORGANISATION)


def test_nda_holder_sees_details_but_an_outsider_does_not(world):
    personas, _target = world
    other = make_organisation()
    signed = Target(organisation_id=other.pk, extra={"nda": "1"})
    assert can_user(personas["analyst"], Action.LISTING_VIEW_DETAILS, signed)
    assert not can_user(personas["analyst"], Action.LISTING_VIEW_DETAILS, Target(other.pk))
    assert not can_user(personas["anonymous"], Action.LISTING_VIEW_DETAILS, signed)


def test_deal_parties_see_their_deal_and_named_experts_review(world):
    personas, _target = world
    other = make_organisation()
    member_org = next(
        iter(personas["member"].memberships.values_list("organisation_id", flat=True))
    )
    deal = Target(organisation_id=other.pk, extra={"parties": f"{other.pk},{member_org}"})
    assert can_user(personas["member"], Action.DEAL_VIEW, deal)
    assert not can_user(personas["analyst"], Action.DEAL_VIEW, deal)
    assert can_user(personas["analyst"], Action.CHALLENGE_REVIEW, Target(extra={"expert": "1"}))
