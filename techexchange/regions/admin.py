"""Admin of regions."""

from django.contrib import admin

from techexchange.regions.models import Bloc, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Regions (reference data)."""

    list_display = ("code", "name_zh", "name_en", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name_zh", "name_en")


admin.site.register(Bloc)
