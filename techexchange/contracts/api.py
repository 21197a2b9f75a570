"""API of contracts: statistics (public aggregates) and the registrar's transitions."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from techexchange.accounts.api import caller
from techexchange.analytics import to_csv, to_json, to_xlsx
from techexchange.contracts import selectors, services
from techexchange.contracts.models import TechContract
from techexchange.contracts.reports import ReportQuery, build_report
from techexchange.contracts.schemas import (
    AmendIn,
    ContractDetailOut,
    ContractFieldsIn,
    ContractIn,
    ContractOut,
    ReasonIn,
)
from techexchange.core import clock
from techexchange.core.errors import Conflict

router = Router(tags=["contracts"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RegisterIn(Schema):
    """The registration date (today when omitted)."""

    registration_date: date | None = None


class RejectIn(Schema):
    """Reasons for refusing registration."""

    reasons: list[str]


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


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _detail(user: Any, c: TechContract) -> dict[str, Any]:
    inp = services.input_of(c)
    return {
        **_out(c),
        "status_label": str(c.get_status_display()),
        "organisation_id": c.submitting_organisation_id,
        "rule_version": c.rule_version,
        "revision": c.revision,
        "registration_body": c.registration_body,
        "fields": {k: _json(v) for k, v in services.fields_of(inp).items()},
        "deductions": [
            {"kind": d.kind, "description": d.description, "amount": str(d.amount)}
            for d in inp.deductions
        ],
        "audit": [
            {
                "at": e.at,
                "actor": e.actor.username if e.actor else None,
                "action": e.action,
                "reason": e.reason,
                "data": e.data,
            }
            for e in selectors.audit_trail_for(user, c)
        ],
    }


def _input(
    payload: ContractFieldsIn, base: services.ContractInput | None = None
) -> services.ContractInput:
    """The payload's fields over `base` (a stored contract), as a contract input."""
    values = services.fields_of(base) if base else {}
    given = payload.model_dump(exclude_unset=True, exclude={"organisation_id", "reason"})
    items = given.pop("deductions", None)
    values.update(given)
    if items is None:
        deductions = list(base.deductions) if base else []
    else:
        deductions = [
            services.Deduction(d["kind"], d["amount"], d.get("description") or "") for d in items
        ]
    return services.input_from_fields(values, deductions)


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


@router.get("", response=list[ContractOut], auth=caller)
def list_contracts(request: HttpRequest, status: str = "") -> list[dict[str, Any]]:
    """Contracts the caller may see (their organisations', their regions', all for operators)."""
    user = request.auth  # type: ignore[attr-defined]
    return [_out(c) for c in selectors.list_contracts_for(user, status=status[:12])[:500]]


@router.post("", response={201: ContractDetailOut}, auth=caller)
def create_contract(request: HttpRequest, payload: ContractIn) -> Status[dict[str, Any]]:
    """Save a new contract as a draft of the caller's organisation (submit it afterwards)."""
    user = request.auth  # type: ignore[attr-defined]
    org = selectors.submitting_organisation_for(user, payload.organisation_id)
    contract = services.save_draft(actor=user, organisation=org, inp=_input(payload))
    return Status(201, _detail(user, contract))


@router.get("/{contract_id}", response=ContractDetailOut, auth=caller)
def get_contract(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    """One contract with its certificate fields and audit trail (parties, registrar, operators)."""
    user = request.auth  # type: ignore[attr-defined]
    return _detail(user, selectors.get_contract_for(user, contract_id))


@router.patch("/{contract_id}", response=ContractDetailOut, auth=caller)
def update_draft(
    request: HttpRequest, contract_id: int, payload: ContractFieldsIn
) -> dict[str, Any]:
    """Change a draft (or a rejected contract, which becomes a draft again): fields given replace
    the stored ones."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    organisation = contract.submitting_organisation
    if organisation is None:
        raise Conflict("该合同不能由机构修改", code="bad_transition")
    done = services.save_draft(
        actor=user,
        organisation=organisation,
        inp=_input(payload, services.input_of(contract)),
        contract=contract,
    )
    return _detail(user, done)


@router.post("/{contract_id}/submit", response=ContractDetailOut, auth=caller)
def submit(request: HttpRequest, contract_id: int, payload: ContractFieldsIn) -> dict[str, Any]:
    """Submit a draft (or a rejected contract) for registration; fields given replace the stored."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    organisation = contract.submitting_organisation
    if organisation is None:
        raise Conflict("该合同不能由机构提交", code="bad_transition")
    done = services.submit_contract(
        actor=user,
        organisation=organisation,
        inp=_input(payload, services.input_of(contract)),
        contract=contract,
    )
    return _detail(user, done)


@router.post("/{contract_id}/register", response=ContractDetailOut, auth=caller)
def register(request: HttpRequest, contract_id: int, payload: RegisterIn) -> dict[str, Any]:
    """Register a submitted contract (registrar of its region): assigns the 16-digit number."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    done = services.register_contract(
        actor=user, contract=contract, registration_date=payload.registration_date
    )
    return _detail(user, done)


@router.post("/{contract_id}/reject", response=ContractDetailOut, auth=caller)
def reject(request: HttpRequest, contract_id: int, payload: RejectIn) -> dict[str, Any]:
    """Refuse registration with reasons."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    done = services.reject_contract(actor=user, contract=contract, reasons=payload.reasons)
    return _detail(user, done)


@router.post("/{contract_id}/amend", response=ContractDetailOut, auth=caller)
def amend(request: HttpRequest, contract_id: int, payload: AmendIn) -> dict[str, Any]:
    """Change a registration (registrar of its region): the fields that change and a reason."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    done = services.amend_contract(
        actor=user,
        contract=contract,
        inp=_input(payload, services.input_of(contract)),
        reason=payload.reason,
    )
    return _detail(user, done)


@router.post("/{contract_id}/cancel", response=ContractDetailOut, auth=caller)
def cancel(request: HttpRequest, contract_id: int, payload: ReasonIn) -> dict[str, Any]:
    """Cancel a registration with a reason; the contract leaves the statistics."""
    user = request.auth  # type: ignore[attr-defined]
    contract = selectors.get_contract_for(user, contract_id)
    done = services.cancel_contract(actor=user, contract=contract, reason=payload.reason)
    return _detail(user, done)
