"""Technology market: listings (offers, requests), disclosure, interest, deals, challenges."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from techexchange.accounts.models import Organisation, TransferCentre
from techexchange.market.codes import (
    AchievementType,
    ApplicationStatus,
    AssessmentDecision,
    ChallengeStatus,
    DealStage,
    DeclineReason,
    EoiStatus,
    IpStatus,
    ListingKind,
    ListingStatus,
    NotificationEvent,
    SelectionMode,
    TechField,
    Tier,
    TransactionMode,
)
from techexchange.regions.models import Region

USER = settings.AUTH_USER_MODEL
MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


class Listing(models.Model):
    """What offers and requests share: bilingual texts, keywords, lifecycle and freshness."""

    kind = models.CharField(_("类型"), max_length=10, choices=ListingKind.choices)
    owner = models.ForeignKey(
        Organisation, verbose_name=_("发布机构"), on_delete=models.PROTECT, related_name="listings"
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+"
    )
    centre = models.ForeignKey(
        TransferCentre,
        verbose_name=_("受理分中心"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="listings",
    )
    title_zh = models.CharField(_("标题"), max_length=100)
    title_en = models.CharField(_("英文标题"), max_length=150, blank=True)
    summary_zh = models.TextField(_("摘要"), max_length=500, blank=True)
    summary_en = models.TextField(_("英文摘要"), max_length=800, blank=True)
    description_zh = models.TextField(_("详细描述"), max_length=4000, blank=True)
    description_en = models.TextField(_("英文详细描述"), max_length=6000, blank=True)
    tech_field = models.CharField(
        _("技术领域"), max_length=30, choices=TechField.choices, blank=True
    )
    tech_keywords = models.JSONField(_("技术关键词"), default=list, blank=True)
    market_keywords = models.JSONField(_("市场关键词"), default=list, blank=True)
    chain = models.CharField(_("产业链"), max_length=40, blank=True)
    chain_node = models.CharField(_("产业链环节"), max_length=40, blank=True)
    cooperation_modes = models.JSONField(_("合作方式"), default=list, blank=True)
    transaction_mode = models.CharField(
        _("交易方式"), max_length=12, choices=TransactionMode.choices, blank=True
    )
    partner_types = models.JSONField(_("合作伙伴类型"), default=list, blank=True)
    target_regions = models.JSONField(_("目标地区"), default=list, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=60, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=ListingStatus.choices, default=ListingStatus.DRAFT
    )
    open_for_eoi = models.BooleanField(_("接受合作意向"), default=True)
    review_findings = models.JSONField(_("审核意见"), default=list, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    first_published_at = models.DateTimeField(_("首次发布时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    valid_until = models.DateTimeField(_("有效期至"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)
    last_confirmed_at = models.DateTimeField(_("最近确认有效"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    is_synthetic = models.BooleanField(_("演示数据"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("技术供需信息")
        verbose_name_plural = _("技术供需信息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "status"], name="listing_kind_status_idx"),
            models.Index(fields=["owner"], name="listing_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(valid_until__isnull=False),
                name="listing_published_has_validity",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """The title in the active language (Chinese when no English one is given)."""
        lang = get_language() or "zh-hans"
        return self.title_en if lang.startswith("en") and self.title_en else self.title_zh

    @property
    def summary(self) -> str:
        """The summary in the active language."""
        lang = get_language() or "zh-hans"
        return self.summary_en if lang.startswith("en") and self.summary_en else self.summary_zh

    @property
    def description(self) -> str:
        """The description in the active language."""
        lang = get_language() or "zh-hans"
        en = lang.startswith("en") and self.description_en
        return self.description_en if en else self.description_zh


class TechnologyOffer(Listing):
    """A technology offer (科技成果): a result its owner will transfer, license or develop."""

    maturity = models.PositiveSmallIntegerField(_("成熟度（TRL）"), null=True, blank=True)
    ip_status = models.CharField(
        _("知识产权状态"), max_length=10, choices=IpStatus.choices, blank=True
    )
    achievement_type = models.CharField(
        _("成果类型"), max_length=20, choices=AchievementType.choices, blank=True
    )
    patent_numbers = models.CharField(_("专利号"), max_length=300, blank=True)
    completion_date = models.DateField(_("完成时间"), null=True, blank=True)
    funding_source = models.CharField(_("资助来源"), max_length=120, blank=True)
    price_min = models.DecimalField(_("最低报价（元）"), null=True, blank=True, **MONEY)
    price_max = models.DecimalField(_("最高报价（元）"), null=True, blank=True, **MONEY)

    class Meta:
        verbose_name = _("科技成果")
        verbose_name_plural = _("科技成果")
        constraints = [
            models.CheckConstraint(
                condition=Q(maturity__isnull=True) | Q(maturity__gte=1, maturity__lte=9),
                name="offer_trl_1_to_9",
            ),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True)
                | Q(price_max__isnull=True)
                | Q(price_min__lte=models.F("price_max")),
                name="offer_price_range_ordered",
            ),
        ]


class TechnologyRequest(Listing):
    """A technology request (技术需求): a problem with targets, an acceptance test and a budget."""

    problem = models.TextField(_("待解决问题"), max_length=2000, blank=True)
    targets = models.JSONField(_("量化指标"), default=list, blank=True)
    acceptance_test = models.TextField(_("验收方式"), max_length=1000, blank=True)
    constraints_text = models.TextField(_("约束条件"), max_length=1000, blank=True)
    maturity_min = models.PositiveSmallIntegerField(_("期望成熟度下限"), null=True, blank=True)
    maturity_max = models.PositiveSmallIntegerField(_("期望成熟度上限"), null=True, blank=True)
    acceptable_ip = models.JSONField(_("可接受知识产权状态"), default=list, blank=True)
    budget_min = models.DecimalField(_("预算下限（元）"), null=True, blank=True, **MONEY)
    budget_max = models.DecimalField(_("预算上限（元）"), null=True, blank=True, **MONEY)

    class Meta:
        verbose_name = _("技术需求")
        verbose_name_plural = _("技术需求")
        constraints = [
            models.CheckConstraint(
                condition=Q(maturity_min__isnull=True)
                | Q(maturity_max__isnull=True)
                | Q(maturity_min__lte=models.F("maturity_max")),
                name="request_maturity_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(budget_min__isnull=True)
                | Q(budget_max__isnull=True)
                | Q(budget_min__lte=models.F("budget_max")),
                name="request_budget_ordered",
            ),
        ]


class NdaVersion(models.Model):
    """A version of the owner's non-disclosure agreement for one listing."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="nda_versions")
    version = models.PositiveIntegerField(_("版本"))
    text = models.TextField(_("保密协议文本"), max_length=8000)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("保密协议版本")
        verbose_name_plural = _("保密协议版本")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "version"], name="nda_version_unique"),
        ]

    def __str__(self) -> str:
        return f"NDA v{self.version} · {self.listing_id}"


class NdaAcceptance(models.Model):
    """An organisation accepted one NDA version: its members see full details until revoked."""

    nda = models.ForeignKey(NdaVersion, on_delete=models.PROTECT, related_name="acceptances")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="nda_acceptances")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    accepted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(_("签署时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("保密协议签署")
        verbose_name_plural = _("保密协议签署")
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "organisation"],
                condition=Q(revoked_at__isnull=True),
                name="nda_one_active_acceptance_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} accepted {self.nda}"


class Attachment(models.Model):
    """A document attached to a listing, with its own disclosure tier."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("名称"), max_length=120)
    tier = models.PositiveSmallIntegerField(_("可见层级"), choices=Tier.choices, default=Tier.FULL)
    content = models.TextField(_("内容"), max_length=20000)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class AccessLog(models.Model):
    """One access to protected content (full details or a protected attachment)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="access_logs")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    what = models.CharField(_("访问内容"), max_length=60)
    channel = models.CharField(_("渠道"), max_length=10)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("访问记录")
        verbose_name_plural = _("访问记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.what} {self.at:%Y-%m-%d %H:%M}"


class ChallengeProgramme(models.Model):
    """A programme of open challenges (e.g. a province's 揭榜挂帅 round)."""

    name_zh = models.CharField(_("名称"), max_length=120)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("年度"))

    class Meta:
        verbose_name = _("揭榜挂帅专项")
        verbose_name_plural = _("揭榜挂帅专项")

    def __str__(self) -> str:
        return self.name_zh


class Challenge(models.Model):
    """An open challenge: a key problem with quantified objectives, reward and deadline."""

    programme = models.ForeignKey(
        ChallengeProgramme,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="challenges",
    )
    title_zh = models.CharField(_("榜单名称"), max_length=120)
    title_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    sponsor = models.ForeignKey(
        Organisation, verbose_name=_("发榜方"), on_delete=models.PROTECT, related_name="+"
    )
    end_user = models.ForeignKey(
        Organisation,
        verbose_name=_("用户单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    co_funders = models.ManyToManyField(
        Organisation, verbose_name=_("联合出资方"), blank=True, related_name="+"
    )
    experts: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        USER, verbose_name=_("评审专家"), blank=True, related_name="+"
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    problem = models.TextField(_("关键问题"), max_length=4000)
    tech_field = models.CharField(
        _("技术领域"), max_length=30, choices=TechField.choices, blank=True
    )
    reward = models.DecimalField(_("榜单金额（元）"), **MONEY)
    funding_model = models.CharField(_("资助方式"), max_length=200, blank=True)
    eligibility = models.TextField(
        _("揭榜条件"), max_length=2000, blank=True, help_text=_("默认不设年龄、学历、职称限制")
    )
    selection_mode = models.CharField(
        _("遴选方式"), max_length=10, choices=SelectionMode.choices, default=SelectionMode.SINGLE
    )
    max_teams = models.PositiveSmallIntegerField(_("入选团队数"), default=1)
    ip_terms = models.TextField(_("知识产权约定"), max_length=2000, blank=True)
    deadline = models.DateTimeField(_("揭榜截止"))
    status = models.CharField(
        _("状态"), max_length=12, choices=ChallengeStatus.choices, default=ChallengeStatus.DRAFT
    )
    is_synthetic = models.BooleanField(_("演示数据"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("揭榜挂帅榜单")
        verbose_name_plural = _("揭榜挂帅榜单")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(selection_mode="single", max_teams=1)
                | Q(selection_mode="parallel", max_teams__gte=2, max_teams__lte=3),
                name="challenge_team_count_fits_mode",
            ),
            models.CheckConstraint(condition=Q(reward__gte=0), name="challenge_reward_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """The title in the active language."""
        lang = get_language() or "zh-hans"
        return self.title_en if lang.startswith("en") and self.title_en else self.title_zh


class ChallengeObjective(models.Model):
    """A quantified objective with its verification method and weight."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="objectives")
    metric = models.CharField(_("指标"), max_length=120)
    target = models.CharField(_("目标值"), max_length=60)
    verification = models.CharField(_("验证方式"), max_length=200)
    weight = models.PositiveSmallIntegerField(_("权重（%）"))

    class Meta:
        verbose_name = _("考核指标")
        verbose_name_plural = _("考核指标")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.metric} {self.target}"


class MilestoneTemplate(models.Model):
    """A milestone every selected team runs through, with its share of the reward."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="milestones")
    order = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("节点"), max_length=120)
    months = models.PositiveSmallIntegerField(_("自立项起月数"))
    payment_share = models.DecimalField(_("拨付比例（%）"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("里程碑")
        verbose_name_plural = _("里程碑")
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "order"], name="milestone_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class ChallengeQuestion(models.Model):
    """A question on a challenge; the answer is visible to every applicant."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="questions")
    asked_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    question = models.TextField(_("问题"), max_length=1000)
    answer = models.TextField(_("答复"), max_length=2000, blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    asked_at = models.DateTimeField(_("提问时间"))

    class Meta:
        verbose_name = _("答疑")
        verbose_name_plural = _("答疑")
        ordering = ["asked_at", "id"]

    def __str__(self) -> str:
        return self.question[:40]


class ChallengeApplication(models.Model):
    """A team's application: team, technical route and milestone plan."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="applications")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("揭榜单位"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    team = models.JSONField(_("团队成员"), default=list)
    route = models.TextField(_("技术路线"), max_length=4000)
    milestone_plan = models.TextField(_("里程碑计划"), max_length=2000, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=14,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("揭榜时间"))
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("验收时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("揭榜申请")
        verbose_name_plural = _("揭榜申请")
        ordering = ["submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "organisation"], name="application_one_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} → {self.challenge_id}"


class ExpertReview(models.Model):
    """An expert's score of an application, with a conflict-of-interest declaration."""

    application = models.ForeignKey(
        ChallengeApplication, on_delete=models.CASCADE, related_name="reviews"
    )
    expert = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("评分"))
    comment = models.TextField(_("评审意见"), max_length=2000, blank=True)
    conflict_declared = models.BooleanField(_("申报利益冲突"), default=False)
    conflict_flagged = models.BooleanField(_("系统识别利益冲突"), default=False)
    reviewed_at = models.DateTimeField(_("评审时间"))

    class Meta:
        verbose_name = _("专家评审")
        verbose_name_plural = _("专家评审")
        constraints = [
            models.UniqueConstraint(fields=["application", "expert"], name="review_one_per_expert"),
            models.CheckConstraint(condition=Q(score__lte=100), name="review_score_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.expert_id}: {self.score}"


class MilestoneAssessment(models.Model):
    """A milestone assessment of a selected team: continue, merge or eliminate."""

    application = models.ForeignKey(
        ChallengeApplication, on_delete=models.CASCADE, related_name="assessments"
    )
    milestone = models.ForeignKey(MilestoneTemplate, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(_("结论"), max_length=10, choices=AssessmentDecision.choices)
    note = models.TextField(_("说明"), max_length=2000, blank=True)
    assessed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(_("评估时间"))

    class Meta:
        verbose_name = _("里程碑评估")
        verbose_name_plural = _("里程碑评估")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "milestone"], name="assessment_one_per_milestone"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} @ {self.milestone_id}: {self.decision}"


class MilestonePayment(models.Model):
    """Money paid to a team for a passed milestone."""

    application = models.ForeignKey(
        ChallengeApplication, on_delete=models.CASCADE, related_name="payments"
    )
    milestone = models.ForeignKey(MilestoneTemplate, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("金额（元）"), **MONEY)
    paid_at = models.DateTimeField(_("拨付时间"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("节点拨付")
        verbose_name_plural = _("节点拨付")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "milestone"], name="payment_one_per_milestone"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.amount}"


class MatchRecommendation(models.Model):
    """A stored recommendation: a candidate listing for a need, with components and reason."""

    need = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="recommendations")
    candidate = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("名次"))
    score = models.FloatField(_("匹配度"))
    components = models.JSONField(_("得分构成"), default=list)
    reason_zh = models.CharField(_("推荐理由"), max_length=300)
    reason_en = models.CharField(_("英文推荐理由"), max_length=400)
    computed_at = models.DateTimeField(_("计算时间"))
    alerted_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("匹配推荐")
        verbose_name_plural = _("匹配推荐")
        ordering = ["need", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["need", "candidate"], name="recommendation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.need_id} → {self.candidate_id} ({self.score:.2f})"

    @property
    def reason(self) -> str:
        """The reason in the active language."""
        lang = get_language() or "zh-hans"
        return self.reason_en if lang.startswith("en") and self.reason_en else self.reason_zh


class MatchWeights(models.Model):
    """The matcher's stored component weights, nudged by accepted and declined matches."""

    name = models.CharField(max_length=30, unique=True, default="default")
    weights = models.JSONField(default=dict)
    events = models.PositiveIntegerField(_("反馈次数"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("匹配权重")
        verbose_name_plural = _("匹配权重")

    def __str__(self) -> str:
        return self.name


class ExpressionOfInterest(models.Model):
    """An organisation's interest in a listing or a challenge, answered by its owner."""

    listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.CASCADE, related_name="eois"
    )
    challenge = models.ForeignKey(
        Challenge, null=True, blank=True, on_delete=models.CASCADE, related_name="eois"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("意向方"), on_delete=models.PROTECT, related_name="+"
    )
    sent_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    message = models.TextField(_("留言"), max_length=2000)
    intended_mode = models.CharField(_("意向合作方式"), max_length=12, blank=True)
    recommendation = models.ForeignKey(
        MatchRecommendation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    components = models.JSONField(_("匹配得分构成"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=EoiStatus.choices, default=EoiStatus.SENT
    )
    decline_reason = models.CharField(
        _("婉拒原因"), max_length=20, choices=DeclineReason.choices, blank=True
    )
    decline_note = models.CharField(_("补充说明"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("发送时间"))
    decided_at = models.DateTimeField(_("回复时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("合作意向")
        verbose_name_plural = _("合作意向")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(listing__isnull=False, challenge__isnull=True)
                | Q(listing__isnull=True, challenge__isnull=False),
                name="eoi_on_listing_or_challenge",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="eoi_decline_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"EoI {self.pk} ({self.status})"


class Deal(models.Model):
    """A brokered deal from introduction to a registered contract, with attribution."""

    title = models.CharField(_("项目名称"), max_length=150)
    offer = models.ForeignKey(
        TechnologyOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    request = models.ForeignKey(
        TechnologyRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    eoi = models.ForeignKey(
        ExpressionOfInterest, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    seller = models.ForeignKey(
        Organisation, verbose_name=_("卖方"), on_delete=models.PROTECT, related_name="+"
    )
    buyer = models.ForeignKey(
        Organisation, verbose_name=_("买方"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.CharField(
        _("阶段"), max_length=14, choices=DealStage.choices, default=DealStage.INTRO
    )
    originating_centre = models.ForeignKey(
        TransferCentre, verbose_name=_("发起分中心"), on_delete=models.PROTECT, related_name="+"
    )
    closing_centre = models.ForeignKey(
        TransferCentre, verbose_name=_("成交分中心"), on_delete=models.PROTECT, related_name="+"
    )
    next_action = models.CharField(_("下一步"), max_length=200, blank=True)
    next_action_due = models.DateField(_("截止日期"), null=True, blank=True)
    contract_type = models.CharField(_("合同类型"), max_length=20, blank=True)
    contract_subtype = models.CharField(_("合同子类型"), max_length=20, blank=True)
    amount = models.DecimalField(_("成交额（元）"), null=True, blank=True, **MONEY)
    technical_amount = models.DecimalField(_("技术交易额（元）"), null=True, blank=True, **MONEY)
    tech_field = models.CharField(
        _("技术领域"), max_length=30, choices=TechField.choices, blank=True
    )
    ip_type = models.CharField(_("知识产权类型"), max_length=30, blank=True)
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    lost_reason = models.CharField(_("未成交原因"), max_length=300, blank=True)
    contract_ref = models.CharField(_("合同登记记录"), max_length=40, blank=True)
    registration_number = models.CharField(_("登记编号"), max_length=20, blank=True)
    registered_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    is_synthetic = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("交易")
        verbose_name_plural = _("交易")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["stage"], name="deal_stage_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage="closed_lost") | ~Q(lost_reason=""),
                name="deal_lost_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(technical_amount__isnull=True)
                | Q(amount__isnull=True)
                | Q(technical_amount__gt=0, technical_amount__lte=models.F("amount")),
                name="deal_technical_amount_within_turnover",
            ),
            models.CheckConstraint(
                condition=~Q(stage__in=["registered", "closed_won"]) | ~Q(registration_number=""),
                name="deal_registered_has_number",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DealBroker(models.Model):
    """A broker on a deal (lead or co-broker) with a share of the credit."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="brokers")
    broker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(TransferCentre, on_delete=models.PROTECT, related_name="+")
    is_lead = models.BooleanField(_("主办经纪人"), default=False)
    share = models.DecimalField(_("业绩分成（%）"), max_digits=5, decimal_places=2)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("交易经纪人")
        verbose_name_plural = _("交易经纪人")
        constraints = [
            models.UniqueConstraint(fields=["deal", "broker"], name="deal_broker_unique"),
            models.UniqueConstraint(
                fields=["deal"], condition=Q(is_lead=True, active=True), name="deal_one_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.broker_id} on {self.deal_id}"


class DealEvent(models.Model):
    """The deal's history: stage moves, hand-overs, notes."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20)
    from_stage = models.CharField(max_length=14, blank=True)
    to_stage = models.CharField(max_length=14, blank=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("交易记录")
        verbose_name_plural = _("交易记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.deal_id} {self.kind}"


class Notification(models.Model):
    """An in-app notification; e-mailed at once or in the daily digest per preference."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="market_notifications")
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=2000, blank=True)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    in_app = models.BooleanField(default=True)
    digest_pending = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_read_idx")]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """How one user wants one event: in-app on/off; e-mail off, at once, or in the digest."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    in_app = models.BooleanField(_("站内通知"), default=True)
    email = models.CharField(
        _("邮件"),
        max_length=8,
        choices=[("off", _("不发送")), ("instant", _("即时")), ("digest", _("每日汇总"))],
        default="digest",
    )

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notification_pref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.event}"


class SavedSearch(models.Model):
    """A saved search that alerts its owner when new listings match."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=ListingKind.choices)
    query = models.CharField(_("检索词"), max_length=100)
    tech_field = models.CharField(_("技术领域"), max_length=30, blank=True)
    province = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("订阅检索")
        verbose_name_plural = _("订阅检索")

    def __str__(self) -> str:
        return self.query


class SearchOutbox(models.Model):
    """A change of a listing for the search indexes; each node follows these rows (ADR 0002)."""

    listing_id = models.BigIntegerField()
    kind = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("索引待更新")
        verbose_name_plural = _("索引待更新")
        # The retention job deletes by age.
        indexes = [models.Index(fields=["created_at"], name="market_outbox_created_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.listing_id}"
