"""API schemas of contracts: flat input fields (named as problems name them) and outputs."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema


class DeductionIn(Schema):
    """One itemised non-technical item of the turnover."""

    kind: str
    amount: Decimal
    description: str = ""


class ContractFieldsIn(Schema):
    """Every field of the registration layout; all optional (a patch of what is set)."""

    project_name: str | None = None
    contract_type: str | None = None
    subtype: str | None = None
    licence_scope: str | None = None
    rule_version: int | None = None
    signing_date: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    seller_name: str | None = None
    seller_credit_code: str | None = None
    seller_nature: str | None = None
    seller_country: str | None = None
    seller_region_code: str | None = None
    seller_is_transfer_institution: bool | None = None
    seller_is_rnd_institution: bool | None = None
    seller_is_converted_institute: bool | None = None
    seller_is_high_tech_zone: bool | None = None
    seller_is_listed: bool | None = None
    seller_enterprise_size: str | None = None
    seller_industry: str | None = None
    seller_legal_representative: str | None = None
    seller_contact: str | None = None
    seller_phone: str | None = None
    seller_address: str | None = None

    buyer_name: str | None = None
    buyer_credit_code: str | None = None
    buyer_nature: str | None = None
    buyer_country: str | None = None
    buyer_region_code: str | None = None
    buyer_is_transfer_institution: bool | None = None
    buyer_is_rnd_institution: bool | None = None
    buyer_is_converted_institute: bool | None = None
    buyer_is_high_tech_zone: bool | None = None
    buyer_is_listed: bool | None = None
    buyer_enterprise_size: str | None = None
    buyer_industry: str | None = None
    buyer_legal_representative: str | None = None
    buyer_contact: str | None = None
    buyer_phone: str | None = None
    buyer_address: str | None = None

    intermediary_name: str | None = None
    intermediary_credit_code: str | None = None
    intermediary_region_code: str | None = None

    turnover: Decimal | None = None
    technical_amount: Decimal | None = None
    deductions: list[DeductionIn] | None = None
    tech_field: str | None = None
    ip_type: str | None = None
    ip_references: str | None = None
    ip_valid_until: date | None = None
    plan_source: str | None = None
    payment_mode: str | None = None
    is_related_party: bool | None = None
    socio_economic_objective: str | None = None
    expected_investment: Decimal | None = None
    expected_output: Decimal | None = None
    registration_body: str | None = None


class ContractIn(ContractFieldsIn):
    """A new contract (kept as a draft); `organisation_id` when the caller has several."""

    organisation_id: int | None = None


class AmendIn(ContractFieldsIn):
    """A change of registration: the fields that change, and why (mandatory)."""

    reason: str = ""


class ReasonIn(Schema):
    """Why a registration is cancelled (mandatory)."""

    reason: str = ""


class DeductionOut(Schema):
    """One itemised deduction."""

    kind: str
    description: str
    amount: str


class AuditOut(Schema):
    """One entry of the audit trail."""

    at: datetime
    actor: str | None
    action: str
    reason: str
    data: dict[str, Any]


class ContractOut(Schema):
    """A contract as its submitter or registrar sees it (the list shape)."""

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


class ContractDetailOut(ContractOut):
    """Everything registered about one contract: fields, certificate, deductions, audit trail."""

    status_label: str
    organisation_id: int | None
    rule_version: int
    revision: int
    registration_body: str
    fields: dict[str, Any]
    deductions: list[DeductionOut]
    audit: list[AuditOut]
