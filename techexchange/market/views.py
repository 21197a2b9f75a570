"""Pages of the technology market: parse, call one service or selector, render."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from techexchange.accounts.models import Organisation, User
from techexchange.accounts.policies import Action
from techexchange.accounts.selectors import actor_for, can_user
from techexchange.core import clock
from techexchange.core.errors import DomainError, Problem, ValidationFailed
from techexchange.market import selectors, services
from techexchange.market.codes import DealStage, DeclineReason, ListingKind, Tier
from techexchange.market.forms import EoiForm, ListingForm


def _u(request: HttpRequest) -> User:
    """The signed-in user (views that write are behind login_required)."""
    return request.user  # type: ignore[return-value]


def _my_org(request: HttpRequest) -> Organisation | None:
    ids = sorted(actor_for(request.user).member_of)
    return Organisation.objects.filter(pk=ids[0]).first() if ids else None


def _flash(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(p.message for p in exc.problems)
    messages.error(request, f"{exc.message}{'：' + detail if detail else ''}")


def home(request: HttpRequest) -> HttpResponse:
    """The market's front page and dashboard (league tables for operators, analysts, brokers)."""
    figures = selectors.market_figures(now=clock.now())
    return render(
        request,
        "market/home.html",
        {
            "figures": figures,
            "show_league": can_user(request.user, Action.VIEW_MARKET_DASHBOARD),
            "provinces": [
                ("310000", _("上海")),
                ("320000", _("江苏")),
                ("330000", _("浙江")),
                ("340000", _("安徽")),
            ],
            "flows": selectors.registered_flows(),
        },
    )


def listings(request: HttpRequest, kind: str) -> HttpResponse:
    """Published offers or requests (teaser fields), filtered."""
    qs = selectors.list_listings(
        kind=kind,
        q=request.GET.get("q", "")[:100],
        tech_field=request.GET.get("field", "")[:30],
        province=request.GET.get("province", "")[:12],
        now=clock.now(),
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request, "market/listings.html", {"kind": kind, "page": page, "q": request.GET.get("q", "")}
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_listing(request: HttpRequest) -> HttpResponse:
    """Post an offer or a request as a draft of the user's organisation."""
    kind = request.GET.get("kind", ListingKind.REQUEST)
    kind = kind if kind in ListingKind.values else ListingKind.REQUEST
    form = ListingForm(request.POST or None)
    org = _my_org(request)
    if request.method == "POST" and form.is_valid():
        if org is None:
            form.add_error(None, _("请先加入一个机构"))
        else:
            try:
                listing = services.create_listing(
                    actor=_u(request),
                    kind=kind,
                    owner=org,
                    data=form.listing_input(),
                    now=clock.now(),
                )
            except DomainError as exc:
                form.add_problems(exc)
            else:
                messages.success(request, _("已保存为草稿"))
                return redirect("market:listing", pk=listing.pk)
    return render(request, "market/listing_form.html", {"form": form, "kind": kind})


def listing(request: HttpRequest, pk: int) -> HttpResponse:
    """One listing at the viewer's tier; owners see findings and recommendations."""
    now = clock.now()
    item, tier = services.open_listing(user=request.user, pk=pk, channel="web", now=now)
    target = selectors.listing_target(item)
    is_owner = can_user(request.user, Action.LISTING_EDIT, target)
    may_review = can_user(request.user, Action.LISTING_REVIEW, target)
    recs = services.recommend(listing=item, now=now) if (is_owner or may_review) else []
    return render(
        request,
        "market/listing_detail.html",
        {
            "item": item,
            "view": selectors.listing_view(item, tier),
            "tier": int(tier),
            "FULL": int(Tier.FULL),
            "is_owner": is_owner,
            "may_review": may_review,
            "findings": services.completeness(item) if is_owner else [],
            "recommendations": recs,
            "nda": item.nda_versions.order_by("-version").first(),
            "may_accept_nda": tier < Tier.FULL
            and can_user(request.user, Action.NDA_ACCEPT, target),
            "may_send_eoi": item.open_for_eoi and can_user(request.user, Action.EOI_SEND, target),
            "eoi_form": EoiForm(),
        },
    )


def _post_action(request: HttpRequest, pk: int, fn: Any, ok: str) -> HttpResponse:
    try:
        item, _tier = selectors.get_listing_for(request.user, pk, now=clock.now())
        fn(item)
    except DomainError as exc:
        _flash(request, exc)
    else:
        messages.success(request, ok)
    return redirect("market:listing", pk=pk)


@login_required
@require_POST
def submit_listing(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a draft for review."""
    return _post_action(
        request,
        pk,
        lambda x: services.submit_listing(actor=_u(request), listing=x, now=clock.now()),
        _("已提交审核"),
    )


@login_required
@require_POST
def review_listing(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (and publish), ask for changes or reject."""
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")[:500]

    def act(x: Any) -> None:
        services.review_listing(
            actor=_u(request), listing=x, decision=decision, reason=reason, now=clock.now()
        )
        if decision == "approve":
            services.publish_listing(actor=_u(request), listing=x, now=clock.now())

    return _post_action(request, pk, act, _("审核完成"))


@login_required
@require_POST
def accept_nda(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the owner's NDA for the user's organisation."""
    org = _my_org(request)
    version = (
        int(request.POST.get("version", "0") or 0)
        if request.POST.get("version", "0").isdigit()
        else 0
    )

    def act(x: Any) -> None:
        if org is None:
            raise ValidationFailed(
                _("请先加入一个机构"),
                problems=[Problem("required", _("请先加入一个机构"), "organisation")],
            )
        services.accept_nda(
            actor=_u(request), listing=x, organisation=org, version=version, now=clock.now()
        )

    return _post_action(request, pk, act, _("已签署保密协议"))


@login_required
@require_POST
def send_eoi(request: HttpRequest, pk: int) -> HttpResponse:
    """Express interest in a listing."""
    form = EoiForm(request.POST)
    org = _my_org(request)

    def act(x: Any) -> None:
        if not form.is_valid() or org is None:
            raise ValidationFailed(
                _("意向信息有误"), problems=[Problem("required", _("请填写留言"), "message")]
            )
        services.send_eoi(
            actor=_u(request),
            organisation=org,
            listing=x,
            message=form.cleaned_data["message"],
            intended_mode=form.cleaned_data["intended_mode"],
            now=clock.now(),
        )

    return _post_action(request, pk, act, _("合作意向已发送"))


@login_required
def access(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's view of NDA holders and accesses to protected content."""
    item, _tier = selectors.get_listing_for(request.user, pk, now=clock.now())
    if request.method == "POST":
        try:
            services.revoke_access(
                actor=_u(request),
                listing=item,
                acceptance_id=int(request.POST.get("grant", "0") or 0),
                reason=request.POST.get("reason", "")[:200],
                now=clock.now(),
            )
            messages.success(request, _("已撤销访问权限"))
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                _flash(request, exc)
        return redirect("market:access", pk=pk)
    data = selectors.list_access_for(request.user, item)
    return render(request, "market/access.html", {"item": item, **data})


def attachment(request: HttpRequest, pk: int, att_id: int) -> HttpResponse:
    """One attachment, if the viewer's tier reaches it."""
    att = services.open_attachment(
        user=request.user, pk=pk, attachment_id=att_id, channel="web", now=clock.now()
    )
    return render(request, "market/attachment.html", {"att": att})


@login_required
def eois(request: HttpRequest) -> HttpResponse:
    """EoIs received and sent, with one-click decline reasons and decline statistics."""
    boxes = selectors.list_eois_for(request.user)
    orgs = actor_for(request.user).member_of
    return render(
        request,
        "market/eois.html",
        {
            "received": boxes["received"][:100],
            "sent": boxes["sent"][:100],
            "reasons": DeclineReason.choices,
            "stats": {
                DeclineReason(k).label: v
                for k, v in selectors.decline_statistics(owner_ids=orgs).items()
                if k
            },
            "awaiting": selectors.eois_awaiting_deal_for(request.user),
        },
    )


@login_required
@require_POST
def decide_eoi(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept or decline (reason from the clicked button)."""
    try:
        services.decide_eoi(
            actor=_u(request),
            eoi_id=pk,
            accept=request.POST.get("accept") == "1",
            reason=request.POST.get("reason", ""),
            now=clock.now(),
        )
        messages.success(request, _("已回复"))
    except DomainError as exc:
        _flash(request, exc)
    return redirect("market:eois")


@login_required
def deals(request: HttpRequest) -> HttpResponse:
    """The broker pipeline: deals by stage, and accepted EoIs waiting for a deal."""
    qs = selectors.list_deals_for(request.user)
    return render(
        request,
        "market/deals.html",
        {
            "deals": qs[:200],
            "awaiting": selectors.eois_awaiting_deal_for(request.user),
            "stages": DealStage.choices,
        },
    )


@login_required
@require_POST
def create_deal(request: HttpRequest, eoi_id: int) -> HttpResponse:
    """A broker opens a deal from an accepted EoI."""
    eoi = selectors.get_eoi(eoi_id)
    try:
        deal = services.create_deal(actor=_u(request), eoi=eoi, now=clock.now())
    except DomainError as exc:
        _flash(request, exc)
        return redirect("market:deals")
    return redirect("market:deal", pk=deal.pk)


def _amount(raw: str, field: str) -> Decimal | None:
    raw = raw.strip().replace(",", "")
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed(
            _("金额格式有误"), problems=[Problem("invalid", _("金额格式有误"), field)]
        ) from None


@login_required
@require_http_methods(["GET", "POST"])
def deal(request: HttpRequest, pk: int) -> HttpResponse:
    """One deal: pipeline moves, registration pre-fill and its number once registered."""
    now = clock.now()
    item = selectors.get_deal_for(request.user, pk)
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op == "move":
                terms = services.DealTerms(
                    amount=_amount(request.POST.get("amount", ""), "amount"),
                    technical_amount=_amount(
                        request.POST.get("technical_amount", ""), "technical_amount"
                    ),
                    next_action=request.POST.get("next_action", "")[:200],
                )
                services.move_deal(
                    actor=_u(request),
                    deal=item,
                    to=request.POST.get("stage", ""),
                    terms=terms,
                    lost_reason=request.POST.get("lost_reason", "")[:300],
                    now=now,
                )
            elif op == "prefill":
                services.prefill_registration(actor=_u(request), deal=item, now=now)
            elif op == "submit":
                services.submit_registration(actor=_u(request), deal=item, now=now)
            elif op == "register":
                services.register_deal_contract(actor=_u(request), deal=item, now=now)
            messages.success(request, _("已更新"))
        except DomainError as exc:
            _flash(request, exc)
        return redirect("market:deal", pk=pk)
    item = services.sync_deal_registration(actor=_u(request), deal=item, now=now)
    target = selectors.deal_target(item, request.user)
    return render(
        request,
        "market/deal_detail.html",
        {
            "deal": item,
            "may_manage": can_user(request.user, Action.DEAL_MANAGE, target),
            "stages": DealStage.choices,
            "events": item.events.select_related("actor"),
            "brokers": item.brokers.select_related("broker", "centre"),
            "registration": selectors.registration_of(request.user, item),
        },
    )


def registration(request: HttpRequest, pk: int) -> HttpResponse:
    """The registrar's entry to a deal's contract: shown and registered from the deal page."""
    return redirect("market:deal", pk=pk)


def challenges(request: HttpRequest) -> HttpResponse:
    """Open challenges (揭榜挂帅)."""
    return render(
        request,
        "market/challenges.html",
        {"challenges": selectors.list_challenges_for(request.user)[:100]},
    )


def challenge(request: HttpRequest, pk: int) -> HttpResponse:
    """One challenge with objectives, milestones, Q&A and applications the viewer may see."""
    ch = selectors.get_challenge_for(request.user, pk)
    return render(
        request,
        "market/challenge_detail.html",
        {
            "ch": ch,
            "apps": selectors.applications_for(request.user, ch),
            "questions": ch.questions.all(),
        },
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications."""
    return render(
        request,
        "market/notifications.html",
        {"notes": selectors.list_notifications_for(request.user)[:100]},
    )
