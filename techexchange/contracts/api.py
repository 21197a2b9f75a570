"""API of contracts: statistics (public aggregates) and the registrar's transitions."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from techexchange.accounts.api import caller
from techexchange.analytics import to_csv, to_json, to_xlsx
from techexchange.contracts import selectors, services
from techexchange.contracts.models import TechContract
from techexchange.contracts.reports import ReportQuery, build_report
from techexchange.core import clock

router = Router(tags=["contracts"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ContractOut(Schema):
    """A contract as its submitter or registrar sees it."""

    id: int
    status: str
    registration_number: str | None
    project_name: str
    contract_type: str
    subtype: str
    seller_name: str
    buyer_name: str
    turnover: str
    technical_amount: str
    registration_region: str
    registration_date: str | None
    needs_expert_review: bool
    rejection_reasons: list[str]


class RejectIn(Schema):
    """Reasons for refusing registration."""

    reasons: list[str]


class ReasonIn(Schema):
    """Why a registration is cancelled."""

    reason: str


class RegisterIn(Schema):
    """The registration date (today when omitted)."""

    registration_date: str | None = None


def _out(c: TechContract) -> dict[str, Any]:
    return {
        "id": c.pk,
        "status": c.status,
        "registration_number": c.registration_number,
        "project_name": c.project_name,
        "contract_type": c.contract_type,
        "subtype": c.subtype,
        "seller_name": c.seller_name,
        "buyer_name": c.buyer_name,
        "turnover": str(c.turnover),
        "technical_amount": str(c.technical_amount),
        "registration_region": c.registration_region,
        "registration_date": c.registration_date.isoformat() if c.registration_date else None,
        "needs_expert_review": c.needs_expert_review,
        "rejection_reasons": list(c.rejection_reasons or []),
    }


@router.get("/stats/{table}", tags=["statistics"])
def stats(
    request: HttpRequest,
    table: str,
    year: int | None = None,
    from_year: int | None = None,
    to_year: int | None = None,
    bloc: str = "YRD",
    level: str = "province",
    basis: str = "registration",
    type: str = "",
    field: str = "",
    classes: int = 5,
    party: str = "seller",
    format: str = "json",
) -> Any:
    """A statistics table (JSON; `format=csv|xlsx` for a download). Amounts in yuan."""
    first = from_year or year or clock.today().year - 1
    query = ReportQuery(
        table=table,
        from_year=first,
        to_year=to_year or (year if year and not from_year else first),
        bloc="" if bloc.upper() == "ALL" else bloc,
        level=level,
        basis=basis,
        contract_type=type,
        tech_field=field,
        classes=classes,
        party=party,
    )
    result = build_report(request.user, query)
    if format == "csv":
        response = HttpResponse(to_csv([result]), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="contracts-{table}.csv"'
        return response
    if format == "xlsx":
        response = HttpResponse(to_xlsx([result]), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="contracts-{table}.xlsx"'
        return response
    return to_json(result)


@router.get("/{contract_id}", response=ContractOut, auth=caller)
def get_contract(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    """One contract (its organisation's members and its region's registrars)."""
    return _out(selectors.get_contract_for(request.auth, contract_id))  # type: ignore[attr-defined]


@router.post("/{contract_id}/register", response=ContractOut, auth=caller)
def register(request: HttpRequest, contract_id: int, payload: RegisterIn) -> dict[str, Any]:
    """Register a submitted contract (registrar of its region): assigns the 16-digit number."""
    from datetime import date

    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    when = date.fromisoformat(payload.registration_date) if payload.registration_date else None
    return _out(services.register_contract(actor=user, contract=contract, registration_date=when))


@router.post("/{contract_id}/reject", response=ContractOut, auth=caller)
def reject(request: HttpRequest, contract_id: int, payload: RejectIn) -> dict[str, Any]:
    """Refuse registration with reasons."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    return _out(services.reject_contract(actor=user, contract=contract, reasons=payload.reasons))


@router.post("/{contract_id}/cancel", response=ContractOut, auth=caller)
def cancel(request: HttpRequest, contract_id: int, payload: ReasonIn) -> dict[str, Any]:
    """Cancel a registration; the contract leaves the statistics."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    return _out(services.cancel_contract(actor=user, contract=contract, reason=payload.reason))
