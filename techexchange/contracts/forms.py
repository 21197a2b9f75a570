"""Forms of the contract pages: every field of the registration layout, deductions, reasons."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from techexchange.accounts.models import Organisation
from techexchange.contracts import services
from techexchange.contracts.codes import DeductionKind
from techexchange.contracts.models import TechContract
from techexchange.core.errors import DomainError

# The form's sections: a title and the fields it holds, in the order of the national form.
SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (
        _("合同基本信息"),
        (
            "project_name",
            "contract_type",
            "subtype",
            "licence_scope",
            "signing_date",
            "valid_from",
            "valid_to",
        ),
    ),
    *(
        (
            label,
            tuple(f"{role}_{k}" for k in services.PARTY_KEYS + services.PARTY_EXTRAS),
        )
        for role, label in (("seller", _("卖方")), ("buyer", _("买方")))
    ),
    (
        _("中介方"),
        ("intermediary_name", "intermediary_credit_code", "intermediary_region_code"),
    ),
    (_("金额"), ("turnover", "technical_amount")),
    (
        _("技术与知识产权"),
        ("tech_field", "ip_type", "ip_references", "ip_valid_until"),
    ),
    (
        _("其他"),
        (
            "plan_source",
            "payment_mode",
            "is_related_party",
            "socio_economic_objective",
            "expected_investment",
            "expected_output",
            "registration_body",
        ),
    ),
)
FORM_FIELDS = tuple(name for _title, names in SECTIONS for name in names)
# What even a draft needs (the database's invariants); the rest is checked on submission.
DRAFT_REQUIRED = frozenset(services.REQUIRED_FIELDS)


def _model_field(name: str) -> forms.Field:
    column = cast("models.Field[Any, Any]", TechContract._meta.get_field(name))
    field = column.formfield()
    assert field is not None
    field.required = name in DRAFT_REQUIRED
    if column.choices and isinstance(field, forms.ChoiceField):
        field.choices = [("", "—"), *column.choices]
    if isinstance(field, forms.DateField):
        field.widget = forms.DateInput(attrs={"type": "date"})
    return field


class ContractForm(forms.Form):
    """A technology contract as its organisation registers it (drafts keep what is typed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in FORM_FIELDS:
            self.fields[name] = _model_field(name)
        self.deduction_errors: list[str] = []

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The bound fields by section, for the template."""
        return [(title, [self[name] for name in names]) for title, names in SECTIONS]

    def add_problems(self, error: DomainError) -> None:
        """Attach each problem to its field; deductions go beside the deductions table."""
        for problem in error.problems or []:
            if problem.field == "deductions":
                self.deduction_errors.append(problem.message)
            elif problem.field in self.fields:
                self.add_error(problem.field, problem.message)
            else:
                self.add_error(None, problem.message)
        if not error.problems:
            self.add_error(None, error.message)


class DeductionForm(forms.Form):
    """One itemised non-technical item (equipment, materials, …) deducted from 成交额."""

    kind = forms.ChoiceField(label=_("类别"), choices=[("", "—"), *DeductionKind.choices])
    description = forms.CharField(label=_("说明"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=16, decimal_places=2)


DeductionFormSet = forms.formset_factory(DeductionForm, extra=3, max_num=20)


def deductions_of(formset: Any) -> list[services.Deduction]:
    """The filled rows of a valid deductions formset."""
    return [
        services.Deduction(f.cleaned_data["kind"], f.cleaned_data["amount"],
                           f.cleaned_data.get("description") or "")
        for f in formset.forms
        if f.cleaned_data and f.cleaned_data.get("amount") is not None
    ]  # fmt: skip


def initial_for(organisation: Organisation, role: str) -> dict[str, Any]:
    """The registering party pre-filled from the member's organisation (seller, or the buyer
    of a technology import)."""
    region = organisation.city_id or organisation.province_id or ""
    return {
        f"{role}_name": organisation.name_zh,
        f"{role}_credit_code": organisation.credit_code,
        f"{role}_nature": organisation.party_nature,
        f"{role}_country": "156",
        f"{role}_region_code": region,
        f"{role}_address": organisation.address,
        f"{role}_is_transfer_institution": organisation.is_transfer_institution,
        f"{role}_is_rnd_institution": organisation.is_rnd_institution,
        f"{role}_is_high_tech_zone": organisation.is_high_tech_zone,
        f"{role}_is_listed": organisation.is_listed,
        ("buyer" if role == "seller" else "seller") + "_country": "156",
    }


class ReasonForm(forms.Form):
    """A mandatory reason (amend, cancel)."""

    reason = forms.CharField(
        label=_("理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class AmendForm(ContractForm):
    """A registered contract's fields as changed by its registrar, and why."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = forms.CharField(
            label=_("变更理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
        )
