"""Writes of the market: every one atomic, permission-checked through accounts, and audited."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F

from techexchange.accounts.models import Organisation, TransferCentre, User
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, can_user, require
from techexchange.core import clock
from techexchange.core.audit import audit
from techexchange.core.errors import Conflict, NotFound, Problem, ValidationFailed
from techexchange.market import matching, policies, storing
from techexchange.market.codes import (
    ApplicationStatus,
    AssessmentDecision,
    ChallengeStatus,
    CooperationMode,
    DealStage,
    DeclineReason,
    EoiStatus,
    ListingKind,
    ListingStatus,
    NotificationEvent,
    SelectionMode,
    Tier,
)
from techexchange.market.models import (
    AccessLog,
    Attachment,
    Challenge,
    ChallengeApplication,
    ChallengeObjective,
    ChallengeProgramme,
    ChallengeQuestion,
    Deal,
    DealBroker,
    DealEvent,
    ExpertReview,
    ExpressionOfInterest,
    Listing,
    MatchRecommendation,
    MatchWeights,
    MilestoneAssessment,
    MilestonePayment,
    MilestoneTemplate,
    NdaAcceptance,
    NdaVersion,
    Notification,
    NotificationPreference,
    SavedSearch,
    TechnologyOffer,
    TechnologyRequest,
)
from techexchange.market.selectors import (
    AnyListing,
    challenge_target,
    deal_target,
    get_listing_for,
    listing_target,
    stored_weights,
)
from techexchange.search import FeedbackEvent, Match, Matcher, Need, adjust_weights

__all__ = [
    "ListingInput",
    "accept_challenge_result",
    "accept_nda",
    "add_attachment",
    "answer_question",
    "apply_to_challenge",
    "archive_expired_listings",
    "ask_question",
    "assess_milestone",
    "confirm_listing_active",
    "create_challenge",
    "create_deal",
    "create_listing",
    "decide_eoi",
    "handover_deal",
    "match_listing",
    "move_deal",
    "notify",
    "open_attachment",
    "open_listing",
    "publish_challenge",
    "publish_listing",
    "publish_nda",
    "recompute_recommendations",
    "record_payment",
    "renew_listing",
    "review_application",
    "review_listing",
    "revoke_access",
    "save_search",
    "select_teams",
    "send_daily_digest",
    "send_eoi",
    "send_expiry_reminders",
    "set_notification_preference",
    "submit_listing",
    "update_listing",
]

DEFAULT_NDA = (
    "接收方承诺对本信息详细内容、技术资料及附件保密，仅用于评估合作可能，不向第三方披露，"
    "不得用于申请专利或自行实施；保密期限三年。"
)
ALERT_THRESHOLD = 0.6


def _now() -> datetime:
    from techexchange.core import clock

    return clock.now()


# -- notifications ---------------------------------------------------------------------------


def notify(
    *, users: Iterable[Any], event: str, title: str, body: str = "", url: str = "", now: datetime
) -> list[Notification]:
    """Notify users of an event per their preferences: in-app, e-mail at once, or the digest."""
    out: list[Notification] = []
    users = [u for u in users if u is not None]
    prefs = {
        p.user_id: p
        for p in NotificationPreference.objects.filter(
            user_id__in=[u.pk for u in users], event=event
        )
    }
    for user in users:
        pref = prefs.get(user.pk)
        in_app = pref.in_app if pref else True
        email = pref.email if pref else "digest"
        if not in_app and email == "off":
            continue
        note = Notification.objects.create(
            user=user,
            event=event,
            title=title[:200],
            body=body[:2000],
            url=url[:200],
            created_at=now,
            in_app=in_app,
            digest_pending=email == "digest" and bool(user.email),
        )
        if email == "instant" and user.email:
            send_mail(
                subject=title[:200],
                message=f"{body}\n\n{settings.SITE_URL}{url}",
                from_email=None,
                recipient_list=[user.email],
            )
            note.emailed_at = now
            note.save(update_fields=["emailed_at"])
        out.append(note)
    return out


def _org_users(org_id: int | None) -> list[User]:
    if org_id is None:
        return []
    return list(User.objects.filter(memberships__organisation_id=org_id, is_active=True))


@transaction.atomic
def set_notification_preference(
    *, user: User, event: str, in_app: bool, email: str
) -> NotificationPreference:
    """Choose how one event reaches the user."""
    problems = []
    if event not in NotificationEvent.values:
        problems.append(Problem("invalid_choice", "事件无效", "event"))
    if email not in {"off", "instant", "digest"}:
        problems.append(Problem("invalid_choice", "邮件方式无效", "email"))
    if problems:
        raise ValidationFailed("通知偏好有误", problems=problems)
    pref, _ = NotificationPreference.objects.update_or_create(
        user=user, event=event, defaults={"in_app": in_app, "email": email}
    )
    audit(actor=user, action="market.notification_preference", obj=pref, data={"email": email})
    return pref


@transaction.atomic
def send_daily_digest(*, now: datetime) -> int:
    """One e-mail per user with the day's digest notifications; return the number sent."""
    pending = (
        Notification.objects.select_for_update()
        .filter(digest_pending=True)
        .select_related("user")
        .order_by("user_id", "created_at")
    )
    by_user: dict[int, list[Notification]] = {}
    for note in pending:
        by_user.setdefault(note.user_id, []).append(note)
    for notes in by_user.values():
        user = notes[0].user
        lines = [f"· {n.title} {settings.SITE_URL}{n.url}" for n in notes]
        send_mail(
            subject=f"技术市场每日汇总（{len(notes)}条）",
            message="\n".join(lines),
            from_email=None,
            recipient_list=[user.email],
        )
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(
            digest_pending=False, emailed_at=now
        )
    return len(by_user)


# -- listings --------------------------------------------------------------------------------


@dataclass
class ListingInput:
    """The typed fields of an offer or a request (unused fields of the other kind ignored)."""

    title_zh: str
    title_en: str = ""
    summary_zh: str = ""
    summary_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    tech_field: str = ""
    tech_keywords: list[str] = field(default_factory=list)
    market_keywords: list[str] = field(default_factory=list)
    chain: str = ""
    chain_node: str = ""
    cooperation_modes: list[str] = field(default_factory=list)
    transaction_mode: str = ""
    partner_types: list[str] = field(default_factory=list)
    target_regions: list[str] = field(default_factory=list)
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    open_for_eoi: bool = True
    # offers
    maturity: int | None = None
    ip_status: str = ""
    achievement_type: str = ""
    patent_numbers: str = ""
    completion_date: date | None = None
    funding_source: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    # requests
    problem: str = ""
    targets: list[dict[str, str]] = field(default_factory=list)
    acceptance_test: str = ""
    constraints_text: str = ""
    maturity_min: int | None = None
    maturity_max: int | None = None
    acceptable_ip: list[str] = field(default_factory=list)
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None


_OFFER_ONLY = (
    "maturity",
    "ip_status",
    "achievement_type",
    "patent_numbers",
    "completion_date",
    "funding_source",
    "price_min",
    "price_max",
)
_REQUEST_ONLY = (
    "problem",
    "targets",
    "acceptance_test",
    "constraints_text",
    "maturity_min",
    "maturity_max",
    "acceptable_ip",
    "budget_min",
    "budget_max",
)


def _fields_for(kind: str, data: ListingInput) -> dict[str, Any]:
    values = asdict(data)
    values["tech_keywords"] = [k.strip() for k in data.tech_keywords if k.strip()]
    values["market_keywords"] = [k.strip() for k in data.market_keywords if k.strip()]
    drop = _REQUEST_ONLY if kind == ListingKind.OFFER else _OFFER_ONLY
    for name in drop:
        values.pop(name)
    return values


def _check_input(kind: str, values: dict[str, Any]) -> None:
    try:
        problems = policies.listing_input_problems(kind, values)
    except (InvalidOperation, ValueError, TypeError):
        problems = [Problem("invalid", "数值格式有误", "price_min")]
    if problems:
        raise ValidationFailed("信息填写有误", problems=problems)


@transaction.atomic
def create_listing(
    *,
    actor: User,
    kind: str,
    owner: Organisation,
    data: ListingInput,
    centre: TransferCentre | None = None,
    now: datetime,
) -> AnyListing:
    """Create a draft offer or request for `owner` (a member of it, or an operator)."""
    require(actor, Action.LISTING_CREATE, Target(organisation_id=owner.pk))
    if kind not in ListingKind.values:
        raise ValidationFailed("类型无效", problems=[Problem("invalid_choice", "类型无效", "kind")])
    values = _fields_for(kind, data)
    _check_input(kind, values)
    model: type[TechnologyOffer] | type[TechnologyRequest] = (
        TechnologyOffer if kind == ListingKind.OFFER else TechnologyRequest
    )
    listing = model.objects.create(
        kind=kind, owner=owner, created_by=actor, centre=centre, **values
    )
    NdaVersion.objects.create(listing=listing, version=1, text=DEFAULT_NDA, created_at=now)
    audit(actor=actor, action=f"market.{kind}.create", obj=listing)
    return listing


@transaction.atomic
def update_listing(
    *, actor: User, listing: AnyListing, data: ListingInput, now: datetime
) -> AnyListing:
    """Replace a listing's fields; a published listing stays published and is re-indexed."""
    require(actor, Action.LISTING_EDIT, listing_target(listing))
    if listing.status in {ListingStatus.SUBMITTED, ListingStatus.ARCHIVED, ListingStatus.REJECTED}:
        raise Conflict("审核中或已归档的信息不能修改", code="locked")
    values = _fields_for(listing.kind, data)
    _check_input(listing.kind, values)
    for key, value in values.items():
        setattr(listing, key, value)
    listing.last_confirmed_at = now if listing.status == ListingStatus.PUBLISHED else None
    listing.save()
    matching.enqueue(listing)
    audit(actor=actor, action=f"market.{listing.kind}.update", obj=listing)
    return listing


def _facts(listing: AnyListing) -> dict[str, Any]:
    names = [f.name for f in listing._meta.concrete_fields]
    return {n: getattr(listing, n) for n in names}


def completeness(listing: AnyListing) -> list[policies.Finding]:
    """The completeness checker's findings for a listing as it stands."""
    return policies.completeness_findings(listing.kind, _facts(listing))


@transaction.atomic
def submit_listing(*, actor: User, listing: AnyListing, now: datetime) -> AnyListing:
    """Send a draft for review; refused while the checker finds blockers."""
    require(actor, Action.LISTING_EDIT, listing_target(listing))
    if listing.status not in {ListingStatus.DRAFT, ListingStatus.CHANGES_REQUESTED}:
        raise Conflict("只有草稿或退回修改的信息可以提交", code="bad_state")
    blockers = policies.blocking(completeness(listing))
    if blockers:
        raise ValidationFailed(
            "信息不完整，不能提交",
            problems=[Problem(f.code, f.message, f.field) for f in blockers],
        )
    listing.status = ListingStatus.SUBMITTED
    listing.submitted_at = now
    listing.save(update_fields=["status", "submitted_at", "updated_at"])
    audit(actor=actor, action=f"market.{listing.kind}.submit", obj=listing)
    return listing


@transaction.atomic
def review_listing(
    *,
    actor: User,
    listing: AnyListing,
    decision: str,
    findings: Sequence[dict[str, str]] = (),
    reason: str = "",
    now: datetime,
) -> AnyListing:
    """Approve, ask for changes (with findings) or reject a submitted listing."""
    require(actor, Action.LISTING_REVIEW, listing_target(listing))
    new = policies.review_transition(listing.status, decision)
    if new is None:
        raise Conflict("当前状态不能作此审核决定", code="bad_state")
    if decision in {"changes", "reject"} and not (findings or reason.strip()):
        raise ValidationFailed(
            "请说明理由", problems=[Problem("required", "退回或驳回须附审核意见", "findings")]
        )
    listing.status = new
    listing.reviewed_at = now
    listing.review_findings = list(findings) or ([{"message": reason}] if reason else [])
    listing.save(update_fields=["status", "reviewed_at", "review_findings", "updated_at"])
    audit(
        actor=actor,
        action=f"market.{listing.kind}.review",
        obj=listing,
        reason=reason,
        data={"decision": decision, "findings": list(findings)},
    )
    notify(
        users=_org_users(listing.owner_id),
        event=NotificationEvent.LISTING_REVIEWED,
        title=f"审核结果：{listing.title_zh}（{listing.get_status_display()}）",
        url=f"/market/listings/{listing.pk}/",
        now=now,
    )
    return listing


@transaction.atomic
def publish_listing(*, actor: User, listing: AnyListing, now: datetime) -> AnyListing:
    """Publish an approved listing for 365 days."""
    target = listing_target(listing)
    if not (
        can_user(actor, Action.LISTING_EDIT, target)
        or can_user(actor, Action.LISTING_REVIEW, target)
    ):
        require(actor, Action.LISTING_EDIT, target)
    if listing.status != ListingStatus.APPROVED:
        raise Conflict("须审核通过后才能发布", code="not_approved")
    listing.status = ListingStatus.PUBLISHED
    listing.published_at = now
    listing.first_published_at = listing.first_published_at or now
    listing.last_confirmed_at = now
    listing.valid_until = now + policies.VALIDITY
    listing.save()
    matching.enqueue(listing)
    audit(actor=actor, action=f"market.{listing.kind}.publish", obj=listing)
    return listing


@transaction.atomic
def renew_listing(*, actor: User, listing: AnyListing, now: datetime) -> AnyListing:
    """Extend validity by 365 days, at most two years after first publication."""
    require(actor, Action.LISTING_EDIT, listing_target(listing))
    if listing.status != ListingStatus.PUBLISHED or listing.first_published_at is None:
        raise Conflict("只有已发布的信息可以续期", code="bad_state")
    new = policies.renewed_until(
        first_published_at=listing.first_published_at, valid_until=listing.valid_until, now=now
    )
    if new is None:
        raise Conflict("已达两年最长有效期，请重新发布", code="max_lifetime")
    listing.valid_until = new
    listing.last_confirmed_at = now
    listing.reminder_sent_at = None
    listing.save(
        update_fields=["valid_until", "last_confirmed_at", "reminder_sent_at", "updated_at"]
    )
    matching.enqueue(listing)
    audit(
        actor=actor,
        action=f"market.{listing.kind}.renew",
        obj=listing,
        data={"until": new.isoformat()},
    )
    return listing


@transaction.atomic
def confirm_listing_active(*, actor: User, listing: AnyListing, now: datetime) -> AnyListing:
    """The owner confirms the listing is still current (freshness, used in ranking)."""
    require(actor, Action.LISTING_EDIT, listing_target(listing))
    listing.last_confirmed_at = now
    listing.save(update_fields=["last_confirmed_at", "updated_at"])
    matching.enqueue(listing)
    audit(actor=actor, action=f"market.{listing.kind}.confirm", obj=listing)
    return listing


@transaction.atomic
def set_open_for_eoi(*, actor: User, listing: AnyListing, open_: bool) -> AnyListing:
    """Open or close a listing for expressions of interest (independent of publication)."""
    require(actor, Action.LISTING_EDIT, listing_target(listing))
    listing.open_for_eoi = open_
    listing.save(update_fields=["open_for_eoi", "updated_at"])
    audit(
        actor=actor, action=f"market.{listing.kind}.open_for_eoi", obj=listing, data={"open": open_}
    )
    return listing


@transaction.atomic
def send_expiry_reminders(*, now: datetime) -> int:
    """Remind owners of listings expiring within 30 days (once per validity period)."""
    qs = Listing.objects.select_for_update().filter(
        status=ListingStatus.PUBLISHED,
        reminder_sent_at__isnull=True,
        valid_until__gt=now,
        valid_until__lte=now + policies.REMINDER_BEFORE,
    )
    n = 0
    for listing in qs:
        notify(
            users=_org_users(listing.owner_id),
            event=NotificationEvent.LISTING_EXPIRING,
            title=f"即将到期：{listing.title_zh}",
            body="请续期或确认信息仍然有效。",
            url=f"/market/listings/{listing.pk}/",
            now=now,
        )
        listing.reminder_sent_at = now
        listing.save(update_fields=["reminder_sent_at"])
        audit(actor=None, action="market.listing.expiry_reminder", obj=listing)
        n += 1
    return n


@transaction.atomic
def archive_expired_listings(*, now: datetime) -> int:
    """Archive published listings whose validity has ended, and drop them from the index."""
    qs = Listing.objects.select_for_update().filter(
        status=ListingStatus.PUBLISHED, valid_until__lte=now
    )
    n = 0
    for listing in qs:
        listing.status = ListingStatus.ARCHIVED
        listing.archived_at = now
        listing.save(update_fields=["status", "archived_at", "updated_at"])
        matching.enqueue(listing)
        audit(actor=None, action="market.listing.archive", obj=listing, reason="expired")
        n += 1
    return n


# -- disclosure ------------------------------------------------------------------------------


def _log_access(user: User, listing: Listing, what: str, channel: str, now: datetime) -> None:
    orgs = sorted(actor_for(user).member_of)
    AccessLog.objects.create(
        listing=listing,
        user=user,
        organisation_id=orgs[0] if orgs else None,
        what=what,
        channel=channel,
        at=now,
    )


@transaction.atomic
def open_listing(*, user: Any, pk: int, channel: str, now: datetime) -> tuple[AnyListing, Tier]:
    """Read a listing at the viewer's tier; full details seen by a non-owner are logged."""
    listing, tier = get_listing_for(user, pk, now=now)
    if tier == Tier.FULL and listing.owner_id not in actor_for(user).member_of:
        _log_access(user, listing, "details", channel, now)
    return listing, tier


@transaction.atomic
def open_attachment(
    *, user: Any, pk: int, attachment_id: int, channel: str, now: datetime
) -> Attachment:
    """An attachment the viewer's tier reaches; protected ones are logged."""
    listing, tier = get_listing_for(user, pk, now=now)
    att = listing.attachments.filter(pk=attachment_id).first()
    if att is None:
        raise NotFound("附件不存在", code="not_found")
    if not policies.attachment_visible(att.tier, tier):
        require(user, Action.LISTING_VIEW_DETAILS, listing_target(listing, user))
        raise NotFound("附件不存在", code="not_found")  # pragma: no cover - require raised
    if att.tier > Tier.TEASER and listing.owner_id not in actor_for(user).member_of:
        _log_access(user, listing, f"attachment:{att.pk}", channel, now)
    return att


@transaction.atomic
def add_attachment(
    *, actor: User, listing: AnyListing, name: str, tier: int, content: str
) -> Attachment:
    """Attach a document with its own disclosure tier."""
    require(actor, Action.LISTING_EDIT, listing_target(listing))
    problems = []
    if not name.strip() or len(name) > 120:
        problems.append(Problem("required", "请填写附件名称（120字以内）", "name"))
    if tier not in Tier.values:
        problems.append(Problem("invalid_choice", "可见层级无效", "tier"))
    if not content.strip():
        problems.append(Problem("required", "附件内容为空", "content"))
    if problems:
        raise ValidationFailed("附件有误", problems=problems)
    att = Attachment.objects.create(
        listing=listing, name=name.strip(), tier=tier, content=content, uploaded_by=actor
    )
    audit(actor=actor, action="market.attachment.add", obj=att, data={"tier": tier})
    return att


@transaction.atomic
def publish_nda(*, actor: User, listing: AnyListing, text: str, now: datetime) -> NdaVersion:
    """Publish a new NDA version; existing acceptances stay valid for the version they signed."""
    require(actor, Action.LISTING_MANAGE_ACCESS, listing_target(listing))
    if not text.strip():
        raise ValidationFailed(
            "请填写协议文本", problems=[Problem("required", "协议文本为空", "text")]
        )
    latest = listing.nda_versions.order_by("-version").first()
    nda = NdaVersion.objects.create(
        listing=listing,
        version=(latest.version + 1 if latest else 1),
        text=text.strip(),
        created_at=now,
    )
    audit(actor=actor, action="market.nda.publish", obj=nda)
    return nda


@transaction.atomic
def accept_nda(
    *, actor: User, listing: AnyListing, organisation: Organisation, version: int, now: datetime
) -> NdaAcceptance:
    """The actor's organisation accepts the owner's current NDA version (who, when, which)."""
    require(actor, Action.NDA_ACCEPT, listing_target(listing))
    if organisation.pk not in actor_for(actor).member_of:
        raise ValidationFailed(
            "只能代表本机构签署",
            problems=[Problem("not_member", "只能代表本机构签署", "organisation")],
        )
    nda = listing.nda_versions.order_by("-version").first()
    if nda is None or nda.version != version:
        raise Conflict("保密协议已更新，请阅读最新版本后再签署", code="nda_outdated")
    existing = NdaAcceptance.objects.filter(
        listing=listing, organisation=organisation, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    acc = NdaAcceptance.objects.create(
        nda=nda, listing=listing, organisation=organisation, accepted_by=actor, accepted_at=now
    )
    audit(
        actor=actor,
        action="market.nda.accept",
        obj=acc,
        data={"version": nda.version, "listing": listing.pk},
    )
    notify(
        users=_org_users(listing.owner_id),
        event=NotificationEvent.NDA_ACCEPTED,
        title=f"{organisation.name_zh} 签署了保密协议：{listing.title_zh}",
        url=f"/market/listings/{listing.pk}/access/",
        now=now,
    )
    return acc


@transaction.atomic
def revoke_access(
    *, actor: User, listing: AnyListing, acceptance_id: int, reason: str, now: datetime
) -> NdaAcceptance:
    """The owner revokes an organisation's access to full details."""
    require(actor, Action.LISTING_MANAGE_ACCESS, listing_target(listing))
    acc = (
        NdaAcceptance.objects.select_for_update().filter(pk=acceptance_id, listing=listing).first()
    )
    if acc is None:
        raise NotFound("授权不存在", code="not_found")
    if acc.revoked_at is None:
        acc.revoked_at = now
        acc.revoked_by = actor
        acc.save(update_fields=["revoked_at", "revoked_by"])
        audit(actor=actor, action="market.nda.revoke", obj=acc, reason=reason)
    return acc


# -- matching --------------------------------------------------------------------------------


def _matcher(kind: str) -> Matcher:
    """The matcher for listings of `kind` seeking their counterparts."""
    other = ListingKind.REQUEST if kind == ListingKind.OFFER else ListingKind.OFFER
    return Matcher(
        matching.index_for(other),
        weights=stored_weights(),
        chain_neighbours=matching.CHAIN_NEIGHBOURS,
        pool=100,
    )


def _not_own(listing: AnyListing, found: Sequence[Match], limit: int) -> list[Match]:
    """An organisation is never recommended its own listings."""
    ids = [int(m.candidate.id) for m in found]
    own = set(
        Listing.objects.filter(pk__in=ids, owner_id=listing.owner_id).values_list("pk", flat=True)
    )
    return [m for m in found if int(m.candidate.id) not in own][:limit]


def match_listing(listing: AnyListing, *, now: datetime, limit: int = 10) -> list[Match]:
    """Ranked counterparts of a listing (offers for a request, requests for an offer)."""
    matching.flush_outbox(now)
    found = _matcher(listing.kind).match(
        matching.need_from_listing(listing), limit=limit + 10, now=now
    )
    return _not_own(listing, found, limit)


_components = storing.components


def _store_many(
    batch: Sequence[tuple[Listing, Sequence[Match]]], *, now: datetime, limit: int | None = None
) -> None:
    """Replace the stored recommendations of several listings (`storing.store_batch`).

    Candidates that no longer exist or that the need's own organisation published are left
    out, then at most `limit` per listing are kept. A row recommended again keeps its id and
    `alerted_at`; rows no longer recommended are deleted. Call inside a transaction.
    """
    storing.store_batch(batch, now=now, limit=limit)


@transaction.atomic
def store_recommendations(
    *, listing: AnyListing, matches: Sequence[Match], now: datetime
) -> list[MatchRecommendation]:
    """Replace the stored recommendations of a listing with `matches`."""
    _store_many([(listing, matches)], now=now)
    return list(MatchRecommendation.objects.filter(need=listing).order_by("rank"))


def recommend(*, listing: AnyListing, now: datetime, limit: int = 10) -> list[MatchRecommendation]:
    """Compute, store and return the recommendations of one listing; alert above the threshold."""
    recs = store_recommendations(
        listing=listing, matches=match_listing(listing, now=now, limit=limit), now=now
    )
    _alert(listing, recs, now)
    return recs


def _alert_threshold() -> float:
    return float(getattr(settings, "MARKET_MATCH_ALERT_THRESHOLD", ALERT_THRESHOLD))


def _send_alert(listing: Listing, reasons: Sequence[str], users: list[User], now: datetime) -> None:
    title, body, url = storing.alert_text(listing, reasons)
    notify(
        users=users, event=NotificationEvent.MATCH_ALERT, title=title, body=body, url=url, now=now
    )


def _alert(listing: Listing, recs: Sequence[MatchRecommendation], now: datetime) -> None:
    threshold = _alert_threshold()
    fresh = [r for r in recs if r.score >= threshold and r.alerted_at is None]
    if not fresh:
        return
    _send_alert(listing, [r.reason_zh for r in fresh], _org_users(listing.owner_id), now)
    MatchRecommendation.objects.filter(pk__in=[r.pk for r in fresh]).update(alerted_at=now)


@transaction.atomic
def _store_and_alert(
    batch: Sequence[tuple[Listing, Sequence[Match]]], *, now: datetime, limit: int
) -> None:
    """Store a chunk of a recompute and alert its new high-score recommendations, atomically."""
    alerts = storing.store_batch(batch, now=now, limit=limit, alert_threshold=_alert_threshold())
    storing.send_alerts(alerts, now=now)


BATCH_IN_PROCESSES_FROM = 500
"""Below this many listings a recompute matches in this process."""

STORE_CHUNK = 200
"""A recompute stores (and alerts) this many listings' results per transaction."""


def recompute_recommendations(
    *,
    now: datetime,
    kind: str = ListingKind.REQUEST,
    limit: int = 10,
    processes: int | None = None,
) -> int:
    """Batch: recompute stored recommendations for every open listing of `kind`.

    Matching runs in `processes` worker processes (setting `MARKET_MATCH_PROCESSES`, by
    default up to two, one per core) while this process stores the results and sends alerts,
    `STORE_CHUNK` listings per transaction (a few statements each, not one per match).
    """
    model: type[TechnologyOffer] | type[TechnologyRequest] = (
        TechnologyRequest if kind == ListingKind.REQUEST else TechnologyOffer
    )
    matching.flush_outbox(now)
    qs = model.objects.filter(status=ListingStatus.PUBLISHED, valid_until__gt=now)
    if processes is None:
        processes = int(getattr(settings, "MARKET_MATCH_PROCESSES", min(2, os.cpu_count() or 1)))
    if processes > 1 and qs.count() < BATCH_IN_PROCESSES_FROM:
        processes = 1  # starting worker processes costs more than it saves
    listings: deque[TechnologyOffer | TechnologyRequest] = deque()

    def needs() -> Iterator[Need]:
        for listing in qs.iterator(chunk_size=500):
            listings.append(listing)
            yield matching.need_from_listing(listing)

    n = 0
    batch: list[tuple[AnyListing, Sequence[Match]]] = []
    found_all = _matcher(kind).match_many(needs(), limit=limit + 10, now=now, processes=processes)
    for found in found_all:
        batch.append((listings.popleft(), found))
        if len(batch) >= STORE_CHUNK:
            _store_and_alert(batch, now=now, limit=limit)
            n += len(batch)
            batch = []
    if batch:
        _store_and_alert(batch, now=now, limit=limit)
        n += len(batch)
    return n


@transaction.atomic
def record_feedback(
    *, outcome: str, components: dict[str, float], reason: str | None
) -> MatchWeights:
    """Nudge the stored weights with one accepted or declined match (engine's adjust_weights)."""
    row, _ = MatchWeights.objects.select_for_update().get_or_create(name="default")
    current = stored_weights()
    event = FeedbackEvent(
        outcome="accepted" if outcome == "accepted" else "declined",
        components=components,
        reason=reason,
    )
    row.weights = adjust_weights(current, [event]).as_dict()
    row.events = F("events") + 1
    row.save()
    row.refresh_from_db()
    audit(
        actor=None,
        action="market.weights.adjust",
        obj=row,
        data={"outcome": outcome, "reason": reason or ""},
    )
    return row


# -- expressions of interest -----------------------------------------------------------------


def _recommendation_components(
    listing: Listing, organisation: Organisation
) -> tuple[MatchRecommendation | None, dict[str, float]]:
    rec = (
        MatchRecommendation.objects.filter(candidate=listing, need__owner=organisation)
        .order_by("-score")
        .first()
        or MatchRecommendation.objects.filter(need=listing, candidate__owner=organisation)
        .order_by("-score")
        .first()
    )
    if rec is None:
        return None, {}
    return rec, {c["name"]: float(c["value"]) for c in rec.components}


@transaction.atomic
def send_eoi(
    *,
    actor: User,
    organisation: Organisation,
    message: str,
    intended_mode: str = "",
    listing: AnyListing | None = None,
    challenge: Challenge | None = None,
    now: datetime,
) -> ExpressionOfInterest:
    """Express interest in a listing (open for EoI) or a challenge on behalf of an organisation."""
    if (listing is None) == (challenge is None):
        raise ValidationFailed(
            "须指定一条信息或一个榜单", problems=[Problem("required", "对象缺失", "listing")]
        )
    owner_id = listing.owner_id if listing is not None else challenge.sponsor_id  # type: ignore[union-attr]
    require(actor, Action.EOI_SEND, Target(organisation_id=owner_id))
    problems = []
    if organisation.pk not in actor_for(actor).member_of:
        problems.append(Problem("not_member", "只能代表本机构表达意向", "organisation"))
    if not message.strip() or len(message) > 2000:
        problems.append(Problem("required", "请填写留言（2000字以内）", "message"))
    if intended_mode and intended_mode not in CooperationMode.values:
        problems.append(Problem("invalid_choice", "合作方式无效", "intended_mode"))
    if problems:
        raise ValidationFailed("意向信息有误", problems=problems)
    if listing is not None:
        if listing.status != ListingStatus.PUBLISHED or not listing.open_for_eoi:
            raise Conflict("该信息当前不接受合作意向", code="closed_for_eoi")
        rec, comps = _recommendation_components(listing, organisation)
    else:
        assert challenge is not None
        if challenge.status != ChallengeStatus.OPEN:
            raise Conflict("该榜单当前不接受意向", code="closed_for_eoi")
        rec, comps = None, {}
    if ExpressionOfInterest.objects.filter(
        listing=listing, challenge=challenge, organisation=organisation, status=EoiStatus.SENT
    ).exists():
        raise Conflict("已有待回复的意向", code="duplicate")
    eoi = ExpressionOfInterest.objects.create(
        listing=listing,
        challenge=challenge,
        organisation=organisation,
        sent_by=actor,
        message=message.strip(),
        intended_mode=intended_mode,
        recommendation=rec,
        components=comps,
        sent_at=now,
    )
    audit(actor=actor, action="market.eoi.send", obj=eoi)
    title = listing.title_zh if listing is not None else challenge.title_zh  # type: ignore[union-attr]
    notify(
        users=_org_users(owner_id),
        event=NotificationEvent.EOI_RECEIVED,
        title=f"{organisation.name_zh} 对“{title}”表达了合作意向",
        body=message[:300],
        url="/market/eois/",
        now=now,
    )
    return eoi


@transaction.atomic
def decide_eoi(
    *, actor: User, eoi_id: int, accept: bool, reason: str = "", note: str = "", now: datetime
) -> ExpressionOfInterest:
    """Accept or decline (one-click reason) an EoI; the outcome feeds the matcher's weights."""
    eoi = (
        ExpressionOfInterest.objects.select_for_update(of=("self",))
        .select_related("listing", "challenge")
        .filter(pk=eoi_id)
        .first()
    )
    if eoi is None:
        raise NotFound("意向不存在", code="not_found")
    owner_id = eoi.listing.owner_id if eoi.listing else eoi.challenge.sponsor_id  # type: ignore[union-attr]
    require(actor, Action.EOI_DECIDE, Target(organisation_id=owner_id))
    if eoi.status != EoiStatus.SENT:
        raise Conflict("该意向已回复", code="already_decided")
    if not accept and reason not in DeclineReason.values:
        raise ValidationFailed(
            "请选择婉拒原因", problems=[Problem("required", "请选择婉拒原因", "reason")]
        )
    eoi.status = EoiStatus.ACCEPTED if accept else EoiStatus.DECLINED
    eoi.decline_reason = "" if accept else reason
    eoi.decline_note = note.strip()[:300]
    eoi.decided_by = actor
    eoi.decided_at = now
    eoi.save()
    audit(
        actor=actor, action="market.eoi.decide", obj=eoi, reason=reason, data={"accepted": accept}
    )
    if eoi.listing is not None:
        record_feedback(
            outcome="accepted" if accept else "declined",
            components=eoi.components,
            reason=None if accept else reason,
        )
    notify(
        users=[eoi.sent_by],
        event=NotificationEvent.EOI_DECIDED,
        title=f"合作意向已{eoi.get_status_display()}",
        body=eoi.get_decline_reason_display() if not accept else "",
        url="/market/eois/",
        now=now,
    )
    return eoi


# -- deals -----------------------------------------------------------------------------------


def _broker_centre(user: User) -> TransferCentre | None:
    ids = sorted(actor_for(user).centre_ids)
    return TransferCentre.objects.filter(pk=ids[0]).first() if ids else None


@transaction.atomic
def create_deal(
    *,
    actor: User,
    eoi: ExpressionOfInterest | None = None,
    offer: TechnologyOffer | None = None,
    request: TechnologyRequest | None = None,
    lead_broker: User | None = None,
    co_brokers: Sequence[User] = (),
    originating_centre: TransferCentre | None = None,
    title: str = "",
    now: datetime,
) -> Deal:
    """Open a deal from an accepted EoI (or an offer/request pair) with its brokers."""
    require(actor, Action.DEAL_CREATE)
    if eoi is not None:
        eoi = ExpressionOfInterest.objects.select_related("listing", "listing__owner").get(
            pk=eoi.pk
        )
    lead = lead_broker or actor
    centre = originating_centre or _broker_centre(lead)
    problems = []
    if centre is None:
        problems.append(Problem("required", "请指定发起分中心", "originating_centre"))
    if eoi is not None:
        if eoi.status != EoiStatus.ACCEPTED or eoi.listing is None:
            problems.append(Problem("not_accepted", "只有已接受的意向可以转为交易", "eoi"))
        else:
            listing = eoi.listing
            if listing.kind == ListingKind.OFFER:
                offer = TechnologyOffer.objects.get(pk=listing.pk)
            else:
                request = TechnologyRequest.objects.get(pk=listing.pk)
    if offer is None and request is None:
        problems.append(Problem("required", "须关联成果或需求", "offer"))
    if problems:
        raise ValidationFailed("交易信息有误", problems=problems)
    assert centre is not None
    if eoi is not None and eoi.listing is not None:
        if eoi.listing.kind == ListingKind.OFFER:
            seller, buyer = eoi.listing.owner, eoi.organisation
        else:
            seller, buyer = eoi.organisation, eoi.listing.owner
    else:
        seller = offer.owner if offer else eoi.organisation  # type: ignore[union-attr]
        buyer = request.owner if request else eoi.organisation  # type: ignore[union-attr]
    base = offer or request
    assert base is not None
    deal = Deal.objects.create(
        title=(title or base.title_zh)[:150],
        offer=offer,
        request=request,
        eoi=eoi,
        seller=seller,
        buyer=buyer,
        originating_centre=centre,
        closing_centre=centre,
        tech_field=base.tech_field,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    lead_share, co_share = policies.broker_credit_shares(len(co_brokers))
    DealBroker.objects.create(
        deal=deal,
        broker=lead,
        centre=_broker_centre(lead) or centre,
        is_lead=True,
        share=lead_share,
    )
    for co in co_brokers:
        DealBroker.objects.create(
            deal=deal, broker=co, centre=_broker_centre(co) or centre, share=co_share
        )
    DealEvent.objects.create(deal=deal, actor=actor, kind="create", to_stage=deal.stage, at=now)
    audit(actor=actor, action="market.deal.create", obj=deal)
    return deal


@dataclass(frozen=True)
class DealTerms:
    """What a broker records while moving a deal: amounts, contract type, next action."""

    amount: Decimal | None = None
    technical_amount: Decimal | None = None
    contract_type: str = ""
    contract_subtype: str = ""
    ip_type: str = ""
    signed_on: date | None = None
    next_action: str = ""
    next_action_due: date | None = None


@transaction.atomic
def move_deal(
    *,
    actor: User,
    deal: Deal,
    to: str,
    terms: DealTerms | None = None,
    lost_reason: str = "",
    note: str = "",
    now: datetime,
) -> Deal:
    """Move a deal along the pipeline (forward only; lost needs a reason), recording terms."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    require(actor, Action.DEAL_MANAGE, deal_target(deal, actor))
    terms = terms or DealTerms()
    amount = terms.amount if terms.amount is not None else deal.amount
    technical = (
        terms.technical_amount if terms.technical_amount is not None else deal.technical_amount
    )
    problems = policies.deal_move_problems(
        current=deal.stage,
        to=to,
        lost_reason=lost_reason,
        has_amount=amount is not None,
        registered=bool(deal.registration_number),
    )
    if amount is not None and technical is not None and not 0 < technical <= amount:
        problems.append(
            Problem("out_of_range", "技术交易额须大于0且不超过成交额", "technical_amount")
        )
    if amount is not None and amount <= 0:
        problems.append(Problem("out_of_range", "成交额须大于0", "amount"))
    if problems:
        raise ValidationFailed("不能推进交易", problems=problems)
    before = deal.stage
    for name in ("contract_type", "contract_subtype", "ip_type", "next_action"):
        if getattr(terms, name):
            setattr(deal, name, getattr(terms, name))
    deal.amount = amount
    deal.technical_amount = technical if technical is not None else amount
    deal.signed_on = (
        terms.signed_on or deal.signed_on or (now.date() if to == DealStage.SIGNED else None)
    )
    deal.next_action_due = terms.next_action_due or deal.next_action_due
    deal.stage = to
    deal.lost_reason = (
        lost_reason.strip()[:300] if to == DealStage.CLOSED_LOST else deal.lost_reason
    )
    deal.updated_at = now
    deal.save()
    DealEvent.objects.create(
        deal=deal,
        actor=actor,
        kind="move",
        from_stage=before,
        to_stage=to,
        note=(note or lost_reason)[:300],
        at=now,
    )
    audit(
        actor=actor,
        action="market.deal.move",
        obj=deal,
        reason=lost_reason,
        data={"from": before, "to": to},
    )
    notify(
        users=_org_users(deal.seller_id) + _org_users(deal.buyer_id),
        event=NotificationEvent.DEAL_UPDATED,
        title=f"交易进展：{deal.title} → {deal.get_stage_display()}",
        url=f"/market/deals/{deal.pk}/",
        now=now,
    )
    return deal


@transaction.atomic
def set_next_action(*, actor: User, deal: Deal, text: str, due: date | None, now: datetime) -> Deal:
    """Record the deal's next action and due date."""
    require(actor, Action.DEAL_MANAGE, deal_target(deal, actor))
    deal.next_action = text.strip()[:200]
    deal.next_action_due = due
    deal.updated_at = now
    deal.save(update_fields=["next_action", "next_action_due", "updated_at"])
    DealEvent.objects.create(
        deal=deal, actor=actor, kind="next_action", note=deal.next_action, at=now
    )
    audit(actor=actor, action="market.deal.next_action", obj=deal)
    return deal


@transaction.atomic
def handover_deal(
    *,
    actor: User,
    deal: Deal,
    to_centre: TransferCentre,
    to_broker: User,
    note: str = "",
    now: datetime,
) -> Deal:
    """Hand a deal over to another sub-centre's broker; the originating centre keeps its credit."""
    require(actor, Action.DEAL_MANAGE, deal_target(deal, actor))
    if to_centre.pk not in actor_for(to_broker).centre_ids:
        raise ValidationFailed(
            "接手经纪人不属于该分中心",
            problems=[Problem("not_in_centre", "接手经纪人不属于该分中心", "to_broker")],
        )
    DealBroker.objects.filter(deal=deal, is_lead=True, active=True).update(is_lead=False)
    db, _created = DealBroker.objects.get_or_create(
        deal=deal, broker=to_broker, defaults={"centre": to_centre, "share": Decimal("0")}
    )
    # The new lead shares credit equally with the previous lead.
    prev = (
        DealBroker.objects.filter(deal=deal, active=True)
        .exclude(pk=db.pk)
        .order_by("-share")
        .first()
    )
    if prev is not None:
        half = (prev.share / 2).quantize(Decimal("0.01"))
        prev.share = half
        prev.save(update_fields=["share"])
        db.share = db.share + half
    db.is_lead = True
    db.active = True
    db.centre = to_centre
    db.save()
    before = deal.closing_centre_id
    deal.closing_centre = to_centre
    deal.updated_at = now
    deal.save(update_fields=["closing_centre", "updated_at"])
    DealEvent.objects.create(deal=deal, actor=actor, kind="handover", note=note[:300], at=now)
    audit(
        actor=actor,
        action="market.deal.handover",
        obj=deal,
        reason=note,
        data={"from_centre": before, "to_centre": to_centre.pk, "to_broker": to_broker.pk},
    )
    return deal


# -- challenges ------------------------------------------------------------------------------


@dataclass
class ChallengeInput:
    """The fields of an open challenge."""

    title_zh: str
    problem: str
    reward: Decimal
    deadline: datetime
    title_en: str = ""
    tech_field: str = ""
    funding_model: str = ""
    eligibility: str = "不设年龄、学历、职称限制，具备攻关能力的团队均可揭榜。"
    selection_mode: str = SelectionMode.SINGLE
    max_teams: int = 1
    ip_terms: str = ""
    programme: str = ""
    objectives: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    end_user_id: int | None = None
    co_funder_ids: list[int] = field(default_factory=list)


@transaction.atomic
def create_challenge(
    *, actor: User, sponsor: Organisation, data: ChallengeInput, now: datetime
) -> Challenge:
    """Create a draft challenge with objectives and a milestone template."""
    require(actor, Action.CHALLENGE_MANAGE, Target(organisation_id=sponsor.pk))
    problems: list[Problem] = []
    if not data.title_zh.strip():
        problems.append(Problem("required", "请填写榜单名称", "title_zh"))
    if not data.problem.strip():
        problems.append(Problem("required", "请描述关键问题", "problem"))
    if data.reward is None or data.reward <= 0:
        problems.append(Problem("out_of_range", "榜单金额须大于0", "reward"))
    if data.deadline <= now:
        problems.append(Problem("past", "截止时间须晚于现在", "deadline"))
    if data.selection_mode == SelectionMode.SINGLE and data.max_teams != 1:
        problems.append(Problem("single_mode", "单一遴选只能选1个团队", "max_teams"))
    if data.selection_mode == SelectionMode.PARALLEL and not 2 <= data.max_teams <= 3:
        problems.append(Problem("out_of_range", "赛马遴选须为2至3个团队", "max_teams"))
    if data.selection_mode not in SelectionMode.values:
        problems.append(Problem("invalid_choice", "遴选方式无效", "selection_mode"))
    if not data.objectives:
        problems.append(Problem("required", "请至少填写一项量化指标", "objectives"))
    if not data.milestones:
        problems.append(Problem("required", "请至少设置一个里程碑", "milestones"))
    try:
        problems += policies.objective_problems([int(o["weight"]) for o in data.objectives])
        problems += policies.milestone_problems(
            [Decimal(str(m["payment_share"])) for m in data.milestones]
        )
        for o in data.objectives:
            if not str(o.get("metric", "")).strip() or not str(o.get("verification", "")).strip():
                problems.append(Problem("required", "每项指标须有名称与验证方式", "objectives"))
                break
    except (KeyError, ValueError, TypeError, InvalidOperation):
        problems.append(Problem("invalid", "指标或里程碑格式有误", "objectives"))
    if problems:
        raise ValidationFailed("榜单信息有误", problems=problems)
    programme = None
    if data.programme.strip():
        programme, _ = ChallengeProgramme.objects.get_or_create(
            name_zh=data.programme.strip()[:120], year=now.year
        )
    ch = Challenge.objects.create(
        programme=programme,
        title_zh=data.title_zh.strip(),
        title_en=data.title_en.strip(),
        sponsor=sponsor,
        end_user_id=data.end_user_id,
        created_by=actor,
        problem=data.problem,
        tech_field=data.tech_field,
        reward=data.reward,
        funding_model=data.funding_model,
        eligibility=data.eligibility,
        selection_mode=data.selection_mode,
        max_teams=data.max_teams,
        ip_terms=data.ip_terms,
        deadline=data.deadline,
    )
    if data.co_funder_ids:
        ch.co_funders.set(Organisation.objects.filter(pk__in=data.co_funder_ids))
    for o in data.objectives:
        ChallengeObjective.objects.create(
            challenge=ch,
            metric=str(o["metric"])[:120],
            target=str(o.get("target", ""))[:60],
            verification=str(o["verification"])[:200],
            weight=int(o["weight"]),
        )
    for i, m in enumerate(data.milestones, start=1):
        MilestoneTemplate.objects.create(
            challenge=ch,
            order=i,
            title=str(m["title"])[:120],
            months=int(m.get("months", i * 6)),
            payment_share=Decimal(str(m["payment_share"])),
        )
    audit(actor=actor, action="market.challenge.create", obj=ch)
    return ch


@transaction.atomic
def publish_challenge(
    *, actor: User, challenge: Challenge, experts: Sequence[User] = (), now: datetime
) -> Challenge:
    """Open a draft challenge for applications, naming its review experts."""
    require(actor, Action.CHALLENGE_MANAGE, challenge_target(challenge))
    if challenge.status != ChallengeStatus.DRAFT:
        raise Conflict("只有草稿可以发布", code="bad_state")
    challenge.status = ChallengeStatus.OPEN
    challenge.save(update_fields=["status"])
    if experts:
        challenge.experts.add(*experts)
    audit(
        actor=actor,
        action="market.challenge.publish",
        obj=challenge,
        data={"experts": [e.pk for e in experts]},
    )
    return challenge


@transaction.atomic
def ask_question(
    *, actor: User, challenge: Challenge, question: str, now: datetime
) -> ChallengeQuestion:
    """Ask the sponsor a question; the answer is visible to all applicants."""
    if not getattr(actor, "is_authenticated", False):
        require(actor, Action.CHALLENGE_APPLY, challenge_target(challenge))
    if not question.strip() or len(question) > 1000:
        raise ValidationFailed(
            "请填写问题", problems=[Problem("required", "请填写问题（1000字以内）", "question")]
        )
    q = ChallengeQuestion.objects.create(
        challenge=challenge, asked_by=actor, question=question.strip(), asked_at=now
    )
    audit(actor=actor, action="market.challenge.ask", obj=q)
    return q


@transaction.atomic
def answer_question(
    *, actor: User, question: ChallengeQuestion, answer: str, now: datetime
) -> ChallengeQuestion:
    """The sponsor answers a question publicly."""
    require(actor, Action.CHALLENGE_MANAGE, challenge_target(question.challenge))
    if not answer.strip():
        raise ValidationFailed("请填写答复", problems=[Problem("required", "答复为空", "answer")])
    question.answer = answer.strip()[:2000]
    question.answered_at = now
    question.save(update_fields=["answer", "answered_at"])
    audit(actor=actor, action="market.challenge.answer", obj=question)
    return question


@transaction.atomic
def apply_to_challenge(
    *,
    actor: User,
    challenge: Challenge,
    organisation: Organisation,
    team: list[dict[str, str]],
    route: str,
    milestone_plan: str = "",
    now: datetime,
) -> ChallengeApplication:
    """A team applies (揭榜) with its members, technical route and milestone plan."""
    require(actor, Action.CHALLENGE_APPLY, challenge_target(challenge))
    problems = []
    if organisation.pk not in actor_for(actor).member_of:
        problems.append(Problem("not_member", "只能代表本机构揭榜", "organisation"))
    if not team or not all(str(m.get("name", "")).strip() for m in team):
        problems.append(Problem("required", "请填写团队成员", "team"))
    if not route.strip():
        problems.append(Problem("required", "请填写技术路线", "route"))
    if problems:
        raise ValidationFailed("揭榜信息有误", problems=problems)
    if challenge.status != ChallengeStatus.OPEN or now > challenge.deadline:
        raise Conflict("榜单不在揭榜期内", code="closed")
    try:
        with transaction.atomic():
            app = ChallengeApplication.objects.create(
                challenge=challenge,
                organisation=organisation,
                submitted_by=actor,
                team=team,
                route=route.strip(),
                milestone_plan=milestone_plan.strip(),
                submitted_at=now,
            )
    except IntegrityError:
        raise Conflict("本机构已揭榜", code="duplicate") from None
    audit(actor=actor, action="market.challenge.apply", obj=app)
    return app


@transaction.atomic
def review_application(
    *,
    actor: User,
    application: ChallengeApplication,
    score: int,
    comment: str = "",
    conflict_declared: bool = False,
    now: datetime,
) -> ExpertReview:
    """An expert scores an application; a shared organisation is flagged as a conflict."""
    challenge = application.challenge
    require(actor, Action.CHALLENGE_REVIEW, challenge_target(challenge, actor))
    if not 0 <= score <= 100:
        raise ValidationFailed(
            "评分须在0至100之间", problems=[Problem("out_of_range", "评分须在0至100之间", "score")]
        )
    flagged = application.organisation_id in actor_for(actor).member_of
    review, _ = ExpertReview.objects.update_or_create(
        application=application,
        expert=actor,
        defaults={
            "score": score,
            "comment": comment[:2000],
            "conflict_declared": conflict_declared,
            "conflict_flagged": flagged,
            "reviewed_at": now,
        },
    )
    audit(
        actor=actor,
        action="market.challenge.review",
        obj=review,
        data={"score": score, "conflict": flagged or conflict_declared},
    )
    if challenge.status == ChallengeStatus.OPEN and now > challenge.deadline:
        challenge.status = ChallengeStatus.REVIEWING
        challenge.save(update_fields=["status"])
    return review


@transaction.atomic
def select_teams(
    *, actor: User, challenge: Challenge, application_ids: Sequence[int], now: datetime
) -> list[ChallengeApplication]:
    """The sponsor and end user select one team, or 2–3 in parallel (赛马)."""
    challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
    require(actor, Action.CHALLENGE_DECIDE, challenge_target(challenge))
    if challenge.status not in {ChallengeStatus.OPEN, ChallengeStatus.REVIEWING}:
        raise Conflict("当前状态不能遴选", code="bad_state")
    apps = list(challenge.applications.filter(pk__in=application_ids))
    problems = policies.selection_problems(
        mode=challenge.selection_mode,
        max_teams=challenge.max_teams,
        chosen=len(apps),
        now=now,
        deadline=challenge.deadline,
    )
    if len(apps) != len(set(application_ids)):
        problems.append(Problem("unknown", "申请不属于该榜单", "applications"))
    if problems:
        raise ValidationFailed("遴选有误", problems=problems)
    chosen = {a.pk for a in apps}
    for app in challenge.applications.all():
        app.status = (
            ApplicationStatus.SELECTED if app.pk in chosen else ApplicationStatus.NOT_SELECTED
        )
        app.decided_at = now
        app.save(update_fields=["status", "decided_at"])
    challenge.status = ChallengeStatus.RUNNING
    challenge.save(update_fields=["status"])
    audit(
        actor=actor,
        action="market.challenge.select",
        obj=challenge,
        data={"selected": sorted(chosen)},
    )
    for app in apps:
        notify(
            users=_org_users(app.organisation_id),
            event=NotificationEvent.CHALLENGE_UPDATED,
            title=f"入选：{challenge.title_zh}",
            url=f"/market/challenges/{challenge.pk}/",
            now=now,
        )
    return apps


@transaction.atomic
def assess_milestone(
    *,
    actor: User,
    application: ChallengeApplication,
    milestone: MilestoneTemplate,
    decision: str,
    note: str = "",
    merge_into: ChallengeApplication | None = None,
    now: datetime,
) -> MilestoneAssessment:
    """A milestone assessment: continue, merge into another team, or eliminate."""
    application = ChallengeApplication.objects.select_for_update().get(pk=application.pk)
    challenge = application.challenge
    require(actor, Action.CHALLENGE_DECIDE, challenge_target(challenge))
    problems = []
    if decision not in AssessmentDecision.values:
        problems.append(Problem("invalid_choice", "结论无效", "decision"))
    if milestone.challenge_id != challenge.pk:
        problems.append(Problem("unknown", "里程碑不属于该榜单", "milestone"))
    if decision == AssessmentDecision.MERGE and (
        merge_into is None
        or merge_into.challenge_id != challenge.pk
        or merge_into.pk == application.pk
        or merge_into.status != ApplicationStatus.SELECTED
    ):
        problems.append(Problem("required", "请指定并入的在研团队", "merge_into"))
    if decision == AssessmentDecision.ELIMINATE and not note.strip():
        problems.append(Problem("required", "淘汰须说明理由", "note"))
    if problems:
        raise ValidationFailed("评估有误", problems=problems)
    if application.status != ApplicationStatus.SELECTED:
        raise Conflict("该团队不在攻关中", code="bad_state")
    try:
        with transaction.atomic():
            assessment = MilestoneAssessment.objects.create(
                application=application,
                milestone=milestone,
                decision=decision,
                note=note[:2000],
                assessed_by=actor,
                assessed_at=now,
            )
    except IntegrityError:
        raise Conflict("该节点已评估", code="duplicate") from None
    if decision == AssessmentDecision.ELIMINATE:
        application.status = ApplicationStatus.ELIMINATED
    elif decision == AssessmentDecision.MERGE:
        application.status = ApplicationStatus.MERGED
        application.merged_into = merge_into
    application.decided_at = now
    application.save(update_fields=["status", "merged_into", "decided_at"])
    audit(
        actor=actor,
        action="market.challenge.assess",
        obj=assessment,
        reason=note,
        data={"decision": decision, "milestone": milestone.order},
    )
    return assessment


@transaction.atomic
def record_payment(
    *, actor: User, application: ChallengeApplication, milestone: MilestoneTemplate, now: datetime
) -> MilestonePayment:
    """Pay a team its milestone share of the reward after a 'continue' assessment."""
    application = ChallengeApplication.objects.select_for_update().get(pk=application.pk)
    challenge = application.challenge
    require(actor, Action.CHALLENGE_DECIDE, challenge_target(challenge))
    passed = MilestoneAssessment.objects.filter(
        application=application, milestone=milestone, decision=AssessmentDecision.CONTINUE
    ).exists()
    if not passed:
        raise Conflict("该节点未通过评估，不能拨付", code="not_passed")
    selected = max(
        1,
        challenge.applications.filter(
            status__in=[
                ApplicationStatus.SELECTED,
                ApplicationStatus.ACCEPTED,
                ApplicationStatus.ELIMINATED,
                ApplicationStatus.MERGED,
            ]
        ).count(),
    )
    # Parallel teams split each milestone's share of the reward.
    amount = (challenge.reward * milestone.payment_share / 100 / selected).quantize(Decimal("0.01"))
    try:
        with transaction.atomic():
            pay = MilestonePayment.objects.create(
                application=application,
                milestone=milestone,
                amount=amount,
                paid_at=now,
                recorded_by=actor,
            )
    except IntegrityError:
        raise Conflict("该节点已拨付", code="duplicate") from None
    audit(actor=actor, action="market.challenge.pay", obj=pay, data={"amount": str(amount)})
    return pay


@transaction.atomic
def accept_challenge_result(
    *, actor: User, application: ChallengeApplication, now: datetime
) -> ChallengeApplication:
    """The end user (or sponsor) accepts a team's result; the challenge is then accepted."""
    application = ChallengeApplication.objects.select_for_update().get(pk=application.pk)
    challenge = application.challenge
    require(actor, Action.CHALLENGE_DECIDE, challenge_target(challenge))
    if application.status != ApplicationStatus.SELECTED:
        raise Conflict("该团队不在攻关中", code="bad_state")
    application.status = ApplicationStatus.ACCEPTED
    application.accepted_at = now
    application.save(update_fields=["status", "accepted_at"])
    if not challenge.applications.filter(status=ApplicationStatus.SELECTED).exists():
        challenge.status = ChallengeStatus.ACCEPTED
        challenge.save(update_fields=["status"])
    audit(actor=actor, action="market.challenge.accept", obj=application)
    return application


# -- saved searches --------------------------------------------------------------------------


@transaction.atomic
def save_search(
    *, user: User, kind: str, query: str, tech_field: str = "", province: str = "", now: datetime
) -> SavedSearch:
    """Save a search; new matching listings alert the user."""
    if not getattr(user, "is_authenticated", False):
        require(user, Action.LISTING_VIEW_SUMMARY)
    problems = []
    if kind not in ListingKind.values:
        problems.append(Problem("invalid_choice", "类型无效", "kind"))
    if not query.strip() or len(query) > 100:
        problems.append(Problem("required", "请填写检索词（100字以内）", "query"))
    if problems:
        raise ValidationFailed("订阅有误", problems=problems)
    saved = SavedSearch.objects.create(
        user=user,
        kind=kind,
        query=query.strip(),
        tech_field=tech_field,
        province_id=province or None,
        created_at=now,
        last_run_at=now,
    )
    audit(actor=user, action="market.saved_search.create", obj=saved)
    return saved


def run_saved_searches(*, now: datetime) -> int:
    """Alert each saved search's owner of listings published since its last run."""
    matching.flush_outbox(now)
    sent = 0
    for saved in SavedSearch.objects.select_related("user"):
        filters: dict[str, Any] = {}
        if saved.tech_field:
            filters["fields"] = saved.tech_field
        if saved.province_id:
            filters["province"] = saved.province_id
        page = matching.index_for(saved.kind).search(
            saved.query, filters=filters, limit=50, highlight_width=None, count=False
        )
        since = saved.last_run_at
        new_ids = [int(h.id) for h in page.hits]
        fresh = list(
            Listing.objects.filter(pk__in=new_ids, published_at__gt=since)
            if since
            else Listing.objects.filter(pk__in=new_ids)
        )
        with transaction.atomic():
            if fresh:
                notify(
                    users=[saved.user],
                    event=NotificationEvent.SAVED_SEARCH,
                    title=f"订阅“{saved.query}”有{len(fresh)}条新信息",
                    body="\n".join(x.title_zh for x in fresh[:5]),
                    url=f"/market/{saved.kind}s/?q={saved.query}",
                    now=now,
                )
                sent += 1
            SavedSearch.objects.filter(pk=saved.pk).update(last_run_at=now)
    return sent


# -- closing the loop into contract registration ---------------------------------------------

# Market field codes → contracts' field codes (both are the 11 report fields).
FIELD_TO_CONTRACT = {
    "electronic_info": "electronics", "aerospace": "aerospace",
    "advanced_manufacturing": "manufacturing", "bio_medical": "biomedicine",
    "new_materials": "materials", "new_energy": "energy", "environment": "environment",
    "nuclear": "nuclear", "agriculture": "agriculture", "transport": "transport",
    "urban_social": "urban",
}  # fmt: skip
# Intended cooperation mode → (contract type, subtype) when the broker has not set them.
MODE_TO_CONTRACT = {
    "transfer": ("transfer", "patent_transfer"), "licence": ("licence", "patent_licence"),
    "equity": ("transfer", "patent_transfer"), "joint_dev": ("development", "cooperative"),
    "service": ("service", "service"), "consulting": ("consulting", "consulting"),
}  # fmt: skip
IP_TO_CONTRACT = {
    "patent": "invention_patent", "software": "software", "ic_layout": "ic_layout",
    "plant_variety": "plant_variety", "biomed_variety": "biomed_variety", "know_how": "know_how",
}  # fmt: skip


def _party(org: Organisation) -> Any:
    from techexchange.contracts.services import party

    return party(
        org.name_zh, org.credit_code or "", org.party_nature, "156", org.city_id or org.province_id
    )


def registration_input(deal: Deal) -> Any:
    """The registration pre-filled from a signed deal: parties, type, amounts, field, IP."""
    from techexchange.contracts.services import ContractData, ContractInput, Deduction

    mode = deal.eoi.intended_mode if deal.eoi and deal.eoi.intended_mode else ""
    default_type = MODE_TO_CONTRACT.get(mode, ("licence", "patent_licence"))
    ctype = deal.contract_type or default_type[0]
    subtype = deal.contract_subtype or default_type[1]
    ip = deal.ip_type
    if not ip and deal.offer is not None:
        ip = IP_TO_CONTRACT.get(deal.offer.achievement_type, "")
        if deal.offer.ip_status == "applied":
            ip = "patent_application"
        elif deal.offer.ip_status == "secret":
            ip = "know_how"
    amount = deal.amount or Decimal(0)
    technical = deal.technical_amount or amount
    data = ContractData(
        project_name=deal.title,
        contract_type=ctype,
        subtype=subtype,
        seller=_party(deal.seller),
        buyer=_party(deal.buyer),
        turnover=amount,
        technical_amount=technical,
        signing_date=deal.signed_on or clock.today(),
        tech_field=FIELD_TO_CONTRACT.get(deal.tech_field, "manufacturing"),
        ip_type=ip or "none",
        plan_source="none",
        payment_mode="instalments",
        deductions=(amount - technical,) if amount > technical else (),
    )
    deductions = (
        [Deduction(kind="other", amount=amount - technical, description="非技术性款项")]
        if amount > technical
        else []
    )
    ref = f"{deal.offer.patent_numbers}" if deal.offer is not None else ""
    return ContractInput(data=data, deductions=deductions, extras={"ip_references": ref[:200]})


@transaction.atomic
def prefill_registration(*, actor: User, deal: Deal, now: datetime) -> Any:
    """Create the contract registration draft of a signed deal for its registering party.

    The seller registers every contract type the market produces (developer, transferor,
    licensor or provider), so the draft belongs to the seller and a seller member prepares it.
    """
    from techexchange.contracts.services import save_draft

    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    require(actor, Action.DEAL_VIEW, deal_target(deal, actor))
    if deal.stage != DealStage.SIGNED:
        raise Conflict("合同签订后才能生成登记", code="not_signed")
    if deal.contract_ref:
        raise Conflict("已生成合同登记", code="duplicate")
    contract = save_draft(actor=actor, organisation=deal.seller, inp=registration_input(deal))
    deal.contract_ref = str(contract.pk)
    deal.updated_at = now
    deal.save(update_fields=["contract_ref", "updated_at"])
    DealEvent.objects.create(
        deal=deal, actor=actor, kind="prefill", note=f"contract {contract.pk}", at=now
    )
    audit(
        actor=actor,
        action="market.deal.prefill_registration",
        obj=deal,
        data={"contract": contract.pk},
    )
    return contract


@transaction.atomic
def submit_registration(*, actor: User, deal: Deal, now: datetime) -> Any:
    """Submit the deal's pre-filled registration to the registrar (a seller member)."""
    from techexchange.contracts.selectors import get_contract_for
    from techexchange.contracts.services import submit_contract

    if not deal.contract_ref:
        raise Conflict("尚未生成合同登记", code="no_contract")
    contract = get_contract_for(actor, int(deal.contract_ref))
    contract = submit_contract(
        actor=actor, organisation=deal.seller, inp=registration_input(deal), contract=contract
    )
    audit(actor=actor, action="market.deal.submit_registration", obj=deal)
    return contract


@transaction.atomic
def register_deal_contract(*, actor: User, deal: Deal, now: datetime) -> Deal:
    """The registrar registers the deal's contract (contracts' own rules), then the deal syncs."""
    from techexchange.contracts.selectors import get_contract_for
    from techexchange.contracts.services import register_contract

    if not deal.contract_ref:
        raise Conflict("尚未生成合同登记", code="no_contract")
    contract = get_contract_for(actor, int(deal.contract_ref), Action.REVIEW_CONTRACT)
    register_contract(actor=actor, contract=contract, registration_date=now.date())
    return sync_deal_registration(actor=actor, deal=deal, now=now)


@transaction.atomic
def sync_deal_registration(*, actor: Any, deal: Deal, now: datetime) -> Deal:
    """Once the contract is registered, the deal shows its number and moves to registered."""
    from techexchange.contracts.selectors import get_contract_for
    from techexchange.core.errors import DomainError

    if not deal.contract_ref or deal.registration_number:
        return deal
    try:
        contract = get_contract_for(actor, int(deal.contract_ref))
    except DomainError:
        return deal  # this viewer may not see the contract; another one will sync it
    if contract.status != "registered" or not contract.registration_number:
        return deal
    number = contract.registration_number
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    before = deal.stage
    deal.registration_number = number
    deal.registered_at = now
    deal.stage = DealStage.REGISTERED
    deal.updated_at = now
    deal.save()
    DealEvent.objects.create(
        deal=deal,
        actor=actor if getattr(actor, "pk", None) else None,
        kind="registered",
        from_stage=before,
        to_stage=deal.stage,
        note=number,
        at=now,
    )
    audit(actor=actor, action="market.deal.registered", obj=deal, data={"number": number})
    return deal
