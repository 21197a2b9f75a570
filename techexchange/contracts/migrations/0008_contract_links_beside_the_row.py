"""The four nullable links of a contract (submitting organisation, seller and buyer
organisations, submitter) move from the contract row to `ContractLinks`, one row per contract
that has any: a bulk import, whose rows have none, then writes no foreign keys.

Existing links are copied in batches; the reverse copies them back before the new table goes.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q

BATCH = 5_000
LINKS = ("organisation_id", "seller_organisation_id", "buyer_organisation_id", "submitted_by_id")


def _in_batches(queryset: Any) -> Any:
    """(pk, *LINKS) rows of `queryset`, BATCH at a time, in primary-key order."""
    last = 0
    while rows := list(
        queryset.filter(pk__gt=last).order_by("pk").values_list("pk", *LINKS)[:BATCH]
    ):
        yield rows
        last = rows[-1][0]


def copy_links_out(apps: Any, schema_editor: Any) -> None:
    """Every contract with a non-NULL link gets its ContractLinks row."""
    contract_model = apps.get_model("contracts", "TechContract")
    links_model = apps.get_model("contracts", "ContractLinks")
    db = schema_editor.connection.alias
    linked = Q()
    for name in LINKS:
        linked |= Q(**{f"{name}__isnull": False})
    for rows in _in_batches(contract_model.objects.using(db).filter(linked)):
        links_model.objects.using(db).bulk_create(
            links_model(contract_id=row[0], **dict(zip(LINKS, row[1:], strict=True)))
            for row in rows
        )


def copy_links_back(apps: Any, schema_editor: Any) -> None:
    """Reverse: the links rows back into the contract columns (re-added, all NULL)."""
    contract_model = apps.get_model("contracts", "TechContract")
    links_model = apps.get_model("contracts", "ContractLinks")
    db = schema_editor.connection.alias
    for rows in _in_batches(links_model.objects.using(db)):
        contract_model.objects.using(db).bulk_update(
            [contract_model(pk=row[0], **dict(zip(LINKS, row[1:], strict=True))) for row in rows],
            [name.removesuffix("_id") for name in LINKS],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_organisation_name_index"),
        ("contracts", "0007_table_defaults_for_timestamps_and_reasons"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ContractLinks",
            fields=[
                (
                    "contract",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="links",
                        serialize=False,
                        to="contracts.techcontract",
                        verbose_name="技术合同",
                    ),
                ),
                (
                    "seller_organisation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.organisation",
                        verbose_name="卖方机构",
                    ),
                ),
                (
                    "buyer_organisation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.organisation",
                        verbose_name="买方机构",
                    ),
                ),
                (
                    "submitted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="提交人",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="contract_links",
                        to="accounts.organisation",
                        verbose_name="提交机构",
                    ),
                ),
            ],
            options={
                "verbose_name": "合同关联",
                "verbose_name_plural": "合同关联",
            },
        ),
        migrations.RunPython(copy_links_out, copy_links_back, elidable=True),
        migrations.RemoveIndex(model_name="techcontract", name="contract_org_idx"),
        migrations.RemoveIndex(model_name="techcontract", name="contract_seller_org_idx"),
        migrations.RemoveIndex(model_name="techcontract", name="contract_buyer_org_idx"),
        migrations.RemoveIndex(model_name="techcontract", name="contract_submitter_idx"),
        migrations.RemoveField(model_name="techcontract", name="buyer_organisation"),
        migrations.RemoveField(model_name="techcontract", name="organisation"),
        migrations.RemoveField(model_name="techcontract", name="seller_organisation"),
        migrations.RemoveField(model_name="techcontract", name="submitted_by"),
    ]
