"""Pages of the web layer: parse, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from techexchange.accounts import selectors as accounts
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.services import create_api_token, revoke_api_token, sign_up_organisation
from techexchange.core.errors import NotFound, ValidationFailed
from techexchange.web import dashboard
from techexchange.web.forms import ApiTokenForm, OrganisationFilterForm, SignUpForm


def home(request: HttpRequest) -> HttpResponse:
    """The home dashboard: headline figures computed live from the database."""
    return render(request, "web/home.html", {"figures": dashboard.headline_figures()})


def organisations(request: HttpRequest) -> HttpResponse:
    """The organisation directory with search and filters."""
    form = OrganisationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = accounts.list_organisations_for(
        request.user,
        q=filters.get("q", ""),
        province=filters.get("province", ""),
        city=filters.get("city", ""),
        category=filters.get("category", ""),
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/organisations.html",
        {"form": form, "page": page, "query": query.urlencode(), "total": page.paginator.count},
    )


def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One organisation; contact details for signed-in users only."""
    org = accounts.get_organisation_for(request.user, pk)
    return render(
        request,
        "web/organisation_detail.html",
        {
            "org": org,
            "show_contacts": accounts.can_user(request.user, Action.VIEW_ORGANISATION_CONTACTS),
            "can_edit": accounts.can_user(
                request.user, Action.EDIT_ORGANISATION, Target(organisation_id=org.pk)
            ),
            "centres": org.centres.all(),
        },
    )


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """An organisation signs up with its credit code; its first user becomes org admin."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, org = sign_up_organisation(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                organisation=form.organisation_input(),
            )
        except ValidationFailed as exc:
            form.add_problems(exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功：%(org)s") % {"org": org.name_zh})
            return redirect("web:organisation", pk=org.pk)
    return render(request, "web/sign_up.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The user's profile: memberships, roles and API tokens."""
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _token, new_token = create_api_token(user=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
        form = ApiTokenForm()
    return render(
        request,
        "web/profile.html",
        {
            "form": form,
            "new_token": new_token,
            "tokens": accounts.list_api_tokens_for(request.user),
            "memberships": accounts.list_memberships_for(request.user),
            "roles": accounts.list_role_grants_for(request.user),
        },
    )


@login_required
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's API tokens."""
    revoke_api_token(user=request.user, token_id=pk)  # type: ignore[arg-type]
    messages.info(request, _("令牌已撤销"))
    return redirect("web:profile")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: JSON `{code, message, details}` under /api/, the error page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": "接口不存在", "details": []},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    error = NotFound(_("页面不存在"))
    return render(request, "web/error.html", {"error": error}, status=404)
