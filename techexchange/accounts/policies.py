"""Who may do what: pure rules over an `Actor` snapshot (no ORM, no HTTP).

Every protected action in the platform is listed in `Action`; `can()` is the one place that
decides. Selectors build the `Actor` from the database and call `can()`; views and the API only
ever go through those selectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Action", "Actor", "Target", "can"]


class Action(StrEnum):
    """Protected actions defined so far."""

    VIEW_ORGANISATION = "organisation.view"
    VIEW_ORGANISATION_CONTACTS = "organisation.view_contacts"
    EDIT_ORGANISATION = "organisation.edit"
    MANAGE_MEMBERS = "organisation.manage_members"
    VERIFY_ORGANISATION = "organisation.verify"
    MANAGE_CENTRES = "centre.manage"
    VIEW_CENTRE_PIPELINE = "centre.view_pipeline"
    VIEW_AUDIT_LOG = "audit.view"
    VIEW_PLATFORM_DASHBOARD = "dashboard.platform"
    CREATE_API_TOKEN = "api_token.create"  # noqa: S105 - an action name, not a secret
    ASSIGN_ROLES = "roles.assign"
    # Resource sharing (resources app): the target organisation is the instrument's holder.
    BOOK_INSTRUMENT = "resource.book"
    APPROVE_BOOKING = "resource.approve_booking"
    MANAGE_RESOURCE = "resource.manage"
    OVERRIDE_POLICY = "resource.override_policy"
    VIEW_UTILISATION = "resource.view_utilisation"
    # Technology market (techexchange.market).
    LISTING_CREATE = "market.listing.create"
    LISTING_EDIT = "market.listing.edit"
    LISTING_REVIEW = "market.listing.review"
    LISTING_VIEW_SUMMARY = "market.listing.view_summary"
    LISTING_VIEW_DETAILS = "market.listing.view_details"
    LISTING_MANAGE_ACCESS = "market.listing.manage_access"
    NDA_ACCEPT = "market.nda.accept"
    EOI_SEND = "market.eoi.send"
    EOI_DECIDE = "market.eoi.decide"
    DEAL_CREATE = "market.deal.create"
    DEAL_MANAGE = "market.deal.manage"
    DEAL_VIEW = "market.deal.view"
    CHALLENGE_MANAGE = "market.challenge.manage"
    CHALLENGE_APPLY = "market.challenge.apply"
    CHALLENGE_REVIEW = "market.challenge.review"
    CHALLENGE_DECIDE = "market.challenge.decide"
    VIEW_MARKET_DASHBOARD = "market.dashboard"
    # Technology contracts (contracts app). Registration is a legal act of the registrar of the
    # contract's registration region; aggregated statistics are public, finer detail is not.
    SUBMIT_CONTRACT = "contract.submit"
    VIEW_CONTRACT = "contract.view"
    REVIEW_CONTRACT = "contract.review"
    VIEW_CONTRACT_STATS = "contract.view_stats"
    VIEW_CONTRACT_STATS_DETAIL = "contract.view_stats_detail"


@dataclass(frozen=True)
class Actor:
    """What the rules need to know about whoever acts."""

    user_id: int | None = None
    platform_roles: frozenset[str] = frozenset()
    admin_of: frozenset[int] = frozenset()
    member_of: frozenset[int] = frozenset()
    centre_ids: frozenset[int] = frozenset()
    region_codes: frozenset[str] = frozenset()

    @property
    def is_authenticated(self) -> bool:
        """True for a signed-in user."""
        return self.user_id is not None

    @property
    def is_operator(self) -> bool:
        """True for a platform operator."""
        return "operator" in self.platform_roles


@dataclass(frozen=True)
class Target:
    """The object acted on, reduced to what rules look at."""

    organisation_id: int | None = None
    centre_id: int | None = None
    region_code: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _member(actor: Actor, target: Target) -> bool:
    return target.organisation_id is not None and target.organisation_id in actor.member_of


def can(actor: Actor, action: Action, target: Target | None = None) -> bool:
    """Decide whether `actor` may perform `action` on `target`."""
    target = target or Target()
    match action:
        case Action.VIEW_ORGANISATION:
            return True
        case Action.VIEW_ORGANISATION_CONTACTS | Action.CREATE_API_TOKEN:
            return actor.is_authenticated
        case Action.EDIT_ORGANISATION | Action.MANAGE_MEMBERS:
            return actor.is_operator or (
                target.organisation_id is not None and target.organisation_id in actor.admin_of
            )
        case Action.VERIFY_ORGANISATION | Action.MANAGE_CENTRES | Action.ASSIGN_ROLES:
            return actor.is_operator
        case Action.VIEW_CENTRE_PIPELINE:
            return actor.is_operator or (
                "broker" in actor.platform_roles
                and target.centre_id is not None
                and target.centre_id in actor.centre_ids
            )
        case Action.VIEW_AUDIT_LOG:
            return actor.is_operator
        case Action.VIEW_PLATFORM_DASHBOARD:
            return actor.is_operator or "analyst" in actor.platform_roles
        case Action.BOOK_INSTRUMENT:
            return actor.is_authenticated
        case Action.APPROVE_BOOKING:
            # Staff of the holding organisation approve, check in and record usage.
            return actor.is_operator or _member(actor, target)
        case Action.MANAGE_RESOURCE | Action.OVERRIDE_POLICY:
            return actor.is_operator or (
                target.organisation_id is not None and target.organisation_id in actor.admin_of
            )
        case Action.VIEW_UTILISATION:
            return actor.is_operator or "analyst" in actor.platform_roles or _member(actor, target)
        case Action.SUBMIT_CONTRACT:
            return actor.is_operator or (
                target.organisation_id is not None and target.organisation_id in actor.member_of
            )
        case Action.REVIEW_CONTRACT:
            return _is_registrar_of(actor, target)
        case Action.VIEW_CONTRACT:
            return (
                actor.is_operator
                or _is_registrar_of(actor, target)
                or (
                    target.organisation_id is not None and target.organisation_id in actor.member_of
                )
            )
        case Action.VIEW_CONTRACT_STATS:
            return True
        case Action.VIEW_CONTRACT_STATS_DETAIL:
            # City-level cells can be small enough to identify a confidential contract.
            return actor.is_operator or bool({"analyst", "registrar"} & actor.platform_roles)
    return _can_market(actor, action, target)


def _ids(raw: str) -> frozenset[int]:
    """Integer ids from a comma-separated `Target.extra` value."""
    return frozenset(int(x) for x in raw.split(",") if x.strip().isdigit())


def _can_market(actor: Actor, action: Action, target: Target) -> bool:
    """The technology market's rules: owners, NDA holders, brokers of the centre, sponsors."""
    owner = target.organisation_id
    is_owner = owner is not None and owner in actor.member_of
    outsider_member = actor.is_authenticated and bool(actor.member_of) and not is_owner
    broker_here = (
        "broker" in actor.platform_roles
        and target.centre_id is not None
        and target.centre_id in actor.centre_ids
    )
    match action:
        case Action.LISTING_CREATE | Action.LISTING_EDIT:
            return actor.is_operator or is_owner
        case Action.LISTING_REVIEW | Action.DEAL_MANAGE:
            return actor.is_operator or broker_here or target.extra.get("on_deal") == "1"
        case Action.LISTING_VIEW_SUMMARY:
            return actor.is_authenticated
        case Action.LISTING_VIEW_DETAILS:
            return (
                actor.is_operator
                or is_owner
                or broker_here
                or (actor.is_authenticated and target.extra.get("nda") == "1")
            )
        case Action.LISTING_MANAGE_ACCESS | Action.CHALLENGE_MANAGE:
            return actor.is_operator or (owner is not None and owner in actor.admin_of)
        case Action.NDA_ACCEPT | Action.EOI_SEND | Action.CHALLENGE_APPLY:
            return outsider_member
        case Action.EOI_DECIDE:
            return is_owner
        case Action.DEAL_CREATE:
            return actor.is_operator or "broker" in actor.platform_roles
        case Action.DEAL_VIEW:
            parties = _ids(target.extra.get("parties", ""))
            return (
                actor.is_operator
                or broker_here
                or target.extra.get("on_deal") == "1"
                or bool(parties & actor.member_of)
            )
        case Action.CHALLENGE_REVIEW:
            return actor.is_operator or target.extra.get("expert") == "1"
        case Action.CHALLENGE_DECIDE:
            deciders = _ids(target.extra.get("end_user", ""))
            return (
                actor.is_operator
                or (owner is not None and owner in actor.admin_of)
                or bool(deciders & actor.admin_of)
            )
        case Action.VIEW_MARKET_DASHBOARD:
            return actor.is_operator or bool({"broker", "analyst"} & actor.platform_roles)
    return False  # pragma: no cover - every Action is matched above


def _is_registrar_of(actor: Actor, target: Target) -> bool:
    """A registrar whose region is the target's registration region (province code)."""
    return (
        "registrar" in actor.platform_roles
        and target.region_code is not None
        and target.region_code in actor.region_codes
    )
