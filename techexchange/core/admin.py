"""Admin of core: the audit log, read-only."""

from django.contrib import admin
from django.http import HttpRequest

from techexchange.core.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit log can be read, never changed."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "reason")
    list_filter = ("action", "object_type")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Audit entries are append-only."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Audit entries are append-only."""
        return False
