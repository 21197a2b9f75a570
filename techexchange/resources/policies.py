"""Booking rules, pure: no ORM, no HTTP, no clock (every rule takes `now`).

`booking_problems` lists everything wrong with a requested slot; `decide` sorts them into
refusals, reasons to turn the booking into a request for approval (over-limit), and what a staff
override waives. The service reads the facts (`BookingFacts`) from the database and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from techexchange.core.errors import Problem

__all__ = [
    "NEVER_OVERRIDDEN",
    "QUOTA_CODES",
    "BookingFacts",
    "Decision",
    "Rules",
    "Window",
    "booking_problems",
    "cancel_problems",
    "charge_quantity",
    "check_in_problems",
    "customer_category",
    "decide",
    "hold_expiry",
    "is_late_cancellation",
    "is_no_show",
    "series_slots",
    "transfer_problems",
    "waitlist_hold",
]

# Over a limit: refused, or a request for approval when the policy says so.
QUOTA_CODES = frozenset(
    {"quota_day", "quota_week", "quota_future_count", "quota_future_hours", "too_long"}
)
# What no override waives: the slot must exist, be free, and fit the instrument.
NEVER_OVERRIDDEN = frozenset({"invalid_range", "naive_datetime", "overlap", "full"})
# Modes in which the user operates the instrument (and so needs a qualification).
SELF_OPERATED = frozenset({"occupy", "technical", "remote"})


@dataclass(frozen=True)
class Window:
    """A weekly window in local time: weekday 0 = Monday."""

    weekday: int
    starts: time
    ends: time


@dataclass(frozen=True)
class Rules:
    """A booking policy profile (durations in minutes; 0 for a limit means none)."""

    slot_minutes: int = 30
    horizon_days: int = 60
    min_notice_create_minutes: int = 60
    min_notice_change_minutes: int = 120
    min_notice_cancel_minutes: int = 0
    late_cancel_minutes: int = 1440
    min_duration_minutes: int = 30
    max_duration_minutes: int = 480
    buffer_minutes: int = 0
    max_hours_per_day: int = 0
    max_hours_per_week: int = 0
    max_future_bookings: int = 0
    max_future_hours: int = 0
    over_limit_requests: bool = True
    requires_approval: bool = False
    hold_minutes: int = 1440
    requires_check_in: bool = True
    check_in_early_minutes: int = 15
    no_show_grace_minutes: int = 15
    requires_qualification: bool = False
    allow_series: bool = True
    max_series_occurrences: int = 12
    allow_waitlist: bool = True
    waitlist_hold_minutes: int = 0
    allow_transfer: bool = True
    off_windows: tuple[Window, ...] = ()
    tz: str = "Asia/Shanghai"


@dataclass(frozen=True)
class BookingFacts:
    """What the rules need to know about the instrument, the user and the calendar."""

    bookable: bool = True
    sharing_mode: str = "external"
    is_internal: bool = False
    mode: str = "occupy"
    qualified: bool = False
    capacity: int = 1
    open_hours: tuple[Window, ...] = ()
    outages: tuple[tuple[datetime, datetime], ...] = ()
    # Active bookings whose blocked range [start, end + buffer) meets the requested one.
    taken: tuple[tuple[datetime, datetime], ...] = ()
    # The user's own active bookings on this instrument (excluding the one being changed).
    own: tuple[tuple[datetime, datetime], ...] = ()
    is_change: bool = False


@dataclass(frozen=True)
class Decision:
    """The outcome of the rules for one requested slot."""

    refusals: list[Problem] = field(default_factory=list)
    request_reasons: list[str] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    needs_approval: bool = False

    @property
    def allowed(self) -> bool:
        """True when the booking may be made (possibly as a request)."""
        return not self.refusals


def _local(dt: datetime, rules: Rules) -> datetime:
    return dt.astimezone(ZoneInfo(rules.tz))


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _within(
    starts_at: datetime, ends_at: datetime, windows: tuple[Window, ...], rules: Rules
) -> bool:
    """True when the slot lies inside one window of its local day."""
    start, end = _local(starts_at, rules), _local(ends_at, rules)
    if end.date() != start.date() and not (
        end.time() == time(0) and end - start <= timedelta(days=1)
    ):
        return False
    end_time = end.time() if end.date() == start.date() else time(23, 59, 59, 999999)
    return any(
        w.weekday == start.weekday() and w.starts <= start.time() and end_time <= w.ends
        for w in windows
    )


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _hours_in(spans: tuple[tuple[datetime, datetime], ...], lo: datetime, hi: datetime) -> float:
    total = 0.0
    for s, e in spans:
        s2, e2 = max(s, lo), min(e, hi)
        if s2 < e2:
            total += (e2 - s2).total_seconds() / 3600
    return total


def booking_problems(
    starts_at: datetime, ends_at: datetime, rules: Rules, facts: BookingFacts, now: datetime
) -> list[Problem]:
    """Everything wrong with booking [starts_at, ends_at) under `rules`, with stable codes."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        return [Problem("naive_datetime", "时间须带时区（ISO-8601，例如 +08:00）", "starts_at")]
    if starts_at >= ends_at:
        return [Problem("invalid_range", "结束时间须晚于开始时间", "ends_at")]
    problems: list[Problem] = []
    slot = (starts_at, ends_at)
    duration = _minutes(ends_at - starts_at)
    local = _local(starts_at, rules)
    minute_of_day = local.hour * 60 + local.minute
    if (
        local.second
        or local.microsecond
        or minute_of_day % rules.slot_minutes
        or duration % rules.slot_minutes
    ):
        problems.append(
            Problem(
                "off_grid",
                f"预约须按{rules.slot_minutes}分钟的时间格对齐",
                "starts_at",
                {"slot_minutes": rules.slot_minutes},
            )
        )
    if starts_at < now:
        problems.append(Problem("in_past", "不能预约已经开始或过去的时段", "starts_at"))
    else:
        notice = (
            rules.min_notice_change_minutes if facts.is_change else rules.min_notice_create_minutes
        )
        if _minutes(starts_at - now) < notice:
            code = "min_notice_change" if facts.is_change else "min_notice"
            problems.append(
                Problem(code, f"须至少提前{notice}分钟预约", "starts_at", {"minutes": notice})
            )
    if starts_at > now + timedelta(days=rules.horizon_days):
        problems.append(
            Problem(
                "beyond_horizon",
                f"最远只能预约{rules.horizon_days}天以内的时段",
                "starts_at",
                {"days": rules.horizon_days},
            )
        )
    if duration < rules.min_duration_minutes:
        problems.append(
            Problem("too_short", f"每次预约至少{rules.min_duration_minutes}分钟", "ends_at")
        )
    if duration > rules.max_duration_minutes:
        problems.append(
            Problem("too_long", f"每次预约最多{rules.max_duration_minutes}分钟", "ends_at")
        )
    if not facts.bookable:
        problems.append(Problem("out_of_service", "仪器当前不可预约（维修或停用）", "instrument"))
    if facts.sharing_mode == "none" or (facts.sharing_mode == "internal" and not facts.is_internal):
        problems.append(Problem("not_shared", "该仪器不对外共享", "instrument"))
    if facts.open_hours and not _within(starts_at, ends_at, facts.open_hours, rules):
        problems.append(Problem("closed", "所选时段不在开放时间内", "starts_at"))
    if any(_overlaps(slot, o) for o in facts.outages):
        problems.append(Problem("outage", "所选时段仪器停机维护", "starts_at"))
    clashes = sum(1 for t in facts.taken if _overlaps(slot, t))
    if facts.capacity <= 1 and clashes:
        problems.append(Problem("overlap", "该时段已被预约", "starts_at"))
    elif facts.capacity > 1 and clashes >= facts.capacity:
        problems.append(Problem("full", "该时段名额已满", "starts_at"))
    if rules.requires_qualification and facts.mode in SELF_OPERATED and not facts.qualified:
        problems.append(
            Problem(
                "not_qualified",
                "您尚无该仪器的上机资格，可选择委托共享（由机组人员代为测试）",
                "service",
            )
        )
    problems += _quota_problems(slot, rules, facts)
    return problems


def _quota_problems(
    slot: tuple[datetime, datetime], rules: Rules, facts: BookingFacts
) -> list[Problem]:
    problems: list[Problem] = []
    hours = (slot[1] - slot[0]).total_seconds() / 3600
    local = _local(slot[0], rules)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day_start - timedelta(days=day_start.weekday())
    if rules.max_hours_per_day:
        used = _hours_in(facts.own, day_start, day_start + timedelta(days=1))
        if used + hours > rules.max_hours_per_day:
            problems.append(
                Problem("quota_day", f"每人每天最多预约{rules.max_hours_per_day}小时", "ends_at")
            )
    if rules.max_hours_per_week:
        used = _hours_in(facts.own, week_start, week_start + timedelta(days=7))
        if used + hours > rules.max_hours_per_week:
            problems.append(
                Problem("quota_week", f"每人每周最多预约{rules.max_hours_per_week}小时", "ends_at")
            )
    if rules.max_future_bookings and len(facts.own) + 1 > rules.max_future_bookings:
        problems.append(
            Problem(
                "quota_future_count",
                f"每人最多同时持有{rules.max_future_bookings}个未来预约",
                "starts_at",
            )
        )
    if rules.max_future_hours:
        used = sum((e - s).total_seconds() / 3600 for s, e in facts.own)
        if used + hours > rules.max_future_hours:
            problems.append(
                Problem(
                    "quota_future_hours",
                    f"每人未来预约合计最多{rules.max_future_hours}小时",
                    "ends_at",
                )
            )
    return problems


def decide(
    starts_at: datetime,
    ends_at: datetime,
    rules: Rules,
    facts: BookingFacts,
    now: datetime,
    *,
    override: bool = False,
) -> Decision:
    """Sort the problems of a requested slot into refusals, request reasons and overrides."""
    problems = booking_problems(starts_at, ends_at, rules, facts, now)
    off = bool(rules.off_windows) and _within(starts_at, ends_at, rules.off_windows, rules)
    refusals: list[Problem] = []
    reasons: list[str] = []
    overridden: list[str] = []
    for p in problems:
        if p.code in QUOTA_CODES and off:
            continue  # limits are off in this window
        if override and p.code not in NEVER_OVERRIDDEN:
            overridden.append(p.code)
        elif p.code in QUOTA_CODES and rules.over_limit_requests:
            reasons.append(p.code)
        else:
            refusals.append(p)
    if rules.requires_approval and not off and not override:
        reasons.insert(0, "approval_required")
    return Decision(
        refusals=refusals,
        request_reasons=reasons,
        overridden=overridden,
        needs_approval=bool(reasons) and not refusals,
    )


def waitlist_hold(
    *,
    freed: tuple[datetime, datetime],
    wanted: tuple[datetime, datetime],
    rules: Rules,
    now: datetime,
) -> tuple[datetime, datetime, datetime] | None:
    """The part of a freed slot held for the first waiting user: (from, to, until), or None.

    The held part is where the freed slot meets the wanted window (never the past); the hold
    lasts the policy's `waitlist_hold_minutes`, never past the held part's end.
    """
    if rules.waitlist_hold_minutes <= 0:
        return None
    lo, hi = max(freed[0], wanted[0], now), min(freed[1], wanted[1])
    if lo >= hi:
        return None
    return lo, hi, min(now + timedelta(minutes=rules.waitlist_hold_minutes), hi)


def hold_expiry(starts_at: datetime | None, rules: Rules, now: datetime) -> datetime:
    """Until when a pending request holds its slot: the hold time, but never past the start."""
    expiry = now + timedelta(minutes=rules.hold_minutes)
    return min(expiry, starts_at) if starts_at is not None and starts_at > now else expiry


def cancel_problems(
    *, status: str, starts_at: datetime | None, rules: Rules, now: datetime
) -> list[Problem]:
    """What forbids cancelling a booking now."""
    if status not in ("pending", "confirmed"):
        return [Problem("not_cancellable", "该预约当前状态不能取消", "status")]
    if starts_at is not None and status == "confirmed":
        if starts_at <= now:
            return [Problem("already_started", "预约已开始，不能取消", "starts_at")]
        if _minutes(starts_at - now) < rules.min_notice_cancel_minutes:
            return [
                Problem(
                    "min_notice_cancel",
                    f"须至少提前{rules.min_notice_cancel_minutes}分钟取消",
                    "starts_at",
                )
            ]
    return []


def is_late_cancellation(
    *, status: str, starts_at: datetime | None, rules: Rules, now: datetime
) -> bool:
    """True when a confirmed booking is cancelled with less notice than the policy wants."""
    return (
        status == "confirmed"
        and starts_at is not None
        and _minutes(starts_at - now) < rules.late_cancel_minutes
    )


def check_in_problems(
    *,
    status: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    rules: Rules,
    now: datetime,
) -> list[Problem]:
    """What forbids checking in now."""
    if status != "confirmed" or starts_at is None or ends_at is None:
        return [Problem("not_checkable", "只有已确认的预约可以签到", "status")]
    if now < starts_at - timedelta(minutes=rules.check_in_early_minutes):
        return [
            Problem(
                "too_early",
                f"最早在开始前{rules.check_in_early_minutes}分钟签到",
                "starts_at",
            )
        ]
    if now >= ends_at:
        return [Problem("too_late", "预约时段已结束", "ends_at")]
    return []


def is_no_show(*, status: str, starts_at: datetime | None, rules: Rules, now: datetime) -> bool:
    """True when a confirmed booking was not checked in within the grace after its start."""
    return (
        rules.requires_check_in
        and status == "confirmed"
        and starts_at is not None
        and now >= starts_at + timedelta(minutes=rules.no_show_grace_minutes)
    )


def transfer_problems(*, status: str, rules: Rules, same_organisation: bool) -> list[Problem]:
    """What forbids handing a booking to a colleague (the slot checks run again after)."""
    problems = []
    if not rules.allow_transfer:
        problems.append(Problem("transfer_not_allowed", "该仪器不允许转让预约", "user"))
    if status not in ("pending", "confirmed"):
        problems.append(Problem("not_transferable", "该预约当前状态不能转让", "status"))
    if not same_organisation:
        problems.append(Problem("not_a_colleague", "只能转让给本单位同事", "user"))
    return problems


def series_slots(
    starts_at: datetime, ends_at: datetime, *, occurrences: int, interval_days: int, rules: Rules
) -> tuple[list[tuple[datetime, datetime]], list[Problem]]:
    """The slots of a recurring series (same local time each interval), or its problems."""
    problems = []
    if not rules.allow_series:
        problems.append(Problem("series_not_allowed", "该仪器不允许周期预约", "occurrences"))
    if not 1 <= occurrences <= rules.max_series_occurrences:
        problems.append(
            Problem(
                "series_too_long",
                f"周期预约次数须在1到{rules.max_series_occurrences}之间",
                "occurrences",
            )
        )
    if interval_days < 1:
        problems.append(Problem("invalid_interval", "间隔天数须至少为1", "interval_days"))
    if problems:
        return [], problems
    tz = ZoneInfo(rules.tz)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    slots = []
    for k in range(occurrences):
        # Wall-clock arithmetic: the slot keeps its local time across the series.
        s = (start.replace(tzinfo=None) + timedelta(days=k * interval_days)).replace(tzinfo=tz)
        e = (end.replace(tzinfo=None) + timedelta(days=k * interval_days)).replace(tzinfo=tz)
        slots.append((s, e))
    return slots, []


def customer_category(*, is_internal: bool, is_enterprise: bool) -> str:
    """The price category: own staff, other research bodies, or enterprises."""
    if is_internal:
        return "internal"
    return "enterprise" if is_enterprise else "external"


def charge_quantity(*, unit: str, hours: Decimal, samples: int) -> Decimal:
    """How many units to charge: hours (rounded up to the quarter), samples, or one run."""
    if unit == "hour":
        quarters = (hours * 4).to_integral_value(rounding="ROUND_CEILING")
        return (quarters / 4).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if unit == "sample":
        return Decimal(max(samples, 1))
    return Decimal(1)
