"""Pages of contracts: statistics with charts and export, the review queue, the web import."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_POST

from techexchange.accounts.policies import Action
from techexchange.accounts.selectors import can_user
from techexchange.analytics import Table, to_csv, to_xlsx
from techexchange.contracts import importer, selectors, services
from techexchange.contracts.codes import ContractType, TechField
from techexchange.contracts.reports import ReportQuery, build_report
from techexchange.core import clock
from techexchange.core.errors import DomainError, PermissionDenied

YRD = ("310000", "320000", "330000", "340000")
# Tile positions of the cartogram (column, row): a grid map, no geometry needed.
TILES = {"320000": (2, 1), "340000": (1, 2), "310000": (3, 2), "330000": (2, 3)}


class StatsForm(forms.Form):
    """Filters of the statistics page."""

    from_year = forms.IntegerField(label=_l("起始年份"), min_value=1990, max_value=2100)
    to_year = forms.IntegerField(label=_l("截止年份"), min_value=1990, max_value=2100)
    bloc = forms.ChoiceField(
        label=_l("区域板块"),
        choices=[
            ("YRD", _l("长三角三省一市")),
            ("G60", _l("G60科创走廊")),
            ("ALL", _l("全部地区")),
        ],
        required=False,
    )
    level = forms.ChoiceField(
        label=_l("层级"), choices=[("province", _l("省份")), ("city", _l("城市"))], required=False
    )
    basis = forms.ChoiceField(
        label=_l("统计口径"),
        choices=[("registration", _l("按登记日期")), ("signing", _l("按签订日期"))],
        required=False,
    )
    contract_type = forms.ChoiceField(
        label=_l("合同类型"), choices=[("", _l("全部类型")), *ContractType.choices], required=False
    )
    tech_field = forms.ChoiceField(
        label=_l("技术领域"), choices=[("", _l("全部领域")), *TechField.choices], required=False
    )


def _query(request: HttpRequest) -> tuple[StatsForm, dict[str, Any]]:
    last = clock.today().year - 1
    data = request.GET.copy()
    data.setdefault("from_year", str(last))
    data.setdefault("to_year", str(data.get("from_year")))
    form = StatsForm(data)
    params: dict[str, Any] = {"from_year": last, "to_year": last}
    if form.is_valid():
        d = form.cleaned_data
        params = {
            "from_year": d["from_year"],
            "to_year": max(d["to_year"], d["from_year"]),
            "bloc": "" if d.get("bloc") == "ALL" else (d.get("bloc") or "YRD"),
            "level": d.get("level") or "province",
            "basis": d.get("basis") or "registration",
            "contract_type": d.get("contract_type") or "",
            "tech_field": d.get("tech_field") or "",
        }
    return form, params


PAGE_TABLES = ("inter-bloc", "flows", "output", "absorption", "by-type", "by-field", "by-party")


def _tables(request: HttpRequest, params: dict[str, Any]) -> list[Table]:
    tables = []
    for name in PAGE_TABLES:
        bloc = params.get("bloc", "YRD")
        extra = {"bloc": bloc or "YRD"} if name == "inter-bloc" else {}
        tables.append(build_report(request.user, ReportQuery(table=name, **{**params, **extra})))
    return tables


def _tiles(table: Table) -> list[dict[str, Any]]:
    values = {r["key"]: r for r in table.data["rows"]}
    top = max((float(v["turnover"]) for v in values.values()), default=0.0) or 1.0
    out = []
    for code, (col, row) in TILES.items():
        r = values.get(code)
        yi = float(r["turnover"]) / 1e8 if r else 0.0
        out.append(
            {
                "code": code,
                "label": r["label"] if r else code,
                "yi": f"{yi:.2f}",
                "col": col,
                "row": row,
                "level": round(20 + 70 * (float(r["turnover"]) / top if r else 0)),
            }
        )
    return out


def stats(request: HttpRequest) -> HttpResponse:
    """The statistics page: filters, tables in 亿元, a Sankey flow chart and a tile map."""
    form, params = _query(request)
    if params.get("level") == "city" and not can_user(
        request.user, Action.VIEW_CONTRACT_STATS_DETAIL
    ):
        messages.info(
            request, _("城市级明细仅对统计分析员、登记员和运营人员开放，已显示省级数据。")
        )
        params["level"] = "province"
    tables = _tables(request, params)
    by_kind = {t.kind: t for t in tables}
    flows = by_kind["flows"]
    chart = {
        "nodes": [
            *({"name": "卖方·" + r["label"]} for r in flows.extra["regions"]),
            *({"name": "买方·" + r["label"]} for r in flows.extra["regions"]),
        ],
        "links": [
            {
                "source": "卖方·" + _label(flows, link["source"]),
                "target": "买方·" + _label(flows, link["target"]),
                "value": float(link["value"]),
            }
            for link in flows.extra["links"]
            if float(link["value"]) > 0
        ],
    }
    query = request.GET.urlencode()
    return render(
        request,
        "contracts/stats.html",
        {
            "form": form,
            "headline": by_kind["inter-bloc"],
            "tables": [t for t in tables if t.kind != "inter-bloc"],
            "matrix": flows.extra,
            "chart_json": json.dumps(chart, ensure_ascii=False),
            "output_tiles": _tiles(by_kind["output"]),
            "absorption_tiles": _tiles(by_kind["absorption"]),
            "query": query,
            "can_review": bool(selectors.review_regions_for(request.user)),
        },
    )


def _label(table: Table, code: str) -> str:
    return next((r["label"] for r in table.extra["regions"] if r["code"] == code), code)


def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The page's tables as .xlsx (one sheet per table) or CSV, with their definitions."""
    _form, params = _query(request)
    tables = _tables(request, params)
    if fmt == "xlsx":
        response = HttpResponse(
            to_xlsx(tables),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        response = HttpResponse("\ufeff" + to_csv(tables), content_type="text/csv; charset=utf-8")
    else:
        return HttpResponse(status=404)
    response["Content-Disposition"] = f'attachment; filename="contract-stats.{fmt}"'
    return response


@login_required
def review(request: HttpRequest) -> HttpResponse:
    """The registrar's queue: submitted contracts of their registration regions."""
    if not selectors.review_regions_for(request.user):
        raise PermissionDenied(_("仅技术合同登记员可以审核合同"))
    queue = selectors.list_review_queue_for(request.user)[:200]
    return render(request, "contracts/review.html", {"queue": queue})


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Register or reject one contract from the queue."""
    contract = selectors.get_contract_for(request.user, pk)
    try:
        if request.POST.get("decision") == "register":
            done = services.register_contract(actor=request.user, contract=contract)
            messages.success(request, _("已登记，登记编号 %(n)s") % {"n": done.registration_number})
        else:
            services.reject_contract(
                actor=request.user,
                contract=contract,
                reasons=request.POST.get("reasons", "").splitlines(),
            )
            messages.info(request, _("已作不予登记处理"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("contracts:review")


class UploadForm(forms.Form):
    """An import file and the import's options."""

    file = forms.FileField(label=_l("合同文件（CSV 或 xlsx）"))
    valid_rows = forms.BooleanField(label=_l("仅登记无误的行"), required=False)
    dry_run = forms.BooleanField(label=_l("仅检查，不写入"), required=False)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Registrars import a file of registrations; the same report as the command line."""
    regions = selectors.review_regions_for(request.user)
    if not regions:
        raise PermissionDenied(_("仅技术合同登记员可以导入合同"))
    form = UploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        suffix = Path(upload_file.name).suffix.lower()
        if suffix not in {".csv", ".xlsx"}:
            form.add_error("file", _("仅支持 CSV 或 xlsx 文件"))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"upload{suffix}"
                with path.open("wb") as fh:
                    for chunk in upload_file.chunks():
                        fh.write(chunk)
                result = importer.import_contracts(
                    path,
                    valid_rows=form.cleaned_data["valid_rows"],
                    dry_run=form.cleaned_data["dry_run"],
                    allowed_regions=regions,
                    write_report=False,
                )
    return render(
        request,
        "contracts/import.html",
        {"form": form, "result": result},
    )
