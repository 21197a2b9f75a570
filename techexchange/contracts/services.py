"""Writes of contracts: submit, register, reject, amend, cancel (atomic, audited, permissioned).

Every transition locks the contract row, checks the workflow and the rules, writes, keeps the
statistics rollup current and records an audit entry with actor and reason, all in one
transaction: a refusal leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, Field

from techexchange.accounts.models import Organisation
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import require
from techexchange.contracts import rollup
from techexchange.contracts.codes import ACTIVE_STATUSES, ContractStatus, DeductionKind
from techexchange.contracts.models import (
    ContractDeduction,
    ContractLinks,
    RegistrationSerial,
    TechContract,
)
from techexchange.contracts.policies import (
    ContractData,
    PartyData,
    RuleContext,
    contract_problems,
    dedupe_key,
    format_registration_number,
    needs_expert_review,
    registering_region,
    rule_version_for,
    stat_region,
    transition_problems,
)
from techexchange.core import clock
from techexchange.core.audit import audit
from techexchange.core.errors import Conflict, Problem, ValidationFailed
from techexchange.regions.models import Region, RegionLevel

__all__ = [
    "ContractData",
    "Deduction",
    "amend_contract",
    "cancel_contract",
    "contract_fields",
    "input_of",
    "next_registration_number",
    "party",
    "register_contract",
    "reject_contract",
    "rule_context",
    "save_draft",
    "submit_contract",
]

PARTY_EXTRAS = (
    "is_transfer_institution",
    "is_rnd_institution",
    "is_converted_institute",
    "is_high_tech_zone",
    "is_listed",
    "enterprise_size",
    "industry",
    "legal_representative",
    "contact",
    "phone",
    "address",
)
EXTRA_FIELDS = frozenset(
    [f"{r}_{f}" for r in ("seller", "buyer") for f in PARTY_EXTRAS]
    + [
        "licence_scope",
        "ip_references",
        "is_related_party",
        "socio_economic_objective",
        "expected_investment",
        "expected_output",
        "intermediary_credit_code",
        "registration_body",
    ]
)


@dataclass(frozen=True)
class Deduction:
    """One itemised non-technical item of the turnover."""

    kind: str
    amount: Decimal
    description: str = ""


@dataclass(frozen=True)
class ContractInput:
    """What a submitter provides: the checked data, its deductions and the descriptive extras."""

    data: ContractData
    deductions: Sequence[Deduction] = ()
    extras: dict[str, Any] = field(default_factory=dict)


def rule_context(*, today: date | None = None, itemised: bool = True) -> RuleContext:
    """The rules' context from settings and the region table."""
    provinces = frozenset(
        Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", flat=True)
    )
    starts = {2001: date(2001, 1, 1), 2021: date(2021, 1, 1)}
    rules_2026 = getattr(settings, "CONTRACT_RULES_2026_FROM", "")
    if rules_2026:
        starts[2026] = date.fromisoformat(rules_2026)
    return RuleContext(
        today=today or clock.today(),
        provinces=provinces,
        rule_starts=starts,
        number_format=number_format(),
        require_deduction_items=itemised,
    )


def number_format() -> str:
    """The registration number format (16 digits; year 4 + region 4 + point 2 + serial 6)."""
    return str(
        getattr(settings, "CONTRACT_NUMBER_FORMAT", "{year:04d}{region:4.4}{point:02d}{serial:06d}")
    )


def contract_fields(data: ContractData, ctx: RuleContext) -> dict[str, Any]:
    """Model field values for a checked contract (parties snapshotted, statistics derived)."""
    seller_p, seller_c = stat_region(data.seller.country, data.seller.region_code)
    buyer_p, buyer_c = stat_region(data.buyer.country, data.buyer.region_code)
    return {
        "rule_version": data.rule_version or rule_version_for(data.signing_date, ctx.rule_starts),
        "project_name": data.project_name.strip(),
        "contract_type": data.contract_type,
        "subtype": data.subtype,
        "signing_date": data.signing_date,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
        "seller_name": data.seller.name.strip(),
        "seller_credit_code": data.seller.credit_code,
        "seller_nature": data.seller.nature,
        "seller_country": data.seller.country,
        "seller_region_code": data.seller.region_code,
        "seller_province": seller_p,
        "seller_city": seller_c,
        "buyer_name": data.buyer.name.strip(),
        "buyer_credit_code": data.buyer.credit_code,
        "buyer_nature": data.buyer.nature,
        "buyer_country": data.buyer.country,
        "buyer_region_code": data.buyer.region_code,
        "buyer_province": buyer_p,
        "buyer_city": buyer_c,
        "intermediary_name": data.intermediary_name,
        "intermediary_region_code": data.intermediary_region_code,
        "turnover": data.turnover,
        "technical_amount": data.technical_amount,
        "tech_field": data.tech_field,
        "ip_type": data.ip_type,
        "ip_valid_until": data.ip_valid_until,
        "plan_source": data.plan_source,
        "payment_mode": data.payment_mode,
        "registration_region": data.registration_region or registering_region(data),
        "needs_expert_review": needs_expert_review(data.technical_amount),
        "dedupe_key": dedupe_key(data),
    }


AMOUNT_LIMIT = Decimal(10) ** 14  # DecimalField(max_digits=16, decimal_places=2)
CENT = Decimal("0.01")


def _column(name: str) -> Field[Any, Any]:
    """The model field of a contract column."""
    return cast("Field[Any, Any]", TechContract._meta.get_field(name))


def _amount_problem(value: Any, name: str) -> Problem | None:
    """An amount the database cannot hold exactly (not finite, too large, below a fen)."""
    if value is None:
        return None
    if not isinstance(value, Decimal) or not value.is_finite():
        return Problem("amount_invalid", "金额无效", name)
    if abs(value) >= AMOUNT_LIMIT:
        return Problem("amount_too_large", "金额过大（不超过14位整数）", name)
    if value != value.quantize(CENT):
        return Problem("amount_precision", "金额最多保留两位小数（分）", name)
    return None


def _shape_problems(inp: ContractInput, values: dict[str, Any]) -> list[Problem]:
    """What the columns cannot store: over-long text, amounts beyond their digits, bad items."""
    problems: list[Problem] = []
    for name, value in values.items():
        column = _column(name)
        limit = getattr(column, "max_length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            problems.append(
                Problem("too_long", f"{column.verbose_name}不能超过{limit}个字符", name)
            )
        if isinstance(column, DecimalField):
            problem = _amount_problem(value, name)
            if problem:
                problems.append(problem)
    kinds = set(DeductionKind.values)
    for d in inp.deductions:
        if d.kind not in kinds:
            problems.append(Problem("unknown_deduction_kind", "非技术性款项类别无效", "deductions"))
        if len(d.description) > 200:
            problems.append(Problem("too_long", "非技术性款项说明不能超过200个字符", "deductions"))
        amount_problem = _amount_problem(d.amount, "deductions")
        if amount_problem:
            problems.append(amount_problem)
        elif d.amount <= 0:
            problems.append(
                Problem("deduction_not_positive", "非技术性款项金额必须大于0", "deductions")
            )
    unknown = set(inp.extras) - EXTRA_FIELDS
    problems += [Problem("unknown_field_name", f"未知字段：{k}", k) for k in sorted(unknown)]
    return problems


def _values(inp: ContractInput) -> dict[str, Any]:
    """The column values a contract input writes (for the shape checks)."""
    data = inp.data
    values: dict[str, Any] = {
        "project_name": data.project_name,
        "contract_type": data.contract_type,
        "subtype": data.subtype,
        "turnover": data.turnover,
        "technical_amount": data.technical_amount,
        "tech_field": data.tech_field,
        "ip_type": data.ip_type,
        "plan_source": data.plan_source,
        "payment_mode": data.payment_mode,
        "intermediary_name": data.intermediary_name,
        "intermediary_region_code": data.intermediary_region_code,
    }
    for role, p in (("seller", data.seller), ("buyer", data.buyer)):
        values |= {
            f"{role}_name": p.name,
            f"{role}_credit_code": p.credit_code,
            f"{role}_nature": p.nature,
            f"{role}_country": p.country,
            f"{role}_region_code": p.region_code,
        }
    values |= {k: v for k, v in inp.extras.items() if k in EXTRA_FIELDS}
    return values


def _draft_problems(inp: ContractInput) -> list[Problem]:
    """What even a draft must satisfy: the columns' shapes and the database's invariants."""
    values = _values(inp)
    problems = _shape_problems(inp, values)
    named = {p.field for p in problems}
    for name, value in values.items():
        column = _column(name)
        choices = {str(k) for k, _label in column.choices or ()}
        if choices and value and str(value) not in choices and name not in named:
            problems.append(Problem("unknown_choice", f"{column.verbose_name}取值无效", name))
    data = inp.data
    if "turnover" not in named and data.turnover <= 0:
        problems.append(Problem("turnover_not_positive", "成交额必须大于0", "turnover"))
    if "technical_amount" not in named and data.technical_amount <= 0:
        problems.append(
            Problem("technical_not_positive", "技术交易额必须大于0", "technical_amount")
        )
    elif not named & {"turnover", "technical_amount"} and data.technical_amount > data.turnover:
        problems.append(
            Problem("technical_exceeds_turnover", "技术交易额不能大于成交额", "technical_amount")
        )
    if data.valid_from and data.valid_to and data.valid_from > data.valid_to:
        problems.append(Problem("validity_order", "有效期起不能晚于有效期止", "valid_to"))
    return problems


def _check(inp: ContractInput, ctx: RuleContext, *, exclude_pk: int | None = None) -> None:
    """Raise ValidationFailed with every problem, including duplicates."""
    shape = _shape_problems(inp, _values(inp))
    if shape:
        raise ValidationFailed("合同信息有误，不予登记", problems=shape)
    deductions = tuple(d.amount for d in inp.deductions)
    data = replace(inp.data, deductions=deductions)
    problems = contract_problems(data, ctx)
    if not problems:
        others = TechContract.objects.exclude(pk=exclude_pk or 0)
        dupes = others.filter(dedupe_key=dedupe_key(data), status__in=ACTIVE_STATUSES)
        if dupes.exists():
            problems.append(
                Problem(
                    "duplicate_contract",
                    "同一合同（双方、项目名称、签订日期、成交额相同）已提交或登记",
                    "project_name",
                )
            )
        number = data.registration_number
        if number and others.filter(registration_number=number).exists():
            problems.append(
                Problem("duplicate_number", "合同登记编号已存在", "registration_number")
            )
    if problems:
        raise ValidationFailed("合同信息有误，不予登记", problems=problems)


def _link_organisation(code: str) -> Organisation | None:
    return Organisation.objects.filter(credit_code=code).first() if code else None


def _write(
    contract: TechContract,
    inp: ContractInput,
    ctx: RuleContext,
    *,
    submitter: tuple[Organisation, Any] | None = None,
) -> TechContract:
    """Write the contract, its links (in the caller's transaction) and its deductions.

    `submitter` (organisation, actor) sets who submits it; without, those links are kept
    (an amendment). The parties' organisations are linked again by credit code.
    """
    for name, value in contract_fields(inp.data, ctx).items():
        setattr(contract, name, value)
    for name, value in inp.extras.items():
        setattr(contract, name, value)
    new = contract._state.adding
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:
        raise Conflict("同一合同已提交或登记", code="duplicate_contract") from exc
    _write_links(contract, None if new else contract.linked, inp, submitter)
    contract.deductions.all().delete()
    ContractDeduction.objects.bulk_create(
        ContractDeduction(
            contract=contract, kind=d.kind, amount=d.amount, description=d.description
        )
        for d in inp.deductions
    )
    return contract


def _write_links(
    contract: TechContract,
    links: ContractLinks | None,
    inp: ContractInput,
    submitter: tuple[Organisation, Any] | None,
) -> None:
    """Create, update or (with no link left) delete the contract's ContractLinks row."""
    links = links or ContractLinks(contract=contract)
    if submitter is not None:
        organisation, actor = submitter
        links.organisation = organisation
        links.submitted_by = actor if getattr(actor, "pk", None) else None
    links.seller_organisation = _link_organisation(inp.data.seller.credit_code)
    links.buyer_organisation = _link_organisation(inp.data.buyer.credit_code)
    ids = (
        links.organisation_id,
        links.seller_organisation_id,
        links.buyer_organisation_id,
        links.submitted_by_id,
    )
    if any(i is not None for i in ids):
        links.save()
    elif not links._state.adding:
        links.delete()
        contract.links = None


@transaction.atomic
def save_draft(
    *,
    actor: Any,
    organisation: Organisation,
    inp: ContractInput,
    contract: TechContract | None = None,
) -> TechContract:
    """Keep an unfinished contract as a draft of `organisation` (no registration checks).

    With `contract`, the draft (or a rejected contract, which becomes a draft again) is
    overwritten; it must belong to `organisation`.
    """
    require(actor, Action.SUBMIT_CONTRACT, Target(organisation_id=organisation.pk))
    ctx = rule_context()
    if contract is not None:
        contract = TechContract.objects.select_for_update().get(pk=contract.pk)
        _refuse(_ownership_problems(contract, organisation))
        _refuse(transition_problems(contract.status, "submit"))
    # A draft still meets the database's invariants (amounts), so a bad one is refused early.
    problems = _draft_problems(inp)
    if problems:
        raise ValidationFailed("草稿信息有误，无法保存", problems=problems)
    contract = contract or TechContract()
    contract.status = ContractStatus.DRAFT
    _write(contract, inp, ctx, submitter=(organisation, actor))
    audit(actor=actor, action="contract.draft", obj=contract)
    return contract


def _ownership_problems(contract: TechContract, organisation: Organisation) -> list[Problem]:
    if contract.submitting_organisation_id == organisation.pk:
        return []
    return [Problem("wrong_organisation", "该合同不属于此机构", "organisation")]


def input_of(contract: TechContract) -> ContractInput:
    """A stored contract as the input that would write it again (resubmit, amend, forms)."""
    data = ContractData(
        project_name=contract.project_name,
        contract_type=contract.contract_type,
        subtype=contract.subtype,
        seller=PartyData(
            contract.seller_name,
            contract.seller_credit_code,
            contract.seller_nature,
            contract.seller_country,
            contract.seller_region_code,
        ),
        buyer=PartyData(
            contract.buyer_name,
            contract.buyer_credit_code,
            contract.buyer_nature,
            contract.buyer_country,
            contract.buyer_region_code,
        ),
        turnover=contract.turnover,
        technical_amount=contract.technical_amount,
        signing_date=contract.signing_date,
        tech_field=contract.tech_field,
        ip_type=contract.ip_type,
        plan_source=contract.plan_source,
        payment_mode=contract.payment_mode,
        valid_from=contract.valid_from,
        valid_to=contract.valid_to,
        ip_valid_until=contract.ip_valid_until,
        intermediary_name=contract.intermediary_name,
        intermediary_region_code=contract.intermediary_region_code,
    )
    deductions = [
        Deduction(d.kind, d.amount, d.description) for d in contract.deductions.order_by("id")
    ]
    extras = {name: getattr(contract, name) for name in sorted(EXTRA_FIELDS)}
    return ContractInput(data=data, deductions=deductions, extras=extras)


@transaction.atomic
def submit_contract(
    *,
    actor: Any,
    organisation: Organisation,
    inp: ContractInput,
    contract: TechContract | None = None,
) -> TechContract:
    """Submit a contract for registration (new, or a draft/rejected one resubmitted)."""
    require(actor, Action.SUBMIT_CONTRACT, Target(organisation_id=organisation.pk))
    ctx = rule_context()
    if contract is not None:
        contract = TechContract.objects.select_for_update().get(pk=contract.pk)
        _refuse(_ownership_problems(contract, organisation))
        _refuse(transition_problems(contract.status, "submit"))
    _check(inp, ctx, exclude_pk=contract.pk if contract else None)
    contract = contract or TechContract()
    contract.status = ContractStatus.SUBMITTED
    contract.rejection_reasons = []
    inp = replace(inp, data=replace(inp.data, registration_number=""))
    _write(contract, inp, ctx, submitter=(organisation, actor))
    audit(actor=actor, action="contract.submit", obj=contract)
    return contract


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise Conflict(problems[0].message, problems=problems)


def _locked(contract: TechContract, actor: Any, action: str) -> TechContract:
    locked = TechContract.objects.select_for_update().get(pk=contract.pk)
    require(actor, Action.REVIEW_CONTRACT, Target(region_code=locked.registration_region))
    _refuse(transition_problems(locked.status, action))
    return locked


def next_registration_number(*, region: str, year: int, count: int = 1) -> list[str]:
    """Hand out `count` fresh registration numbers for a province and year (row-locked serial)."""
    fmt = number_format()
    point = int(getattr(settings, "CONTRACT_REGISTRATION_POINT", 1))
    prefix = format_registration_number(fmt, year=year, region=region[:4], point=point, serial=0)
    serial, _ = RegistrationSerial.objects.select_for_update().get_or_create(prefix=prefix)
    out: list[str] = []
    last = serial.last
    while len(out) < count:
        need = count - len(out)
        candidates = [
            format_registration_number(fmt, year=year, region=region[:4], point=point, serial=s)
            for s in range(last + 1, last + need + 1)
        ]
        if last + need > 999_999:
            raise Conflict("本年度登记编号已用尽", code="numbers_exhausted")
        taken = set(
            TechContract.objects.filter(registration_number__in=candidates).values_list(
                "registration_number", flat=True
            )
        )
        out += [c for c in candidates if c not in taken]
        last += need
    RegistrationSerial.objects.filter(pk=serial.pk).update(last=last)
    return out


@transaction.atomic
def register_contract(
    *, actor: Any, contract: TechContract, registration_date: date | None = None
) -> TechContract:
    """Register a submitted contract: assign its unique 16-digit number, count it in the stats."""
    contract = _locked(contract, actor, "register")
    when = registration_date or clock.today()
    if when < contract.signing_date:
        raise ValidationFailed(
            "登记日期不能早于签订日期",
            problems=[
                Problem(
                    "registered_before_signing", "登记日期不能早于签订日期", "registration_date"
                )
            ],
        )
    contract.registration_number = next_registration_number(
        region=contract.registration_region, year=when.year
    )[0]
    contract.registration_date = when
    contract.status = ContractStatus.REGISTERED
    contract.save()
    rollup.apply_contract(contract, +1)
    audit(
        actor=actor,
        action="contract.register",
        obj=contract,
        data={
            "number": contract.registration_number,
            "expert_review": contract.needs_expert_review,
        },
    )
    return contract


@transaction.atomic
def reject_contract(*, actor: Any, contract: TechContract, reasons: Sequence[str]) -> TechContract:
    """Refuse registration (不予登记) with at least one reason."""
    clean = [r.strip() for r in reasons if r and r.strip()]
    if not clean:
        raise ValidationFailed(
            "请填写不予登记的理由",
            problems=[Problem("reason_required", "请填写不予登记的理由", "reasons")],
        )
    contract = _locked(contract, actor, "reject")
    contract.status = ContractStatus.REJECTED
    contract.rejection_reasons = clean
    contract.save(update_fields=["status", "rejection_reasons", "updated_at"])
    audit(actor=actor, action="contract.reject", obj=contract, reason="；".join(clean))
    return contract


@transaction.atomic
def amend_contract(
    *, actor: Any, contract: TechContract, inp: ContractInput, reason: str
) -> TechContract:
    """Change a registered contract (变更登记): re-checked, statistics moved, number kept."""
    if not reason.strip():
        raise ValidationFailed(
            "请填写变更理由", problems=[Problem("reason_required", "请填写变更理由", "reason")]
        )
    contract = _locked(contract, actor, "amend")
    ctx = rule_context()
    data = replace(
        inp.data,
        registration_number=contract.registration_number or "",
        registration_date=contract.registration_date,
        registration_region=contract.registration_region,
    )
    inp = replace(inp, data=data)
    _check(inp, ctx, exclude_pk=contract.pk)
    before = {f: str(getattr(contract, f)) for f in rollup.FACT_FIELDS}
    rollup.apply_contract(contract, -1)
    _write(contract, inp, ctx)
    contract.status = ContractStatus.AMENDED
    contract.revision = F("revision") + 1
    contract.save(update_fields=["status", "revision", "updated_at"])
    contract.refresh_from_db()
    rollup.apply_contract(contract, +1)
    changed = {
        f: [before[f], str(getattr(contract, f))]
        for f in rollup.FACT_FIELDS
        if before[f] != str(getattr(contract, f))
    }
    audit(actor=actor, action="contract.amend", obj=contract, reason=reason, data=changed)
    return contract


@transaction.atomic
def cancel_contract(*, actor: Any, contract: TechContract, reason: str) -> TechContract:
    """Cancel a registration (注销): the contract leaves the statistics; the record stays."""
    if not reason.strip():
        raise ValidationFailed(
            "请填写注销理由", problems=[Problem("reason_required", "请填写注销理由", "reason")]
        )
    contract = _locked(contract, actor, "cancel")
    rollup.apply_contract(contract, -1)
    contract.status = ContractStatus.CANCELLED
    contract.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action="contract.cancel", obj=contract, reason=reason)
    return contract


def party(
    name: str,
    credit_code: str = "",
    nature: str = "150",
    country: str = "156",
    region_code: str = "",
) -> PartyData:
    """Shorthand for a PartyData (forms, API and tests)."""
    return PartyData(name, credit_code.strip().upper(), nature, country, region_code)


# The flat field names of a contract input, as forms and the API name them (and as problems do).
PARTY_KEYS = ("name", "credit_code", "nature", "country", "region_code")
DATA_FIELDS = (
    "project_name",
    "contract_type",
    "subtype",
    "rule_version",
    "signing_date",
    "valid_from",
    "valid_to",
    "turnover",
    "technical_amount",
    "tech_field",
    "ip_type",
    "ip_valid_until",
    "plan_source",
    "payment_mode",
    "intermediary_name",
    "intermediary_region_code",
)
PARTY_FIELDS = tuple(f"{role}_{key}" for role in ("seller", "buyer") for key in PARTY_KEYS)
INPUT_FIELDS = DATA_FIELDS + PARTY_FIELDS + tuple(sorted(EXTRA_FIELDS))
REQUIRED_FIELDS = {
    "signing_date": "签订日期",
    "turnover": "成交额",
    "technical_amount": "技术交易额",
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def input_from_fields(
    values: dict[str, Any], deductions: Sequence[Deduction] = ()
) -> ContractInput:
    """Build a contract input from flat field values (form or API); missing text is blank."""
    missing = [
        Problem("required", f"请填写{label}", name)
        for name, label in REQUIRED_FIELDS.items()
        if values.get(name) in (None, "")
    ]
    if missing:
        raise ValidationFailed("合同信息不完整", problems=missing)

    def party_of(role: str) -> PartyData:
        return party(
            _text(values.get(f"{role}_name")),
            _text(values.get(f"{role}_credit_code")),
            _text(values.get(f"{role}_nature")),
            _text(values.get(f"{role}_country")) or "156",
            _text(values.get(f"{role}_region_code")).strip(),
        )

    data = ContractData(
        project_name=_text(values.get("project_name")),
        contract_type=_text(values.get("contract_type")),
        subtype=_text(values.get("subtype")),
        seller=party_of("seller"),
        buyer=party_of("buyer"),
        turnover=values["turnover"],
        technical_amount=values["technical_amount"],
        signing_date=values["signing_date"],
        tech_field=_text(values.get("tech_field")),
        ip_type=_text(values.get("ip_type")),
        plan_source=_text(values.get("plan_source")),
        payment_mode=_text(values.get("payment_mode")),
        rule_version=values.get("rule_version") or None,
        valid_from=values.get("valid_from"),
        valid_to=values.get("valid_to"),
        ip_valid_until=values.get("ip_valid_until"),
        intermediary_name=_text(values.get("intermediary_name")),
        intermediary_region_code=_text(values.get("intermediary_region_code")).strip(),
    )
    extras: dict[str, Any] = {}
    for name in EXTRA_FIELDS:
        column = _column(name)
        value = values.get(name)
        if column.get_internal_type() == "BooleanField":
            extras[name] = bool(value)
        elif isinstance(column, DecimalField):
            extras[name] = value if value not in ("", None) else None
        else:
            extras[name] = _text(value)
    return ContractInput(data=data, deductions=list(deductions), extras=extras)


def fields_of(inp: ContractInput) -> dict[str, Any]:
    """The flat field values of a contract input (the inverse of `input_from_fields`)."""
    data = inp.data
    out: dict[str, Any] = {name: getattr(data, name) for name in DATA_FIELDS}
    for role, p in (("seller", data.seller), ("buyer", data.buyer)):
        out |= {f"{role}_{key}": getattr(p, key) for key in PARTY_KEYS}
    out |= {name: inp.extras.get(name) for name in sorted(EXTRA_FIELDS)}
    return out
