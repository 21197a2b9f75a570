"""Reads of contracts, permission-scoped: one contract, a registrar's queue, an org's list."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from techexchange.accounts.models import Organisation
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, can_user
from techexchange.contracts.codes import ContractStatus
from techexchange.contracts.models import ContractLinks, TechContract
from techexchange.core.audit import entries_for
from techexchange.core.errors import NotFound, Problem, ValidationFailed
from techexchange.core.models import AuditEntry

__all__ = [
    "audit_trail_for",
    "can_edit",
    "can_review",
    "contract_figures",
    "get_contract_for",
    "list_contracts_for",
    "list_member_contracts_for",
    "list_registered_in_regions_for",
    "list_review_queue_for",
    "member_organisations_for",
    "review_regions_for",
    "submitting_organisation_for",
]


def _targets(contract: TechContract, action: Action) -> list[Target]:
    """The submitting organisation; for viewing, the organisations of both parties too."""
    links = contract.linked
    orgs = [links.organisation_id if links else None]
    if action == Action.VIEW_CONTRACT and links is not None:
        orgs += [links.seller_organisation_id, links.buyer_organisation_id]
    region = contract.registration_region
    return [Target(organisation_id=o, region_code=region) for o in dict.fromkeys(orgs)]


def get_contract_for(user: Any, pk: int, action: Action = Action.VIEW_CONTRACT) -> TechContract:
    """One contract, if it exists and `user` may perform `action` on it (else NotFound)."""
    contract = TechContract.objects.select_related("links").filter(pk=pk).first()
    if contract is None or not any(can_user(user, action, t) for t in _targets(contract, action)):
        # Contract data is confidential: do not confirm that the contract exists.
        raise NotFound("合同不存在", code="not_found")
    return contract


def can_review(user: Any, contract: TechContract) -> bool:
    """True when `user` is a registrar of the contract's registration region."""
    return can_user(user, Action.REVIEW_CONTRACT, Target(region_code=contract.registration_region))


def can_edit(user: Any, contract: TechContract) -> bool:
    """True when `user` may change and submit the contract (its organisation, draft/rejected)."""
    return contract.status in (ContractStatus.DRAFT, ContractStatus.REJECTED) and can_user(
        user, Action.SUBMIT_CONTRACT, Target(organisation_id=contract.submitting_organisation_id)
    )


def audit_trail_for(user: Any, contract: TechContract) -> list[AuditEntry]:
    """The contract's audit trail, newest first, for someone who may see the contract."""
    get_contract_for(user, contract.pk)
    return list(entries_for(contract).select_related("actor").order_by("-at", "-id"))


def member_organisations_for(user: Any) -> list[Organisation]:
    """The organisations `user` may submit contracts for (their memberships)."""
    ids = actor_for(user).member_of
    return list(Organisation.objects.filter(pk__in=ids).order_by("name_zh", "id"))


def submitting_organisation_for(user: Any, organisation_id: int | None) -> Organisation:
    """The organisation a new contract belongs to: the one named, or the user's only one."""
    orgs = member_organisations_for(user)
    if organisation_id is None and len(orgs) == 1:
        return orgs[0]
    if organisation_id is None:
        message = "请指定提交合同的机构" if orgs else "只有机构成员可以提交合同"
        raise ValidationFailed(
            message, problems=[Problem("organisation_required", message, "organisation_id")]
        )
    org = Organisation.objects.filter(pk=organisation_id).first()
    if org is None:
        raise ValidationFailed(
            "机构不存在",
            problems=[Problem("unknown_organisation", "机构不存在", "organisation_id")],
        )
    return org


def _linked_to(orgs: frozenset[int]) -> Q:
    """Contracts whose links name one of `orgs` as submitter, seller or buyer."""
    links = ContractLinks.objects.filter(
        Q(organisation_id__in=orgs)
        | Q(seller_organisation_id__in=orgs)
        | Q(buyer_organisation_id__in=orgs)
    )
    return Q(pk__in=links.values("contract_id"))


def list_member_contracts_for(user: Any, *, status: str = "") -> QuerySet[TechContract]:
    """ "My contracts": those of the user's organisations, as submitter or as a party."""
    qs = TechContract.objects.filter(_linked_to(actor_for(user).member_of))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-id")


def review_regions_for(user: Any) -> frozenset[str]:
    """The registration regions whose queue `user` works (empty for non-registrars)."""
    actor = actor_for(user)
    return actor.region_codes if "registrar" in actor.platform_roles else frozenset()


def list_review_queue_for(user: Any) -> QuerySet[TechContract]:
    """Submitted contracts waiting in the user's registration regions, oldest first."""
    return TechContract.objects.filter(
        status=ContractStatus.SUBMITTED, registration_region__in=review_regions_for(user)
    ).order_by("created_at", "id")


def list_registered_in_regions_for(user: Any, *, q: str = "") -> QuerySet[TechContract]:
    """Registered (or amended) contracts of the registrar's regions, by number or project name."""
    qs = TechContract.objects.filter(
        status__in=(ContractStatus.REGISTERED, ContractStatus.AMENDED),
        registration_region__in=review_regions_for(user),
    )
    q = q.strip()
    if q:
        qs = qs.filter(Q(registration_number=q) | Q(project_name__icontains=q))
    return qs.order_by("-registration_date", "-id")


def list_contracts_for(user: Any, *, status: str = "") -> QuerySet[TechContract]:
    """Contracts the user may see: their organisations', their regions', or all (operator)."""
    actor = actor_for(user)
    qs = TechContract.objects.all()
    if not actor.is_operator:
        qs = qs.filter(
            _linked_to(actor.member_of) | Q(registration_region__in=review_regions_for(user))
        )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-id")


def contract_figures() -> dict[str, Any]:
    """Home-page figures: registered contracts and the YRD inter-province headline of the
    latest complete year (the current year only while no earlier one has contracts)."""
    from django.db.models import Max, Sum

    from techexchange.accounts.policies import Actor
    from techexchange.contracts.models import ContractStat
    from techexchange.contracts.reports import ReportQuery, build_report
    from techexchange.core import clock

    base = ContractStat.objects.filter(cuboid=0, basis="r")
    totals = base.aggregate(n=Sum("contracts"), year=Max("year"))
    if not totals["n"]:
        return {"registered": 0}

    class _Public:
        pk = None
        is_authenticated = False
        _te_actor = Actor()

    earlier = base.filter(year__lt=clock.today().year).aggregate(year=Max("year"))["year"]
    year = int(earlier or totals["year"])
    headline = build_report(_Public(), ReportQuery("inter-bloc", year, year)).data
    return {"registered": int(totals["n"]), "year": year, "headline": headline}
