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
    return False  # pragma: no cover - every Action is matched above


def _is_registrar_of(actor: Actor, target: Target) -> bool:
    """A registrar whose region is the target's registration region (province code)."""
    return (
        "registrar" in actor.platform_roles
        and target.region_code is not None
        and target.region_code in actor.region_codes
    )
