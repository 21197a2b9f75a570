"""Pages of the technology market: parse, call one service or selector, render."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from techexchange.accounts.models import Organisation, User
from techexchange.accounts.policies import Action
from techexchange.accounts.selectors import actor_for, can_user, list_centres
from techexchange.core import clock
from techexchange.core.errors import Conflict, DomainError, NotFound, Problem, ValidationFailed
from techexchange.market import selectors, services
from techexchange.market.codes import (
    ChallengeStatus,
    DealStage,
    DeclineReason,
    EoiStatus,
    ListingKind,
    ListingStatus,
    NotificationEvent,
    TechField,
    Tier,
)
from techexchange.market.forms import (
    AnswerForm,
    ApplicationForm,
    AssessmentForm,
    AttachmentForm,
    ChallengeForm,
    EoiForm,
    HandoverForm,
    ListingForm,
    NdaForm,
    NextActionForm,
    ProblemFormMixin,
    PublishChallengeForm,
    QuestionForm,
    ReviewForm,
    SavedSearchForm,
)
from techexchange.market.models import (
    Challenge,
    ChallengeApplication,
    Deal,
    NotificationPreference,
    SavedSearch,
)


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
    funnel = figures["funnel"]
    steps = [
        (_("获得推荐的信息"), funnel["matched"]),
        (_("意向"), funnel["eois"]),
        (_("接受"), funnel["accepted"]),
        (_("交易"), funnel["deals"]),
        (_("签订"), funnel["signed"]),
        (_("登记"), funnel["registered"]),
    ]
    return render(
        request,
        "market/home.html",
        {
            "figures": figures,
            "eoi_rows": [
                (label, figures["eois"].get(code, 0)) for code, label in EoiStatus.choices
            ],
            "conversion_pct": figures["conversion"] * 100,
            "chart_data": {
                "stages": [[str(label), n] for _code, label, n in figures["stages"]],
                "funnel": [[str(label), n] for label, n in steps],
            },
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
            "may_manage_access": can_user(request.user, Action.LISTING_MANAGE_ACCESS, target),
            "is_published": item.status == ListingStatus.PUBLISHED,
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
@require_POST
def owner_action(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner renews, confirms as still current, or opens/closes a listing for EoIs."""
    op = request.POST.get("op", "")
    user = _u(request)
    now = clock.now()
    acts: dict[str, tuple[Any, str]] = {
        "renew": (lambda x: services.renew_listing(actor=user, listing=x, now=now), _("已续期")),
        "confirm": (
            lambda x: services.confirm_listing_active(actor=user, listing=x, now=now),
            _("已确认信息仍然有效"),
        ),
        "open": (
            lambda x: services.set_open_for_eoi(actor=user, listing=x, open_=True),
            _("已开放合作意向"),
        ),
        "close": (
            lambda x: services.set_open_for_eoi(actor=user, listing=x, open_=False),
            _("已关闭合作意向"),
        ),
    }
    if op not in acts:
        messages.error(request, _("操作无效"))
        return redirect("market:listing", pk=pk)
    fn, ok = acts[op]
    return _post_action(request, pk, fn, ok)


@login_required
@require_http_methods(["GET", "POST"])
def new_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner attaches a document with its own disclosure tier."""
    item, _tier = selectors.get_listing_for(request.user, pk, now=clock.now())
    form = AttachmentForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.add_attachment(
                    actor=_u(request),
                    listing=item,
                    name=d["name"],
                    tier=d["tier"],
                    content=d.get("content") or "",
                )
            except ValidationFailed as exc:
                form.add_problems(exc)
            else:
                messages.success(request, _("附件已添加"))
                return redirect("market:listing", pk=pk)
    return render(
        request, "market/attachment_form.html", {"item": item, "form": form}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def access(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's view of NDA holders and accesses to protected content; revoke; a new NDA."""
    item, _tier = selectors.get_listing_for(request.user, pk, now=clock.now())
    data = selectors.list_access_for(request.user, item)  # the owner's administrators only
    nda_form = NdaForm(request.POST if request.POST.get("op") == "nda" else None)
    status = 200
    if request.method == "POST":
        if request.POST.get("op") == "nda":
            status = 400
            if nda_form.is_valid():
                try:
                    nda = services.publish_nda(
                        actor=_u(request),
                        listing=item,
                        text=nda_form.cleaned_data["text"],
                        now=clock.now(),
                    )
                except ValidationFailed as exc:
                    nda_form.add_problems(exc)
                else:
                    messages.success(request, _("已发布保密协议 v%(v)d") % {"v": nda.version})
                    return redirect("market:access", pk=pk)
        else:
            grant = request.POST.get("grant", "")
            try:
                if not grant.isdigit():
                    raise ValidationFailed(
                        _("授权无效"), problems=[Problem("invalid", _("授权无效"), "grant")]
                    )
                services.revoke_access(
                    actor=_u(request),
                    listing=item,
                    acceptance_id=int(grant),
                    reason=request.POST.get("reason", "")[:200],
                    now=clock.now(),
                )
            except (ValidationFailed, NotFound) as exc:
                _flash(request, exc)
            else:
                messages.success(request, _("已撤销访问权限"))
            return redirect("market:access", pk=pk)
    latest = item.nda_versions.order_by("-version").first()
    if not nda_form.is_bound:
        nda_form = NdaForm(initial={"text": latest.text if latest else services.DEFAULT_NDA})
    return render(
        request,
        "market/access.html",
        {"item": item, "nda": latest, "nda_form": nda_form, **data},
        status=status,
    )


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


def _users_named(raw: str, field: str) -> list[User]:
    """Active users by user name (comma or space separated); unknown names name the field."""
    names = [n for n in re.split(r"[,，、\s]+", raw) if n]
    found = list(User.objects.filter(username__in=names, is_active=True))
    unknown = sorted(set(names) - {u.username for u in found})
    if unknown:
        raise ValidationFailed(
            _("用户不存在"),
            problems=[Problem("unknown", _("用户不存在：") + "、".join(unknown), field)],
        )
    return found


@login_required
@require_POST
def create_deal(request: HttpRequest, eoi_id: int) -> HttpResponse:
    """A broker opens a deal from an accepted EoI, with optional co-brokers."""
    eoi = selectors.get_eoi(eoi_id)
    try:
        co = _users_named(request.POST.get("co_brokers", "")[:500], "co_brokers")
        deal = services.create_deal(
            actor=_u(request),
            eoi=eoi,
            co_brokers=[u for u in co if u.pk != request.user.pk],
            now=clock.now(),
        )
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


def _centres() -> list[tuple[int, str]]:
    return [(c.pk, c.name) for c in list_centres()]


def _deal_page(
    request: HttpRequest, item: Deal, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
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
            "handover_form": bound.get("handover") or HandoverForm(centres=_centres()),
            "next_form": bound.get("next_action")
            or NextActionForm(initial={"text": item.next_action, "due": item.next_action_due}),
        },
        status=status,
    )


def _deal_form_post(request: HttpRequest, item: Deal) -> HttpResponse:
    """Hand-over and next action: problems go back onto the form's fields."""
    op = request.POST.get("op", "")
    now = clock.now()
    form: HandoverForm | NextActionForm
    if op == "handover":
        form = HandoverForm(request.POST, centres=_centres())
    else:
        form = NextActionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            if isinstance(form, HandoverForm):
                brokers = _users_named(d["to_broker"], "to_broker")
                if len(brokers) != 1:
                    raise ValidationFailed(
                        _("请填写一位接手经纪人"),
                        problems=[Problem("required", _("请填写一位接手经纪人"), "to_broker")],
                    )
                services.handover_deal(
                    actor=_u(request),
                    deal=item,
                    to_centre=next(c for c in list_centres() if c.pk == d["to_centre"]),
                    to_broker=brokers[0],
                    note=d["note"],
                    now=now,
                )
            else:
                services.set_next_action(
                    actor=_u(request), deal=item, text=d["text"], due=d["due"], now=now
                )
        except ValidationFailed as exc:
            form.add_problems(exc)
        else:
            messages.success(request, _("已更新"))
            return redirect("market:deal", pk=item.pk)
    return _deal_page(request, item, {op: form}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def deal(request: HttpRequest, pk: int) -> HttpResponse:
    """One deal: pipeline moves, hand-over, next action, registration pre-fill and its number."""
    now = clock.now()
    item = selectors.get_deal_for(request.user, pk)
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op in {"handover", "next_action"}:
            return _deal_form_post(request, item)
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
    return _deal_page(request, item)


def registration(request: HttpRequest, pk: int) -> HttpResponse:
    """The registrar's entry to a deal's contract: shown and registered from the deal page."""
    return redirect("market:deal", pk=pk)


def challenges(request: HttpRequest) -> HttpResponse:
    """Open challenges (揭榜挂帅)."""
    return render(
        request,
        "market/challenges.html",
        {
            "challenges": selectors.list_challenges_for(request.user)[:100],
            "may_create": bool(actor_for(request.user).admin_of)
            or actor_for(request.user).is_operator,
        },
    )


def _org_names(ids: Any = None) -> list[tuple[int, str]]:
    qs = Organisation.objects.order_by("name_zh")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return list(qs.values_list("pk", "name_zh"))


@login_required
@require_http_methods(["GET", "POST"])
def new_challenge(request: HttpRequest) -> HttpResponse:
    """A sponsor's administrator drafts a challenge."""
    actor = actor_for(request.user)
    sponsors = _org_names(None if actor.is_operator else actor.admin_of)
    form = ChallengeForm(request.POST or None, sponsors=sponsors, organisations=_org_names())
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            sponsor = Organisation.objects.get(pk=int(form.cleaned_data["sponsor"]))
            try:
                ch = services.create_challenge(
                    actor=_u(request), sponsor=sponsor, data=form.challenge_input(), now=clock.now()
                )
            except DomainError as exc:
                form.add_problems(exc)
            else:
                messages.success(request, _("榜单已保存为草稿"))
                return redirect("market:challenge", pk=ch.pk)
    return render(
        request,
        "market/challenge_form.html",
        {"form": form, "no_sponsor": not sponsors},
        status=status,
    )


def _steps(ch: Challenge, now: datetime) -> list[tuple[str, str]]:
    """The challenge's steps with their state: done, current or todo."""
    order: list[str] = [
        ChallengeStatus.DRAFT,
        ChallengeStatus.OPEN,
        ChallengeStatus.REVIEWING,
        ChallengeStatus.RUNNING,
        ChallengeStatus.ACCEPTED,
    ]
    at = order.index(ch.status) if ch.status in order else len(order)
    if ch.status == ChallengeStatus.OPEN and now > ch.deadline:
        at = 2  # applications closed: reviewing and selection may start
    labels = [_("发布榜单"), _("揭榜与答疑"), _("专家评审与遴选"), _("里程碑攻关"), _("验收")]
    out = []
    for i, label in enumerate(labels):
        state = "done" if i < at else "current" if i == at else "todo"
        if i == len(labels) - 1 and ch.status == ChallengeStatus.ACCEPTED:
            state = "done"
        out.append((label, state))
    return out


def _challenge_page(
    request: HttpRequest, ch: Challenge, bound: dict[Any, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The challenge page: each step's state and the forms of the actions the viewer may take."""
    bound = bound or {}
    now = clock.now()
    user = request.user
    actor = actor_for(user)
    target = selectors.challenge_target(ch, user)
    may_manage = can_user(user, Action.CHALLENGE_MANAGE, target)
    may_decide = can_user(user, Action.CHALLENGE_DECIDE, target)
    may_review = can_user(user, Action.CHALLENGE_REVIEW, target)
    apps = list(
        selectors.applications_for(user, ch)
        .select_related("merged_into__organisation")
        .prefetch_related("reviews__expert", "assessments__milestone", "payments__milestone")
    )
    milestones = list(ch.milestones.all())
    running = ch.status == ChallengeStatus.RUNNING
    selected = [(a.pk, a.organisation.name) for a in apps if a.status == "selected"]
    rows = []
    for a in apps:
        assessed = {x.milestone_id: x for x in a.assessments.all()}
        paid = {p.milestone_id: p for p in a.payments.all()}
        open_ms = [(m.pk, f"{m.order}. {m.title}") for m in milestones if m.pk not in assessed]
        mine = next((r for r in a.reviews.all() if r.expert_id == user.pk), None)
        key = a.pk
        rows.append(
            {
                "app": a,
                "reviews": list(a.reviews.all()) if may_decide else ([mine] if mine else []),
                "review_form": bound.get(("review", key))
                or ReviewForm(
                    initial={"score": mine.score, "comment": mine.comment} if mine else None
                ),
                "assess_form": bound.get(("assess", key))
                or AssessmentForm(milestones=open_ms, teams=[t for t in selected if t[0] != a.pk]),
                "may_assess": may_decide and running and a.status == "selected" and open_ms,
                "milestones": [
                    {
                        "m": m,
                        "assessment": assessed.get(m.pk),
                        "payment": paid.get(m.pk),
                        "may_pay": may_decide
                        and m.pk not in paid
                        and getattr(assessed.get(m.pk), "decision", "") == "continue",
                    }
                    for m in milestones
                ],
                "may_accept": may_decide and running and a.status == "selected",
            }
        )
    own_app = any(a.organisation_id in actor.member_of for a in apps)
    window_open = ch.status == ChallengeStatus.OPEN and now <= ch.deadline
    return render(
        request,
        "market/challenge_detail.html",
        {
            "ch": ch,
            "steps": _steps(ch, now),
            "rows": rows,
            "questions": [
                (q, bound.get(("answer", q.pk)) or AnswerForm(auto_id=f"id_q{q.pk}_%s"))
                for q in ch.questions.all()
            ],
            "co_funders": ch.co_funders.all(),
            "experts": ch.experts.all() if (may_manage or may_decide) else [],
            "may_manage": may_manage,
            "may_decide": may_decide,
            "may_review": may_review and ch.status in {"open", "reviewing"},
            "may_publish": may_manage and ch.status == ChallengeStatus.DRAFT,
            "may_apply": window_open
            and not own_app
            and can_user(user, Action.CHALLENGE_APPLY, target),
            "may_ask": window_open and actor.is_authenticated and not may_manage,
            "may_select": may_decide and ch.status in {"open", "reviewing"} and bool(apps),
            "before_deadline": now <= ch.deadline,
            "publish_form": bound.get("publish") or PublishChallengeForm(),
            "question_form": bound.get("question") or QuestionForm(),
            "apply_form": bound.get("apply") or ApplicationForm(),
            "select_error": bound.get("select"),
        },
        status=status,
    )


def challenge(request: HttpRequest, pk: int) -> HttpResponse:
    """One challenge with objectives, milestones, Q&A and applications the viewer may see."""
    return _challenge_page(request, selectors.get_challenge_for(request.user, pk))


def _app_of(ch: Challenge, app_id: int) -> ChallengeApplication:
    found = ch.applications.select_related("organisation").filter(pk=app_id).first()
    if found is None:
        raise NotFound(_("申请不存在"), code="not_found")
    return found


def _challenge_form_post(
    request: HttpRequest, ch: Challenge, key: Any, form: ProblemFormMixin, act: Any, ok: str
) -> HttpResponse:
    """Validate `form`, call `act(cleaned_data)`; problems go back onto the form's fields."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except (ValidationFailed, Conflict) as exc:
            form.add_problems(exc)
        else:
            messages.success(request, ok)
            return redirect("market:challenge", pk=ch.pk)
    return _challenge_page(request, ch, {key: form}, status=400)


@login_required
@require_POST
def publish_challenge(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish a draft with its review experts."""
    ch = selectors.get_challenge_for(request.user, pk)
    form = PublishChallengeForm(request.POST)

    def act(d: dict[str, Any]) -> None:
        names = [n for n in re.split(r"[,，、\s]+", d["experts"]) if n]
        experts = list(User.objects.filter(username__in=names, is_active=True))
        unknown = sorted(set(names) - {u.username for u in experts})
        if unknown:
            raise ValidationFailed(
                _("专家用户名不存在"),
                problems=[Problem("unknown", _("用户不存在：") + "、".join(unknown), "experts")],
            )
        services.publish_challenge(
            actor=_u(request), challenge=ch, experts=experts, now=clock.now()
        )

    return _challenge_form_post(request, ch, "publish", form, act, _("榜单已发布"))


@login_required
@require_POST
def ask_question(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the sponsor a question (answers are visible to all applicants)."""
    ch = selectors.get_challenge_for(request.user, pk)
    form = QuestionForm(request.POST)
    return _challenge_form_post(
        request,
        ch,
        "question",
        form,
        lambda d: services.ask_question(
            actor=_u(request), challenge=ch, question=d["question"], now=clock.now()
        ),
        _("问题已提交"),
    )


@login_required
@require_POST
def answer_question(request: HttpRequest, pk: int, qid: int) -> HttpResponse:
    """The sponsor answers a question publicly."""
    ch = selectors.get_challenge_for(request.user, pk)
    question = ch.questions.filter(pk=qid).first()
    if question is None:
        raise NotFound(_("问题不存在"), code="not_found")
    form = AnswerForm(request.POST)
    return _challenge_form_post(
        request,
        ch,
        ("answer", qid),
        form,
        lambda d: services.answer_question(
            actor=_u(request), question=question, answer=d["answer"], now=clock.now()
        ),
        _("已答复"),
    )


@login_required
@require_POST
def apply_to_challenge(request: HttpRequest, pk: int) -> HttpResponse:
    """A team applies (揭榜) for the user's organisation."""
    ch = selectors.get_challenge_for(request.user, pk)
    form = ApplicationForm(request.POST)

    def act(d: dict[str, Any]) -> None:
        org = _my_org(request)
        if org is None:
            raise ValidationFailed(
                _("请先加入一个机构"),
                problems=[Problem("required", _("请先加入一个机构"), "organisation")],
            )
        services.apply_to_challenge(
            actor=_u(request),
            challenge=ch,
            organisation=org,
            team=d["team"],
            route=d["route"],
            milestone_plan=d["milestone_plan"],
            now=clock.now(),
        )

    return _challenge_form_post(request, ch, "apply", form, act, _("揭榜申请已提交"))


@login_required
@require_POST
def review_application(request: HttpRequest, pk: int, app_id: int) -> HttpResponse:
    """An expert scores an application and declares any conflict of interest."""
    ch = selectors.get_challenge_for(request.user, pk)
    app = _app_of(ch, app_id)
    form = ReviewForm(request.POST)
    return _challenge_form_post(
        request,
        ch,
        ("review", app.pk),
        form,
        lambda d: services.review_application(
            actor=_u(request),
            application=app,
            score=d["score"],
            comment=d["comment"],
            conflict_declared=d["conflict_declared"],
            now=clock.now(),
        ),
        _("评审意见已保存"),
    )


@login_required
@require_POST
def select_teams(request: HttpRequest, pk: int) -> HttpResponse:
    """The sponsor or end user selects the team(s)."""
    ch = selectors.get_challenge_for(request.user, pk)
    ids = [int(x) for x in request.POST.getlist("applications") if x.isdigit()]
    try:
        services.select_teams(actor=_u(request), challenge=ch, application_ids=ids, now=clock.now())
    except ValidationFailed as exc:
        return _challenge_page(
            request, ch, {"select": "；".join(p.message for p in exc.problems)}, status=400
        )
    messages.success(request, _("已完成遴选"))
    return redirect("market:challenge", pk=pk)


@login_required
@require_POST
def assess_milestone(request: HttpRequest, pk: int, app_id: int) -> HttpResponse:
    """A milestone assessment of one team: continue, merge or eliminate."""
    ch = selectors.get_challenge_for(request.user, pk)
    app = _app_of(ch, app_id)
    milestones = {m.pk: m for m in ch.milestones.all()}
    teams = {a.pk: a for a in ch.applications.exclude(pk=app.pk).select_related("organisation")}
    form = AssessmentForm(
        request.POST,
        milestones=[(k, f"{m.order}. {m.title}") for k, m in milestones.items()],
        teams=[(k, a.organisation.name) for k, a in teams.items()],
    )
    return _challenge_form_post(
        request,
        ch,
        ("assess", app.pk),
        form,
        lambda d: services.assess_milestone(
            actor=_u(request),
            application=app,
            milestone=milestones[d["milestone"]],
            decision=d["decision"],
            note=d["note"],
            merge_into=teams.get(d["merge_into"]) if d["merge_into"] else None,
            now=clock.now(),
        ),
        _("里程碑评估已记录"),
    )


@login_required
@require_POST
def pay_milestone(request: HttpRequest, pk: int, app_id: int, milestone_id: int) -> HttpResponse:
    """Record the payment of a passed milestone to a team."""
    ch = selectors.get_challenge_for(request.user, pk)
    app = _app_of(ch, app_id)
    milestone = ch.milestones.filter(pk=milestone_id).first()
    if milestone is None:
        raise NotFound(_("里程碑不存在"), code="not_found")
    try:
        services.record_payment(
            actor=_u(request), application=app, milestone=milestone, now=clock.now()
        )
    except (ValidationFailed, Conflict) as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已记录拨付"))
    return redirect("market:challenge", pk=pk)


@login_required
@require_POST
def accept_result(request: HttpRequest, pk: int, app_id: int) -> HttpResponse:
    """The end user (or sponsor) accepts a team's result."""
    ch = selectors.get_challenge_for(request.user, pk)
    app = _app_of(ch, app_id)
    try:
        services.accept_challenge_result(actor=_u(request), application=app, now=clock.now())
    except (ValidationFailed, Conflict) as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已验收"))
    return redirect("market:challenge", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications, per-event preferences and saved searches."""
    user = _u(request)
    search_form = SavedSearchForm(request.POST if request.POST.get("op") == "search" else None)
    pref_errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        status = 400
        op = request.POST.get("op", "")
        if op == "prefs":
            # One form, one outcome: any refused event leaves every preference as it was.
            with transaction.atomic():
                for event in NotificationEvent.values:
                    try:
                        services.set_notification_preference(
                            user=user,
                            event=event,
                            in_app=request.POST.get(f"in_app_{event}") == "1",
                            email=request.POST.get(f"email_{event}", "digest"),
                        )
                    except ValidationFailed as exc:
                        pref_errors[event] = "；".join(p.message for p in exc.problems)
                if pref_errors:
                    transaction.set_rollback(True)
            if not pref_errors:
                messages.success(request, _("通知偏好已保存"))
                return redirect("market:notifications")
        elif op == "search" and search_form.is_valid():
            d = search_form.cleaned_data
            try:
                services.save_search(
                    user=user,
                    kind=d["kind"],
                    query=d["query"],
                    tech_field=d["tech_field"],
                    province=d["province"],
                    now=clock.now(),
                )
            except ValidationFailed as exc:
                search_form.add_problems(exc)
            else:
                messages.success(request, _("已订阅"))
                return redirect("market:notifications")
    prefs = {p.event: p for p in NotificationPreference.objects.filter(user=user)}
    return render(
        request,
        "market/notifications.html",
        {
            "notes": selectors.list_notifications_for(request.user)[:100],
            "prefs": [
                {
                    "event": code,
                    "label": label,
                    "in_app": prefs[code].in_app if code in prefs else True,
                    "email": prefs[code].email if code in prefs else "digest",
                    "error": pref_errors.get(code, ""),
                }
                for code, label in NotificationEvent.choices
            ],
            "email_choices": [
                ("off", _("不发送")),
                ("instant", _("即时")),
                ("digest", _("每日汇总")),
            ],
            "searches": [
                (s, TechField(s.tech_field).label if s.tech_field in TechField.values else "")
                for s in SavedSearch.objects.filter(user=user)
                .select_related("province")
                .order_by("-created_at")[:50]
            ],
            "search_form": search_form,
        },
        status=status,
    )
