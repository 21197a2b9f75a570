"""Users, organisations, memberships, transfer centres, platform roles and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from techexchange.accounts.codes import PartyNature, ReportCategory, report_category_of
from techexchange.regions.models import Region


class User(AbstractUser):
    """A person who signs in."""

    display_name = models.CharField(_("显示名称"), max_length=80, blank=True)
    phone = models.CharField(_("电话"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Organisation(models.Model):
    """An enterprise, university, institute or other body that acts on the platform."""

    name_zh = models.CharField(_("机构名称"), max_length=120)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("统一社会信用代码"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        help_text=_("18位，GB 32100-2015，含校验码；境外机构可空"),
    )
    party_nature = models.CharField(_("单位性质"), max_length=3, choices=PartyNature.choices)
    province = models.ForeignKey(
        Region,
        verbose_name=_("省份"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": "province"},
    )
    city = models.ForeignKey(
        Region,
        verbose_name=_("城市"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        limit_choices_to={"level": "city"},
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    website = models.URLField(_("网站"), blank=True)
    description = models.TextField(_("简介"), blank=True)
    is_sme = models.BooleanField(_("中小企业"), default=False)
    is_high_tech_zone = models.BooleanField(_("国家高新区企业"), default=False)
    is_transfer_institution = models.BooleanField(_("技术转移机构"), default=False)
    is_rnd_institution = models.BooleanField(_("研发机构"), default=False)
    is_listed = models.BooleanField(_("上市公司"), default=False)
    is_synthetic = models.BooleanField(_("演示数据"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["name_zh"]
        indexes = [
            models.Index(fields=["province", "party_nature"], name="org_province_nature_idx"),
            models.Index(fields=["city"], name="org_city_idx"),
            models.Index(fields=["name_zh", "id"], name="org_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_code__isnull=True) | Q(credit_code__regex=r"^[0-9A-Z]{18}$"),
                name="org_credit_code_shape",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language (Chinese when no English name is known)."""
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh

    @property
    def report_category(self) -> ReportCategory:
        """The statistical report category derived from the party nature."""
        return report_category_of(self.party_nature)


class OrgRole(models.TextChoices):
    """A person's role within an organisation."""

    MEMBER = "member", _("成员")
    ADMIN = "admin", _("机构管理员")


class Membership(models.Model):
    """A user belongs to an organisation with a role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=10, choices=OrgRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("机构成员")
        verbose_name_plural = _("机构成员")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"


class TransferCentre(models.Model):
    """A technology transfer centre or one of its sub-centres (分中心)."""

    code = models.CharField(_("编码"), max_length=20, unique=True)
    name_zh = models.CharField(_("名称"), max_length=120)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级中心"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_centres",
    )
    host = models.ForeignKey(
        Organisation,
        verbose_name=_("依托机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="centres",
    )
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    is_synthetic = models.BooleanField(_("演示数据"), default=False)

    class Meta:
        verbose_name = _("技术转移中心")
        verbose_name_plural = _("技术转移中心")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language."""
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


class PlatformRole(models.TextChoices):
    """Roles held on the platform itself, beyond membership of an organisation."""

    OPERATOR = "operator", _("平台运营")
    BROKER = "broker", _("技术经纪人")
    VOUCHER_OFFICER = "voucher_officer", _("创新券管理员")
    REGISTRAR = "registrar", _("合同登记员")
    ANALYST = "analyst", _("统计分析员")


class RoleGrant(models.Model):
    """A platform role given to a user, scoped to a sub-centre or region where the role needs it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(_("角色"), max_length=20, choices=PlatformRole.choices)
    centre = models.ForeignKey(
        TransferCentre,
        verbose_name=_("所属分中心"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_grants",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("负责地区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("平台角色")
        verbose_name_plural = _("平台角色")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="broker") | Q(centre__isnull=False),
                name="rolegrant_broker_has_centre",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=["voucher_officer", "registrar"]) | Q(region__isnull=False),
                name="rolegrant_regional_role_has_region",
            ),
        ]

    def __str__(self) -> str:
        scope = self.centre or self.region or ""
        return f"{self.user}: {self.get_role_display()} {scope}".strip()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("名称"), max_length=80)
    prefix = models.CharField(_("前缀"), max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API令牌")
        verbose_name_plural = _("API令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
