"""Pages of contracts: statistics, registration (drafts, submission), detail, the registrar's
queue, amend and cancel, "my contracts" and the web import."""

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
from techexchange.contracts.codes import ContractStatus, ContractType, TechField
from techexchange.contracts.forms import (
    AmendForm,
    ContractForm,
    DeductionFormSet,
    ReasonForm,
    deductions_of,
    initial_for,
)
from techexchange.contracts.models import TechContract
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
    q = request.GET.get("q", "")[:200]
    registered = selectors.list_registered_in_regions_for(request.user, q=q)[:50]
    return render(
        request, "contracts/review.html", {"queue": queue, "registered": registered, "q": q}
    )


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


def _member_orgs(request: HttpRequest) -> list[Any]:
    orgs = selectors.member_organisations_for(request.user)
    if not orgs:
        raise PermissionDenied(_("只有机构成员可以登记技术合同"))
    return orgs


def _save(
    request: HttpRequest,
    form: ContractForm,
    formset: Any,
    organisation: Any,
    contract: TechContract | None = None,
) -> TechContract | None:
    """Save a draft or submit, per the button pressed; problems go onto the form's fields."""
    if not (form.is_valid() and formset.is_valid()):
        if not formset.is_valid():
            form.deduction_errors.append(_("请检查非技术性款项各行"))
        return None
    try:
        inp = services.input_from_fields(form.cleaned_data, deductions_of(formset))
        if request.POST.get("action") == "submit":
            done = services.submit_contract(
                actor=request.user, organisation=organisation, inp=inp, contract=contract
            )
            messages.success(request, _("已提交登记，等待登记机构审核"))
        else:
            done = services.save_draft(
                actor=request.user, organisation=organisation, inp=inp, contract=contract
            )
            messages.success(request, _("草稿已保存"))
    except DomainError as exc:
        form.add_problems(exc)
        return None
    return done


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """An organisation member registers a contract: the full layout, drafts and submission."""
    orgs = _member_orgs(request)
    source = request.POST if request.method == "POST" else request.GET
    chosen = source.get("organisation", "")
    organisation = next((o for o in orgs if str(o.pk) == chosen), orgs[0])
    role = "buyer" if source.get("role") == "buyer" else "seller"
    if request.method == "POST":
        form = ContractForm(request.POST)
        formset = DeductionFormSet(request.POST, prefix="deductions")
        done = _save(request, form, formset, organisation)
        if done is not None:
            return redirect("contracts:detail", pk=done.pk)
    else:
        form = ContractForm(initial=initial_for(organisation, role))
        formset = DeductionFormSet(prefix="deductions")
    return render(
        request,
        "contracts/contract_form.html",
        {
            "form": form,
            "formset": formset,
            "organisations": orgs,
            "organisation": organisation,
            "role": role,
            "contract": None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft (or a rejected contract) and save it again or submit it."""
    contract = selectors.get_contract_for(request.user, pk)
    organisation = contract.submitting_organisation
    if not selectors.can_edit(request.user, contract) or organisation is None:
        raise PermissionDenied(_("只有提交机构的成员可以修改草稿或被退回的合同"))
    if request.method == "POST":
        form = ContractForm(request.POST)
        formset = DeductionFormSet(request.POST, prefix="deductions")
        done = _save(request, form, formset, organisation, contract)
        if done is not None:
            return redirect("contracts:detail", pk=done.pk)
    else:
        form, formset = _prefilled(ContractForm, contract)
    return render(
        request,
        "contracts/contract_form.html",
        {"form": form, "formset": formset, "contract": contract},
    )


def _prefilled(form_class: type[Any], contract: TechContract) -> tuple[Any, Any]:
    """A contract form and its deductions formset filled in from a stored contract."""
    inp = services.input_of(contract)
    formset = DeductionFormSet(
        prefix="deductions",
        initial=[
            {"kind": d.kind, "amount": d.amount, "description": d.description}
            for d in inp.deductions
        ],
    )
    return form_class(initial=services.fields_of(inp)), formset


def _detail_context(request: HttpRequest, contract: TechContract) -> dict[str, Any]:
    can_review = selectors.can_review(request.user, contract)
    return {
        "contract": contract,
        "deductions": list(contract.deductions.order_by("id")),
        "trail": selectors.audit_trail_for(request.user, contract),
        "can_edit": selectors.can_edit(request.user, contract),
        "can_review": can_review,
        "can_change": can_review and contract.status in ("registered", "amended"),
        "cancel_form": ReasonForm(),
    }


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One contract: status, certificate fields, every field, deductions and the audit trail."""
    contract = selectors.get_contract_for(request.user, pk)
    return render(request, "contracts/detail.html", _detail_context(request, contract))


@login_required
@require_http_methods(["GET", "POST"])
def amend(request: HttpRequest, pk: int) -> HttpResponse:
    """The registrar changes a registration (变更登记) with a mandatory reason."""
    contract = selectors.get_contract_for(request.user, pk)
    if not selectors.can_review(request.user, contract):
        raise PermissionDenied(_("仅该登记地区的登记员可以变更登记"))
    if request.method == "POST":
        form = AmendForm(request.POST)
        formset = DeductionFormSet(request.POST, prefix="deductions")
        if form.is_valid() and formset.is_valid():
            try:
                services.amend_contract(
                    actor=request.user,
                    contract=contract,
                    inp=services.input_from_fields(form.cleaned_data, deductions_of(formset)),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                form.add_problems(exc)
            else:
                messages.success(request, _("已变更登记"))
                return redirect("contracts:detail", pk=contract.pk)
    else:
        form, formset = _prefilled(AmendForm, contract)
    return render(
        request,
        "contracts/contract_form.html",
        {"form": form, "formset": formset, "contract": contract, "amending": True},
    )


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The registrar cancels a registration (注销) with a mandatory reason."""
    contract = selectors.get_contract_for(request.user, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_contract(
                actor=request.user, contract=contract, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            for problem in exc.problems or []:
                form.add_error("reason" if problem.field == "reason" else None, problem.message)
            if not exc.problems:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("已注销登记"))
            return redirect("contracts:detail", pk=contract.pk)
    context = _detail_context(request, contract) | {"cancel_form": form}
    return render(request, "contracts/detail.html", context, status=422)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """ "My contracts": those of the member's organisations, as submitter or party."""
    status = request.GET.get("status", "")
    if status not in ContractStatus.values:
        status = ""
    contracts = selectors.list_member_contracts_for(request.user, status=status)[:500]
    return render(
        request,
        "contracts/mine.html",
        {
            "contracts": contracts,
            "status": status,
            "statuses": ContractStatus.choices,
            "can_register": bool(selectors.member_organisations_for(request.user)),
        },
    )
