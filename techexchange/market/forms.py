"""Forms of the market pages: parse what people type; services report problems by field."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from techexchange.core.errors import DomainError
from techexchange.market.codes import (
    AssessmentDecision,
    CooperationMode,
    DeclineReason,
    ListingKind,
    PartnerType,
    SelectionMode,
    TechField,
    Tier,
)
from techexchange.market.services import ChallengeInput, ListingInput


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


# -- open challenges -------------------------------------------------------------------------


def _rows(text: str, width: int) -> list[list[str]]:
    """Non-empty lines split on '|' (or the full-width '｜') into exactly `width` cells."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.replace("｜", "|").split("|")]
        if len(cells) != width:
            raise forms.ValidationError(
                _("第%(n)d行应有%(w)d项，用“|”分隔"), params={"n": len(out) + 1, "w": width}
            )
        out.append(cells)
    return out


def _org_choices(orgs: Sequence[tuple[int, str]]) -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in orgs]


class ChallengeForm(ProblemFormMixin):
    """A draft open challenge (揭榜挂帅): the sponsor's key problem, objectives and milestones."""

    sponsor = forms.ChoiceField(label=_("发榜方"))
    programme = forms.CharField(label=_("专项（计划）"), max_length=120, required=False)
    title_zh = forms.CharField(label=_("榜单名称"), max_length=120)
    title_en = forms.CharField(label=_("英文名称"), max_length=200, required=False)
    tech_field = forms.ChoiceField(
        label=_("技术领域"), choices=[("", "—"), *TechField.choices], required=False
    )
    problem = forms.CharField(
        label=_("关键问题"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    end_user = forms.ChoiceField(label=_("用户单位"), required=False)
    co_funders = forms.MultipleChoiceField(
        label=_("联合出资方"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    objectives = forms.CharField(
        label=_("量化考核指标"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("每行一项：指标 | 目标值 | 验证方式 | 权重（%），权重之和为100"),
    )
    reward = forms.DecimalField(
        label=_("榜单金额（元）"), max_digits=16, decimal_places=2, min_value=0
    )
    funding_model = forms.CharField(label=_("资助方式"), max_length=200, required=False)
    selection_mode = forms.ChoiceField(label=_("遴选方式"), choices=SelectionMode.choices)
    max_teams = forms.IntegerField(label=_("入选团队数"), min_value=1, max_value=3, initial=1)
    milestones = forms.CharField(
        label=_("里程碑"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一个节点：名称 | 自立项起月数 | 拨付比例（%），比例之和为100"),
    )
    eligibility = forms.CharField(
        label=_("揭榜条件"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        initial=_("不设年龄、学历、职称限制，具备攻关能力的团队均可揭榜。"),
    )
    ip_terms = forms.CharField(
        label=_("知识产权约定"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    deadline = forms.DateTimeField(
        label=_("揭榜截止"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(
        self,
        *args: Any,
        sponsors: Sequence[tuple[int, str]] = (),
        organisations: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].choices = _org_choices(sponsors)  # type: ignore[attr-defined]
        others = _org_choices(organisations)
        self.fields["end_user"].choices = [("", "—"), *others]  # type: ignore[attr-defined]
        self.fields["co_funders"].choices = others  # type: ignore[attr-defined]

    def clean_objectives(self) -> list[dict[str, Any]]:
        """Lines of metric | target | verification | weight."""
        rows = _rows(self.cleaned_data["objectives"], 4)
        out = []
        for metric, target, verification, weight in rows:
            if not weight.isdigit():
                raise forms.ValidationError(_("权重须为整数：%(w)s"), params={"w": weight})
            out.append(
                {
                    "metric": metric,
                    "target": target,
                    "verification": verification,
                    "weight": int(weight),
                }
            )
        return out

    def clean_milestones(self) -> list[dict[str, Any]]:
        """Lines of title | months | payment share."""
        rows = _rows(self.cleaned_data["milestones"], 3)
        out = []
        for title, months, share in rows:
            if not title or not months.isdigit():
                raise forms.ValidationError(_("每个节点须有名称和整数月数"))
            try:
                value = Decimal(share.rstrip("%％"))
            except InvalidOperation:
                raise forms.ValidationError(
                    _("拨付比例须为数字：%(s)s"), params={"s": share}
                ) from None
            out.append({"title": title, "months": int(months), "payment_share": value})
        return out

    def challenge_input(self) -> ChallengeInput:
        """The cleaned data as the service's input."""
        d = self.cleaned_data
        return ChallengeInput(
            title_zh=d["title_zh"],
            title_en=d.get("title_en") or "",
            problem=d["problem"],
            reward=d["reward"],
            deadline=d["deadline"],
            tech_field=d.get("tech_field") or "",
            funding_model=d.get("funding_model") or "",
            eligibility=d.get("eligibility") or "",
            selection_mode=d["selection_mode"],
            max_teams=d["max_teams"],
            ip_terms=d.get("ip_terms") or "",
            programme=d.get("programme") or "",
            objectives=d["objectives"],
            milestones=d["milestones"],
            end_user_id=int(d["end_user"]) if d.get("end_user") else None,
            co_funder_ids=[int(x) for x in d.get("co_funders") or []],
        )


class PublishChallengeForm(ProblemFormMixin):
    """Publish a draft, naming the review experts by user name."""

    experts = forms.CharField(
        label=_("评审专家（用户名，逗号分隔）"), max_length=500, required=False
    )


class QuestionForm(ProblemFormMixin):
    """A question to the sponsor."""

    question = forms.CharField(
        label=_("问题"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AnswerForm(ProblemFormMixin):
    """The sponsor's public answer."""

    answer = forms.CharField(
        label=_("答复"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ApplicationForm(ProblemFormMixin):
    """Apply (揭榜): the team, the technical route and a milestone plan."""

    team = forms.CharField(
        label=_("团队成员"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一人：姓名 | 分工"),
    )
    route = forms.CharField(
        label=_("技术路线"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    milestone_plan = forms.CharField(
        label=_("里程碑计划"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_team(self) -> list[dict[str, str]]:
        """Lines of name | role (the role may be left out)."""
        out: list[dict[str, str]] = []
        for line in self.cleaned_data["team"].splitlines():
            if not line.strip():
                continue
            name, _sep, role = line.replace("｜", "|").partition("|")
            if not name.strip():
                raise forms.ValidationError(_("每行须有成员姓名"))
            out.append({"name": name.strip()[:60], "role": role.strip()[:60]})
        if not out:
            raise forms.ValidationError(_("请填写团队成员"))
        return out


class ReviewForm(ProblemFormMixin):
    """An expert's score with a conflict-of-interest declaration."""

    score = forms.IntegerField(label=_("评分（0–100）"), min_value=0, max_value=100)
    comment = forms.CharField(
        label=_("评审意见"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    conflict_declared = forms.BooleanField(label=_("本人申报存在利益冲突"), required=False)


class AssessmentForm(ProblemFormMixin):
    """A milestone assessment of one team: continue, merge into another team, or eliminate."""

    milestone = forms.TypedChoiceField(label=_("里程碑"), coerce=int)
    decision = forms.ChoiceField(label=_("结论"), choices=AssessmentDecision.choices)
    merge_into = forms.TypedChoiceField(
        label=_("并入团队"), coerce=int, required=False, empty_value=None
    )
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)

    def __init__(
        self,
        *args: Any,
        milestones: Sequence[tuple[int, str]] = (),
        teams: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].choices = _org_choices(milestones)  # type: ignore[attr-defined]
        self.fields["merge_into"].choices = [("", "—"), *_org_choices(teams)]  # type: ignore[attr-defined]


# -- listings, deals, notifications ----------------------------------------------------------


class AttachmentForm(ProblemFormMixin):
    """An attachment with its own disclosure tier: a text file, or text typed in."""

    name = forms.CharField(label=_("附件名称"), max_length=120)
    tier = forms.TypedChoiceField(label=_("可见层级"), choices=Tier.choices, coerce=int)
    file = forms.FileField(label=_("文件（UTF-8 文本）"), required=False)
    content = forms.CharField(
        label=_("或直接填写内容"),
        max_length=100_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        """The file's text wins over the typed content."""
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > 1_000_000:
                self.add_error("file", _("文件不能超过1 MB"))
                return data
            try:
                data["content"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("file", _("只能上传UTF-8编码的文本文件"))
        return data


class NdaForm(ProblemFormMixin):
    """A new version of the listing's NDA."""

    text = forms.CharField(
        label=_("保密协议文本"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )


class HandoverForm(ProblemFormMixin):
    """Hand a deal over to a broker of another sub-centre."""

    to_centre = forms.TypedChoiceField(label=_("接手分中心"), coerce=int)
    to_broker = forms.CharField(label=_("接手经纪人（用户名）"), max_length=150)
    note = forms.CharField(label=_("交接说明"), max_length=300, required=False)

    def __init__(self, *args: Any, centres: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_centre"].choices = _org_choices(centres)  # type: ignore[attr-defined]


class NextActionForm(ProblemFormMixin):
    """The deal's next action and its due date."""

    text = forms.CharField(label=_("下一步"), max_length=200)
    due = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class SavedSearchForm(ProblemFormMixin):
    """A saved search alerting on new listings."""

    kind = forms.ChoiceField(label=_("类型"), choices=ListingKind.choices)
    query = forms.CharField(label=_("检索词"), max_length=100)
    tech_field = forms.ChoiceField(
        label=_("技术领域"), choices=[("", "—"), *TechField.choices], required=False
    )
    province = forms.ChoiceField(label=_("省份"), choices=[("", "—"), *PROVINCES], required=False)
