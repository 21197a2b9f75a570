"""Shared scientific resources: facilities, instruments, services, policies, bookings, usage.

The invariant that matters most, no two active bookings of an exclusive instrument overlapping
(turnaround buffer included), is guarded by the database: an exclusion constraint on
PostgreSQL (migration 0003), a serialised transaction on SQLite (services.book_instrument).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from techexchange.accounts.models import Organisation
from techexchange.regions.models import Region


class _Named(models.Model):
    """A record with a Chinese name and an optional English one."""

    name_zh = models.CharField(_("中文名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language (Chinese when no English name is known)."""
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


class Category(_Named):
    """An instrument category: 15 top levels and their second levels (reference data)."""

    code = models.CharField(_("分类代码"), max_length=6, primary_key=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("仪器分类")
        verbose_name_plural = _("仪器分类")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{6}$"), name="category_code_six_digits"
            ),
        ]

    @property
    def top_code(self) -> str:
        """The code of the top-level category this belongs to."""
        return self.code[:2] + "0000"


class FacilityKind(models.TextChoices):
    """What kind of site a facility is."""

    MAJOR = "major", _("重大科研基础设施")
    CENTRE = "centre", _("仪器中心")
    SERVICE_UNIT = "service_unit", _("服务单元")
    PILOT_LINE = "pilot_line", _("中试线")


class _Located(models.Model):
    """Province, city and address of a resource."""

    province = models.ForeignKey(
        Region, verbose_name=_("省份"), on_delete=models.PROTECT, related_name="+"
    )
    city = models.ForeignKey(
        Region,
        verbose_name=_("城市"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    county = models.CharField(_("区县"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    class Meta:
        abstract = True


class Facility(_Named, _Located):
    """A major facility, instrument centre, service unit or pilot line holding instruments."""

    kind = models.CharField(_("类型"), max_length=20, choices=FacilityKind.choices)
    holder = models.ForeignKey(
        Organisation,
        verbose_name=_("依托单位"),
        on_delete=models.CASCADE,
        related_name="facilities",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级设施"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="units",
    )
    description = models.TextField(_("简介"), blank=True)
    contact_name = models.CharField(_("联系人"), max_length=40, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    is_synthetic = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("设施与中心")
        verbose_name_plural = _("设施与中心")
        ordering = ["kind", "name_zh"]


class ResearchBaseKind(models.TextChoices):
    """Kinds of national research bases."""

    KEY_LAB = "key_lab", _("全国重点实验室")
    ENGINEERING_CENTRE = "eng_centre", _("国家工程技术研究中心")
    INNOVATION_CENTRE = "innov_centre", _("国家技术创新中心")
    FIELD_STATION = "field_station", _("国家野外科学观测研究站")
    CLINICAL_CENTRE = "clinical", _("国家临床医学研究中心")
    RESOURCE_LIBRARY = "library", _("国家科技资源库")


class ResearchBase(_Named, _Located):
    """A national research base (key laboratory, engineering centre, field station …)."""

    kind = models.CharField(_("类型"), max_length=20, choices=ResearchBaseKind.choices)
    holder = models.ForeignKey(
        Organisation,
        verbose_name=_("依托单位"),
        on_delete=models.CASCADE,
        related_name="research_bases",
    )
    fields = models.CharField(_("研究领域"), max_length=200, blank=True)
    description = models.TextField(_("简介"), blank=True)
    approved_year = models.PositiveSmallIntegerField(_("批准年份"), null=True, blank=True)
    is_synthetic = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("科研基地")
        verbose_name_plural = _("科研基地")
        ordering = ["name_zh"]


class Expert(models.Model):
    """A researcher or engineer who offers expertise (the expert directory)."""

    name = models.CharField(_("姓名"), max_length=40)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所在单位"), on_delete=models.CASCADE, related_name="experts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("平台用户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("职称"), max_length=40, blank=True)
    fields = models.CharField(_("研究领域"), max_length=200, blank=True)
    expertise = models.TextField(_("专长"), blank=True)
    province = models.ForeignKey(
        Region, verbose_name=_("省份"), on_delete=models.PROTECT, related_name="+"
    )
    city = models.ForeignKey(
        Region, verbose_name=_("城市"), on_delete=models.PROTECT, related_name="+", null=True
    )
    is_synthetic = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("专家")
        verbose_name_plural = _("专家")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["province", "city"], name="expert_region_idx")]

    def __str__(self) -> str:
        return f"{self.name}（{self.title}）" if self.title else self.name


class InstrumentSource(models.TextChoices):
    """How the holder acquired the instrument."""

    BOUGHT = "bought", _("购置")
    BUILT = "built", _("研制")
    DONATED = "donated", _("捐赠")
    OTHER = "other", _("其他")


class OperatingState(models.TextChoices):
    """Operating state as the national record defines it."""

    NORMAL = "normal", _("正常")
    STANDBY = "standby", _("待机")
    REMOTE = "remote", _("远程服务中")
    OCCASIONAL_FAULT = "occasional_fault", _("偶有故障")
    FREQUENT_FAULT = "frequent_fault", _("故障频繁")
    AWAITING_REPAIR = "awaiting_repair", _("待修")
    AWAITING_DISPOSAL = "awaiting_disposal", _("待报废")


BOOKABLE_STATES = frozenset(
    {OperatingState.NORMAL, OperatingState.STANDBY, OperatingState.REMOTE, "occasional_fault"}
)


class SharingMode(models.TextChoices):
    """To whom the instrument is open."""

    EXTERNAL = "external", _("对外开放共享")
    INTERNAL = "internal", _("仅内部共享")
    NONE = "none", _("不共享")


class BookingPolicy(models.Model):
    """A booking policy profile: every rule of DOMAIN.md §4, shared by instruments.

    Durations are minutes. An instrument without a profile uses the defaults of the fields.
    """

    name = models.CharField(_("名称"), max_length=80)
    holder = models.ForeignKey(
        Organisation,
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="booking_policies",
    )
    slot_minutes = models.PositiveIntegerField(_("时间粒度（分钟）"), default=30)
    horizon_days = models.PositiveIntegerField(_("最远可预约天数"), default=60)
    min_notice_create_minutes = models.PositiveIntegerField(_("预约最短提前（分钟）"), default=60)
    min_notice_change_minutes = models.PositiveIntegerField(_("改约最短提前（分钟）"), default=120)
    min_notice_cancel_minutes = models.PositiveIntegerField(_("取消最短提前（分钟）"), default=0)
    late_cancel_minutes = models.PositiveIntegerField(_("迟取消界限（分钟）"), default=1440)
    min_duration_minutes = models.PositiveIntegerField(_("最短时长（分钟）"), default=30)
    max_duration_minutes = models.PositiveIntegerField(_("最长时长（分钟）"), default=480)
    buffer_minutes = models.PositiveIntegerField(_("间隔缓冲（分钟）"), default=0)
    max_hours_per_day = models.PositiveIntegerField(_("每日限额（小时，0不限）"), default=0)
    max_hours_per_week = models.PositiveIntegerField(_("每周限额（小时，0不限）"), default=0)
    max_future_bookings = models.PositiveIntegerField(_("未来预约数上限（0不限）"), default=0)
    max_future_hours = models.PositiveIntegerField(_("未来预约时数上限（0不限）"), default=0)
    over_limit_requests = models.BooleanField(
        _("超限转为申请"), default=True, help_text=_("超出限额时提交审批申请，而不是拒绝")
    )
    requires_approval = models.BooleanField(_("需要审批"), default=False)
    hold_minutes = models.PositiveIntegerField(_("待审批占位时长（分钟）"), default=1440)
    requires_check_in = models.BooleanField(_("需要签到"), default=True)
    check_in_early_minutes = models.PositiveIntegerField(_("提前签到（分钟）"), default=15)
    no_show_grace_minutes = models.PositiveIntegerField(_("爽约释放宽限（分钟）"), default=15)
    requires_qualification = models.BooleanField(_("需要上机资格"), default=False)
    allow_series = models.BooleanField(_("允许周期预约"), default=True)
    max_series_occurrences = models.PositiveIntegerField(_("周期预约最多次数"), default=12)
    allow_waitlist = models.BooleanField(_("允许候补"), default=True)
    waitlist_hold_minutes = models.PositiveIntegerField(
        _("候补保留时长（分钟，0不保留）"),
        default=0,
        help_text=_("时段空出后为第一位候补者保留的时长；期间他人不能预约"),
    )
    allow_transfer = models.BooleanField(_("允许转让"), default=True)

    class Meta:
        verbose_name = _("预约规则")
        verbose_name_plural = _("预约规则")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__gt=0) & Q(min_duration_minutes__gt=0),
                name="policy_positive_grid",
            ),
            models.CheckConstraint(
                condition=Q(max_duration_minutes__gte=models.F("min_duration_minutes")),
                name="policy_max_duration_not_below_min",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PolicyOffWindow(models.Model):
    """A weekly window in which the limits of a policy are off (e.g. nights, weekends)."""

    policy = models.ForeignKey(BookingPolicy, on_delete=models.CASCADE, related_name="off_windows")
    weekday = models.PositiveSmallIntegerField(_("星期（0=周一）"))
    starts = models.TimeField(_("开始"))
    ends = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("规则豁免时段")
        verbose_name_plural = _("规则豁免时段")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="offwindow_weekday"),
            models.CheckConstraint(
                condition=Q(starts__lt=models.F("ends")), name="offwindow_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.starts}-{self.ends}"


class Instrument(_Named, _Located):
    """A large scientific instrument with the fields of the national record."""

    asset_id = models.CharField(_("资产编号"), max_length=40)
    holder = models.ForeignKey(
        Organisation,
        verbose_name=_("所属单位"),
        on_delete=models.CASCADE,
        related_name="instruments",
    )
    facility = models.ForeignKey(
        Facility,
        verbose_name=_("所属设施/中心"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="instruments",
    )
    category = models.ForeignKey(
        Category, verbose_name=_("仪器分类"), on_delete=models.PROTECT, related_name="instruments"
    )
    source = models.CharField(
        _("仪器来源"), max_length=10, choices=InstrumentSource.choices, default="bought"
    )
    original_value = models.DecimalField(_("原值（万元）"), max_digits=12, decimal_places=2)
    country = models.CharField(_("产地国别"), max_length=3, default="156")
    manufacturer = models.CharField(_("生产制造商"), max_length=120, blank=True)
    model_number = models.CharField(_("规格型号"), max_length=80, blank=True)
    commissioned_on = models.DateField(_("启用日期"), null=True, blank=True)
    specs = models.CharField(_("主要技术指标"), max_length=500, blank=True)
    functions = models.CharField(_("主要功能"), max_length=300, blank=True)
    disciplines = models.CharField(
        _("主要学科领域"), max_length=200, blank=True, help_text=_("最多4个，以分号分隔")
    )
    service_content = models.TextField(_("服务内容"), blank=True)
    outcomes = models.TextField(_("典型成果"), blank=True)
    state = models.CharField(
        _("运行状态"), max_length=20, choices=OperatingState.choices, default="normal"
    )
    sharing_mode = models.CharField(
        _("共享模式"), max_length=10, choices=SharingMode.choices, default="external"
    )
    sharing_rules = models.TextField(_("共享规定"), blank=True)
    fee_standard = models.TextField(_("收费标准"), blank=True)
    contact_name = models.CharField(_("联系人"), max_length=40, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    image_url = models.URLField(_("图片"), blank=True)
    capacity = models.PositiveSmallIntegerField(
        _("同时容纳"), default=1, help_text=_("1表示独占使用；大于1为共享区域")
    )
    policy = models.ForeignKey(
        BookingPolicy,
        verbose_name=_("预约规则"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="instruments",
    )
    is_synthetic = models.BooleanField(_("演示数据"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("仪器")
        verbose_name_plural = _("仪器")
        ordering = ["name_zh", "id"]
        indexes = [
            models.Index(fields=["province", "city"], name="instrument_region_idx"),
            models.Index(fields=["holder"], name="instrument_holder_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["holder", "asset_id"], name="instrument_asset_unique"),
            models.CheckConstraint(
                condition=Q(original_value__gte=0), name="instrument_value_not_negative"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="instrument_capacity_pos"),
        ]

    @property
    def is_exclusive(self) -> bool:
        """True when one booking at a time uses the whole instrument."""
        return self.capacity == 1

    @property
    def discipline_list(self) -> list[str]:
        """The disciplines as a list."""
        return [d.strip() for d in self.disciplines.replace("；", ";").split(";") if d.strip()]


class ServiceMode(models.TextChoices):
    """服务方式 of the national record."""

    OCCUPY = "occupy", _("占用共享")
    TECHNICAL = "technical", _("技术共享")
    ENTRUSTED = "entrusted", _("委托共享")
    REMOTE = "remote", _("远程共享")
    OTHER = "other", _("其他")


class ServiceUnit(models.TextChoices):
    """What a price is per."""

    HOUR = "hour", _("机时")
    SAMPLE = "sample", _("样品")
    RUN = "run", _("次")


class CustomerCategory(models.TextChoices):
    """The price category of a customer."""

    INTERNAL = "internal", _("校（院）内")
    EXTERNAL = "external", _("校（院）外科研单位")
    ENTERPRISE = "enterprise", _("企业")


class InstrumentService(models.Model):
    """One service offered on an instrument, with prices per customer category."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(_("服务名称"), max_length=120)
    mode = models.CharField(_("服务方式"), max_length=10, choices=ServiceMode.choices)
    unit = models.CharField(_("计价单位"), max_length=10, choices=ServiceUnit.choices)
    price_internal = models.DecimalField(_("校内价"), max_digits=10, decimal_places=2)
    price_external = models.DecimalField(_("校外价"), max_digits=10, decimal_places=2)
    price_enterprise = models.DecimalField(_("企业价"), max_digits=10, decimal_places=2)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    is_active = models.BooleanField(_("在用"), default=True)

    class Meta:
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务项目")
        ordering = ["instrument", "mode", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_internal__gte=0)
                & Q(price_external__gte=0)
                & Q(price_enterprise__gte=0),
                name="service_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_mode_display()}）"

    def price_for(self, category: str) -> Decimal:
        """The unit price for a customer category."""
        if category == CustomerCategory.INTERNAL:
            return self.price_internal
        if category == CustomerCategory.EXTERNAL:
            return self.price_external
        return self.price_enterprise


class OpenHours(models.Model):
    """A weekly opening window of an instrument (none recorded: open around the clock)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="open_hours")
    weekday = models.PositiveSmallIntegerField(_("星期（0=周一）"))
    opens = models.TimeField(_("开放"))
    closes = models.TimeField(_("关闭"))

    class Meta:
        verbose_name = _("开放时间")
        verbose_name_plural = _("开放时间")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="openhours_weekday"),
            models.CheckConstraint(
                condition=Q(opens__lt=models.F("closes")), name="openhours_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Outage(models.Model):
    """A period the instrument cannot be used (maintenance, repair)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="outages")
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    reason = models.CharField(_("原因"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("停机")
        verbose_name_plural = _("停机")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="outage_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id}: {self.starts_at:%Y-%m-%d %H:%M} {self.reason}"


class Qualification(models.Model):
    """A user is trained to operate an instrument themselves, until it expires."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualifications"
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.CASCADE, related_name="qualifications"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(_("授予时间"))
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("上机资格")
        verbose_name_plural = _("上机资格")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instrument"],
                condition=Q(revoked_at__isnull=True),
                name="qualification_one_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.instrument_id} → {self.expires_on or '∞'}"


class BookingStatus(models.TextChoices):
    """Where a booking is in its life."""

    PENDING = "pending", _("待审批")
    CONFIRMED = "confirmed", _("已确认")
    CHECKED_IN = "checked_in", _("使用中")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")
    REJECTED = "rejected", _("已驳回")
    EXPIRED = "expired", _("申请过期")
    NO_SHOW = "no_show", _("爽约释放")
    MOVED = "moved", _("已改约")


ACTIVE_STATUSES = ("pending", "confirmed", "checked_in")
FINAL_STATUSES = ("completed", "cancelled", "rejected", "expired", "no_show", "moved")


class BookingKind(models.TextChoices):
    """A time slot on the instrument, or an entrusted order (staff run the samples)."""

    SLOT = "slot", _("机时预约")
    ORDER = "order", _("委托订单")


class BookingSeries(models.Model):
    """A recurring series of bookings (weekly); each occurrence is a booking."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="series")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    interval_days = models.PositiveSmallIntegerField(_("间隔天数"), default=7)
    occurrences = models.PositiveSmallIntegerField(_("次数"))
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("周期预约")
        verbose_name_plural = _("周期预约")

    def __str__(self) -> str:
        return f"series {self.pk} ×{self.occurrences}"


class Booking(models.Model):
    """A booking of an instrument slot, or an entrusted service order.

    Final bookings (completed, cancelled, rejected, expired, no-show, moved) are never edited:
    a move or a transfer marks the booking `moved` and creates its successor.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="bookings")
    service = models.ForeignKey(
        InstrumentService,
        verbose_name=_("服务项目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
    )
    kind = models.CharField(_("类型"), max_length=6, choices=BookingKind.choices, default="slot")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("预约人"),
        on_delete=models.CASCADE,
        related_name="bookings",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("付费单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
    )
    customer_category = models.CharField(
        _("客户类别"), max_length=10, choices=CustomerCategory.choices
    )
    starts_at = models.DateTimeField(_("开始"), null=True, blank=True)
    ends_at = models.DateTimeField(_("结束"), null=True, blank=True)
    buffer = models.DurationField(_("间隔缓冲"), default=timedelta(0))
    # ends_at + buffer, stored: the exclusion constraint needs an immutable range expression.
    blocked_until = models.DateTimeField(_("占用至"), null=True, blank=True)
    exclusive = models.BooleanField(_("独占"), default=True)
    status = models.CharField(_("状态"), max_length=12, choices=BookingStatus.choices)
    hold_expires_at = models.DateTimeField(_("占位截止"), null=True, blank=True)
    request_reasons: models.JSONField[Any] = models.JSONField(
        _("申请原因"), default=list, blank=True
    )
    overridden: models.JSONField[Any] = models.JSONField(_("豁免规则"), default=list, blank=True)
    purpose = models.CharField(_("用途/项目"), max_length=200, blank=True)
    funding_source = models.CharField(_("经费来源"), max_length=80, blank=True)
    samples = models.PositiveIntegerField(_("样品数"), default=0)
    series = models.ForeignKey(
        BookingSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    predecessor = models.OneToOneField(
        "self",
        verbose_name=_("原预约"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="successor",
    )
    created_at = models.DateTimeField(_("创建时间"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    late_cancel = models.BooleanField(_("迟取消"), default=False)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["instrument", "status", "starts_at"], name="booking_slot_idx"),
            models.Index(fields=["user", "status"], name="booking_user_idx"),
            models.Index(fields=["status", "hold_expires_at"], name="booking_hold_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="order")
                    | (
                        Q(starts_at__isnull=False)
                        & Q(ends_at__isnull=False)
                        & Q(starts_at__lt=models.F("ends_at"))
                    )
                ),
                name="booking_slot_has_ordered_range",
            ),
            models.CheckConstraint(
                condition=Q(kind="order") | Q(blocked_until__gte=models.F("ends_at")),
                name="booking_blocked_covers_slot",
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(hold_expires_at__isnull=False),
                name="booking_pending_has_hold_expiry",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.starts_at:%Y-%m-%d %H:%M}" if self.starts_at else "—"
        return f"#{self.pk} {self.instrument_id} {when} {self.status}"

    @property
    def is_active(self) -> bool:
        """True while the booking holds its slot."""
        return self.status in ACTIVE_STATUSES

    @property
    def hours(self) -> Decimal:
        """Booked duration in hours."""
        if self.starts_at is None or self.ends_at is None:
            return Decimal(0)
        return Decimal((self.ends_at - self.starts_at).total_seconds()) / Decimal(3600)


class WaitlistEntry(models.Model):
    """A user waits for a taken slot; told when it frees."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    created_at = models.DateTimeField(_("登记时间"))
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    # The freed part of the wanted window, held for this user until `hold_until` (policy).
    held_from = models.DateTimeField(_("保留开始"), null=True, blank=True)
    held_to = models.DateTimeField(_("保留结束"), null=True, blank=True)
    hold_until = models.DateTimeField(_("保留截止"), null=True, blank=True)
    # When the hold was used (the user booked) or lapsed and was handed on: done with.
    hold_closed_at = models.DateTimeField(_("保留结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("候补")
        verbose_name_plural = _("候补")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="waitlist_order"
            ),
            models.CheckConstraint(
                condition=Q(hold_until__isnull=True)
                | (Q(held_from__lt=models.F("held_to")) & Q(notified_at__isnull=False)),
                name="waitlist_hold_has_range",
            ),
        ]
        indexes = [
            models.Index(fields=["instrument", "hold_until"], name="waitlist_hold_idx"),
        ]

    def __str__(self) -> str:
        return f"wait {self.user_id}@{self.instrument_id} {self.starts_at:%Y-%m-%d %H:%M}"


class UsageRecord(models.Model):
    """A service record (服务记录): what was actually used, by whom, for which project.

    Feeds the utilisation metrics; `hours` counts warm-up, measurement and necessary
    post-processing, never idle running.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="usage")
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage"
    )
    service = models.ForeignKey(
        InstrumentService, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(_("服务方式"), max_length=10, choices=ServiceMode.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("用户单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customer_province = models.CharField(_("用户省份"), max_length=12, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("实际开始"))
    ended_at = models.DateTimeField(_("实际结束"))
    hours = models.DecimalField(_("服务机时"), max_digits=8, decimal_places=2)
    samples = models.PositiveIntegerField(_("样品数"), default=0)
    is_external = models.BooleanField(_("对外服务"))
    is_cross_province = models.BooleanField(_("跨省服务"))
    content = models.CharField(_("服务内容"), max_length=300, blank=True)
    project = models.CharField(_("支撑项目"), max_length=200, blank=True)
    funding_source = models.CharField(_("经费来源"), max_length=80, blank=True)
    amount = models.DecimalField(_("服务金额"), max_digits=12, decimal_places=2, default=0)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    created_at = models.DateTimeField(_("记录时间"))

    class Meta:
        verbose_name = _("服务记录")
        verbose_name_plural = _("服务记录")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["instrument", "started_at"], name="usage_instrument_idx"),
            models.Index(fields=["started_at"], name="usage_started_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(started_at__lt=models.F("ended_at")), name="usage_order"
            ),
            models.CheckConstraint(condition=Q(hours__gte=0), name="usage_hours_not_negative"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | (Q(satisfaction__gte=1) & Q(satisfaction__lte=5)),
                name="usage_satisfaction_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"usage {self.instrument_id} {self.started_at:%Y-%m-%d} {self.hours}h"


class Charge(models.Model):
    """What the customer's organisation owes for a usage, with the price snapshotted."""

    usage = models.ForeignKey(UsageRecord, on_delete=models.CASCADE, related_name="charges")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("付费单位"), on_delete=models.PROTECT, related_name="+"
    )
    service_name = models.CharField(_("服务名称"), max_length=120)
    customer_category = models.CharField(
        _("客户类别"), max_length=10, choices=CustomerCategory.choices
    )
    unit = models.CharField(_("计价单位"), max_length=10, choices=ServiceUnit.choices)
    quantity = models.DecimalField(_("数量"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("单价"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("费用")
        verbose_name_plural = _("费用")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(quantity__gte=0), name="charge_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_name} {self.amount}"


class IndexEvent(models.Model):
    """Outbox of the search index: a document changed (upsert) or went away (delete).

    Each node's index follower applies the events after its own position (ADR 0002).
    """

    doc_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    op = models.CharField(max_length=6, choices=[("upsert", "upsert"), ("delete", "delete")])
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("索引事件")
        verbose_name_plural = _("索引事件")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.op} {self.doc_type}#{self.object_id}"


class FreeTimeProfile(models.Model):
    """What the availability filter needs of an instrument: bookable, and its weekly open hours.

    Derived data (`freetime`), kept by the services that change the instrument; an instrument
    without a profile is checked against the bookings themselves.
    """

    instrument = models.OneToOneField(
        Instrument, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    bookable = models.BooleanField()
    # "weekday:start-end;…" in seconds after local midnight; empty: open around the clock.
    hours = models.CharField(max_length=400, blank=True)

    class Meta:
        verbose_name = _("空闲时间概要")
        verbose_name_plural = _("空闲时间概要")

    def __str__(self) -> str:
        return f"{self.instrument_id}: {self.hours or '24h'}"


class FreeDay(models.Model):
    """The free runs of an instrument on one local day on which something takes time.

    Derived data (`freetime`): a day without a row is free during all its open hours. Written
    in the transaction of every booking, outage and hold change (services), after the
    instrument's row lock.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # Seconds: the longest free run of the day inside one open period.
    longest = models.PositiveIntegerField()
    # "start-end,…" in seconds after local midnight, inside the open periods.
    runs = models.TextField(blank=True)
    # When a counted hold (pending request, wait-list hold) ends: the row is stale from then.
    stale_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("每日空闲时间")
        verbose_name_plural = _("每日空闲时间")
        constraints = [
            models.UniqueConstraint(fields=["instrument", "day"], name="freeday_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.day}: {self.longest}s"
