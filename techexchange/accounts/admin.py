"""Admin of accounts."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from techexchange.accounts.models import (
    ApiToken,
    Membership,
    Organisation,
    RoleGrant,
    TransferCentre,
    User,
)


@admin.register(User)
class TechUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Users with their display name."""

    list_display = ("username", "display_name", "email", "is_staff")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Organisations."""

    list_display = ("name_zh", "credit_code", "party_nature", "province", "city")
    list_filter = ("province", "party_nature", "is_sme", "is_synthetic")
    search_fields = ("name_zh", "name_en", "credit_code")


@admin.register(TransferCentre)
class TransferCentreAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Transfer centres and sub-centres."""

    list_display = ("code", "name_zh", "parent", "province", "city")


admin.site.register(Membership)
admin.site.register(RoleGrant)
admin.site.register(ApiToken)
