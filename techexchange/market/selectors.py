"""Reads of the market, permission-scoped: tiers, listings, matches, deals, challenges."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, can_user, require
from techexchange.core.errors import NotFound
from techexchange.market import policies
from techexchange.market.codes import (
    DealStage,
    EoiStatus,
    ListingKind,
    ListingStatus,
    TechField,
    Tier,
)
from techexchange.market.models import (
    AccessLog,
    Challenge,
    ChallengeApplication,
    Deal,
    ExpressionOfInterest,
    Listing,
    MatchRecommendation,
    MatchWeights,
    NdaAcceptance,
    Notification,
    TechnologyOffer,
    TechnologyRequest,
)
from techexchange.search import Weights

__all__ = [
    "challenge_target",
    "deal_target",
    "decline_statistics",
    "get_challenge_for",
    "get_deal_for",
    "get_listing",
    "get_listing_for",
    "list_access_for",
    "list_challenges_for",
    "list_deals_for",
    "list_eois_for",
    "list_listings",
    "list_notifications_for",
    "listing_target",
    "listing_view",
    "market_figures",
    "stored_recommendations",
    "stored_weights",
    "viewer_tier",
]

AnyListing = TechnologyOffer | TechnologyRequest


def get_listing(pk: int) -> AnyListing:
    """One listing as its concrete type, or NotFound."""
    row = Listing.objects.filter(pk=pk).values_list("kind", flat=True).first()
    model: type[TechnologyOffer] | type[TechnologyRequest] = (
        TechnologyOffer if row == ListingKind.OFFER else TechnologyRequest
    )
    found = (
        model.objects.select_related("owner", "owner__province", "centre").filter(pk=pk).first()
        if row
        else None
    )
    if found is None:
        raise NotFound("信息不存在", code="not_found")
    return found


def has_nda(user: Any, listing: Listing) -> bool:
    """True when one of the user's organisations holds an active NDA acceptance for `listing`."""
    orgs = actor_for(user).member_of
    if not orgs:
        return False
    return NdaAcceptance.objects.filter(
        listing=listing, organisation_id__in=orgs, revoked_at__isnull=True
    ).exists()


def listing_target(listing: Listing, user: Any = None) -> Target:
    """The rules' view of a listing (with the viewer's NDA state when a user is given)."""
    extra = {"nda": "1"} if user is not None and has_nda(user, listing) else {}
    return Target(organisation_id=listing.owner_id, centre_id=listing.centre_id, extra=extra)


def viewer_tier(user: Any, listing: Listing) -> Tier:
    """The disclosure tier `user` has on `listing`."""
    sees = can_user(user, Action.LISTING_VIEW_DETAILS, listing_target(listing, user))
    return policies.tier_for(
        authenticated=bool(getattr(user, "is_authenticated", False)), sees_details=sees
    )


def _visible_status(user: Any, listing: Listing, now: datetime) -> bool:
    live = listing.status == ListingStatus.PUBLISHED and (
        listing.valid_until is None or listing.valid_until > now
    )
    if live:
        return True
    target = listing_target(listing)
    return can_user(user, Action.LISTING_EDIT, target) or can_user(
        user, Action.LISTING_REVIEW, target
    )


def get_listing_for(user: Any, pk: int, *, now: datetime) -> tuple[AnyListing, Tier]:
    """A listing `user` may see, with the tier they see it at (hidden drafts are NotFound)."""
    listing = get_listing(pk)
    if not _visible_status(user, listing, now):
        raise NotFound("信息不存在", code="not_found")
    return listing, viewer_tier(user, listing)


_TEASER_FIELDS = (
    "id",
    "kind",
    "title_zh",
    "title_en",
    "tech_field",
    "tech_keywords",
    "market_keywords",
    "cooperation_modes",
    "transaction_mode",
    "status",
    "open_for_eoi",
    "maturity",
)
_ALL_FIELDS = (
    _TEASER_FIELDS + tuple(sorted(policies.SUMMARY_FIELDS)) + tuple(sorted(policies.FULL_FIELDS))
)


def listing_view(listing: AnyListing, tier: Tier) -> dict[str, Any]:
    """The listing's fields the tier allows; every other field is None (web and API alike)."""
    out: dict[str, Any] = {}
    for name in _ALL_FIELDS:
        if name in policies.FULL_FIELDS and tier < Tier.FULL:
            out[name] = None
            continue
        if name in policies.SUMMARY_FIELDS and tier < Tier.SUMMARY:
            out[name] = None
            continue
        if name == "owner":
            out[name] = {"id": listing.owner_id, "name": listing.owner.name}
            continue
        value = getattr(listing, name, None)
        if isinstance(value, Decimal):
            value = str(value)
        out[name] = value
    out["province"] = {"code": listing.owner.province_id, "name": listing.owner.province.name}
    out["tier"] = int(tier)
    out["valid_until"] = listing.valid_until
    out["last_confirmed_at"] = listing.last_confirmed_at or listing.published_at
    out["attachments"] = [
        {
            "id": a.pk,
            "name": a.name,
            "tier": a.tier,
            "visible": policies.attachment_visible(a.tier, tier),
        }
        for a in listing.attachments.all()
    ]
    return out


def list_listings(
    *, kind: str, q: str = "", tech_field: str = "", province: str = "", now: datetime
) -> QuerySet[Listing]:
    """Published, unexpired listings of one kind (teaser fields are public)."""
    qs = Listing.objects.select_related("owner", "owner__province").filter(
        kind=kind, status=ListingStatus.PUBLISHED, valid_until__gt=now
    )
    if q:
        qs = qs.filter(Q(title_zh__icontains=q) | Q(title_en__icontains=q))
    if tech_field:
        qs = qs.filter(tech_field=tech_field)
    if province:
        qs = qs.filter(owner__province_id=province)
    return qs.order_by("-last_confirmed_at", "-id")


def list_my_listings(user: Any) -> QuerySet[Listing]:
    """Listings of the user's organisations, any status."""
    return Listing.objects.filter(owner_id__in=actor_for(user).member_of).order_by("-id")


def list_review_queue_for(user: Any) -> QuerySet[Listing]:
    """Submitted listings the user may review (operator: all; broker: their sub-centres)."""
    actor = actor_for(user)
    qs = Listing.objects.filter(status=ListingStatus.SUBMITTED).select_related("owner")
    if actor.is_operator:
        return qs
    if "broker" in actor.platform_roles:
        return qs.filter(centre_id__in=actor.centre_ids)
    return qs.none()


def list_access_for(user: Any, listing: Listing) -> dict[str, Any]:
    """The owner's view of who accessed protected content and who holds the NDA."""
    require(user, Action.LISTING_MANAGE_ACCESS, listing_target(listing))
    return {
        "grants": list(
            NdaAcceptance.objects.filter(listing=listing)
            .select_related("organisation", "accepted_by", "nda")
            .order_by("-accepted_at")
        ),
        "log": list(
            AccessLog.objects.filter(listing=listing).select_related("user", "organisation")[:200]
        ),
    }


def stored_weights() -> Weights:
    """The matcher's current weights (defaults until feedback arrives)."""
    row = MatchWeights.objects.filter(name="default").first()
    if row is None or not row.weights:
        return Weights()
    known = Weights().as_dict()
    return Weights(**{k: float(v) for k, v in row.weights.items() if k in known})


def stored_recommendations(listing: Listing, *, limit: int = 10) -> list[MatchRecommendation]:
    """The stored recommendations of a listing, best first."""
    return list(
        MatchRecommendation.objects.filter(need=listing)
        .select_related("candidate", "candidate__owner", "candidate__owner__province")
        .order_by("rank")[:limit]
    )


def list_eois_for(user: Any) -> dict[str, QuerySet[ExpressionOfInterest]]:
    """EoIs the user's organisations received and sent."""
    orgs = actor_for(user).member_of
    base = ExpressionOfInterest.objects.select_related("listing", "challenge", "organisation")
    return {
        "received": base.filter(Q(listing__owner_id__in=orgs) | Q(challenge__sponsor_id__in=orgs)),
        "sent": base.filter(organisation_id__in=orgs),
    }


def decline_statistics(*, owner_ids: Any = None, centre_id: int | None = None) -> dict[str, int]:
    """Decline reasons counted for an owner's listings or a sub-centre's listings."""
    qs = ExpressionOfInterest.objects.filter(status=EoiStatus.DECLINED)
    if owner_ids is not None:
        qs = qs.filter(listing__owner_id__in=owner_ids)
    if centre_id is not None:
        qs = qs.filter(listing__centre_id=centre_id)
    return dict(Counter(qs.values_list("decline_reason", flat=True)))


def deal_target(deal: Deal, user: Any = None) -> Target:
    """The rules' view of a deal: its centres, parties and whether `user` brokers it."""
    on = (
        "1"
        if user is not None
        and deal.brokers.filter(broker_id=getattr(user, "pk", 0), active=True).exists()
        else "0"
    )
    centre = deal.closing_centre_id
    actor = actor_for(user)
    if deal.originating_centre_id in actor.centre_ids:
        centre = deal.originating_centre_id
    return Target(
        organisation_id=deal.seller_id,
        centre_id=centre,
        extra={"on_deal": on, "parties": f"{deal.seller_id},{deal.buyer_id}"},
    )


def get_deal_for(user: Any, pk: int, action: Action = Action.DEAL_VIEW) -> Deal:
    """One deal the user may view (or act on)."""
    deal = (
        Deal.objects.select_related(
            "seller",
            "buyer",
            "seller__province",
            "buyer__province",
            "originating_centre",
            "closing_centre",
            "offer",
            "request",
        )
        .filter(pk=pk)
        .first()
    )
    if deal is None:
        raise NotFound("交易不存在", code="not_found")
    if action == Action.DEAL_VIEW and _registrar_of(user, deal):
        return deal  # the registrar reads the deal whose contract they register
    require(user, action, deal_target(deal, user))
    return deal


def _registrar_of(user: Any, deal: Deal) -> bool:
    """True when `user` may review (register) the deal's contract."""
    from techexchange.contracts.selectors import get_contract_for
    from techexchange.core.errors import DomainError

    if not deal.contract_ref or "registrar" not in actor_for(user).platform_roles:
        return False
    try:
        get_contract_for(user, int(deal.contract_ref), Action.REVIEW_CONTRACT)
    except DomainError:
        return False
    return True


def list_deals_for(user: Any) -> QuerySet[Deal]:
    """Deals the user may see: operators all; brokers their centres' and their own; parties."""
    actor = actor_for(user)
    qs = Deal.objects.select_related("seller", "buyer", "closing_centre")
    if actor.is_operator:
        return qs
    cond = Q(seller_id__in=actor.member_of) | Q(buyer_id__in=actor.member_of)
    if "broker" in actor.platform_roles:
        cond |= Q(closing_centre_id__in=actor.centre_ids) | Q(
            originating_centre_id__in=actor.centre_ids
        )
        cond |= Q(brokers__broker_id=actor.user_id, brokers__active=True)
    return qs.filter(cond).distinct()


def challenge_target(challenge: Challenge, user: Any = None) -> Target:
    """The rules' view of a challenge (sponsor, end user, whether `user` is a named expert)."""
    expert = (
        "1"
        if user is not None and challenge.experts.filter(pk=getattr(user, "pk", 0)).exists()
        else "0"
    )
    return Target(
        organisation_id=challenge.sponsor_id,
        extra={"end_user": str(challenge.end_user_id or ""), "expert": expert},
    )


def list_challenges_for(user: Any) -> QuerySet[Challenge]:
    """Published challenges, plus drafts of the user's sponsoring organisations."""
    actor = actor_for(user)
    qs = Challenge.objects.select_related("sponsor", "sponsor__province")
    if actor.is_operator:
        return qs
    return qs.filter(~Q(status="draft") | Q(sponsor_id__in=actor.admin_of))


def get_challenge_for(user: Any, pk: int) -> Challenge:
    """One challenge the user may see."""
    found = list_challenges_for(user).filter(pk=pk).first()
    if found is None:
        raise NotFound("榜单不存在", code="not_found")
    return found


def applications_for(user: Any, challenge: Challenge) -> QuerySet[ChallengeApplication]:
    """Applications: deciders and experts see all; an applicant sees its own."""
    target = challenge_target(challenge, user)
    qs = challenge.applications.select_related("organisation").prefetch_related("reviews")
    if can_user(user, Action.CHALLENGE_DECIDE, target) or can_user(
        user, Action.CHALLENGE_REVIEW, target
    ):
        return qs
    return qs.filter(organisation_id__in=actor_for(user).member_of)


def list_notifications_for(user: Any) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    return Notification.objects.filter(user_id=getattr(user, "pk", 0) or 0, in_app=True)


def market_figures(*, now: datetime) -> dict[str, Any]:
    """The market dashboard: listings by province × field, EoIs, deals by stage, funnel, league."""
    live = Listing.objects.filter(status=ListingStatus.PUBLISHED, valid_until__gt=now)
    grid: dict[str, dict[str, int]] = defaultdict(dict)
    for row in live.values("owner__province_id", "tech_field").annotate(n=Count("id")):
        grid[row["owner__province_id"]][row["tech_field"]] = row["n"]
    by_kind = dict(live.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    eois = dict(
        ExpressionOfInterest.objects.values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    stages = dict(
        Deal.objects.values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    registered = Deal.objects.filter(stage__in=[DealStage.REGISTERED, DealStage.CLOSED_WON])
    funnel = {
        "matched": MatchRecommendation.objects.values("need_id").distinct().count(),
        "eois": ExpressionOfInterest.objects.count(),
        "accepted": eois.get(EoiStatus.ACCEPTED, 0),
        "deals": Deal.objects.count(),
        "signed": Deal.objects.filter(
            stage__in=[DealStage.SIGNED, DealStage.REGISTERED, DealStage.CLOSED_WON]
        ).count(),
        "registered": registered.count(),
    }
    return {
        "offers": by_kind.get(ListingKind.OFFER, 0),
        "requests": by_kind.get(ListingKind.REQUEST, 0),
        "grid": {k: dict(v) for k, v in grid.items()},
        "fields": list(TechField.choices),
        "eois": eois,
        "stages": [(s.value, s.label, stages.get(s.value, 0)) for s in DealStage],
        "funnel": funnel,
        "conversion": (funnel["registered"] / funnel["matched"]) if funnel["matched"] else 0.0,
        "registered_amount": registered.aggregate(s=Sum("technical_amount"))["s"] or Decimal(0),
        "brokers": broker_league(),
        "centres": centre_league(),
    }


def broker_league(limit: int = 10) -> list[dict[str, Any]]:
    """Brokers ranked by credited technical amount of registered deals."""
    from techexchange.market.models import DealBroker

    rows: dict[int, dict[str, Any]] = {}
    qs = DealBroker.objects.filter(
        active=True, deal__stage__in=[DealStage.REGISTERED, DealStage.CLOSED_WON]
    ).select_related("broker", "deal", "centre")
    for db in qs:
        r = rows.setdefault(
            db.broker_id,
            {
                "name": str(db.broker),
                "centre": db.centre.name,
                "deals": Decimal(0),
                "amount": Decimal(0),
            },
        )
        share = db.share / 100
        r["deals"] += share
        r["amount"] += share * (db.deal.technical_amount or Decimal(0))
    return sorted(rows.values(), key=lambda r: (-r["amount"], r["name"]))[:limit]


def centre_league(limit: int = 19) -> list[dict[str, Any]]:
    """Sub-centres ranked by credited technical amount (half originating, half closing)."""
    rows: dict[int, dict[str, Any]] = {}
    qs = Deal.objects.filter(stage__in=[DealStage.REGISTERED, DealStage.CLOSED_WON]).select_related(
        "originating_centre", "closing_centre"
    )
    for deal in qs:
        shares = policies.centre_credit_shares(deal.originating_centre_id, deal.closing_centre_id)
        centres = {
            deal.originating_centre_id: deal.originating_centre,
            deal.closing_centre_id: deal.closing_centre,
        }
        for cid, share in shares.items():
            r = rows.setdefault(
                cid, {"name": centres[cid].name, "deals": Decimal(0), "amount": Decimal(0)}
            )
            r["deals"] += share
            r["amount"] += share * (deal.technical_amount or Decimal(0))
    return sorted(rows.values(), key=lambda r: (-r["amount"], r["name"]))[:limit]


def get_eoi(pk: int) -> ExpressionOfInterest:
    """One EoI (services check who may act on it)."""
    found = ExpressionOfInterest.objects.select_related("listing").filter(pk=pk).first()
    if found is None:
        raise NotFound("意向不存在", code="not_found")
    return found


def eois_awaiting_deal_for(user: Any) -> list[ExpressionOfInterest]:
    """Accepted EoIs on listings without a deal yet (brokers and operators)."""
    if not can_user(user, Action.DEAL_CREATE):
        return []
    return list(
        ExpressionOfInterest.objects.filter(
            status=EoiStatus.ACCEPTED, listing__isnull=False, deals__isnull=True
        )
        .select_related("listing", "organisation")
        .order_by("-decided_at")[:50]
    )


def registration_of(user: Any, deal: Deal) -> dict[str, Any] | None:
    """The deal's pre-filled contract as the viewer may see it, with what they may do."""
    from techexchange.contracts.selectors import get_contract_for
    from techexchange.core.errors import DomainError

    if not deal.contract_ref:
        return None
    try:
        contract = get_contract_for(user, int(deal.contract_ref))
    except DomainError:
        return {"visible": False}
    target = Target(region_code=contract.registration_region)
    return {
        "visible": True,
        "contract": contract,
        "may_submit": contract.status in {"draft", "rejected"}
        and can_user(user, Action.SUBMIT_CONTRACT, Target(organisation_id=deal.seller_id)),
        "may_register": contract.status == "submitted"
        and can_user(user, Action.REVIEW_CONTRACT, target),
    }


def registered_flows() -> list[dict[str, Any]]:
    """Registered deals counted by seller province → buyer province (the market's statistics)."""
    rows = (
        Deal.objects.filter(stage__in=[DealStage.REGISTERED, DealStage.CLOSED_WON])
        .values(
            "seller__province_id",
            "seller__province__name_zh",
            "buyer__province_id",
            "buyer__province__name_zh",
        )
        .annotate(n=Count("id"), amount=Sum("technical_amount"))
        .order_by("seller__province_id", "buyer__province_id")
    )
    return [
        {
            "seller": r["seller__province__name_zh"],
            "buyer": r["buyer__province__name_zh"],
            "seller_code": r["seller__province_id"],
            "buyer_code": r["buyer__province_id"],
            "count": r["n"],
            "amount": r["amount"] or Decimal(0),
        }
        for r in rows
    ]


def headline_figures(*, now: datetime) -> dict[str, int]:
    """Live market counts for the home page (cheap: four counts)."""
    live = Listing.objects.filter(status=ListingStatus.PUBLISHED, valid_until__gt=now)
    return {
        "offers": live.filter(kind=ListingKind.OFFER).count(),
        "requests": live.filter(kind=ListingKind.REQUEST).count(),
        "open_challenges": Challenge.objects.filter(status="open").count(),
        "registered_deals": Deal.objects.filter(
            stage__in=[DealStage.REGISTERED, DealStage.CLOSED_WON]
        ).count(),
    }
