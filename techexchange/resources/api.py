"""API of resources: search, details, calendars, bookings, usage and utilisation.

The same services as the web: every rule holds whatever the door.
"""

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from techexchange.accounts.api import caller
from techexchange.core import clock
from techexchange.core.errors import Problem, ValidationFailed
from techexchange.resources import selectors, services
from techexchange.resources.models import InstrumentService
from techexchange.resources.schemas import (
    AvailabilityOut,
    BookingIn,
    BookingOut,
    FinishIn,
    InstrumentOut,
    MoveIn,
    OrderIn,
    ReasonIn,
    SearchIn,
    SearchOut,
    UsageIn,
    UsageOut,
    UtilisationOut,
)

router = Router(tags=["resources"])


def _service(instrument_id: int, service_id: int | None) -> InstrumentService | None:
    if service_id is None:
        return None
    service = InstrumentService.objects.filter(pk=service_id, instrument_id=instrument_id).first()
    if service is None:
        raise ValidationFailed(
            "服务项目有误",
            problems=[Problem("unknown_service", "该仪器没有这个服务项目", "service_id")],
        )
    return service


@router.get("/instruments", response=SearchOut)
def search(request: HttpRequest, filters: Query[SearchIn]) -> Any:
    """Search instruments across the four regions; facets count every filter's values.

    `available_from`/`available_to` (dates, both included) with `min_hours` keep only the
    instruments with a free slot that long in the window (open hours, outages, bookings).
    """
    result = selectors.search_instruments(**filters.model_dump(), now=clock.now())
    return {
        "total": result.total,
        "sort": result.sort,
        "took_ms": result.took_ms,
        "items": result.hits,
        "facets": result.facets,
    }


@router.get("/instruments/{instrument_id}", response=InstrumentOut)
def detail(request: HttpRequest, instrument_id: int) -> Any:
    """One instrument with its services and prices."""
    return selectors.get_instrument(instrument_id)


@router.get("/instruments/{instrument_id}/availability", response=AvailabilityOut)
def availability(
    request: HttpRequest,
    instrument_id: int,
    start: str = "",
    days: int = 7,
) -> Any:
    """The instrument's calendar: free, taken, closed, outage or past per slot."""
    instrument = selectors.get_instrument(instrument_id)
    now = clock.now()
    try:
        first = datetime.fromisoformat(start).date() if start else clock.today()
    except ValueError:
        raise ValidationFailed(
            "日期有误", problems=[Problem("invalid_date", "日期须为 YYYY-MM-DD", "start")]
        ) from None
    cal = selectors.availability(instrument, start=first, days=min(max(days, 1), 31), now=now)
    return {
        "instrument_id": instrument.pk,
        "slot_minutes": cal.slot_minutes,
        "days": [{"day": d, "slots": slots} for d, slots in cal.days],
    }


@router.post("/instruments/{instrument_id}/bookings", response={201: BookingOut}, auth=caller)
def book(request: HttpRequest, instrument_id: int, payload: BookingIn) -> Any:
    """Book a slot: 201 with the booking (pending when it needs approval), 409 `overlap`."""
    instrument = selectors.get_instrument(instrument_id)
    booking = services.book_instrument(
        instrument=instrument,
        booked_by=request.auth,  # type: ignore[attr-defined]
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        service=_service(instrument.pk, payload.service_id),
        purpose=payload.purpose,
        override_reason=payload.override_reason,
    )
    return Status(201, booking)


@router.post("/instruments/{instrument_id}/orders", response={201: BookingOut}, auth=caller)
def order(request: HttpRequest, instrument_id: int, payload: OrderIn) -> Any:
    """Order an entrusted service: staff run the samples."""
    instrument = selectors.get_instrument(instrument_id)
    service = _service(instrument.pk, payload.service_id)
    assert service is not None
    booking = services.request_order(
        instrument=instrument,
        booked_by=request.auth,  # type: ignore[attr-defined]
        service=service,
        samples=payload.samples,
        purpose=payload.purpose,
    )
    return Status(201, booking)


@router.get("/bookings", response=list[BookingOut], auth=caller)
@paginate(LimitOffsetPagination)
def my_bookings(request: HttpRequest) -> Any:
    """The caller's bookings and orders."""
    return selectors.list_bookings_for(request.auth)  # type: ignore[attr-defined]


@router.get("/approvals", response=list[BookingOut], auth=caller)
@paginate(LimitOffsetPagination)
def approvals(request: HttpRequest) -> Any:
    """Pending requests on instruments the caller's organisations hold."""
    return selectors.approval_queue_for(request.auth)  # type: ignore[attr-defined]


@router.get("/bookings/{booking_id}", response=BookingOut, auth=caller)
def booking_detail(request: HttpRequest, booking_id: int) -> Any:
    """One booking (its owner or the holder's staff)."""
    return selectors.get_booking_for(request.auth, booking_id)  # type: ignore[attr-defined]


def _mine(request: HttpRequest, booking_id: int) -> Any:
    return selectors.get_booking_for(request.auth, booking_id)  # type: ignore[attr-defined]


@router.post("/bookings/{booking_id}/approve", response=BookingOut, auth=caller)
def approve(request: HttpRequest, booking_id: int) -> Any:
    """Confirm a pending request (the holder's staff)."""
    return services.approve_booking(booking=_mine(request, booking_id), actor=request.auth)  # type: ignore[attr-defined]


@router.post("/bookings/{booking_id}/reject", response=BookingOut, auth=caller)
def reject(request: HttpRequest, booking_id: int, payload: ReasonIn) -> Any:
    """Decline a pending request, with a reason."""
    return services.reject_booking(
        booking=_mine(request, booking_id),
        actor=request.auth,  # type: ignore[attr-defined]
        reason=payload.reason,
    )


@router.post("/bookings/{booking_id}/cancel", response=BookingOut, auth=caller)
def cancel(request: HttpRequest, booking_id: int, payload: ReasonIn) -> Any:
    """Cancel; with short notice the cancellation is recorded as late."""
    return services.cancel_booking(
        booking=_mine(request, booking_id),
        actor=request.auth,  # type: ignore[attr-defined]
        reason=payload.reason,
        override_reason=payload.override_reason,
    )


@router.post("/bookings/{booking_id}/check-in", response=BookingOut, auth=caller)
def check_in(request: HttpRequest, booking_id: int) -> Any:
    """Check in at the instrument."""
    return services.check_in(booking=_mine(request, booking_id), actor=request.auth)  # type: ignore[attr-defined]


@router.post("/bookings/{booking_id}/move", response={201: BookingOut}, auth=caller)
def move(request: HttpRequest, booking_id: int, payload: MoveIn) -> Any:
    """Move to another slot: the answer is the successor booking."""
    new = services.move_booking(
        booking=_mine(request, booking_id),
        actor=request.auth,  # type: ignore[attr-defined]
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        override_reason=payload.override_reason,
    )
    return Status(201, new)


@router.post("/bookings/{booking_id}/finish", response=UsageOut, auth=caller)
def finish(request: HttpRequest, booking_id: int, payload: FinishIn) -> Any:
    """End a checked-in session now (early finish frees the rest); records the usage."""
    return services.finish_booking(
        booking=_mine(request, booking_id),
        actor=request.auth,  # type: ignore[attr-defined]
        satisfaction=payload.satisfaction,
        samples=payload.samples,
    )


@router.post("/bookings/{booking_id}/usage", response={201: UsageOut}, auth=caller)
def usage(request: HttpRequest, booking_id: int, payload: UsageIn) -> Any:
    """Staff record the service done on a booking or an order."""
    record = services.record_usage(
        booking=_mine(request, booking_id),
        actor=request.auth,  # type: ignore[attr-defined]
        started_at=payload.started_at,
        ended_at=payload.ended_at,
        samples=payload.samples,
        content=payload.content,
        satisfaction=payload.satisfaction,
    )
    return Status(201, record)


@router.get("/utilisation", response=list[UtilisationOut], auth=caller)
def utilisation(
    request: HttpRequest,
    group_by: str = "instrument",
    start: str = "",
    end: str = "",
    holder: int | None = None,
) -> Any:
    """Utilisation per instrument, provider, city or province over a period (default 365 days)."""
    now = clock.now()
    try:
        lo = datetime.fromisoformat(start) if start else now - timedelta(days=365)
        hi = datetime.fromisoformat(end) if end else now
    except ValueError:
        raise ValidationFailed(
            "日期有误", problems=[Problem("invalid_date", "日期须为 ISO-8601", "start")]
        ) from None
    if lo.tzinfo is None:
        lo = lo.replace(tzinfo=now.tzinfo)
    if hi.tzinfo is None:
        hi = hi.replace(tzinfo=now.tzinfo)
    return selectors.utilisation(
        group_by=group_by,
        start=lo,
        end=hi,
        user=request.auth,  # type: ignore[attr-defined]
        holder_id=holder,
    )


__all__ = ["router"]
