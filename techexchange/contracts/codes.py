"""Code lists of technology contract registration (DOMAIN.md §2): the import layout's strings.

Values are stable English slugs; labels are the exact Chinese strings the national forms and the
import layout use (they are also the msgids of the English catalogue).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "CLASS4_OF",
    "HMT_COUNTRIES",
    "IP_GROUP_OF",
    "SUBTYPES_OF",
    "ContractStatus",
    "ContractType",
    "DeductionKind",
    "EnterpriseSize",
    "IPType",
    "LicenceScope",
    "PaymentMode",
    "PlanSource",
    "RuleVersion",
    "Subtype",
    "TechField",
]

CHINA = "156"
HMT_COUNTRIES = frozenset({"344", "446", "158"})  # Hong Kong, Macao, Taiwan
HMT_PROVINCE_PREFIXES = frozenset({"71", "81", "82"})


class RuleVersion(models.IntegerChoices):
    """The rule set a contract is checked against (认定规则)."""

    R2001 = 2001, _("2001年《技术合同认定规则》")
    R2021 = 2021, _("2021年民法典技术合同规则")
    R2026 = 2026, _("2026年技术合同认定登记办法")


class ContractStatus(models.TextChoices):
    """Where a contract stands in the registration workflow."""

    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    REGISTERED = "registered", _("已登记")
    REJECTED = "rejected", _("不予登记")
    AMENDED = "amended", _("已变更登记")
    CANCELLED = "cancelled", _("已注销")


# Statuses that count in the statistics ("registered contracts only").
COUNTED_STATUSES = (ContractStatus.REGISTERED.value, ContractStatus.AMENDED.value)
# Statuses that hold the contract's duplicate key (one registration per contract).
ACTIVE_STATUSES = (
    ContractStatus.SUBMITTED.value,
    ContractStatus.REGISTERED.value,
    ContractStatus.AMENDED.value,
)


class ContractType(models.TextChoices):
    """合同类型: four classes until 2020, five from 2021 (licence split out of transfer)."""

    DEVELOPMENT = "development", _("技术开发")
    TRANSFER = "transfer", _("技术转让")
    LICENCE = "licence", _("技术许可")
    CONSULTING = "consulting", _("技术咨询")
    SERVICE = "service", _("技术服务")


class Subtype(models.TextChoices):
    """合同子类型."""

    COMMISSIONED = "commissioned", _("委托开发")
    COOPERATIVE = "cooperative", _("合作开发")
    PATENT_TRANSFER = "patent_transfer", _("专利权转让")
    PATENT_APPLICATION_TRANSFER = "patent_application_transfer", _("专利申请权转让")
    KNOW_HOW_TRANSFER = "know_how_transfer", _("技术秘密转让")
    PATENT_LICENCE = "patent_licence", _("专利实施许可")
    KNOW_HOW_LICENCE = "know_how_licence", _("技术秘密使用许可")
    CONSULTING = "consulting", _("技术咨询")
    SERVICE = "service", _("技术服务")
    TRAINING = "training", _("技术培训")
    BROKERAGE = "brokerage", _("技术中介")


# Which subtypes each type admits; the pre-2021 transfer also held 专利实施许可.
SUBTYPES_OF: dict[str, tuple[str, ...]] = {
    ContractType.DEVELOPMENT: (Subtype.COMMISSIONED, Subtype.COOPERATIVE),
    ContractType.TRANSFER: (
        Subtype.PATENT_TRANSFER,
        Subtype.PATENT_APPLICATION_TRANSFER,
        Subtype.KNOW_HOW_TRANSFER,
        Subtype.PATENT_LICENCE,
    ),
    ContractType.LICENCE: (Subtype.PATENT_LICENCE, Subtype.KNOW_HOW_LICENCE),
    ContractType.CONSULTING: (Subtype.CONSULTING,),
    ContractType.SERVICE: (Subtype.SERVICE, Subtype.TRAINING, Subtype.BROKERAGE),
}

# The four-class view (until 2020) of a five-class type: licences report under transfer.
CLASS4_OF: dict[str, str] = {
    ContractType.DEVELOPMENT: ContractType.DEVELOPMENT,
    ContractType.TRANSFER: ContractType.TRANSFER,
    ContractType.LICENCE: ContractType.TRANSFER,
    ContractType.CONSULTING: ContractType.CONSULTING,
    ContractType.SERVICE: ContractType.SERVICE,
}


class LicenceScope(models.TextChoices):
    """专利实施许可的方式."""

    EXCLUSIVE = "exclusive", _("独占许可")
    SOLE = "sole", _("排他许可")
    NON_EXCLUSIVE = "non_exclusive", _("普通许可")


class TechField(models.TextChoices):
    """The 11 technology fields (技术领域), in report order."""

    ELECTRONICS = "electronics", _("电子信息技术")
    AEROSPACE = "aerospace", _("航空航天技术")
    MANUFACTURING = "manufacturing", _("先进制造技术")
    BIOMEDICINE = "biomedicine", _("生物、医药和医疗器械技术")
    MATERIALS = "materials", _("新材料及其应用")
    ENERGY = "energy", _("新能源与高效节能")
    ENVIRONMENT = "environment", _("环境保护与资源综合利用技术")
    NUCLEAR = "nuclear", _("核应用技术")
    AGRICULTURE = "agriculture", _("农业技术")
    TRANSPORT = "transport", _("现代交通")
    URBAN = "urban", _("城市建设与社会发展")


class IPType(models.TextChoices):
    """知识产权类型 (finer patent values accepted; reports group them as 专利)."""

    PATENT = "patent", _("专利")
    INVENTION_PATENT = "invention_patent", _("发明专利")
    UTILITY_MODEL = "utility_model", _("实用新型专利")
    DESIGN_PATENT = "design_patent", _("外观设计专利")
    PATENT_APPLICATION = "patent_application", _("专利申请")
    KNOW_HOW = "know_how", _("技术秘密")
    SOFTWARE = "software", _("计算机软件著作权")
    IC_LAYOUT = "ic_layout", _("集成电路布图设计专有权")
    PLANT_VARIETY = "plant_variety", _("植物新品种权")
    BIOMED_VARIETY = "biomed_variety", _("生物医药新品种")
    OTHER = "other", _("其他知识产权")
    NONE = "none", _("未涉及知识产权")


# The report group of an IP type: finer patent values report as 专利.
IP_GROUP_OF: dict[str, str] = {
    **{v: v for v in IPType.values},
    IPType.INVENTION_PATENT: IPType.PATENT,
    IPType.UTILITY_MODEL: IPType.PATENT,
    IPType.DESIGN_PATENT: IPType.PATENT,
    IPType.PATENT_APPLICATION: IPType.PATENT,
}


class PlanSource(models.TextChoices):
    """计划来源."""

    NATIONAL = "national", _("国家计划")
    MINISTRY = "ministry", _("部门计划")
    PROVINCIAL = "provincial", _("省、自治区、直辖市及计划单列市计划")
    LOCAL = "local", _("地市县计划")
    NONE = "none", _("计划外")


class PaymentMode(models.TextChoices):
    """支付方式 (Civil Code art. 846)."""

    LUMP_SUM = "lump_sum", _("一次总算、一次总付")
    INSTALMENTS = "instalments", _("一次总算、分期支付")
    ROYALTY = "royalty", _("提成支付")
    ROYALTY_WITH_FEE = "royalty_with_fee", _("提成支付附加预付入门费")
    OTHER = "other", _("其他")


class EnterpriseSize(models.TextChoices):
    """企业规模."""

    LARGE = "large", _("大型")
    MEDIUM = "medium", _("中型")
    SMALL = "small", _("小型")
    MICRO = "micro", _("微型")


class DeductionKind(models.TextChoices):
    """Non-technical items deducted from 成交额 to give 技术交易额."""

    EQUIPMENT = "equipment", _("设备")
    INSTRUMENTS = "instruments", _("仪器")
    PARTS = "parts", _("零部件")
    RAW_MATERIALS = "raw_materials", _("原材料")
    OTHER = "other", _("其他非技术性款项")
