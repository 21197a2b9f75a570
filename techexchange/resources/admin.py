"""Admin of resources: records are edited here, bookings only move through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from techexchange.core.audit import audit
from techexchange.core.errors import DomainError
from techexchange.resources import services
from techexchange.resources.models import (
    Booking,
    BookingPolicy,
    Category,
    Expert,
    Facility,
    Instrument,
    InstrumentService,
    OpenHours,
    Outage,
    PolicyOffWindow,
    Qualification,
    ResearchBase,
    UsageRecord,
)


class ServiceInline(admin.TabularInline):  # type: ignore[type-arg]
    """Services and prices of an instrument."""

    model = InstrumentService
    extra = 0


class OpenHoursInline(admin.TabularInline):  # type: ignore[type-arg]
    """Weekly open hours."""

    model = OpenHours
    extra = 0


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Instruments; every save is audited and reaches the search index through the outbox."""

    list_display = ("name_zh", "asset_id", "holder", "category", "state", "sharing_mode", "city")
    list_filter = ("state", "sharing_mode", "province")
    search_fields = ("name_zh", "name_en", "asset_id", "model_number")
    raw_id_fields = ("holder", "facility")
    inlines = [ServiceInline, OpenHoursInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save, audit, and tell the index."""
        super().save_model(request, obj, form, change)
        audit(actor=request.user, action="instrument.admin_save", obj=obj)
        services.touch_instruments([obj.pk])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Services changed: the index shows their prices and modes; open hours and state
        change the free time."""
        super().save_related(request, form, formsets, change)
        services.touch_instruments([form.instance.pk])
        services.refresh_free_time(instrument_ids=[form.instance.pk])


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Bookings are read-only here: the actions call the same services as the web and API."""

    list_display = ("pk", "instrument", "user", "starts_at", "ends_at", "status", "late_cancel")
    list_filter = ("status", "kind")
    actions = ["approve", "release_no_shows"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Bookings are made through the booking service."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Bookings change only through the services."""
        return False

    @admin.action(description="批准所选申请")
    def approve(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        """Approve pending requests through the service."""
        for booking in queryset.filter(status="pending"):
            try:
                services.approve_booking(booking=booking, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"#{booking.pk}: {exc.message}", messages.ERROR)

    @admin.action(description="释放爽约预约")
    def release_no_shows(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        """Run the no-show release now."""
        self.message_user(request, f"{services.release_no_shows()}")


class _FreeTimeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A change here moves free time: the summary of the instruments concerned follows."""

    def _instrument_ids(self, obj: Any) -> list[int]:
        if isinstance(obj, BookingPolicy):
            return list(obj.instruments.values_list("pk", flat=True))
        return [obj.instrument_id]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save, then rewrite the summary."""
        super().save_model(request, obj, form, change)
        services.refresh_free_time(instrument_ids=self._instrument_ids(obj))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        """Delete, then rewrite the summary."""
        ids = self._instrument_ids(obj)
        super().delete_model(request, obj)
        services.refresh_free_time(instrument_ids=ids)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Bulk delete, then rewrite the summary of every instrument concerned."""
        ids = sorted({i for obj in queryset for i in self._instrument_ids(obj)})
        super().delete_queryset(request, queryset)
        services.refresh_free_time(instrument_ids=ids)


admin.site.register(BookingPolicy, _FreeTimeAdmin)
admin.site.register(Outage, _FreeTimeAdmin)

for model in (
    Category,
    Facility,
    ResearchBase,
    Expert,
    PolicyOffWindow,
    Qualification,
    UsageRecord,
):
    admin.site.register(model)
