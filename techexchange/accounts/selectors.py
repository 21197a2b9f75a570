"""Reads of accounts, all permission-scoped through `actor_for` and `policies.can`."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Count, Q, QuerySet

from techexchange.accounts.codes import ReportCategory, natures_in, report_category_of
from techexchange.accounts.models import (
    ApiToken,
    Membership,
    Organisation,
    OrgRole,
    PlatformRole,
    RoleGrant,
    TransferCentre,
    User,
)
from techexchange.accounts.policies import Action, Actor, Target, can
from techexchange.core.errors import NotFound, PermissionDenied

__all__ = [
    "actor_for",
    "can_user",
    "get_organisation_for",
    "get_user_by_token",
    "list_api_tokens_for",
    "list_centres",
    "list_memberships_for",
    "list_organisations_for",
    "list_role_grants_for",
    "organisation_figures",
    "require",
]

ANONYMOUS = Actor()


def actor_for(user: Any) -> Actor:
    """Build the rules' view of a user (cached on the user object for the request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    cached = getattr(user, "_te_actor", None)
    if isinstance(cached, Actor):
        return cached
    grants = list(RoleGrant.objects.filter(user=user).values("role", "centre_id", "region_id"))
    memberships = list(Membership.objects.filter(user=user).values("organisation_id", "role"))
    roles = {g["role"] for g in grants}
    if user.is_superuser:
        roles.add(PlatformRole.OPERATOR.value)
    actor = Actor(
        user_id=user.pk,
        platform_roles=frozenset(roles),
        admin_of=frozenset(m["organisation_id"] for m in memberships if m["role"] == OrgRole.ADMIN),
        member_of=frozenset(m["organisation_id"] for m in memberships),
        centre_ids=frozenset(g["centre_id"] for g in grants if g["centre_id"]),
        region_codes=frozenset(g["region_id"] for g in grants if g["region_id"]),
    )
    user._te_actor = actor
    return actor


def can_user(user: Any, action: Action, target: Target | None = None) -> bool:
    """True when `user` may perform `action` on `target`."""
    return can(actor_for(user), action, target)


def require(user: Any, action: Action, target: Target | None = None) -> None:
    """Raise PermissionDenied unless `user` may perform `action` on `target`."""
    if not can_user(user, action, target):
        raise PermissionDenied("没有执行此操作的权限", code="forbidden")


def list_organisations_for(
    user: Any,
    *,
    q: str = "",
    province: str = "",
    city: str = "",
    category: str = "",
) -> QuerySet[Organisation]:
    """Organisations visible to `user`, filtered by text, province, city and report category."""
    require(user, Action.VIEW_ORGANISATION)
    qs = Organisation.objects.select_related("province", "city")
    if q:
        qs = qs.filter(Q(name_zh__icontains=q) | Q(name_en__icontains=q) | Q(credit_code=q.upper()))
    if province:
        qs = qs.filter(province_id=province)
    if city:
        qs = qs.filter(city_id=city)
    if category:
        qs = qs.filter(party_nature__in=natures_in(category))
    return qs.order_by("name_zh", "id")


def get_organisation_for(
    user: Any, pk: int, action: Action = Action.VIEW_ORGANISATION
) -> Organisation:
    """One organisation, if it exists and `user` may perform `action` on it."""
    try:
        org = Organisation.objects.select_related("province", "city").get(pk=pk)
    except Organisation.DoesNotExist:
        raise NotFound("机构不存在", code="not_found") from None
    require(user, action, Target(organisation_id=org.pk))
    return org


def organisation_figures() -> dict[str, Any]:
    """Headline figures: organisations by report category and by province (live counts)."""
    rows = (
        Organisation.objects.values("province_id", "province__name_zh", "party_nature")
        .annotate(n=Count("id"))
        .order_by("province_id")
    )
    by_province: dict[str, int] = {}
    by_category: dict[str, int] = {c.value: 0 for c in ReportCategory}
    matrix: dict[str, dict[str, int]] = {}
    for row in rows:
        code = row["province_id"]
        cat = report_category_of(row["party_nature"]).value
        by_province[code] = by_province.get(code, 0) + row["n"]
        by_category[cat] += row["n"]
        matrix.setdefault(code, {}).setdefault(cat, 0)
        matrix[code][cat] += row["n"]
    return {
        "total": sum(by_province.values()),
        "by_province": by_province,
        "by_category": by_category,
        "matrix": matrix,
        "centres": TransferCentre.objects.count(),
    }


def list_centres() -> QuerySet[TransferCentre]:
    """Transfer centres and sub-centres with their host and region."""
    return TransferCentre.objects.select_related("parent", "host", "province", "city")


def get_user_by_token(raw: str) -> User | None:
    """The active user owning API token `raw`, or None."""
    if not raw:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return token.user if token else None


def _user_pk(user: Any) -> int:
    """The user's primary key, or 0 (matching nobody) for an anonymous user."""
    return int(getattr(user, "pk", None) or 0)


def list_api_tokens_for(user: Any) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first."""
    return ApiToken.objects.filter(user_id=_user_pk(user))


def list_memberships_for(user: Any) -> QuerySet[Membership]:
    """The user's organisation memberships."""
    return Membership.objects.filter(user_id=_user_pk(user)).select_related("organisation")


def list_role_grants_for(user: Any) -> QuerySet[RoleGrant]:
    """The user's platform roles with their scope."""
    return RoleGrant.objects.filter(user_id=_user_pk(user)).select_related("centre", "region")
