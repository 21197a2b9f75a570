"""Admin of contracts: read-only (every write goes through the services and is audited)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from techexchange.contracts.models import ContractStat, TechContract


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TechContract)
class TechContractAdmin(_ReadOnly):
    """Contracts, read-only."""

    list_display = (
        "registration_number",
        "project_name",
        "contract_type",
        "status",
        "seller_name",
        "buyer_name",
        "turnover",
        "registration_date",
    )
    list_filter = ("status", "contract_type", "registration_region", "tech_field")
    search_fields = ("registration_number", "project_name", "seller_name", "buyer_name")


@admin.register(ContractStat)
class ContractStatAdmin(_ReadOnly):
    """The statistics rollup, read-only."""

    list_display = ("cuboid", "basis", "year", "seller_province", "buyer_province", "contracts")
    list_filter = ("cuboid", "basis", "year")
