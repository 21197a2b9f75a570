"""Regions (GB/T 2260 codes plus statistical regions) and blocs of regions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    """How a region sits in the hierarchy."""

    PROVINCE = "province", _("省级")
    CITY = "city", _("地级市")
    DISTRICT = "district", _("区县")
    STATISTICAL = "statistical", _("统计区域")


class Region(models.Model):
    """A province, city, district, or a statistical region such as 港澳台 or 境外."""

    code = models.CharField(_("代码"), max_length=12, primary_key=True)
    name_zh = models.CharField(_("中文名称"), max_length=40)
    name_en = models.CharField(_("英文名称"), max_length=80)
    level = models.CharField(_("层级"), max_length=12, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    stat_group = models.CharField(
        _("统计归类"),
        max_length=12,
        blank=True,
        help_text=_("在技术合同统计中归入的统计区域，如港澳台"),
    )
    latitude = models.DecimalField(_("纬度"), max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=8, decimal_places=5, null=True, blank=True
    )

    class Meta:
        verbose_name = _("地区")
        verbose_name_plural = _("地区")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="statistical") | models.Q(code__regex=r"^[0-9]{6}$"),
                name="region_code_is_six_digits",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language."""
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") else self.name_zh

    @property
    def province_code(self) -> str:
        """The 6-digit code of the province this region belongs to (itself for a province)."""
        if self.level == RegionLevel.STATISTICAL:
            return self.code
        return self.code[:2] + "0000"


class Bloc(models.Model):
    """A named group of regions (YRD, the G60 corridor, the demonstration zone)."""

    code = models.CharField(_("代码"), max_length=20, primary_key=True)
    name_zh = models.CharField(_("中文名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=120)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    members = models.ManyToManyField(Region, verbose_name=_("成员"), related_name="blocs")

    class Meta:
        verbose_name = _("区域板块")
        verbose_name_plural = _("区域板块")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language."""
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") else self.name_zh
