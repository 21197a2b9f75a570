"""API schemas of resources: separate input and output shapes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field


class SearchIn(Schema):
    """Search parameters (repeat a filter to accept several values)."""

    q: str = Field("", max_length=200)
    province: list[str] = []
    city: list[str] = []
    category: list[str] = []
    mode: list[str] = []
    availability: list[str] = []
    price_min: float | None = None
    price_max: float | None = None
    sort: str = "relevance"
    near: str = ""
    available_from: date | None = None
    available_to: date | None = None
    min_hours: float | None = Field(None, gt=0, le=24 * 62)
    offset: int = Field(0, ge=0, le=10000)
    limit: int = Field(20, ge=1, le=100)


class FacetValueOut(Schema):
    """One facet value with its count."""

    value: str
    label: str
    count: int


class InstrumentHitOut(Schema):
    """One search hit: what the result list shows."""

    id: str
    name_zh: str = ""
    name_en: str = ""
    holder_name_zh: str = ""
    province: str = ""
    province_name: str = ""
    city: str = ""
    city_name: str = ""
    category: str = ""
    category_label: str = ""
    mode: list[str] = []
    availability: str = ""
    price: float | None = None
    price_unit: str = ""
    distance_km: int | None = None
    highlights: dict[str, str] = {}
    score: float = 0.0


class SearchOut(Schema):
    """A page of search results with facets."""

    total: int
    sort: str
    took_ms: float
    items: list[InstrumentHitOut]
    facets: dict[str, list[FacetValueOut]]


class ServiceOut(Schema):
    """A service of an instrument with its prices."""

    id: int
    name: str
    mode: str
    unit: str
    price_internal: Decimal
    price_external: Decimal
    price_enterprise: Decimal


class InstrumentOut(Schema):
    """An instrument's record (the national fields that are public)."""

    id: int
    asset_id: str
    name_zh: str
    name_en: str
    holder_id: int
    holder_name: str
    facility_id: int | None
    category_id: str
    source: str
    original_value: Decimal
    country: str
    manufacturer: str
    model_number: str
    commissioned_on: date | None
    specs: str
    functions: str
    disciplines: str
    state: str
    sharing_mode: str
    fee_standard: str
    province_id: str
    city_id: str | None
    capacity: int
    services: list[ServiceOut]

    @staticmethod
    def resolve_holder_name(obj: Any) -> str:
        """The holder's Chinese name."""
        return str(obj.holder.name_zh)

    @staticmethod
    def resolve_services(obj: Any) -> list[Any]:
        """Services in use."""
        return [s for s in obj.services.all() if s.is_active]


class SlotOut(Schema):
    """One calendar cell."""

    starts_at: datetime
    ends_at: datetime
    state: str


class DayOut(Schema):
    """One day of the calendar."""

    day: date
    slots: list[SlotOut]


class AvailabilityOut(Schema):
    """An instrument's calendar."""

    instrument_id: int
    slot_minutes: int
    days: list[DayOut]


class BookingIn(Schema):
    """A slot to book (ISO-8601 with offset)."""

    starts_at: datetime
    ends_at: datetime
    service_id: int | None = None
    purpose: str = Field("", max_length=200)
    override_reason: str = Field("", max_length=500)


class OrderIn(Schema):
    """An entrusted (委托) service order."""

    service_id: int
    samples: int = Field(ge=1, le=100000)
    purpose: str = Field("", max_length=200)


class BookingOut(Schema):
    """A booking or order."""

    id: int
    instrument_id: int
    kind: str
    status: str
    user_id: int
    organisation_id: int | None
    customer_category: str
    starts_at: datetime | None
    ends_at: datetime | None
    hold_expires_at: datetime | None
    request_reasons: list[str]
    overridden: list[str]
    late_cancel: bool
    checked_in_at: datetime | None
    predecessor_id: int | None
    service_id: int | None
    samples: int


class ReasonIn(Schema):
    """A reason (for rejection or cancellation)."""

    reason: str = Field("", max_length=200)
    override_reason: str = Field("", max_length=500)


class MoveIn(Schema):
    """A new slot for a booking."""

    starts_at: datetime
    ends_at: datetime
    override_reason: str = Field("", max_length=500)


class FinishIn(Schema):
    """End a session, with an optional rating."""

    satisfaction: int | None = Field(None, ge=1, le=5)
    samples: int = Field(0, ge=0)


class UsageIn(Schema):
    """Staff record what was done on an order or a booking."""

    started_at: datetime
    ended_at: datetime
    samples: int = Field(0, ge=0)
    content: str = Field("", max_length=300)
    satisfaction: int | None = Field(None, ge=1, le=5)


class UsageOut(Schema):
    """A service record."""

    id: int
    instrument_id: int
    booking_id: int | None
    started_at: datetime
    ended_at: datetime
    hours: Decimal
    samples: int
    is_external: bool
    is_cross_province: bool
    amount: Decimal
    satisfaction: int | None


class UtilisationOut(Schema):
    """Utilisation of one group."""

    key: str
    label: str
    instruments: int
    effective_hours: Decimal
    external_hours: Decimal
    cross_province_hours: Decimal
    share_rate: Decimal | None
    fill: Decimal | None
    no_show_rate: Decimal | None
    late_cancel_rate: Decimal | None
    satisfaction: Decimal | None
    services: int
    amount: Decimal
