"""Technology contracts as registered (认定登记), their deductions, serials and the stats rollup."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Length, Now
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from techexchange.accounts.codes import PartyNature
from techexchange.accounts.models import Organisation
from techexchange.contracts.codes import (
    ACTIVE_STATUSES,
    ContractStatus,
    ContractType,
    DeductionKind,
    EnterpriseSize,
    IPType,
    LicenceScope,
    PaymentMode,
    PlanSource,
    RuleVersion,
    Subtype,
    TechField,
)
from techexchange.core.fields import CodeField

__all__ = [
    "ContractDeduction",
    "ContractLinks",
    "ContractStat",
    "RegistrationSerial",
    "TechContract",
]


class TechContract(models.Model):
    """A technology contract with both parties snapshotted as they stood at registration.

    Optional text, flags and counters carry their default in the table too (`db_default`):
    the bulk import leaves those columns out and the database fills them in. The links to
    organisations and to the submitting user live beside the row in `ContractLinks` (only
    contracts submitted through the web or the API have them; imported rows have none).
    """

    rule_version = models.PositiveSmallIntegerField(_("认定规则版本"), choices=RuleVersion.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    # Unique through the named constraint in Meta: `unique=True` would add, on PostgreSQL, a
    # second (varchar_pattern_ops) index that no query uses and every import writes.
    registration_number = CodeField(_("合同登记编号"), max_length=16, null=True, blank=True)
    project_name = models.CharField(_("项目名称"), max_length=200)
    contract_type = models.CharField(_("合同类型"), max_length=12, choices=ContractType.choices)
    subtype = models.CharField(_("合同子类型"), max_length=32, choices=Subtype.choices)
    licence_scope = models.CharField(
        _("许可方式"), max_length=16, choices=LicenceScope.choices, blank=True, db_default=""
    )
    signing_date = models.DateField(_("签订日期"))
    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    valid_to = models.DateField(_("有效期止"), null=True, blank=True)

    seller_name = models.CharField(_("卖方名称"), max_length=200)
    seller_credit_code = models.CharField(_("卖方统一社会信用代码"), max_length=18, blank=True)
    seller_nature = models.CharField(_("卖方性质"), max_length=3, choices=PartyNature.choices)
    seller_country = models.CharField(_("卖方国别"), max_length=3, default="156")
    seller_region_code = models.CharField(_("卖方行政区划代码"), max_length=6, blank=True)
    # Derived at write time: the statistical province/city (港澳台 → HMT, 境外 → ABROAD).
    seller_province = models.CharField(_("卖方统计省份"), max_length=8, editable=False)
    seller_city = models.CharField(_("卖方统计城市"), max_length=8, editable=False)
    seller_is_transfer_institution = models.BooleanField(
        _("卖方为技术转移机构"), default=False, db_default=False
    )
    seller_is_rnd_institution = models.BooleanField(
        _("卖方为研发机构"), default=False, db_default=False
    )
    seller_is_converted_institute = models.BooleanField(
        _("卖方为转制院所"), default=False, db_default=False
    )
    seller_is_high_tech_zone = models.BooleanField(
        _("卖方为国家高新区企业"), default=False, db_default=False
    )
    seller_is_listed = models.BooleanField(_("卖方为上市公司"), default=False, db_default=False)
    seller_enterprise_size = models.CharField(
        _("卖方企业规模"), max_length=8, choices=EnterpriseSize.choices, blank=True, db_default=""
    )
    seller_industry = models.CharField(
        _("卖方所属行业（GB/T 4754）"), max_length=5, blank=True, db_default=""
    )
    seller_legal_representative = models.CharField(
        _("卖方法定代表人"), max_length=60, blank=True, db_default=""
    )
    seller_contact = models.CharField(_("卖方联系人"), max_length=60, blank=True, db_default="")
    seller_phone = models.CharField(_("卖方联系电话"), max_length=40, blank=True, db_default="")
    seller_address = models.CharField(_("卖方地址"), max_length=200, blank=True, db_default="")

    buyer_name = models.CharField(_("买方名称"), max_length=200)
    buyer_credit_code = models.CharField(_("买方统一社会信用代码"), max_length=18, blank=True)
    buyer_nature = models.CharField(_("买方性质"), max_length=3, choices=PartyNature.choices)
    buyer_country = models.CharField(_("买方国别"), max_length=3, default="156")
    buyer_region_code = models.CharField(_("买方行政区划代码"), max_length=6, blank=True)
    # Derived at write time: the statistical province/city (港澳台 → HMT, 境外 → ABROAD).
    buyer_province = models.CharField(_("买方统计省份"), max_length=8, editable=False)
    buyer_city = models.CharField(_("买方统计城市"), max_length=8, editable=False)
    buyer_is_transfer_institution = models.BooleanField(
        _("买方为技术转移机构"), default=False, db_default=False
    )
    buyer_is_rnd_institution = models.BooleanField(
        _("买方为研发机构"), default=False, db_default=False
    )
    buyer_is_converted_institute = models.BooleanField(
        _("买方为转制院所"), default=False, db_default=False
    )
    buyer_is_high_tech_zone = models.BooleanField(
        _("买方为国家高新区企业"), default=False, db_default=False
    )
    buyer_is_listed = models.BooleanField(_("买方为上市公司"), default=False, db_default=False)
    buyer_enterprise_size = models.CharField(
        _("买方企业规模"), max_length=8, choices=EnterpriseSize.choices, blank=True, db_default=""
    )
    buyer_industry = models.CharField(
        _("买方所属行业（GB/T 4754）"), max_length=5, blank=True, db_default=""
    )
    buyer_legal_representative = models.CharField(
        _("买方法定代表人"), max_length=60, blank=True, db_default=""
    )
    buyer_contact = models.CharField(_("买方联系人"), max_length=60, blank=True, db_default="")
    buyer_phone = models.CharField(_("买方联系电话"), max_length=40, blank=True, db_default="")
    buyer_address = models.CharField(_("买方地址"), max_length=200, blank=True, db_default="")

    intermediary_name = models.CharField(_("中介方名称"), max_length=200, blank=True, db_default="")
    intermediary_credit_code = models.CharField(
        _("中介方统一社会信用代码"), max_length=18, blank=True, db_default=""
    )
    intermediary_region_code = models.CharField(
        _("中介方行政区划代码"), max_length=6, blank=True, db_default=""
    )

    turnover = models.DecimalField(_("成交额（元）"), max_digits=16, decimal_places=2)
    technical_amount = models.DecimalField(_("技术交易额（元）"), max_digits=16, decimal_places=2)
    tech_field = models.CharField(_("技术领域"), max_length=16, choices=TechField.choices)
    ip_type = models.CharField(_("知识产权类型"), max_length=20, choices=IPType.choices)
    ip_references = models.CharField(
        _("知识产权编号"),
        max_length=400,
        blank=True,
        help_text=_("专利号、登记号等，多个以分号分隔"),
        db_default="",
    )
    ip_valid_until = models.DateField(_("知识产权有效期至"), null=True, blank=True)
    plan_source = models.CharField(_("计划来源"), max_length=12, choices=PlanSource.choices)
    payment_mode = models.CharField(_("支付方式"), max_length=20, choices=PaymentMode.choices)
    is_related_party = models.BooleanField(_("关联交易"), default=False, db_default=False)
    socio_economic_objective = models.CharField(
        _("社会经济目标"), max_length=60, blank=True, db_default=""
    )
    expected_investment = models.DecimalField(
        _("预计新增投资（元）"), null=True, blank=True, max_digits=16, decimal_places=2
    )
    expected_output = models.DecimalField(
        _("预计新增产值（元）"), null=True, blank=True, max_digits=16, decimal_places=2
    )

    registration_region = models.CharField(
        _("登记地区"), max_length=6, help_text=_("登记方所在省级行政区划代码")
    )
    registration_body = models.CharField(_("登记机构"), max_length=120, blank=True)
    registration_date = models.DateField(_("登记日期"), null=True, blank=True)
    needs_expert_review = models.BooleanField(_("需专家评审"), default=False, editable=False)
    rejection_reasons = models.JSONField(_("不予登记理由"), default=list, blank=True, db_default=[])
    revision = models.PositiveIntegerField(_("变更次数"), default=0, db_default=0)
    dedupe_key = models.CharField(
        _("查重键"),
        max_length=64,
        editable=False,
        help_text=_("双方、项目名称、签订日期与成交额的摘要"),
    )
    is_synthetic = models.BooleanField(_("演示数据"), default=False, db_default=False)
    # The database's clock is the default too: a bulk import leaves both to the table (one
    # timestamp per transaction on PostgreSQL, as the import's constant was).
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_default=Now())

    class Meta:
        verbose_name = _("技术合同")
        verbose_name_plural = _("技术合同")
        ordering = ["-registration_date", "-id"]
        # Only what reads need (every index is paid for by each imported row). Duplicate
        # checks use the partial unique index on dedupe_key (they look at active statuses
        # only) and the unique registration_number; the review queue reads submitted
        # contracts only; the admin list sorts by registration date. The links to
        # organisations and the submitter are in ContractLinks (imported rows have none).
        indexes = [
            models.Index(
                fields=["registration_region", "created_at"],
                condition=Q(status=ContractStatus.SUBMITTED),
                name="contract_submitted_queue_idx",
            ),
            models.Index(fields=["registration_date"], name="contract_regdate_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(turnover__gt=0), name="contract_turnover_positive"),
            models.CheckConstraint(
                condition=Q(technical_amount__gt=0) & Q(technical_amount__lte=F("turnover")),
                name="contract_technical_within_turnover",
            ),
            models.CheckConstraint(
                condition=Q(rule_version__in=RuleVersion.values), name="contract_rule_version"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ContractStatus.values), name="contract_status_known"
            ),
            models.CheckConstraint(
                # 16 characters, all digits: length and trim (trim the digits, nothing may
                # remain) are native on SQLite and PostgreSQL alike; a REGEXP check would
                # call back into Python for every row written on SQLite.
                condition=Q(registration_number__isnull=True)
                | Q(
                    Exact(Length("registration_number"), 16),
                    Exact(
                        Func(
                            F("registration_number"),
                            Value("0123456789"),
                            function="TRIM",
                            output_field=models.CharField(),
                        ),
                        "",
                    ),
                ),
                name="contract_number_16_digits",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["registered", "amended"])
                | (Q(registration_number__isnull=False) & Q(registration_date__isnull=False)),
                name="contract_registered_has_number",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lte=F("valid_to")),
                name="contract_validity_ordered",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="contract_one_registration_per_contract",
            ),
            # A unique index of its own, not a constraint inside SQLite's table: a large import
            # can then drop it and build it once afterwards, like the other indexes its rows
            # enter (importer._indexes_rebuilt_after). NULL numbers (drafts) were never
            # compared; the condition only says so.
            models.UniqueConstraint(
                fields=["registration_number"],
                condition=Q(registration_number__isnull=False),
                name="contract_registration_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registration_number or '—'} {self.project_name}"

    # Read-only conveniences over the links row; deliberately not named like its fields, so
    # that an ORM filter on an old name fails loudly instead of meaning something else.
    @property
    def linked(self) -> ContractLinks | None:
        """The contract's links row, None when it has none (an imported contract)."""
        return getattr(self, "links", None)  # RelatedObjectDoesNotExist is an AttributeError

    @property
    def submitting_organisation_id(self) -> int | None:
        """The id of the organisation that submitted the contract (None if imported)."""
        links = self.linked
        return links.organisation_id if links else None

    @property
    def submitting_organisation(self) -> Organisation | None:
        """The organisation that submitted the contract (None if imported)."""
        links = self.linked
        return links.organisation if links else None

    @property
    def linked_organisation_ids(self) -> list[int]:
        """The submitting, seller and buyer organisations' ids that are set, in that order."""
        links = self.linked
        if links is None:
            return []
        ids = (links.organisation_id, links.seller_organisation_id, links.buyer_organisation_id)
        return [i for i in ids if i is not None]


class ContractLinks(models.Model):
    """The links of a contract to organisations and to its submitter, one row per contract
    that has any (those submitted through the web or the API).

    Kept beside the contract row so that a bulk import, whose rows have no links, writes no
    foreign keys (on PostgreSQL each would queue a trigger event per row until COMMIT).
    """

    contract = models.OneToOneField(
        TechContract,
        verbose_name=_("技术合同"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="links",
    )
    seller_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("卖方机构"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    buyer_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("买方机构"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("提交机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contract_links",
    )

    class Meta:
        verbose_name = _("合同关联")
        verbose_name_plural = _("合同关联")

    def __str__(self) -> str:
        return f"links of {self.contract_id}"


class ContractDeduction(models.Model):
    """One itemised non-technical item deducted from 成交额 (equipment, materials, …)."""

    contract = models.ForeignKey(TechContract, on_delete=models.CASCADE, related_name="deductions")
    kind = models.CharField(_("类别"), max_length=16, choices=DeductionKind.choices)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    amount = models.DecimalField(_("金额（元）"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("非技术性款项")
        verbose_name_plural = _("非技术性款项")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deduction_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class RegistrationSerial(models.Model):
    """The last serial handed out for one number prefix (year + region + point)."""

    prefix = models.CharField(_("编号前缀"), max_length=16, unique=True)
    last = models.PositiveIntegerField(_("已用序号"), default=0)

    class Meta:
        verbose_name = _("登记编号序号")
        verbose_name_plural = _("登记编号序号")

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"


class ContractStat(models.Model):
    """One cell of the statistics rollup: registered contracts summed over a cuboid's dims.

    Kept current inside the register/amend/cancel transaction (atomic upserts) and rebuilt by
    `manage.py rebuild_contract_stats`. Dimensions a cuboid does not use hold "". Amounts are
    integer fen so that sums stay exact on every database.
    """

    cuboid = models.PositiveSmallIntegerField(_("汇总粒度"))
    basis = CodeField(_("统计口径"), max_length=1, help_text=_("r=登记日期，s=签订日期"))
    year = models.PositiveSmallIntegerField(_("年度"))
    seller_province = CodeField(max_length=8, default="", blank=True)
    seller_city = CodeField(max_length=8, default="", blank=True)
    buyer_province = CodeField(max_length=8, default="", blank=True)
    buyer_city = CodeField(max_length=8, default="", blank=True)
    contract_class = CodeField(max_length=12, default="", blank=True)
    tech_field = CodeField(max_length=16, default="", blank=True)
    seller_category = CodeField(max_length=12, default="", blank=True)
    buyer_category = CodeField(max_length=12, default="", blank=True)
    ip_group = CodeField(max_length=20, default="", blank=True)
    plan_source = CodeField(max_length=12, default="", blank=True)
    contracts = models.BigIntegerField(_("项数"), default=0)
    turnover_fen = models.BigIntegerField(_("成交额（分）"), default=0)
    technical_fen = models.BigIntegerField(_("技术交易额（分）"), default=0)

    class Meta:
        verbose_name = _("技术合同统计汇总")
        verbose_name_plural = _("技术合同统计汇总")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "cuboid",
                    "basis",
                    "year",
                    "seller_province",
                    "seller_city",
                    "buyer_province",
                    "buyer_city",
                    "contract_class",
                    "tech_field",
                    "seller_category",
                    "buyer_category",
                    "ip_group",
                    "plan_source",
                ],
                name="contractstat_cell_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cuboid}/{self.basis}/{self.year}: {self.contracts}"
