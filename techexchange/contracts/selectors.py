"""Reads of contracts, permission-scoped: one contract, a registrar's queue, an org's list."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, require
from techexchange.contracts.codes import ContractStatus
from techexchange.contracts.models import TechContract
from techexchange.core.errors import NotFound

__all__ = [
    "contract_figures",
    "get_contract_for",
    "list_contracts_for",
    "list_review_queue_for",
    "review_regions_for",
]


def _target(contract: TechContract) -> Target:
    return Target(
        organisation_id=contract.organisation_id, region_code=contract.registration_region
    )


def get_contract_for(user: Any, pk: int, action: Action = Action.VIEW_CONTRACT) -> TechContract:
    """One contract, if it exists and `user` may perform `action` on it (else NotFound)."""
    contract = TechContract.objects.filter(pk=pk).first()
    if contract is None:
        raise NotFound("合同不存在", code="not_found")
    try:
        require(user, action, _target(contract))
    except Exception:
        # Contract data is confidential: do not confirm that the contract exists.
        raise NotFound("合同不存在", code="not_found") from None
    return contract


def review_regions_for(user: Any) -> frozenset[str]:
    """The registration regions whose queue `user` works (empty for non-registrars)."""
    actor = actor_for(user)
    return actor.region_codes if "registrar" in actor.platform_roles else frozenset()


def list_review_queue_for(user: Any) -> QuerySet[TechContract]:
    """Submitted contracts waiting in the user's registration regions, oldest first."""
    return TechContract.objects.filter(
        status=ContractStatus.SUBMITTED, registration_region__in=review_regions_for(user)
    ).order_by("created_at", "id")


def list_contracts_for(user: Any, *, status: str = "") -> QuerySet[TechContract]:
    """Contracts the user may see: their organisations', their regions', or all (operator)."""
    actor = actor_for(user)
    qs = TechContract.objects.all()
    if not actor.is_operator:
        qs = qs.filter(
            Q(organisation_id__in=actor.member_of)
            | Q(registration_region__in=review_regions_for(user))
        )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-id")


def contract_figures() -> dict[str, Any]:
    """Home-page figures: registered contracts and the latest year's YRD inter-province headline."""
    from django.db.models import Max, Sum

    from techexchange.accounts.policies import Actor
    from techexchange.contracts.models import ContractStat
    from techexchange.contracts.reports import ReportQuery, build_report

    base = ContractStat.objects.filter(cuboid=0, basis="r")
    totals = base.aggregate(n=Sum("contracts"), year=Max("year"))
    if not totals["n"]:
        return {"registered": 0}

    class _Public:
        pk = None
        is_authenticated = False
        _te_actor = Actor()

    year = int(totals["year"])
    headline = build_report(_Public(), ReportQuery("inter-bloc", year, year)).data
    return {"registered": int(totals["n"]), "year": year, "headline": headline}
