"""Writes of resources: the one write path for web, API, admin, import and jobs.

Booking is serialised per instrument by the database: on PostgreSQL the exclusion constraint
`booking_no_overlap` (migration 0003) refuses a second active booking over the same blocked
range; on SQLite every transaction begins IMMEDIATE (settings), so the overlap check below runs
under the database's single write lock. Either way a lost race is a `Conflict("overlap")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from techexchange.accounts.codes import ReportCategory, report_category_of
from techexchange.accounts.models import Organisation
from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, can_user, require
from techexchange.core import clock
from techexchange.core.audit import audit
from techexchange.core.errors import Conflict, PermissionDenied, Problem, ValidationFailed
from techexchange.resources import freetime, indexing
from techexchange.resources.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingKind,
    BookingSeries,
    BookingStatus,
    Charge,
    FreeTimeProfile,
    Instrument,
    InstrumentService,
    Outage,
    Qualification,
    ServiceMode,
    UsageRecord,
    WaitlistEntry,
)
from techexchange.resources.policies import (
    BookingFacts,
    Rules,
    cancel_problems,
    charge_quantity,
    check_in_problems,
    customer_category,
    decide,
    hold_expiry,
    is_late_cancellation,
    is_no_show,
    series_slots,
    transfer_problems,
    waitlist_hold,
)
from techexchange.resources.profiles import blocked_spans, open_windows, outage_spans, rules_for

__all__ = [
    "InstrumentInput",
    "ServiceInput",
    "approve_booking",
    "book_instrument",
    "book_series",
    "cancel_booking",
    "check_in",
    "create_outage",
    "expire_holds",
    "finish_booking",
    "grant_qualification",
    "hand_on_lapsed_holds",
    "join_waitlist",
    "move_booking",
    "record_usage",
    "refresh_free_time",
    "reject_booking",
    "release_no_shows",
    "request_order",
    "save_instrument",
    "touch_instruments",
    "transfer_booking",
]

EXCLUSION_VIOLATION = "23P01"


def _target(instrument: Instrument) -> Target:
    return Target(organisation_id=instrument.holder_id, region_code=instrument.province_id)


def _account(user: Any, organisation: Organisation | None) -> Organisation:
    """The organisation the user books and is billed for: one they belong to."""
    member_of = actor_for(user).member_of
    if organisation is not None:
        if organisation.pk not in member_of:
            raise ValidationFailed(
                "付费单位有误",
                problems=[Problem("not_a_member", "只能以您所属单位的名义预约", "organisation")],
            )
        return organisation
    org = Organisation.objects.filter(pk__in=member_of).order_by("pk").first()
    if org is None:
        raise ValidationFailed(
            "没有付费单位",
            problems=[
                Problem("no_account", "须以所属单位名义预约：请先加入或注册机构", "organisation")
            ],
        )
    return org


def _category_for(instrument: Instrument, org: Organisation) -> str:
    return customer_category(
        is_internal=org.pk == instrument.holder_id,
        is_enterprise=report_category_of(org.party_nature) == ReportCategory.ENTERPRISE,
    )


def _qualified(user: Any, instrument: Instrument, on: date) -> bool:
    return (
        Qualification.objects.filter(user=user, instrument=instrument, revoked_at__isnull=True)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .exists()
    )


def _service_for(instrument: Instrument, service: InstrumentService | None) -> str:
    if service is None:
        return ServiceMode.OCCUPY
    if service.instrument_id != instrument.pk or not service.is_active:
        raise ValidationFailed(
            "服务项目有误",
            problems=[Problem("unknown_service", "该仪器没有这个服务项目", "service")],
        )
    return service.mode


def _calendar_changed(
    instrument_id: int, spans: list[tuple[datetime | None, datetime | None]], now: datetime
) -> None:
    """Rewrite the free-time summary of the days these spans touch (same transaction)."""
    known = [(s, e) for s, e in spans if s is not None and e is not None]
    if known:
        lo = min(s for s, _e in known)
        hi = max(e for _s, e in known)
        freetime.refresh(instrument_id, lo, hi, now=now)


def _span(b: Booking) -> tuple[datetime | None, datetime | None]:
    return b.starts_at, b.blocked_until or b.ends_at


def refresh_free_time(
    *, instrument_ids: list[int] | None = None, now: datetime | None = None
) -> int:
    """Rebuild the free-time summary (all instruments, or these); return the day rows written.

    For bulk loads and repairs: the services keep the summary current on their own.
    """
    now = now or clock.now()
    with transaction.atomic():
        return freetime.rebuild(now=now, ids=instrument_ids)


def _is_bookable(instrument: Instrument) -> bool:
    from techexchange.resources.models import BOOKABLE_STATES

    return instrument.state in BOOKABLE_STATES


def _expire_stale(instrument: Instrument, lo: datetime, hi: datetime, now: datetime) -> None:
    """Pending requests whose hold ran out stop holding their slot (audited)."""
    stale = Booking.objects.filter(
        instrument=instrument,
        status=BookingStatus.PENDING,
        hold_expires_at__lte=now,
        starts_at__lt=hi + timedelta(days=1),
        ends_at__gt=lo - timedelta(days=1),
    )
    for booking in stale.select_for_update():
        booking.status = BookingStatus.EXPIRED
        booking.save(update_fields=["status"])
        audit(actor=None, action="booking.expire", obj=booking, data={"at": now.isoformat()})
        _calendar_changed(instrument.pk, [_span(booking)], now)


def _refuse(problems: list[Problem]) -> None:
    if any(p.code == "overlap" for p in problems):
        raise Conflict("该时段已被预约", problems=problems, code="overlap")
    if any(p.code == "full" for p in problems):
        raise Conflict("该时段名额已满", problems=problems, code="full")
    if any(p.code == "held_for_waitlist" for p in problems):
        raise Conflict("该时段正为候补用户保留", problems=problems, code="held_for_waitlist")
    raise ValidationFailed("预约不符合规则", problems=problems)


def _override_allowed(actor: Any, instrument: Instrument, reason: str) -> bool:
    if not reason:
        return False
    if not reason.strip():
        raise ValidationFailed(
            "须说明理由", problems=[Problem("reason_required", "豁免规则须填写理由", "reason")]
        )
    require(actor, Action.OVERRIDE_POLICY, _target(instrument))
    return True


def _insert(booking: Booking) -> Booking:
    """Insert a booking; the exclusion constraint's refusal becomes a Conflict."""
    try:
        with transaction.atomic():
            booking.save(force_insert=True)
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == EXCLUSION_VIOLATION:
            raise Conflict(
                "该时段已被预约",
                problems=[Problem("overlap", "该时段已被预约", "starts_at")],
                code="overlap",
            ) from None
        raise
    return booking


def _has_quota(rules: Rules) -> bool:
    return bool(
        rules.max_hours_per_day
        or rules.max_hours_per_week
        or rules.max_future_bookings
        or rules.max_future_hours
    )


def _lock_quota(instrument: Instrument, user: Any) -> None:
    """Serialise the quota check of one (user, instrument) until the transaction ends.

    The exclusion constraint only refuses overlaps: two bookings of different slots by the
    same user could otherwise both read the same "own bookings" and both pass a quota. A
    transaction-level advisory lock keyed (instrument, user) makes the second wait for the
    first to commit, then count its booking. Keys are the ids modulo 2^31 (int4); a
    collision only makes an unrelated pair wait, never lets a quota pass.
    """
    key = (int(instrument.pk) % 2**31, int(user.pk) % 2**31)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)


def book_instrument(
    *,
    instrument: Instrument,
    booked_by: Any,
    starts_at: datetime,
    ends_at: datetime,
    service: InstrumentService | None = None,
    organisation: Organisation | None = None,
    purpose: str = "",
    funding_source: str = "",
    samples: int = 0,
    override_reason: str = "",
    now: datetime | None = None,
    series: BookingSeries | None = None,
    predecessor: Booking | None = None,
    actor: Any = None,
) -> Booking:
    """Book a slot; pending (a request) when the policy wants approval or a limit is passed.

    `actor` is who acts when it is not the booker (a move or transfer by staff).
    """
    now = now or clock.now()
    actor = actor or booked_by
    require(booked_by, Action.BOOK_INSTRUMENT)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed(
            "时间须带时区",
            problems=[Problem("naive_datetime", "时间须带时区（ISO-8601）", "starts_at")],
        )
    override = _override_allowed(actor, instrument, override_reason)
    mode = _service_for(instrument, service)
    account = _account(booked_by, organisation)
    rules = rules_for(instrument)
    buffer = timedelta(minutes=rules.buffer_minutes)
    with transaction.atomic():
        # Writers of the calendar go one at a time per instrument (the free-time summary; shared
        # areas count bookings), always taking this lock first.
        freetime.lock(instrument.pk)
        if connection.vendor == "postgresql" and _has_quota(rules):
            _lock_quota(instrument, booked_by)
        _expire_stale(instrument, starts_at, ends_at, now)
        exclude = predecessor.pk if predecessor is not None else None
        taken = blocked_spans(instrument, starts_at, ends_at + buffer, exclude_id=exclude, now=now)
        own = (
            Booking.objects.filter(
                instrument=instrument,
                user=booked_by,
                status__in=ACTIVE_STATUSES,
                kind=BookingKind.SLOT,
                ends_at__gt=now,
            )
            .exclude(pk=exclude or 0)
            .values_list("starts_at", "ends_at")
        )
        facts = BookingFacts(
            bookable=_is_bookable(instrument),
            sharing_mode=instrument.sharing_mode,
            is_internal=account.pk == instrument.holder_id,
            mode=mode,
            qualified=_qualified(booked_by, instrument, starts_at.date()),
            capacity=instrument.capacity,
            open_hours=open_windows(instrument),
            outages=outage_spans(instrument, starts_at, ends_at),
            # Widen each taken range by our buffer before it: [s - B, e + b).
            taken=tuple(
                (b.starts_at - buffer, b.blocked_until or b.ends_at)
                for b in taken
                if b.starts_at is not None and b.ends_at is not None
            ),
            own=tuple((s, e) for s, e in own if s and e),
            is_change=predecessor is not None,
        )
        decision = decide(starts_at, ends_at, rules, facts, now, override=override)
        held = _held_for_others(instrument, booked_by, starts_at, ends_at + buffer, now)
        if held and override:
            decision.overridden.append("held_for_waitlist")
        elif held:
            until = max(e.hold_until for e in held if e.hold_until is not None)
            decision.refusals.append(
                Problem(
                    "held_for_waitlist",
                    "该时段正为候补用户保留",
                    "starts_at",
                    {"hold_until": until.isoformat()},
                )
            )
        if decision.refusals:
            _refuse(decision.refusals)
        pending = decision.needs_approval
        booking = Booking(
            instrument=instrument,
            service=service,
            kind=BookingKind.SLOT,
            user=booked_by,
            organisation=account,
            customer_category=_category_for(instrument, account),
            starts_at=starts_at,
            ends_at=ends_at,
            buffer=buffer,
            blocked_until=ends_at + buffer,
            exclusive=instrument.capacity == 1,
            status=BookingStatus.PENDING if pending else BookingStatus.CONFIRMED,
            hold_expires_at=hold_expiry(starts_at, rules, now) if pending else None,
            request_reasons=decision.request_reasons,
            overridden=decision.overridden,
            purpose=purpose[:200],
            funding_source=funding_source[:80],
            samples=max(0, samples),
            series=series,
            predecessor=predecessor,
            created_at=now,
        )
        _insert(booking)
        used = WaitlistEntry.objects.filter(
            instrument=instrument,
            user=booked_by,
            hold_until__gt=now,
            held_from__lt=ends_at,
            held_to__gt=starts_at,
        )
        spans = [_span(booking), *used.values_list("held_from", "held_to")]
        used.update(hold_until=now, hold_closed_at=now)
        _calendar_changed(instrument.pk, spans, now)
        audit(
            actor=actor,
            action="booking.request" if pending else "booking.create",
            obj=booking,
            data={
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "reasons": decision.request_reasons,
                "predecessor": predecessor.pk if predecessor else None,
            },
        )
        if decision.overridden:
            audit(
                actor=actor,
                action="booking.override",
                obj=booking,
                reason=override_reason.strip(),
                data={"waived": decision.overridden},
            )
    return booking


def request_order(
    *,
    instrument: Instrument,
    booked_by: Any,
    service: InstrumentService,
    samples: int,
    purpose: str = "",
    funding_source: str = "",
    organisation: Organisation | None = None,
    now: datetime | None = None,
) -> Booking:
    """Order an entrusted (委托) service: staff run the samples; no qualification needed."""
    now = now or clock.now()
    require(booked_by, Action.BOOK_INSTRUMENT)
    _service_for(instrument, service)
    problems = []
    if service.mode != ServiceMode.ENTRUSTED:
        problems.append(Problem("not_entrusted", "委托订单须选择委托共享服务", "service"))
    if samples < 1:
        problems.append(Problem("samples_required", "请填写样品数量", "samples"))
    account = _account(booked_by, organisation)
    if instrument.sharing_mode == "none" or (
        instrument.sharing_mode == "internal" and account.pk != instrument.holder_id
    ):
        problems.append(Problem("not_shared", "该仪器不对外共享", "instrument"))
    if not _is_bookable(instrument):
        problems.append(Problem("out_of_service", "仪器当前不可预约（维修或停用）", "instrument"))
    if problems:
        raise ValidationFailed("委托订单不符合规则", problems=problems)
    rules = rules_for(instrument)
    with transaction.atomic():
        booking = Booking.objects.create(
            instrument=instrument,
            service=service,
            kind=BookingKind.ORDER,
            user=booked_by,
            organisation=account,
            customer_category=_category_for(instrument, account),
            status=BookingStatus.PENDING,
            hold_expires_at=hold_expiry(None, rules, now),
            request_reasons=["order"],
            purpose=purpose[:200],
            funding_source=funding_source[:80],
            samples=samples,
            created_at=now,
        )
        audit(actor=booked_by, action="booking.order", obj=booking, data={"samples": samples})
    return booking


def _locked(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("instrument").get(pk=booking.pk)


def _staff_or_owner(actor: Any, booking: Booking) -> bool:
    if getattr(actor, "pk", None) == booking.user_id:
        return True
    return can_user(actor, Action.APPROVE_BOOKING, _target(booking.instrument))


def approve_booking(*, booking: Booking, actor: Any, now: datetime | None = None) -> Booking:
    """Provider staff confirm a pending request (while its hold lasts)."""
    now = now or clock.now()
    require(actor, Action.APPROVE_BOOKING, _target(booking.instrument))
    with transaction.atomic():
        freetime.lock(booking.instrument_id)
        b = _locked(booking)
        if b.status != BookingStatus.PENDING:
            raise Conflict(
                "该预约不在待审批状态",
                problems=[Problem("not_pending", "该预约不在待审批状态", "status")],
            )
        if b.hold_expires_at is not None and b.hold_expires_at <= now:
            _expire_pending(b, now)
            raise Conflict(
                "申请已过期，时段已释放",
                problems=[Problem("hold_expired", "申请已过期，时段已释放", "status")],
            )
        b.status = BookingStatus.CONFIRMED
        b.hold_expires_at = None
        b.decided_by = actor
        b.decided_at = now
        b.save(update_fields=["status", "hold_expires_at", "decided_by", "decided_at"])
        audit(actor=actor, action="booking.approve", obj=b)
        _calendar_changed(b.instrument_id, [_span(b)], now)  # no longer a hold that ends
    return b


def reject_booking(
    *, booking: Booking, actor: Any, reason: str, now: datetime | None = None
) -> Booking:
    """Provider staff decline a pending request, saying why."""
    now = now or clock.now()
    require(actor, Action.APPROVE_BOOKING, _target(booking.instrument))
    if not reason.strip():
        raise ValidationFailed(
            "须说明理由", problems=[Problem("reason_required", "驳回须填写理由", "reason")]
        )
    with transaction.atomic():
        freetime.lock(booking.instrument_id)
        b = _locked(booking)
        if b.status != BookingStatus.PENDING:
            raise Conflict(
                "该预约不在待审批状态",
                problems=[Problem("not_pending", "该预约不在待审批状态", "status")],
            )
        b.status = BookingStatus.REJECTED
        b.decided_by = actor
        b.decided_at = now
        b.cancel_reason = reason.strip()[:200]
        b.save(update_fields=["status", "decided_by", "decided_at", "cancel_reason"])
        audit(actor=actor, action="booking.reject", obj=b, reason=reason.strip())
        _notify_waitlist(b, now)
        _calendar_changed(b.instrument_id, [_span(b)], now)
    return b


def cancel_booking(
    *,
    booking: Booking,
    actor: Any,
    reason: str = "",
    override_reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Cancel a pending or confirmed booking; with short notice it is recorded as late."""
    now = now or clock.now()
    if not _staff_or_owner(actor, booking):
        raise PermissionDenied("只能取消自己的预约", code="forbidden")
    override = _override_allowed(actor, booking.instrument, override_reason)
    rules = rules_for(booking.instrument)
    with transaction.atomic():
        freetime.lock(booking.instrument_id)
        b = _locked(booking)
        problems = cancel_problems(status=b.status, starts_at=b.starts_at, rules=rules, now=now)
        waived = [p.code for p in problems if override and p.code == "min_notice_cancel"]
        problems = [p for p in problems if p.code not in waived]
        if problems:
            raise ValidationFailed("不能取消", problems=problems)
        late = is_late_cancellation(status=b.status, starts_at=b.starts_at, rules=rules, now=now)
        b.status = BookingStatus.CANCELLED
        b.cancelled_at = now
        b.cancel_reason = reason.strip()[:200]
        b.late_cancel = late
        b.save(update_fields=["status", "cancelled_at", "cancel_reason", "late_cancel"])
        audit(actor=actor, action="booking.cancel", obj=b, reason=reason, data={"late": late})
        if waived:
            audit(
                actor=actor,
                action="booking.override",
                obj=b,
                reason=override_reason.strip(),
                data={"waived": waived},
            )
        _notify_waitlist(b, now)
        _calendar_changed(b.instrument_id, [_span(b)], now)
    return b


def check_in(*, booking: Booking, actor: Any, now: datetime | None = None) -> Booking:
    """The user (or staff) checks in at the instrument."""
    now = now or clock.now()
    if not _staff_or_owner(actor, booking):
        raise PermissionDenied("只能为自己的预约签到", code="forbidden")
    rules = rules_for(booking.instrument)
    with transaction.atomic():
        b = _locked(booking)
        problems = check_in_problems(
            status=b.status, starts_at=b.starts_at, ends_at=b.ends_at, rules=rules, now=now
        )
        if problems:
            raise ValidationFailed("不能签到", problems=problems)
        b.status = BookingStatus.CHECKED_IN
        b.checked_in_at = now
        b.save(update_fields=["status", "checked_in_at"])
        audit(actor=actor, action="booking.check_in", obj=b)
    return b


def _province_of(org: Organisation | None) -> str:
    return org.province_id if org is not None else ""


def record_usage(
    *,
    booking: Booking,
    actor: Any,
    started_at: datetime,
    ended_at: datetime,
    samples: int = 0,
    content: str = "",
    satisfaction: int | None = None,
    now: datetime | None = None,
) -> UsageRecord:
    """Close a booking or order with its service record and charge (price snapshotted)."""
    now = now or clock.now()
    problems = []
    if started_at >= ended_at:
        problems.append(Problem("invalid_range", "结束时间须晚于开始时间", "ended_at"))
    if ended_at > now:
        problems.append(Problem("in_future", "不能记录尚未结束的使用", "ended_at"))
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        problems.append(Problem("invalid_rating", "满意度须为1到5", "satisfaction"))
    if problems:
        raise ValidationFailed("使用记录有误", problems=problems)
    with transaction.atomic():
        freetime.lock(booking.instrument_id)
        b = _locked(booking)
        staff = can_user(actor, Action.APPROVE_BOOKING, _target(b.instrument))
        own_slot = getattr(actor, "pk", None) == b.user_id and b.kind == BookingKind.SLOT
        if not (staff or own_slot):
            raise PermissionDenied("只有机组人员可以记录委托服务", code="forbidden")
        allowed = {BookingStatus.CHECKED_IN, BookingStatus.CONFIRMED}
        if b.status not in allowed:
            raise Conflict(
                "该预约不能结束",
                problems=[Problem("not_in_use", "只有使用中或已确认的预约可以结束", "status")],
            )
        rules = rules_for(b.instrument)
        if b.kind == BookingKind.SLOT and rules.requires_check_in and b.checked_in_at is None:
            raise Conflict(
                "尚未签到",
                problems=[Problem("not_checked_in", "须先签到再结束使用", "status")],
            )
        hours = Decimal((ended_at - started_at).total_seconds()) / Decimal(3600)
        hours = hours.quantize(Decimal("0.01"))
        org = b.organisation
        instrument = b.instrument
        service = b.service
        mode = service.mode if service else ServiceMode.OCCUPY
        amount = Decimal("0.00")
        usage = UsageRecord.objects.create(
            instrument=instrument,
            booking=b,
            service=service,
            mode=mode,
            user_id=b.user_id,
            organisation=org,
            customer_province=_province_of(org),
            operator=actor if staff else None,
            started_at=started_at,
            ended_at=ended_at,
            hours=hours,
            samples=samples or b.samples,
            is_external=org is None or org.pk != instrument.holder_id,
            is_cross_province=org is not None and org.province_id != instrument.province_id,
            content=content[:300] or (service.name if service else ""),
            project=b.purpose,
            funding_source=b.funding_source,
            satisfaction=satisfaction,
            created_at=now,
        )
        if service is not None and org is not None:
            if org.pk not in actor_for(b.user).member_of:
                raise ValidationFailed(
                    "付费单位有误",
                    problems=[Problem("not_a_member", "预约人已不属于付费单位", "organisation")],
                )
            quantity = charge_quantity(unit=service.unit, hours=hours, samples=usage.samples)
            unit_price = service.price_for(b.customer_category)
            amount = (quantity * unit_price).quantize(Decimal("0.01"))
            Charge.objects.create(
                usage=usage,
                organisation=org,
                service_name=service.name,
                customer_category=b.customer_category,
                unit=service.unit,
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                created_at=now,
            )
            usage.amount = amount
            usage.save(update_fields=["amount"])
        b.status = BookingStatus.COMPLETED
        b.finished_at = ended_at
        b.save(update_fields=["status", "finished_at"])
        audit(
            actor=actor,
            action="booking.complete",
            obj=b,
            data={"hours": str(hours), "amount": str(amount)},
        )
        if b.ends_at is not None and ended_at < b.ends_at:
            _notify_waitlist(b, now)
        _calendar_changed(b.instrument_id, [_span(b)], now)
    return usage


def finish_booking(
    *,
    booking: Booking,
    actor: Any,
    satisfaction: int | None = None,
    samples: int = 0,
    now: datetime | None = None,
) -> UsageRecord:
    """End a checked-in slot now (early finish frees the rest of the slot)."""
    now = now or clock.now()
    if booking.starts_at is None or booking.ends_at is None:
        raise ValidationFailed(
            "委托订单由机组人员记录", problems=[Problem("not_a_slot", "委托订单不能签退", "kind")]
        )
    start = booking.checked_in_at or booking.starts_at
    end = min(now, booking.ends_at)
    if end <= start:
        end = start + timedelta(minutes=1)
    return record_usage(
        booking=booking,
        actor=actor,
        started_at=start,
        ended_at=end,
        samples=samples,
        satisfaction=satisfaction,
        now=max(now, end),
    )


def _successor(
    *,
    old: Booking,
    actor: Any,
    user: Any,
    starts_at: datetime,
    ends_at: datetime,
    override_reason: str,
    now: datetime,
    action: str,
) -> Booking:
    if old.kind != BookingKind.SLOT:
        raise ValidationFailed(
            "委托订单不能改约", problems=[Problem("not_a_slot", "委托订单不能改约", "kind")]
        )
    with transaction.atomic():
        freetime.lock(old.instrument_id)
        b = _locked(old)
        if b.status not in (BookingStatus.PENDING, BookingStatus.CONFIRMED):
            raise Conflict(
                "该预约不能修改",
                problems=[Problem("not_changeable", "只有待审批或已确认的预约可以修改", "status")],
            )
        # The old booking stops holding its slot first, so the successor may reuse part of it.
        b.status = BookingStatus.MOVED
        b.save(update_fields=["status"])
        new = book_instrument(
            instrument=b.instrument,
            booked_by=user,
            starts_at=starts_at,
            ends_at=ends_at,
            service=b.service,
            organisation=b.organisation if user.pk == b.user_id else None,
            purpose=b.purpose,
            funding_source=b.funding_source,
            samples=b.samples,
            override_reason=override_reason,
            now=now,
            series=b.series,
            predecessor=b,
            actor=actor,
        )
        audit(actor=actor, action=action, obj=b, data={"successor": new.pk})
        if action == "booking.move" and b.starts_at is not None:
            # What the move left behind goes to the wait list like a cancellation.
            _offer_free_part(
                b.instrument, b.starts_at, b.blocked_until or b.starts_at, now, {"moved": b.pk}
            )
        _calendar_changed(b.instrument_id, [_span(b)], now)
    return new


def move_booking(
    *,
    booking: Booking,
    actor: Any,
    starts_at: datetime,
    ends_at: datetime,
    override_reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Move a booking to another slot: the old one becomes `moved`, a successor is booked."""
    now = now or clock.now()
    if not _staff_or_owner(actor, booking):
        raise PermissionDenied("只能修改自己的预约", code="forbidden")
    user = booking.user
    return _successor(
        old=booking,
        actor=actor,
        user=user,
        starts_at=starts_at,
        ends_at=ends_at,
        override_reason=override_reason,
        now=now,
        action="booking.move",
    )


def transfer_booking(
    *, booking: Booking, actor: Any, to_user: Any, now: datetime | None = None
) -> Booking:
    """Hand a booking to a colleague; every rule is checked again for them."""
    now = now or clock.now()
    if not _staff_or_owner(actor, booking):
        raise PermissionDenied("只能转让自己的预约", code="forbidden")
    rules = rules_for(booking.instrument)
    same_org = (
        booking.organisation_id is not None
        and booking.organisation_id in actor_for(to_user).member_of
    )
    problems = transfer_problems(status=booking.status, rules=rules, same_organisation=same_org)
    if problems:
        raise ValidationFailed("不能转让", problems=problems)
    assert booking.starts_at is not None and booking.ends_at is not None
    return _successor(
        old=booking,
        actor=actor,
        user=to_user,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        override_reason="",
        now=now,
        action="booking.transfer",
    )


def book_series(
    *,
    instrument: Instrument,
    booked_by: Any,
    starts_at: datetime,
    ends_at: datetime,
    occurrences: int,
    interval_days: int = 7,
    service: InstrumentService | None = None,
    purpose: str = "",
    now: datetime | None = None,
) -> list[Booking]:
    """Book a recurring series, all or nothing; problems name the occurrence."""
    now = now or clock.now()
    rules = rules_for(instrument)
    slots, problems = series_slots(
        starts_at, ends_at, occurrences=occurrences, interval_days=interval_days, rules=rules
    )
    if problems:
        raise ValidationFailed("周期预约不符合规则", problems=problems)
    out: list[Booking] = []
    with transaction.atomic():
        freetime.lock(instrument.pk)
        series = BookingSeries.objects.create(
            instrument=instrument,
            user=booked_by,
            interval_days=interval_days,
            occurrences=occurrences,
            created_at=now,
        )
        for k, (s, e) in enumerate(slots, start=1):
            try:
                out.append(
                    book_instrument(
                        instrument=instrument,
                        booked_by=booked_by,
                        starts_at=s,
                        ends_at=e,
                        service=service,
                        purpose=purpose,
                        now=now,
                        series=series,
                    )
                )
            except (Conflict, ValidationFailed) as exc:
                detailed = [
                    Problem(
                        p.code, f"第{k}次：{p.message}", p.field, {**p.details, "occurrence": k}
                    )
                    for p in exc.problems
                ]
                raise type(exc)(
                    f"第{k}次预约不符合规则", problems=detailed, code=exc.code
                ) from None
        audit(actor=booked_by, action="booking.series", obj=series, data={"n": occurrences})
    return out


def join_waitlist(
    *,
    instrument: Instrument,
    user: Any,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Wait for a taken slot; the first in line is told when it frees."""
    now = now or clock.now()
    require(user, Action.BOOK_INSTRUMENT)
    rules: Rules = rules_for(instrument)
    problems = []
    if not rules.allow_waitlist:
        problems.append(Problem("waitlist_not_allowed", "该仪器不支持候补", "instrument"))
    if starts_at >= ends_at:
        problems.append(Problem("invalid_range", "结束时间须晚于开始时间", "ends_at"))
    elif starts_at < now:
        problems.append(Problem("in_past", "不能候补已开始的时段", "starts_at"))
    elif not blocked_spans(instrument, starts_at, ends_at, now=now):
        problems.append(Problem("slot_free", "该时段空闲，可直接预约", "starts_at"))
    if problems:
        raise ValidationFailed("不能候补", problems=problems)
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(
            instrument=instrument, user=user, starts_at=starts_at, ends_at=ends_at, created_at=now
        )
        audit(actor=user, action="waitlist.join", obj=entry)
    return entry


def _notify_waitlist(booking: Booking, now: datetime) -> None:
    """Tell the first waiting user whose window meets the freed slot (e-mail and audit).

    When the policy says so, the freed part of their window is held for them for
    `waitlist_hold_minutes`: nobody else may book it meanwhile. Runs inside the freeing
    transaction; the e-mail goes only once it commits.
    """
    if booking.starts_at is None or booking.ends_at is None:
        return
    freed = (booking.starts_at, booking.blocked_until or booking.ends_at)
    _offer(booking.instrument_id, freed, now, cause={"freed_by": booking.pk})


def _offer(
    instrument_id: int, freed: tuple[datetime, datetime], now: datetime, cause: dict[str, Any]
) -> WaitlistEntry | None:
    """Offer a freed stretch to the first waiting user, in order of joining, not yet told.

    The entry is taken under its row lock and marked told in the same transaction, so two
    releases at once never offer one stretch to two waiting users.
    """
    entry = (
        WaitlistEntry.objects.select_for_update()
        .select_related("user", "instrument")
        .filter(
            instrument_id=instrument_id,
            notified_at__isnull=True,
            starts_at__lt=freed[1],
            ends_at__gt=max(freed[0], now),
        )
        .order_by("created_at", "id")
        .first()
    )
    if entry is None:
        return None
    rules = rules_for(entry.instrument)
    hold = waitlist_hold(freed=freed, wanted=(entry.starts_at, entry.ends_at), rules=rules, now=now)
    entry.notified_at = now
    if hold is not None:
        entry.held_from, entry.held_to, entry.hold_until = hold
    entry.save(update_fields=["notified_at", "held_from", "held_to", "hold_until"])
    email = getattr(entry.user, "email", "")
    audit(
        actor=None,
        action="waitlist.notify",
        obj=entry,
        data={
            **cause,
            "hold_until": entry.hold_until.isoformat() if entry.hold_until else None,
            "mailed": bool(email),
        },
    )
    if email:
        subject, body = _waitlist_mail(entry)
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email]),
            robust=True,
        )
    return entry


def hand_on_lapsed_holds(*, now: datetime | None = None) -> int:
    """Offer each wait-list hold that ran out unused to the next waiting user; return how many.

    Idempotent and safe to run in several processes at once: each lapsed hold is closed under
    its row lock (after the instrument's), so exactly one run hands it on. Only the part of the
    held stretch that is still free is offered.
    """
    now = now or clock.now()
    n = 0
    for candidate in WaitlistEntry.objects.filter(
        hold_until__lte=now, hold_closed_at__isnull=True, held_from__isnull=False
    ).only("pk", "instrument_id"):
        with transaction.atomic():
            freetime.lock(candidate.instrument_id)
            entry = (
                WaitlistEntry.objects.select_for_update()
                .select_related("instrument")
                .filter(pk=candidate.pk, hold_until__lte=now, hold_closed_at__isnull=True)
                .first()
            )
            if entry is None or entry.held_from is None or entry.held_to is None:
                continue  # handed on by another run meanwhile
            entry.hold_closed_at = now
            entry.save(update_fields=["hold_closed_at"])
            audit(
                actor=None,
                action="waitlist.lapse",
                obj=entry,
                data={"held_from": entry.held_from.isoformat(), "at": now.isoformat()},
            )
            _offer_free_part(
                entry.instrument, entry.held_from, entry.held_to, now, cause={"lapsed": entry.pk}
            )
            _calendar_changed(entry.instrument_id, [(entry.held_from, entry.held_to)], now)
            n += 1
    return n


def _offer_free_part(
    instrument: Instrument, lo: datetime, hi: datetime, now: datetime, cause: dict[str, Any]
) -> WaitlistEntry | None:
    """Offer the part of [lo, hi) that no booking or outage takes now to the next waiting user."""
    lo = max(lo, now)
    if lo >= hi:
        return None
    rules = rules_for(instrument)
    taken = [
        (b.starts_at - timedelta(minutes=rules.buffer_minutes), b.blocked_until)
        for b in blocked_spans(instrument, lo, hi, now=now)
        if b.starts_at is not None and b.blocked_until is not None
    ]
    taken += list(outage_spans(instrument, lo, hi))
    for run in freetime.free_runs([(lo, hi)], taken):
        if entry := _offer(instrument.pk, run, now, cause=cause):
            return entry
    return None


def _waitlist_mail(entry: WaitlistEntry) -> tuple[str, str]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings.TIME_ZONE)
    inst = entry.instrument
    start = max(entry.starts_at, entry.held_from or entry.starts_at).astimezone(tz)
    end = (entry.held_to or entry.ends_at).astimezone(tz)
    subject = f"候补时段已空出：{inst.name_zh}"
    lines = [
        f"您候补的仪器「{inst.name_zh}」在 {start:%Y-%m-%d %H:%M}–{end:%H:%M} 有时段空出。",
    ]
    if entry.hold_until is not None:
        lines.append(
            f"该时段为您保留至 {entry.hold_until.astimezone(tz):%Y-%m-%d %H:%M}，"
            "请在此之前预约；逾期将开放给其他用户。"
        )
    else:
        lines.append("时段先到先得，请尽快预约。")
    lines.append(f"{settings.SITE_URL.rstrip('/')}/resources/instruments/{inst.pk}/")
    return subject, "\n".join(lines)


def _held_for_others(
    instrument: Instrument, user: Any, lo: datetime, hi: datetime, now: datetime
) -> list[WaitlistEntry]:
    """Waitlist holds of other users that meet [lo, hi) and still last at `now`."""
    return list(
        WaitlistEntry.objects.filter(
            instrument=instrument,
            hold_until__gt=now,
            held_from__lt=hi,
            held_to__gt=lo,
        ).exclude(user=user)
    )


def release_no_shows(*, now: datetime | None = None) -> int:
    """Release confirmed bookings nobody checked in to (idempotent); return how many."""
    now = now or clock.now()
    released = 0
    candidates = Booking.objects.filter(
        status=BookingStatus.CONFIRMED,
        kind=BookingKind.SLOT,
        checked_in_at__isnull=True,
        starts_at__lte=now,
    ).select_related("instrument__policy")
    rules_cache: dict[int, Rules] = {}
    for candidate in candidates:
        rules = rules_cache.setdefault(candidate.instrument_id, rules_for(candidate.instrument))
        if not is_no_show(
            status=candidate.status, starts_at=candidate.starts_at, rules=rules, now=now
        ):
            continue
        with transaction.atomic():
            freetime.lock(candidate.instrument_id)
            b = _locked(candidate)
            if not is_no_show(status=b.status, starts_at=b.starts_at, rules=rules, now=now):
                continue  # checked in meanwhile, or released by another run
            b.status = BookingStatus.NO_SHOW
            b.save(update_fields=["status"])
            audit(actor=None, action="booking.no_show", obj=b, data={"at": now.isoformat()})
            _notify_waitlist(b, now)
            _calendar_changed(b.instrument_id, [_span(b)], now)
            released += 1
    return released


def expire_holds(*, now: datetime | None = None) -> int:
    """Expire pending requests whose hold ran out (idempotent); return how many."""
    now = now or clock.now()
    n = 0
    for candidate in Booking.objects.filter(
        status=BookingStatus.PENDING, hold_expires_at__lte=now
    ).only("pk", "instrument_id"):
        with transaction.atomic():
            freetime.lock(candidate.instrument_id)
            b = _locked(candidate)
            if b.status != BookingStatus.PENDING:
                continue
            _expire_pending(b, now)
            n += 1
    return n


def _expire_pending(b: Booking, now: datetime) -> None:
    """A pending request's hold ran out: it expires, the wait list hears, the summary follows.

    Called with the instrument's and the booking's locks held.
    """
    b.status = BookingStatus.EXPIRED
    b.save(update_fields=["status"])
    audit(actor=None, action="booking.expire", obj=b)
    _notify_waitlist(b, now)
    _calendar_changed(b.instrument_id, [_span(b)], now)


def create_outage(
    *,
    instrument: Instrument,
    actor: Any,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    now: datetime | None = None,
) -> tuple[Outage, list[Booking]]:
    """Take an instrument out of service; return the active bookings that now clash."""
    now = now or clock.now()
    require(actor, Action.MANAGE_RESOURCE, _target(instrument))
    problems = []
    if starts_at >= ends_at:
        problems.append(Problem("invalid_range", "结束时间须晚于开始时间", "ends_at"))
    if not reason.strip():
        problems.append(Problem("reason_required", "请填写停机原因", "reason"))
    if problems:
        raise ValidationFailed("停机信息有误", problems=problems)
    with transaction.atomic():
        freetime.lock(instrument.pk)
        outage = Outage.objects.create(
            instrument=instrument,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip()[:200],
            created_by=actor,
        )
        audit(actor=actor, action="outage.create", obj=outage, reason=reason)
        _calendar_changed(instrument.pk, [(starts_at, ends_at)], now)
    return outage, blocked_spans(instrument, starts_at, ends_at)


def grant_qualification(
    *,
    instrument: Instrument,
    actor: Any,
    user: Any,
    expires_on: date | None,
    now: datetime | None = None,
) -> Qualification:
    """Record that `user` may operate the instrument, until `expires_on`."""
    now = now or clock.now()
    require(actor, Action.MANAGE_RESOURCE, _target(instrument))
    with transaction.atomic():
        Qualification.objects.filter(
            user=user, instrument=instrument, revoked_at__isnull=True
        ).update(revoked_at=now)
        q = Qualification.objects.create(
            user=user,
            instrument=instrument,
            granted_by=actor,
            granted_at=now,
            expires_on=expires_on,
        )
        audit(
            actor=actor, action="qualification.grant", obj=q, data={"expires_on": str(expires_on)}
        )
    return q


def touch_instruments(ids: list[int]) -> None:
    """Record that instruments changed, so that every node's search index follows."""
    indexing.emit(ids)


@dataclass(frozen=True)
class ServiceInput:
    """One service of an instrument as typed or imported."""

    name: str
    mode: str
    unit: str
    price_internal: Decimal
    price_external: Decimal
    price_enterprise: Decimal


@dataclass(frozen=True)
class InstrumentInput:
    """The national record fields of an instrument as typed or imported."""

    asset_id: str
    name_zh: str
    category: str
    original_value: Decimal
    province: str
    city: str = ""
    name_en: str = ""
    facility_id: int | None = None
    source: str = "bought"
    country: str = "156"
    manufacturer: str = ""
    model_number: str = ""
    commissioned_on: date | None = None
    specs: str = ""
    functions: str = ""
    disciplines: str = ""
    service_content: str = ""
    outcomes: str = ""
    state: str = "normal"
    sharing_mode: str = "external"
    sharing_rules: str = ""
    fee_standard: str = ""
    county: str = ""
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    services: tuple[ServiceInput, ...] = ()


_LIMITS = {
    "asset_id": 40, "name_zh": 200, "name_en": 200, "manufacturer": 120, "model_number": 80,
    "specs": 500, "functions": 300, "disciplines": 200, "contact_name": 40, "contact_phone": 40,
    "county": 40, "address": 200,
}  # fmt: skip


def instrument_problems(data: InstrumentInput) -> list[Problem]:
    """Check an instrument record against the national layout; every problem names its field."""
    from techexchange.regions.selectors import list_cities, list_regions
    from techexchange.resources.models import (
        Category,
        CustomerCategory,
        InstrumentSource,
        OperatingState,
        ServiceUnit,
        SharingMode,
    )

    problems: list[Problem] = []
    for name in ("asset_id", "name_zh"):
        if not getattr(data, name).strip():
            problems.append(Problem("required", "必填", name))
    for name, limit in _LIMITS.items():
        if len(getattr(data, name)) > limit:
            problems.append(Problem("too_long", f"不能超过{limit}个字符", name, {"max": limit}))
    if not Category.objects.filter(code=data.category).exists():
        problems.append(Problem("unknown_category", "仪器分类代码无效（6位）", "category"))
    if data.original_value < 0:
        problems.append(Problem("negative", "原值不能为负数", "original_value"))
    if not list_regions(level="province").filter(code=data.province).exists():
        problems.append(Problem("unknown_region", "省份代码无效", "province"))
    if data.city and not list_cities(province=data.province).filter(code=data.city).exists():
        problems.append(Problem("unknown_region", "城市代码无效或不属于该省", "city"))
    if data.source not in InstrumentSource.values:
        problems.append(Problem("invalid_choice", "仪器来源无效", "source"))
    if data.state not in OperatingState.values:
        problems.append(Problem("invalid_choice", "运行状态无效", "state"))
    if data.sharing_mode not in SharingMode.values:
        problems.append(Problem("invalid_choice", "共享模式无效", "sharing_mode"))
    if not (len(data.country) == 3 and data.country.isdigit()):
        problems.append(Problem("invalid_country", "产地国别须为3位数字代码", "country"))
    if len([d for d in data.disciplines.replace("；", ";").split(";") if d.strip()]) > 4:
        problems.append(Problem("too_many", "学科领域最多4个", "disciplines"))
    for k, svc in enumerate(data.services, start=1):
        if not svc.name.strip():
            problems.append(Problem("required", f"服务{k}：名称必填", "services"))
        if svc.mode not in ServiceMode.values:
            problems.append(Problem("invalid_choice", f"服务{k}：服务方式无效", "service_mode"))
        if svc.unit not in ServiceUnit.values:
            problems.append(Problem("invalid_choice", f"服务{k}：计价单位无效", "service_unit"))
        for cat in CustomerCategory.values:
            if getattr(svc, f"price_{cat}") < 0:
                problems.append(Problem("negative", f"服务{k}：价格不能为负", f"price_{cat}"))
    return problems


def save_instrument(
    *,
    actor: Any,
    holder: Organisation,
    data: InstrumentInput,
    instrument: Instrument | None = None,
    is_synthetic: bool = False,
) -> Instrument:
    """Create or update an instrument record with its services; the index follows."""
    from techexchange.resources.models import InstrumentService as Svc

    require(actor, Action.MANAGE_RESOURCE, Target(organisation_id=holder.pk))
    problems = instrument_problems(data)
    if problems:
        raise ValidationFailed("仪器信息有误", problems=problems)
    fields = {
        k: getattr(data, k)
        for k in InstrumentInput.__dataclass_fields__
        if k not in {"services", "category", "province", "city", "facility_id"}
    }
    with transaction.atomic():
        created = instrument is None
        was_bookable = instrument is not None and _is_bookable(instrument)
        inst = instrument or Instrument(holder=holder, is_synthetic=is_synthetic)
        for key, value in fields.items():
            setattr(inst, key, value.strip() if isinstance(value, str) else value)
        inst.category_id = data.category
        inst.province_id = data.province
        inst.city_id = data.city or None
        inst.facility_id = data.facility_id
        try:
            with transaction.atomic():
                inst.save()
        except IntegrityError:
            raise ValidationFailed(
                "仪器信息有误",
                problems=[Problem("duplicate", "本单位已有相同资产编号的仪器", "asset_id")],
            ) from None
        if data.services:
            Svc.objects.filter(instrument=inst).update(is_active=False)
            Svc.objects.bulk_create(
                [
                    Svc(
                        instrument=inst,
                        name=s.name.strip(),
                        mode=s.mode,
                        unit=s.unit,
                        price_internal=s.price_internal,
                        price_external=s.price_external,
                        price_enterprise=s.price_enterprise,
                    )
                    for s in data.services
                ]
            )
        audit(
            actor=actor,
            action="instrument.create" if created else "instrument.update",
            obj=inst,
            data={"asset_id": inst.asset_id},
        )
        indexing.emit([inst.pk])
        if created:  # no open hours, no bookings yet: the profile is all there is
            FreeTimeProfile.objects.create(instrument=inst, bookable=_is_bookable(inst), hours="")
        elif _is_bookable(inst) != was_bookable:
            freetime.lock(inst.pk)
            freetime.refresh_instrument(inst.pk, now=clock.now())
    return inst
