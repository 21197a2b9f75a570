"""API of the technology market: the same services and selectors as the pages, same rules."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate

from techexchange.accounts.api import caller
from techexchange.accounts.models import Organisation, TransferCentre, User
from techexchange.accounts.policies import Action
from techexchange.accounts.selectors import actor_for, can_user, require
from techexchange.core import clock
from techexchange.core.errors import NotFound, PermissionDenied, Problem, ValidationFailed
from techexchange.market import crossmatch, selectors, services
from techexchange.market.codes import ListingKind
from techexchange.market.models import (
    ChallengeApplication,
    ExpressionOfInterest,
    MilestoneTemplate,
    TechnologyOffer,
    TechnologyRequest,
)
from techexchange.market.schemas import (
    ApplicationIn,
    ApplicationOut,
    AssessIn,
    ChallengeCandidatesOut,
    ChallengeIn,
    ChallengeOut,
    DealIn,
    DealMoveIn,
    DealOut,
    EoiDecisionIn,
    EoiIn,
    EoiOut,
    FindingOut,
    HandoverIn,
    ListingIn,
    ListingOut,
    ListingTeaserOut,
    NdaIn,
    NotificationOut,
    PreferenceIn,
    QuestionIn,
    RecommendationOut,
    ResourceMatchOut,
    ReviewIn,
    SavedSearchIn,
    ScoreIn,
    SelectIn,
)

router = Router(tags=["market"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _org(user: User, org_id: int | None, field: str = "organisation") -> Organisation:
    """The caller's organisation: the one named, or their only/first one."""
    member_of = actor_for(user).member_of
    pick = org_id if org_id is not None else (min(member_of) if member_of else None)
    org = Organisation.objects.filter(pk=pick).first() if pick is not None else None
    if org is None:
        raise ValidationFailed("请指定机构", problems=[Problem("required", "请指定机构", field)])
    return org


def _view(request: HttpRequest, pk: int) -> dict[str, Any]:
    listing, tier = services.open_listing(user=request.user, pk=pk, channel="api", now=clock.now())
    return selectors.listing_view(listing, tier)


@router.get("/listings", response=list[ListingTeaserOut])
@paginate(LimitOffsetPagination)
def list_listings(
    request: HttpRequest,
    kind: ListingKind = ListingKind.OFFER,
    q: str = "",
    field: str = "",
    province: str = "",
) -> Any:
    """Published listings (teaser fields)."""
    return selectors.list_listings(
        kind=kind, q=q[:100], tech_field=field[:30], province=province[:12], now=clock.now()
    )


@router.get("/listings/{pk}", response=ListingOut)
def get_listing(request: HttpRequest, pk: int) -> dict[str, Any]:
    """One listing at the caller's tier; protected fields are null below their tier."""
    return _view(request, pk)


@router.post("/listings", response={201: ListingOut}, auth=caller)
def create_listing(request: HttpRequest, payload: ListingIn) -> tuple[int, dict[str, Any]]:
    """Create a draft offer or request."""
    user = _user(request)
    data = payload.model_dump()
    kind, org_id, centre_id = data.pop("kind"), data.pop("organisation"), data.pop("centre")
    centre = TransferCentre.objects.filter(pk=centre_id).first() if centre_id else None
    listing = services.create_listing(
        actor=user,
        kind=kind,
        owner=_org(user, org_id),
        data=services.ListingInput(**data),
        centre=centre,
        now=clock.now(),
    )
    return 201, selectors.listing_view(listing, selectors.viewer_tier(user, listing))


@router.get("/listings/{pk}/findings", response=list[FindingOut], auth=caller)
def listing_findings(request: HttpRequest, pk: int) -> list[dict[str, str]]:
    """The completeness checker's findings (owner)."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    require(_user(request), Action.LISTING_EDIT, selectors.listing_target(listing))
    return [f.as_dict() for f in services.completeness(listing)]


@router.post("/listings/{pk}/submit", response=ListingOut, auth=caller)
def submit_listing(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Send a draft for review."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    services.submit_listing(actor=_user(request), listing=listing, now=clock.now())
    return _view(request, pk)


@router.post("/listings/{pk}/review", response=ListingOut, auth=caller)
def review_listing(request: HttpRequest, pk: int, payload: ReviewIn) -> dict[str, Any]:
    """Approve, ask for changes or reject (operator or the owning sub-centre's broker)."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    services.review_listing(
        actor=_user(request),
        listing=listing,
        decision=payload.decision,
        findings=payload.findings,
        reason=payload.reason,
        now=clock.now(),
    )
    return _view(request, pk)


@router.post("/listings/{pk}/publish", response=ListingOut, auth=caller)
def publish_listing(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Publish an approved listing."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    services.publish_listing(actor=_user(request), listing=listing, now=clock.now())
    return _view(request, pk)


@router.post("/listings/{pk}/renew", response=ListingOut, auth=caller)
def renew_listing(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Extend validity (at most two years in total)."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    services.renew_listing(actor=_user(request), listing=listing, now=clock.now())
    return _view(request, pk)


@router.post("/listings/{pk}/confirm", response=ListingOut, auth=caller)
def confirm_listing(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Confirm the listing is still current."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    services.confirm_listing_active(actor=_user(request), listing=listing, now=clock.now())
    return _view(request, pk)


@router.get("/listings/{pk}/recommendations", response=list[RecommendationOut], auth=caller)
def recommendations(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    """Ranked counterparts with score components and reasons (owner, reviewers, brokers)."""
    user = _user(request)
    listing, _tier = selectors.get_listing_for(user, pk, now=clock.now())
    target = selectors.listing_target(listing)
    if not can_user(user, Action.LISTING_REVIEW, target):
        require(user, Action.LISTING_EDIT, target)
    recs = services.recommend(listing=listing, now=clock.now())
    return [
        {
            "candidate": r.candidate_id,
            "title_zh": r.candidate.title_zh,
            "province": r.candidate.owner.province_id,
            "rank": r.rank,
            "score": r.score,
            "components": r.components,
            "reason_zh": r.reason_zh,
            "reason_en": r.reason_en,
        }
        for r in recs
    ]


@router.post("/listings/{pk}/nda", response=ListingOut, auth=caller)
def accept_nda(request: HttpRequest, pk: int, payload: NdaIn) -> dict[str, Any]:
    """Accept the owner's NDA for the caller's organisation; the response has full details."""
    user = _user(request)
    listing, _tier = selectors.get_listing_for(user, pk, now=clock.now())
    services.accept_nda(
        actor=user,
        listing=listing,
        organisation=_org(user, payload.organisation),
        version=payload.version,
        now=clock.now(),
    )
    return _view(request, pk)


@router.get("/listings/{pk}/access", auth=caller)
def listing_access(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Who holds the NDA and who accessed protected content (owner's administrators)."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    data = selectors.list_access_for(_user(request), listing)
    return {
        "grants": [
            {
                "id": g.pk,
                "organisation": g.organisation.name_zh,
                "version": g.nda.version,
                "accepted_by": str(g.accepted_by),
                "accepted_at": g.accepted_at.isoformat(),
                "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
            }
            for g in data["grants"]
        ],
        "log": [
            {"user": str(e.user), "what": e.what, "channel": e.channel, "at": e.at.isoformat()}
            for e in data["log"]
        ],
    }


@router.post("/listings/{pk}/access/{grant_id}/revoke", auth=caller)
def revoke_access(request: HttpRequest, pk: int, grant_id: int) -> dict[str, bool]:
    """Revoke an organisation's access to full details."""
    listing, _tier = selectors.get_listing_for(_user(request), pk, now=clock.now())
    services.revoke_access(
        actor=_user(request),
        listing=listing,
        acceptance_id=grant_id,
        reason="owner revoked",
        now=clock.now(),
    )
    return {"revoked": True}


@router.get("/listings/{pk}/attachments/{att_id}")
def get_attachment(request: HttpRequest, pk: int, att_id: int) -> dict[str, Any]:
    """An attachment, if the caller's tier reaches its own (protected ones are logged)."""
    att = services.open_attachment(
        user=request.user, pk=pk, attachment_id=att_id, channel="api", now=clock.now()
    )
    return {"id": att.pk, "name": att.name, "tier": att.tier, "content": att.content}


@router.get("/eois", response=list[EoiOut], auth=caller)
def list_eois(request: HttpRequest, box: str = "received") -> Any:
    """EoIs the caller's organisations received (or sent, with box=sent)."""
    boxes = selectors.list_eois_for(_user(request))
    return list(boxes["sent" if box == "sent" else "received"][:200])


@router.post("/eois", response={201: EoiOut}, auth=caller)
def send_eoi(request: HttpRequest, payload: EoiIn) -> tuple[int, ExpressionOfInterest]:
    """Express interest in a listing or a challenge."""
    user = _user(request)
    listing = challenge = None
    if payload.listing is not None:
        listing, _tier = selectors.get_listing_for(user, payload.listing, now=clock.now())
    if payload.challenge is not None:
        challenge = selectors.get_challenge_for(user, payload.challenge)
    eoi = services.send_eoi(
        actor=user,
        organisation=_org(user, payload.organisation),
        message=payload.message,
        intended_mode=payload.intended_mode,
        listing=listing,
        challenge=challenge,
        now=clock.now(),
    )
    return 201, eoi


@router.post("/eois/{pk}/decide", response=EoiOut, auth=caller)
def decide_eoi(request: HttpRequest, pk: int, payload: EoiDecisionIn) -> ExpressionOfInterest:
    """Accept, or decline with a one-click reason."""
    return services.decide_eoi(
        actor=_user(request),
        eoi_id=pk,
        accept=payload.accept,
        reason=payload.reason,
        note=payload.note,
        now=clock.now(),
    )


@router.get("/deals", response=list[DealOut], auth=caller)
@paginate(LimitOffsetPagination)
def list_deals(request: HttpRequest) -> Any:
    """Deals the caller may see."""
    return selectors.list_deals_for(_user(request))


@router.post("/deals", response={201: DealOut}, auth=caller)
def create_deal(request: HttpRequest, payload: DealIn) -> tuple[int, Any]:
    """Open a deal (brokers)."""
    eoi = ExpressionOfInterest.objects.filter(pk=payload.eoi).first() if payload.eoi else None
    if payload.eoi and eoi is None:
        raise NotFound("意向不存在", code="not_found")
    offer = TechnologyOffer.objects.filter(pk=payload.offer).first() if payload.offer else None
    req = TechnologyRequest.objects.filter(pk=payload.request).first() if payload.request else None
    deal = services.create_deal(
        actor=_user(request),
        eoi=eoi,
        offer=offer,
        request=req,
        title=payload.title,
        now=clock.now(),
    )
    return 201, deal


@router.get("/deals/{pk}", response=DealOut, auth=caller)
def get_deal(request: HttpRequest, pk: int) -> Any:
    """One deal (parties, its brokers and their sub-centres, operators)."""
    deal = selectors.get_deal_for(_user(request), pk)
    return services.sync_deal_registration(actor=_user(request), deal=deal, now=clock.now())


@router.post("/deals/{pk}/move", response=DealOut, auth=caller)
def move_deal(request: HttpRequest, pk: int, payload: DealMoveIn) -> Any:
    """Move a deal along the pipeline."""
    deal = selectors.get_deal_for(_user(request), pk)
    terms = services.DealTerms(
        amount=payload.amount,
        technical_amount=payload.technical_amount,
        contract_type=payload.contract_type,
        contract_subtype=payload.contract_subtype,
        next_action=payload.next_action,
        next_action_due=payload.next_action_due,
    )
    return services.move_deal(
        actor=_user(request),
        deal=deal,
        to=payload.stage,
        terms=terms,
        lost_reason=payload.lost_reason,
        now=clock.now(),
    )


@router.post("/deals/{pk}/handover", response=DealOut, auth=caller)
def handover_deal(request: HttpRequest, pk: int, payload: HandoverIn) -> Any:
    """Hand a deal over to another sub-centre."""
    deal = selectors.get_deal_for(_user(request), pk)
    centre = TransferCentre.objects.filter(pk=payload.centre).first()
    broker = User.objects.filter(pk=payload.broker).first()
    if centre is None or broker is None:
        raise ValidationFailed(
            "接手方无效", problems=[Problem("unknown", "分中心或经纪人不存在", "centre")]
        )
    return services.handover_deal(
        actor=_user(request),
        deal=deal,
        to_centre=centre,
        to_broker=broker,
        note=payload.note,
        now=clock.now(),
    )


@router.post("/deals/{pk}/registration", auth=caller)
def prefill_registration(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Pre-fill the contract registration of a signed deal (a seller member)."""
    deal = selectors.get_deal_for(_user(request), pk)
    contract = services.prefill_registration(actor=_user(request), deal=deal, now=clock.now())
    return {"contract": contract.pk, "status": contract.status}


@router.get("/challenges", response=list[ChallengeOut])
@paginate(LimitOffsetPagination)
def list_challenges(request: HttpRequest) -> Any:
    """Published challenges."""
    return selectors.list_challenges_for(request.user)


@router.get("/challenges/{pk}", response=ChallengeOut)
def get_challenge(request: HttpRequest, pk: int) -> Any:
    """One challenge."""
    return selectors.get_challenge_for(request.user, pk)


@router.post("/challenges", response={201: ChallengeOut}, auth=caller)
def create_challenge(request: HttpRequest, payload: ChallengeIn) -> tuple[int, Any]:
    """Create a draft challenge (the sponsor's administrators)."""
    data = payload.model_dump()
    sponsor = Organisation.objects.filter(pk=data.pop("sponsor")).first()
    if sponsor is None:
        raise ValidationFailed(
            "发榜方无效", problems=[Problem("unknown", "发榜方不存在", "sponsor")]
        )
    data["end_user_id"] = data.pop("end_user")
    ch = services.create_challenge(
        actor=_user(request), sponsor=sponsor, data=services.ChallengeInput(**data), now=clock.now()
    )
    return 201, ch


@router.post("/challenges/{pk}/publish", response=ChallengeOut, auth=caller)
def publish_challenge(request: HttpRequest, pk: int) -> Any:
    """Open a draft challenge for applications."""
    ch = selectors.get_challenge_for(_user(request), pk)
    return services.publish_challenge(actor=_user(request), challenge=ch, now=clock.now())


@router.post("/challenges/{pk}/questions", auth=caller)
def ask_question(request: HttpRequest, pk: int, payload: QuestionIn) -> dict[str, int]:
    """Ask a question; answers are visible to every applicant."""
    ch = selectors.get_challenge_for(_user(request), pk)
    q = services.ask_question(
        actor=_user(request), challenge=ch, question=payload.question, now=clock.now()
    )
    return {"id": q.pk}


@router.post("/challenges/{pk}/applications", response={201: ApplicationOut}, auth=caller)
def apply(request: HttpRequest, pk: int, payload: ApplicationIn) -> tuple[int, Any]:
    """Apply with a team, a technical route and a milestone plan."""
    user = _user(request)
    ch = selectors.get_challenge_for(user, pk)
    app = services.apply_to_challenge(
        actor=user,
        challenge=ch,
        organisation=_org(user, payload.organisation),
        team=payload.team,
        route=payload.route,
        milestone_plan=payload.milestone_plan,
        now=clock.now(),
    )
    return 201, app


def _application(user: User, pk: int, app_id: int) -> ChallengeApplication:
    ch = selectors.get_challenge_for(user, pk)
    app = ch.applications.filter(pk=app_id).first()
    if app is None:
        raise NotFound("申请不存在", code="not_found")
    return app


@router.post("/challenges/{pk}/applications/{app_id}/review", auth=caller)
def review(request: HttpRequest, pk: int, app_id: int, payload: ScoreIn) -> dict[str, Any]:
    """An expert's score (conflicts of interest flagged)."""
    r = services.review_application(
        actor=_user(request),
        application=_application(_user(request), pk, app_id),
        score=payload.score,
        comment=payload.comment,
        conflict_declared=payload.conflict_declared,
        now=clock.now(),
    )
    return {"id": r.pk, "conflict_flagged": r.conflict_flagged}


@router.post("/challenges/{pk}/select", response=list[ApplicationOut], auth=caller)
def select(request: HttpRequest, pk: int, payload: SelectIn) -> Any:
    """Select one team, or 2–3 in parallel."""
    ch = selectors.get_challenge_for(_user(request), pk)
    return services.select_teams(
        actor=_user(request), challenge=ch, application_ids=payload.applications, now=clock.now()
    )


@router.post("/challenges/{pk}/applications/{app_id}/assess", auth=caller)
def assess(request: HttpRequest, pk: int, app_id: int, payload: AssessIn) -> dict[str, Any]:
    """A milestone assessment: continue, merge or eliminate."""
    user = _user(request)
    app = _application(user, pk, app_id)
    milestone = MilestoneTemplate.objects.filter(pk=payload.milestone, challenge_id=pk).first()
    if milestone is None:
        raise ValidationFailed(
            "里程碑无效", problems=[Problem("unknown", "里程碑不存在", "milestone")]
        )
    into = (
        ChallengeApplication.objects.filter(pk=payload.merge_into).first()
        if payload.merge_into
        else None
    )
    a = services.assess_milestone(
        actor=user,
        application=app,
        milestone=milestone,
        decision=payload.decision,
        note=payload.note,
        merge_into=into,
        now=clock.now(),
    )
    return {"id": a.pk, "decision": a.decision}


@router.get("/dashboard", auth=caller)
def dashboard(request: HttpRequest) -> dict[str, Any]:
    """The market dashboard's figures (operators, analysts, brokers)."""
    require(_user(request), Action.VIEW_MARKET_DASHBOARD)
    figures = selectors.market_figures(now=clock.now())
    return {
        "offers": figures["offers"],
        "requests": figures["requests"],
        "grid": figures["grid"],
        "eois": figures["eois"],
        "stages": {s: n for s, _label, n in figures["stages"]},
        "funnel": figures["funnel"],
        "conversion": figures["conversion"],
        "brokers": [
            {**b, "deals": str(b["deals"]), "amount": str(b["amount"])} for b in figures["brokers"]
        ],
        "centres": [
            {**c, "deals": str(c["deals"]), "amount": str(c["amount"])} for c in figures["centres"]
        ],
    }


@router.get("/notifications", response=list[NotificationOut], auth=caller)
def notifications(request: HttpRequest) -> Any:
    """The caller's in-app notifications."""
    return list(selectors.list_notifications_for(_user(request))[:100])


@router.post("/saved-searches", auth=caller)
def save_search(request: HttpRequest, payload: SavedSearchIn) -> dict[str, int]:
    """Save a search that alerts on new listings."""
    s = services.save_search(
        user=_user(request),
        kind=payload.kind,
        query=payload.query,
        tech_field=payload.tech_field,
        province=payload.province,
        now=clock.now(),
    )
    return {"id": s.pk}


@router.put("/notification-preferences", auth=caller)
def preference(request: HttpRequest, payload: PreferenceIn) -> dict[str, str]:
    """Choose in-app / e-mail (off, instant, digest) for one event."""
    p = services.set_notification_preference(
        user=_user(request), event=payload.event, in_app=payload.in_app, email=payload.email
    )
    return {"event": p.event, "email": p.email}


@router.get("/listings/{pk}/resources", response=list[ResourceMatchOut])
def listing_resources(request: HttpRequest, pk: int, limit: int = 5) -> list[dict[str, Any]]:
    """Shared instruments relevant to a listing (its teaser fields only make the query)."""
    listing, _tier = selectors.get_listing_for(request.user, pk, now=clock.now())
    found = crossmatch.related_resources(listing, limit=limit)
    return [crossmatch.related_as_dict(r) for r in found]


@router.get("/challenges/{pk}/resources", response=list[ResourceMatchOut])
def challenge_resources(request: HttpRequest, pk: int, limit: int = 5) -> list[dict[str, Any]]:
    """Shared instruments relevant to a challenge."""
    ch = selectors.get_challenge_for(request.user, pk)
    return [crossmatch.related_as_dict(r) for r in crossmatch.related_resources(ch, limit=limit)]


@router.get("/challenges/{pk}/candidates", response=ChallengeCandidatesOut, auth=caller)
def challenge_candidates(request: HttpRequest, pk: int, limit: int = 5) -> dict[str, Any]:
    """Candidate teams and experts (sponsor, deciders, reviewers, brokers, operators)."""
    user = _user(request)
    ch = selectors.get_challenge_for(user, pk)
    if not crossmatch.may_see_candidates(user, ch):
        raise PermissionDenied("无权查看候选团队与专家", code="forbidden")
    found = crossmatch.challenge_candidates(ch, now=clock.now(), limit=limit)
    return dict(crossmatch.candidates_as_dict(found))
