"""Forms: parse what people type, hand it to one service, show its problems by field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from techexchange.accounts.codes import PartyNature, ReportCategory
from techexchange.accounts.services import OrganisationInput
from techexchange.core.errors import DomainError
from techexchange.regions.selectors import list_cities, list_provinces


def _province_choices() -> list[tuple[str, Any]]:
    return [("", _("全部省份"))] + [(r.code, r.name) for r in list_provinces()]


def _city_choices() -> list[tuple[str, Any]]:
    return [("", _("全部城市"))] + [(r.code, r.name) for r in list_cities()]


class ProblemFormMixin(forms.Form):
    """Puts a DomainError's problems onto the fields they name."""

    def add_problems(self, error: DomainError) -> None:
        """Attach each problem to its field (or to the form when it names none)."""
        for problem in error.problems or []:
            field = problem.field if problem.field in self.fields else None
            self.add_error(field, problem.message)
        if not error.problems:
            self.add_error(None, error.message)


class SignUpForm(ProblemFormMixin):
    """An organisation signs up with its credit code and its first administrator."""

    name_zh = forms.CharField(label=_("机构名称"), max_length=120)
    name_en = forms.CharField(label=_("英文名称"), max_length=200, required=False)
    credit_code = forms.CharField(
        label=_("统一社会信用代码"),
        max_length=30,
        help_text=_("18位，含校验码"),
    )
    party_nature = forms.ChoiceField(label=_("单位性质"), choices=PartyNature.choices)
    province = forms.ChoiceField(label=_("省份"), choices=())
    city = forms.ChoiceField(label=_("城市"), choices=(), required=False)
    is_sme = forms.BooleanField(label=_("中小企业"), required=False)
    username = forms.CharField(label=_("用户名"), max_length=150)
    email = forms.EmailField(label=_("电子邮箱"))
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["province"].choices = _province_choices()[1:]  # type: ignore[attr-defined]
        self.fields["city"].choices = [("", "—"), *_city_choices()[1:]]  # type: ignore[attr-defined]

    def organisation_input(self) -> OrganisationInput:
        """The organisation part of the cleaned data."""
        d = self.cleaned_data
        return OrganisationInput(
            name_zh=d["name_zh"],
            name_en=d.get("name_en", ""),
            credit_code=d["credit_code"],
            party_nature=d["party_nature"],
            province=d["province"],
            city=d.get("city", ""),
            is_sme=bool(d.get("is_sme")),
        )


class OrganisationFilterForm(forms.Form):
    """Filters of the organisation directory."""

    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    province = forms.ChoiceField(label=_("省份"), choices=(), required=False)
    city = forms.ChoiceField(label=_("城市"), choices=(), required=False)
    category = forms.ChoiceField(
        label=_("类型"),
        choices=[("", _("全部类型")), *ReportCategory.choices],
        required=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["province"].choices = _province_choices()  # type: ignore[attr-defined]
        self.fields["city"].choices = _city_choices()  # type: ignore[attr-defined]


class ApiTokenForm(forms.Form):
    """Name a new API token."""

    name = forms.CharField(label=_("令牌名称"), max_length=80)
