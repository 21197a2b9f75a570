"""Pages of resources: parse, call one selector or service, render."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from techexchange.accounts.policies import Action, Target
from techexchange.accounts.selectors import actor_for, can_user, require
from techexchange.core import clock
from techexchange.core.errors import DomainError, Problem, ValidationFailed
from techexchange.regions.selectors import list_cities, list_provinces
from techexchange.resources import exporting, importing, selectors, services
from techexchange.resources.models import (
    Booking,
    FacilityKind,
    InstrumentService,
    ResearchBaseKind,
)

ICS_SALT = "resources.ics"
PAGE = 20


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def search(request: HttpRequest) -> HttpResponse:
    """The catalogue: search all four regions with facets and sorting."""
    g = request.GET
    try:
        page_no = max(1, int(g.get("page", "1")))
    except ValueError:
        page_no = 1
    params: dict[str, Any] = {
        "q": g.get("q", "")[:200],
        "province": g.getlist("province"),
        "city": g.getlist("city"),
        "category": g.getlist("category"),
        "mode": g.getlist("mode"),
        "availability": g.getlist("availability"),
        "price_min": _float(g.get("price_min")),
        "price_max": _float(g.get("price_max")),
        "sort": g.get("sort", "relevance"),
        "near": g.get("near", ""),
        "available_from": _date(g.get("available_from")),
        "available_to": _date(g.get("available_to")),
        "min_hours": _float(g.get("min_hours")),
    }
    result = selectors.search_instruments(
        **params, offset=(page_no - 1) * PAGE, limit=PAGE, now=clock.now()
    )
    facets = []
    for name, label in (
        ("province", _("省份")),
        ("city", _("城市")),
        ("category", _("仪器分类")),
        ("mode", _("服务方式")),
        ("availability", _("可用状态")),
    ):
        chosen = set(params[name])
        values = []
        for f in result.facets[name]:
            query = request.GET.copy()
            query.pop("page", None)
            current = query.getlist(name)
            query.setlist(
                name,
                [v for v in current if v != f.value] if f.value in chosen else [*current, f.value],
            )
            values.append({"f": f, "on": f.value in chosen, "url": "?" + query.urlencode()})
        facets.append({"name": name, "label": label, "values": values})
    base = request.GET.copy()
    base.pop("page", None)
    pages = max(1, (result.total + PAGE - 1) // PAGE)
    return render(
        request,
        "resources/search.html",
        {
            "result": result,
            "params": params,
            "facets": facets,
            "cities": list_cities(),
            "page_no": page_no,
            "pages": pages,
            "query": base.urlencode(),
            "sorts": [
                ("relevance", _("相关度")),
                ("distance", _("距离")),
                ("price", _("价格从低到高")),
                ("-price", _("价格从高到低")),
            ],
        },
    )


def _week_start(raw: str | None, today: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else today
    except ValueError:
        return today


def instrument(request: HttpRequest, pk: int) -> HttpResponse:
    """An instrument: record, services and prices, calendar (day/week), booking."""
    inst = selectors.get_instrument(pk)
    view = "day" if request.GET.get("view") == "day" else "week"
    start = _week_start(request.GET.get("start"), clock.today())
    days = 1 if view == "day" else 7
    cal = selectors.availability(inst, start=start, days=days, now=clock.now())
    staff = can_user(request.user, Action.APPROVE_BOOKING, Target(organisation_id=inst.holder_id))
    return render(
        request,
        "resources/instrument.html",
        {
            "inst": inst,
            "services": [s for s in inst.services.all() if s.is_active],
            "open_hours": inst.open_hours.all(),
            "cal": cal,
            "view": view,
            "start": start,
            "prev": start - timedelta(days=days),
            "next": start + timedelta(days=days),
            "staff": staff,
            "rows": list(zip(*[slots for _day, slots in cal.days], strict=True)),
        },
    )


def _aware(raw: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            _("时间格式有误"), problems=[Problem("invalid_datetime", _("时间格式有误"), field)]
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=_tz())


@login_required
@require_POST
def book(request: HttpRequest, pk: int) -> HttpResponse:
    """Book a slot from the calendar or the form; errors come back on the instrument page."""
    inst = selectors.get_instrument(pk)
    p = request.POST
    service = None
    if p.get("service"):
        service = InstrumentService.objects.filter(pk=p["service"], instrument=inst).first()
    try:
        if p.get("kind") == "order" and service is not None:
            samples = int(p.get("samples") or 0)
            services.request_order(
                instrument=inst,
                booked_by=request.user,
                service=service,
                samples=samples,
                purpose=p.get("purpose", ""),
            )
        else:
            starts_at = _aware(p.get("starts_at", ""), "starts_at")
            if p.get("ends_at"):
                ends_at = _aware(p["ends_at"], "ends_at")
            else:
                ends_at = starts_at + timedelta(minutes=int(p.get("minutes") or 60))
            booking = services.book_instrument(
                instrument=inst,
                booked_by=request.user,
                starts_at=starts_at,
                ends_at=ends_at,
                service=service,
                purpose=p.get("purpose", ""),
                override_reason=p.get("override_reason", ""),
            )
            if booking.status == "pending":
                messages.info(request, _("已提交预约申请，等待仪器方审批"))
            else:
                messages.success(request, _("预约成功"))
    except (DomainError, ValueError) as exc:
        detail = "；".join(p.message for p in getattr(exc, "problems", [])) or str(exc)
        messages.error(request, _("预约未成功：%(why)s") % {"why": detail})
        return redirect(
            reverse("resources:instrument", args=[inst.pk]) + "?" + request.POST.get("back", "")
        )
    return redirect("resources:my_bookings")


def _ics_token(user_pk: int) -> str:
    return signing.dumps(user_pk, salt=ICS_SALT)


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    """The user's bookings and orders, with what they may do next."""
    page = Paginator(selectors.list_bookings_for(request.user), 25).get_page(
        request.GET.get("page")
    )
    ics = request.build_absolute_uri(
        reverse("resources:ics_user", args=[_ics_token(int(request.user.pk or 0))])
    )
    return render(
        request,
        "resources/my_bookings.html",
        {"page": page, "query": "", "ics": ics, "now": clock.now()},
    )


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    """The provider's approval queue."""
    if not actor_for(request.user).member_of and not actor_for(request.user).is_operator:
        messages.info(request, _("您不属于任何仪器所属单位"))
    queue = selectors.approval_queue_for(request.user)
    return render(request, "resources/approvals.html", {"queue": queue})


ACTIONS = {"approve", "reject", "cancel", "check_in", "finish"}


@login_required
@require_POST
def booking_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step of a booking's life (approve, reject, cancel, check in, finish)."""
    booking: Booking = selectors.get_booking_for(request.user, pk)
    back = request.POST.get("next") or reverse("resources:my_bookings")
    if not back.startswith("/"):
        back = reverse("resources:my_bookings")
    try:
        if action == "approve":
            services.approve_booking(booking=booking, actor=request.user)
        elif action == "reject":
            services.reject_booking(
                booking=booking, actor=request.user, reason=request.POST.get("reason", "")
            )
        elif action == "cancel":
            services.cancel_booking(
                booking=booking, actor=request.user, reason=request.POST.get("reason", "")
            )
        elif action == "check_in":
            services.check_in(booking=booking, actor=request.user)
        elif action == "finish":
            rating = request.POST.get("satisfaction")
            services.finish_booking(
                booking=booking,
                actor=request.user,
                satisfaction=int(rating) if rating and rating.isdigit() else None,
            )
        else:
            raise ValidationFailed(_("未知操作"))
    except DomainError as exc:
        detail = "；".join(p.message for p in exc.problems) or exc.message
        messages.error(request, detail)
    else:
        messages.success(request, _("已完成"))
    return redirect(back)


def _ics(events: list[tuple[str, datetime, datetime, str]], name: str) -> HttpResponse:
    """An iCalendar feed (RFC 5545) of the given events."""

    def stamp(dt: datetime) -> str:
        return dt.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", " ")

    now = stamp(clock.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//techexchange//resources//ZH",
        f"X-WR-CALNAME:{esc(name)}",
    ]
    for uid, start, end, summary in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@techexchange",
            f"DTSTAMP:{now}",
            f"DTSTART:{stamp(start)}",
            f"DTEND:{stamp(end)}",
            f"SUMMARY:{esc(summary)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return HttpResponse("\r\n".join(lines) + "\r\n", content_type="text/calendar; charset=utf-8")


def ics_user(request: HttpRequest, token: str) -> HttpResponse:
    """A user's bookings as a calendar feed (the signed link is the credential)."""
    try:
        user_pk = signing.loads(token, salt=ICS_SALT)
    except signing.BadSignature:
        return HttpResponse(status=404)
    bookings = Booking.objects.filter(
        user_id=user_pk, kind="slot", status__in=("pending", "confirmed", "checked_in", "completed")
    ).select_related("instrument")
    events = [
        (
            f"booking-{b.pk}",
            b.starts_at,
            b.ends_at,
            f"{b.instrument.name_zh}（{b.get_status_display()}）",
        )
        for b in bookings
        if b.starts_at and b.ends_at
    ]
    return _ics(events, _("我的仪器预约"))


def ics_instrument(request: HttpRequest, pk: int) -> HttpResponse:
    """An instrument's busy times as a calendar feed (no names: only that it is taken)."""
    inst = selectors.get_instrument(pk)
    now = clock.now()
    bookings = Booking.objects.filter(
        instrument=inst, kind="slot", status__in=("pending", "confirmed", "checked_in"),
        ends_at__gt=now - timedelta(days=30),
    )  # fmt: skip
    events = [
        (f"slot-{b.pk}", b.starts_at, b.ends_at, _("已预约"))
        for b in bookings
        if b.starts_at and b.ends_at
    ]
    return _ics(events, inst.name_zh)


def facilities(request: HttpRequest) -> HttpResponse:
    """Major facilities, instrument centres, service units and pilot lines."""
    kind = request.GET.get("kind", "")
    province = request.GET.get("province", "")
    qs = selectors.list_facilities(kind=kind, province=province)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "resources/facilities.html",
        {
            "page": page,
            "kinds": FacilityKind.choices,
            "kind": kind,
            "province": province,
            "provinces": list_provinces().filter(code__in=["310000", "320000", "330000", "340000"]),
            "query": query.urlencode(),
        },
    )


def facility(request: HttpRequest, pk: int) -> HttpResponse:
    """One facility with its instruments."""
    f = selectors.get_facility(pk)
    return render(
        request,
        "resources/facility.html",
        {"f": f, "instruments": f.instruments.select_related("category")[:200]},
    )


def research_bases(request: HttpRequest) -> HttpResponse:
    """National research bases."""
    kind = request.GET.get("kind", "")
    province = request.GET.get("province", "")
    page = Paginator(selectors.list_research_bases(kind=kind, province=province), 30).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "resources/research_bases.html",
        {
            "page": page,
            "kinds": ResearchBaseKind.choices,
            "kind": kind,
            "province": province,
            "provinces": list_provinces().filter(code__in=["310000", "320000", "330000", "340000"]),
            "query": query.urlencode(),
        },
    )


def research_base(request: HttpRequest, pk: int) -> HttpResponse:
    """One research base."""
    return render(request, "resources/research_base.html", {"b": selectors.get_research_base(pk)})


def experts(request: HttpRequest) -> HttpResponse:
    """The expert directory."""
    q = request.GET.get("q", "")[:100]
    province = request.GET.get("province", "")
    page = Paginator(selectors.list_experts(q=q, province=province), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "resources/experts.html",
        {
            "page": page,
            "q": q,
            "province": province,
            "provinces": list_provinces().filter(code__in=["310000", "320000", "330000", "340000"]),
            "query": urlencode({"q": q, "province": province}),
        },
    )


def _period(request: HttpRequest) -> tuple[datetime, datetime, int]:
    try:
        year = int(request.GET.get("year", "") or clock.today().year)
    except ValueError:
        year = clock.today().year
    tz = _tz()
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz), year


@login_required
def provider_dashboard(request: HttpRequest) -> HttpResponse:
    """A provider's utilisation: its instruments over a year."""
    actor = actor_for(request.user)
    holders = sorted(actor.member_of)
    try:
        holder_id = int(request.GET.get("holder") or (holders[0] if holders else 0))
    except ValueError:
        holder_id = 0
    require(request.user, Action.VIEW_UTILISATION, Target(organisation_id=holder_id))
    start, end, year = _period(request)
    rows = selectors.utilisation(
        group_by="instrument", start=start, end=end, user=request.user, holder_id=holder_id
    )
    return render(
        request,
        "resources/dashboard.html",
        {
            "rows": rows,
            "year": year,
            "title": _("仪器方利用率看板"),
            "max_hours": max([r.effective_hours for r in rows] or [Decimal(1)]) or 1,
            "holder_id": holder_id,
            "group_by": "instrument",
        },
    )


@login_required
def operator_dashboard(request: HttpRequest) -> HttpResponse:
    """The coordination office's view: utilisation by province, city or provider."""
    group_by = request.GET.get("group_by", "province")
    if group_by not in ("province", "city", "provider"):
        group_by = "province"
    start, end, year = _period(request)
    rows = selectors.utilisation(group_by=group_by, start=start, end=end, user=request.user)
    return render(
        request,
        "resources/dashboard.html",
        {
            "rows": rows,
            "year": year,
            "title": _("资源共享运行看板"),
            "max_hours": max([r.effective_hours for r in rows] or [Decimal(1)]) or 1,
            "group_by": group_by,
            "operator": True,
        },
    )


@login_required
def export_xlsx(request: HttpRequest) -> HttpResponse:
    """Instrument and service records in the national reporting layout (xlsx)."""
    start, end, year = _period(request)
    holder = request.GET.get("holder")
    holder_id = int(holder) if holder and holder.isdigit() else None
    if holder_id is None:
        require(request.user, Action.VIEW_PLATFORM_DASHBOARD)
    else:
        require(request.user, Action.VIEW_UTILISATION, Target(organisation_id=holder_id))
    data = exporting.national_workbook(start=start, end=end, holder_id=holder_id)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="instruments-{year}.xlsx"'
    return response


MAX_IMPORT_BYTES = 20 * 1024 * 1024


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload instruments (CSV/xlsx, national layout) for a holder: all rows or none.

    The same service as `manage.py import_instruments`, so the same row/column report.
    """
    holders, any_holder = selectors.import_holders_for(request.user)
    if not holders and not any_holder:
        require(request.user, Action.MANAGE_RESOURCE, Target(organisation_id=None))
    context: dict[str, Any] = {
        "holders": holders,
        "any_holder": any_holder,
        "columns": list(importing.COLUMNS),
        "required": importing.REQUIRED,
    }
    if request.method == "POST":
        raw_holder = request.POST.get("holder", "")
        upload = request.FILES.get("file")
        holder = selectors.get_holder(int(raw_holder)) if raw_holder.isdigit() else None
        problems: list[Problem] = []
        if holder is None:
            problems.append(Problem("unknown_holder", _("请选择仪器所属单位"), "holder"))
        if upload is None:
            problems.append(Problem("file_required", _("请选择要导入的文件"), "file"))
        elif upload.size is not None and upload.size > MAX_IMPORT_BYTES:
            problems.append(Problem("file_too_large", _("文件不能超过20MB"), "file"))
        elif not upload.name or not upload.name.lower().endswith((".csv", ".xlsx")):
            problems.append(Problem("unsupported_file", _("只支持CSV或xlsx文件"), "file"))
        context["holder_id"] = holder.pk if holder is not None else None
        if not problems:
            assert holder is not None and upload is not None
            require(request.user, Action.MANAGE_RESOURCE, Target(organisation_id=holder.pk))
            try:
                result = importing.import_instruments(
                    actor=request.user,
                    holder=holder,
                    data=upload.read(),
                    filename=upload.name or "",
                )
            except ValidationFailed as exc:
                context["error"] = exc.message
                problems = list(exc.problems)
            else:
                messages.success(
                    request,
                    _("导入完成：新增%(created)d台，更新%(updated)d台")
                    % {"created": result.created, "updated": result.updated},
                )
                return redirect("resources:import")
        context["problems"] = problems
        return render(request, "resources/import.html", context, status=422)
    return render(request, "resources/import.html", context)
