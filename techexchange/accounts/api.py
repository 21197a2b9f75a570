"""API of accounts: organisations (list, detail, sign-up, edit) and the caller."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.utils import check_csrf

from techexchange.accounts import selectors, services
from techexchange.accounts.codes import ReportCategory
from techexchange.accounts.models import Organisation
from techexchange.accounts.policies import Action
from techexchange.accounts.schemas import (
    MeOut,
    OrganisationDetailOut,
    OrganisationIn,
    OrganisationOut,
    SignUpIn,
    SignUpOut,
)

router = Router(tags=["organisations"])


def caller(request: HttpRequest) -> Any:
    """Ninja auth for calls that need a user: a bearer token, or a session with CSRF on writes.

    Runs before the payload is parsed, so an unauthenticated or forged call is refused first.
    """
    user = request.user
    if not user.is_authenticated:
        return None
    unsafe = request.method not in {"GET", "HEAD", "OPTIONS"}
    token_call = getattr(request, "_dont_enforce_csrf_checks", False)
    if unsafe and not token_call and check_csrf(request):
        raise HttpError(403, "CSRF 校验失败：会话调用须带 X-CSRFToken，或改用 API 令牌")
    return user


def _with_contacts(org: Organisation, visible: bool) -> Organisation:
    """Mark whether the response may include the contact fields."""
    org.contacts_visible = visible  # type: ignore[attr-defined]
    return org


@router.get("/organisations", response=list[OrganisationOut], tags=["organisations"])
@paginate(LimitOffsetPagination)
def list_organisations(
    request: HttpRequest,
    q: str = "",
    province: str = "",
    city: str = "",
    category: ReportCategory | None = None,
) -> Any:
    """Organisations, filtered by text, province, city and report category."""
    qs = selectors.list_organisations_for(
        request.user, q=q[:100], province=province, city=city, category=category or ""
    )
    return qs


@router.get("/organisations/{org_id}", response=OrganisationDetailOut)
def get_organisation(request: HttpRequest, org_id: int) -> Organisation:
    """One organisation; address and website only for signed-in callers."""
    org = selectors.get_organisation_for(request.user, org_id)
    return _with_contacts(org, selectors.can_user(request.user, Action.VIEW_ORGANISATION_CONTACTS))


@router.post("/sign-up", response={201: SignUpOut}, tags=["accounts"])
def sign_up(request: HttpRequest, payload: SignUpIn) -> tuple[int, dict[str, Any]]:
    """Sign up an organisation with its credit code; the user becomes its administrator."""
    user, org = services.sign_up_organisation(
        username=payload.username,
        email=payload.email,
        password=payload.password,
        organisation=services.OrganisationInput(**payload.organisation.model_dump()),
    )
    return 201, {"user_id": user.pk, "username": user.username, "organisation": org}


@router.put("/organisations/{org_id}", response=OrganisationDetailOut, auth=caller)
def update_organisation(request: HttpRequest, org_id: int, payload: OrganisationIn) -> Organisation:
    """Replace an organisation's record (its administrators and operators)."""
    user = request.auth  # type: ignore[attr-defined]
    org = selectors.get_organisation_for(user, org_id)
    org = services.update_organisation(
        actor=user,
        organisation=org,
        data=services.OrganisationInput(**payload.model_dump()),
    )
    return _with_contacts(org, True)


@router.get("/me", response=MeOut, tags=["accounts"], auth=caller)
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller: roles and organisations."""
    user = request.auth  # type: ignore[attr-defined]
    actor = selectors.actor_for(user)
    return {
        "id": user.pk,
        "username": user.username,
        "platform_roles": sorted(actor.platform_roles),
        "organisations": sorted(actor.member_of),
    }
