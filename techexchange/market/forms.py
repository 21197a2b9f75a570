"""Forms of the market pages: parse what people type; services report problems by field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from techexchange.core.errors import DomainError
from techexchange.market.codes import CooperationMode, DeclineReason, PartnerType, TechField
from techexchange.market.services import ListingInput


class ProblemFormMixin(forms.Form):
    """Puts a DomainError's problems onto the fields they name (as web.forms does)."""

    def add_problems(self, error: DomainError) -> None:
        """Attach each problem to its field (or to the form when it names none)."""
        for problem in error.problems or []:
            field = problem.field if problem.field in self.fields else None
            self.add_error(field, problem.message)
        if not error.problems:
            self.add_error(None, error.message)


PROVINCES = [
    ("310000", _("上海")),
    ("320000", _("江苏")),
    ("330000", _("浙江")),
    ("340000", _("安徽")),
]


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("，", ",").replace("、", ",").split(",") if w.strip()]


class ListingForm(ProblemFormMixin):
    """An offer or a request (the fields of the other kind are hidden by the template)."""

    title_zh = forms.CharField(label=_("标题"), max_length=100)
    title_en = forms.CharField(label=_("英文标题"), max_length=150, required=False)
    summary_zh = forms.CharField(
        label=_("摘要"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_zh = forms.CharField(
        label=_("详细描述（签署保密协议后可见）"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    tech_field = forms.ChoiceField(label=_("技术领域"), choices=[("", "—"), *TechField.choices])
    tech_keywords = forms.CharField(
        label=_("技术关键词（逗号分隔，最多5个）"), max_length=200, required=False
    )
    market_keywords = forms.CharField(label=_("市场关键词"), max_length=200, required=False)
    chain_node = forms.ChoiceField(
        label=_("产业链环节"),
        required=False,
        choices=[
            ("", "—"),
            ("材料", _("材料")),
            ("器件", _("器件")),
            ("模组", _("模组")),
            ("整机", _("整机")),
            ("应用", _("应用")),
        ],
    )
    cooperation_modes = forms.MultipleChoiceField(
        label=_("合作方式"),
        choices=CooperationMode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    partner_types = forms.MultipleChoiceField(
        label=_("合作伙伴类型"),
        choices=PartnerType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    target_regions = forms.MultipleChoiceField(
        label=_("优先地区"), choices=PROVINCES, required=False, widget=forms.CheckboxSelectMultiple
    )
    # offer
    maturity = forms.IntegerField(
        label=_("成熟度（TRL 1–9）"), min_value=1, max_value=9, required=False
    )
    ip_status = forms.ChoiceField(
        label=_("知识产权状态"),
        required=False,
        choices=[
            ("", "—"),
            ("none", _("无知识产权")),
            ("secret", _("技术秘密")),
            ("applied", _("已申请")),
            ("granted", _("已授权")),
        ],
    )
    price_min = forms.DecimalField(
        label=_("最低报价（元）"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    # request
    problem = forms.CharField(
        label=_("待解决问题"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    acceptance_test = forms.CharField(label=_("验收方式"), max_length=1000, required=False)
    maturity_min = forms.IntegerField(
        label=_("期望成熟度下限"), min_value=1, max_value=9, required=False
    )
    maturity_max = forms.IntegerField(
        label=_("期望成熟度上限"), min_value=1, max_value=9, required=False
    )
    budget_max = forms.DecimalField(
        label=_("预算（元）"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    contact_name = forms.CharField(label=_("联系人"), max_length=60, required=False)

    def listing_input(self) -> ListingInput:
        """The cleaned data as the service's input."""
        d: dict[str, Any] = dict(self.cleaned_data)
        d["tech_keywords"] = _words(d.get("tech_keywords") or "")
        d["market_keywords"] = _words(d.get("market_keywords") or "")
        d["ip_status"] = d.get("ip_status") or ""
        return ListingInput(**d)


class EoiForm(forms.Form):
    """An expression of interest."""

    message = forms.CharField(
        label=_("留言"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    intended_mode = forms.ChoiceField(
        label=_("意向合作方式"), choices=[("", "—"), *CooperationMode.choices], required=False
    )


class DeclineForm(forms.Form):
    """One-click decline reason."""

    reason = forms.ChoiceField(label=_("婉拒原因"), choices=DeclineReason.choices)
