"""Code lists of the national forms: party nature (卖方性质/买方性质) and report categories."""

from __future__ import annotations

import functools

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

__all__ = [
    "PartyNature",
    "ReportCategory",
    "natures_in",
    "party_nature_label",
    "report_category_of",
]


class PartyNature(models.TextChoices):
    """3-digit party nature codes of the technology contract registration form."""

    GOV_NATIONAL = "011", _("国家机关")
    GOV_PROVINCIAL = "012", _("省级机关")
    GOV_MUNICIPAL = "013", _("地市级机关")
    GOV_COUNTY = "014", _("县级及以下机关")
    RESEARCH_INSTITUTE = "021", _("科研院所")
    UNIVERSITY = "022", _("高等院校")
    MEDICAL = "023", _("医疗卫生机构")
    OTHER_PUBLIC = "024", _("其他事业单位")
    ASSOCIATION = "030", _("社会团体")
    STATE_OWNED = "110", _("国有企业")
    COLLECTIVE = "120", _("集体企业")
    JOINT_STOCK_COOP = "130", _("股份合作企业")
    JOINT_VENTURE = "140", _("联营企业")
    LIMITED_LIABILITY = "150", _("有限责任公司")
    JOINT_STOCK_LIMITED = "160", _("股份有限公司")
    PRIVATE = "170", _("私营企业")
    OTHER_DOMESTIC = "180", _("其他内资企业")
    HMT_JOINT_VENTURE = "210", _("港澳台合资经营企业")
    HMT_COOPERATIVE = "220", _("港澳台合作经营企业")
    HMT_SOLE = "230", _("港澳台独资企业")
    HMT_JOINT_STOCK = "240", _("港澳台投资股份有限公司")
    FOREIGN_JOINT_VENTURE = "310", _("中外合资经营企业")
    FOREIGN_COOPERATIVE = "320", _("中外合作经营企业")
    FOREIGN_SOLE = "330", _("外资企业")
    FOREIGN_JOINT_STOCK = "340", _("外商投资股份有限公司")
    NATURAL_PERSON = "400", _("自然人")


class ReportCategory(models.TextChoices):
    """The groups statistical reports use for parties."""

    ENTERPRISE = "enterprise", _("企业")
    RESEARCH = "research", _("科研机构")
    UNIVERSITY = "university", _("高等院校")
    MEDICAL = "medical", _("医疗卫生")
    GOVERNMENT = "government", _("机关")
    ASSOCIATION = "association", _("社团")
    PERSON = "person", _("个人")
    OTHER = "other", _("其他")


def report_category_of(nature: str) -> ReportCategory:
    """Map a 3-digit party nature code to the report category."""
    if nature == "021":
        return ReportCategory.RESEARCH
    if nature == "022":
        return ReportCategory.UNIVERSITY
    if nature == "023":
        return ReportCategory.MEDICAL
    if nature.startswith("01"):
        return ReportCategory.GOVERNMENT
    if nature == "030":
        return ReportCategory.ASSOCIATION
    if nature == "400":
        return ReportCategory.PERSON
    if nature[:1] in {"1", "2", "3"}:
        return ReportCategory.ENTERPRISE
    return ReportCategory.OTHER


def natures_in(category: str) -> list[str]:
    """Every party nature code that reports under `category`."""
    return [n.value for n in PartyNature if report_category_of(n.value) == category]


@functools.cache
def _nature_labels(language: str) -> dict[str, str]:
    with translation.override(language):
        return {n.value: str(n.label) for n in PartyNature}


def party_nature_label(code: str) -> str:
    """The party nature's name in the active language (cached per language: lists call it a lot)."""
    return _nature_labels(translation.get_language() or "zh-hans").get(code, code)
