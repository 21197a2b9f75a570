"""Statistics of registered contracts, read from the rollup and shaped by the analytics engine.

One entry point, `build_report(user, query)`, serves the command line, the API and the page.
Every table carries its definition (口径); see docs/contracts-statistics.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _

from techexchange.accounts.codes import ReportCategory
from techexchange.accounts.policies import Action
from techexchange.accounts.selectors import require
from techexchange.analytics import (
    Measures,
    Table,
    breakdown_table,
    choose_cuboid,
    flow_table,
    headline,
    region_table,
)
from techexchange.contracts.codes import CLASS4_OF, ContractType, IPType, PlanSource, TechField
from techexchange.contracts.models import ContractStat
from techexchange.contracts.rollup import CUBOIDS
from techexchange.core.errors import Problem, ValidationFailed
from techexchange.regions.models import Bloc, Region

__all__ = ["TABLES", "ReportQuery", "build_report", "region_labels"]

TABLES = (
    "flows",
    "output",
    "absorption",
    "inter-bloc",
    "by-type",
    "by-field",
    "by-party",
    "by-ip",
    "by-plan",
)
OUTSIDE = frozenset({"HMT", "ABROAD"})
OTHER = "OTHER"


@dataclass(frozen=True)
class ReportQuery:
    """What a report asks for; defaults give the YRD view of one year by registration date."""

    table: str
    from_year: int
    to_year: int
    bloc: str = "YRD"
    level: str = "province"
    basis: str = "registration"
    contract_type: str = ""
    tech_field: str = ""
    classes: int = 5
    party: str = "seller"

    @property
    def years(self) -> list[int]:
        """The years counted."""
        return list(range(self.from_year, self.to_year + 1))


def _problems(q: ReportQuery) -> list[Problem]:
    problems = []
    if q.table not in TABLES:
        problems.append(Problem("unknown_table", f"未知的统计表：{q.table}", "table"))
    if not (1990 <= q.from_year <= q.to_year <= 2100):
        problems.append(Problem("bad_years", "年份范围无效", "year"))
    if q.level not in ("province", "city"):
        problems.append(Problem("bad_level", "层级应为 province 或 city", "level"))
    if q.basis not in ("registration", "signing"):
        problems.append(Problem("bad_basis", "统计口径应为 registration 或 signing", "basis"))
    if q.contract_type and q.contract_type not in ContractType.values:
        problems.append(Problem("unknown_type", "合同类型无效", "type"))
    if q.tech_field and q.tech_field not in TechField.values:
        problems.append(Problem("unknown_field", "技术领域无效", "field"))
    if q.classes not in (4, 5):
        problems.append(Problem("bad_classes", "合同类型分类应为4或5", "classes"))
    if q.party not in ("seller", "buyer"):
        problems.append(Problem("bad_party", "主体应为 seller 或 buyer", "party"))
    return problems


def region_labels() -> dict[str, str]:
    """Names of provinces, cities and statistical regions in the active language."""
    labels = {r.code: r.name for r in Region.objects.exclude(level="district")}
    labels[OTHER] = _("其他省份")
    return labels


def _members(bloc: str) -> tuple[str, frozenset[str], frozenset[str], bool]:
    """A bloc's name and its province and city members; True when it needs city level."""
    if not bloc:
        return "", frozenset(), frozenset(), False
    found = Bloc.objects.filter(code=bloc.upper()).first()
    if found is None:
        raise ValidationFailed(
            f"未知的区域板块：{bloc}", problems=[Problem("unknown_bloc", "未知的区域板块", "bloc")]
        )
    provinces, cities = set(), set()
    for code, level in found.members.values_list("code", "level"):
        if level == "province":
            provinces.add(code)
        else:  # a city, or a district counted with its city (the rollup keeps cities)
            cities.add(
                code[:4] + "00" if code[:2] not in ("11", "12", "31", "50") else code[:2] + "0100"
            )
    return found.name_zh, frozenset(provinces), frozenset(cities), bool(cities)


def _rows(
    q: ReportQuery, group: Sequence[str], years: Iterable[int], filters: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Aggregated rollup rows grouped by `group` for `years` and the query's filters."""
    wanted = dict(filters)
    if q.contract_type:
        wanted["contract_class"] = q.contract_type
    if q.tech_field:
        wanted["tech_field"] = q.tech_field
    cuboid = choose_cuboid(CUBOIDS, [*group, *(k.split("__")[0] for k in wanted)])
    return list(
        ContractStat.objects.filter(
            cuboid=cuboid.id, basis=q.basis[0], year__in=list(years), **wanted
        )
        .values(*group)
        .annotate(
            contracts=Sum("contracts"),
            turnover_fen=Sum("turnover_fen"),
            technical_fen=Sum("technical_fen"),
        )
        .order_by(*group)
    )


def _scope_text(q: ReportQuery) -> str:
    basis = "登记日期" if q.basis == "registration" else "签订日期"
    years = f"{q.from_year}年" if q.from_year == q.to_year else f"{q.from_year}–{q.to_year}年"
    filters = ""
    if q.contract_type:
        filters += f"；合同类型：{ContractType(q.contract_type).label}"
    if q.tech_field:
        filters += f"；技术领域：{TechField(q.tech_field).label}"
    return (
        f"{years}按{basis}统计的已登记技术合同（含变更登记，不含不予登记和注销）{filters}；"
        "金额为元（显示为亿元，两位小数）"
    )


def build_report(user: Any, q: ReportQuery) -> Table:
    """The requested table; city level and small cells need the detail permission."""
    problems = _problems(q)
    if problems:
        raise ValidationFailed("统计条件有误", problems=problems)
    require(user, Action.VIEW_CONTRACT_STATS)
    if q.level == "city":
        require(user, Action.VIEW_CONTRACT_STATS_DETAIL)
    builder = {
        "flows": _flows,
        "output": _output,
        "absorption": _output,
        "inter-bloc": _inter_bloc,
    }.get(q.table, _breakdown)
    return builder(q)


def _fold(code: str, provinces: frozenset[str], cities: frozenset[str], level: str) -> str:
    """Keep a bloc's members, 港澳台 and 境外; fold every other region into 其他省份."""
    if code in OUTSIDE:
        return code
    if level == "city":
        if code in cities or code[:2] + "0000" in provinces:
            return code
        return OTHER
    return code if code in provinces or not (provinces or cities) else OTHER


def _flows(q: ReportQuery) -> Table:
    name, provinces, cities, _city_bloc = _members(q.bloc)
    s_dim, b_dim = f"seller_{q.level}", f"buyer_{q.level}"
    rows = _rows(q, (s_dim, b_dim), q.years, {})
    if provinces or cities:
        folded = [
            {
                **r,
                s_dim: _fold(r[s_dim], provinces, cities, q.level),
                b_dim: _fold(r[b_dim], provinces, cities, q.level),
            }
            for r in rows
        ]
    else:
        folded = rows
    order = [*sorted(provinces | cities), OTHER, "HMT", "ABROAD"]
    definition = (
        _scope_text(q)
        + "；流向 = 卖方所在地区（技术输出方）× 买方所在地区（技术吸纳方）；"
        + "港澳台：国别344/446/158或区划代码71/81/82开头；境外：其他国别"
        + (f"；{name}以外的省份合并为“其他省份”" if name else "")
    )
    return flow_table(
        folded,
        seller_dim=s_dim,
        buyer_dim=b_dim,
        label_of=_labeller(),
        definition=definition,
        order=order,
        level=q.level,
    )


def _labeller() -> Any:
    labels = region_labels()
    return lambda code: labels.get(code, code)


def _output(q: ReportQuery) -> Table:
    absorbing = q.table == "absorption"
    role = "buyer" if absorbing else "seller"
    dim = f"{role}_{q.level}"
    current = _rows(q, (dim,), q.years, {})
    previous = _rows(q, (dim,), [y - 1 for y in q.years], {})
    inside = [r for r in current if r[dim] not in OUTSIDE]
    outside = [r for r in current if r[dim] in OUTSIDE]
    name, provinces, cities, _c = _members(q.bloc)
    what = "吸纳（按买方所在地区）" if absorbing else "输出（按卖方所在地区）"
    definition = (
        _scope_text(q)
        + f"；{what}；"
        + ("卖方为境外或港澳台的技术进口不计入任何地区，单列为“进口”；" if not absorbing else "")
        + ("买方为境外或港澳台的技术出口单列；" if absorbing else "")
        + "占比为占各地区合计的比重；同比与上年同期相比"
        + (f"；列出全部地区，{name}成员见板块设置" if name else "")
    )
    table = region_table(
        inside,
        [r for r in previous if r[dim] not in OUTSIDE],
        kind=q.table,
        title=f"技术合同{'吸纳' if absorbing else '输出'}（{_level_label(q.level)}）",
        dim=dim,
        label_of=_labeller(),
        definition=definition,
    )
    out_m, all_m = Measures(), Measures()
    for r in outside:
        out_m.add(r)
    for r in current:
        all_m.add(r)
    key = "exports" if absorbing else "imports"
    table.data[key] = out_m.as_json()
    table.data["all_contracts"] = all_m.as_json()
    if provinces or cities:
        table.data["bloc"] = q.bloc.upper()
    return table


def _level_label(level: str) -> str:
    return "城市" if level == "city" else "省份"


def _inter_bloc(q: ReportQuery) -> Table:
    name, provinces, cities, city_level = _members(q.bloc or "YRD")
    level = "city" if city_level else "province"
    q2 = replace(q, level=level)
    rows = _rows(q2, (f"seller_{level}", f"buyer_{level}"), q.years, {})
    members = (provinces | cities) if level == "city" else provinces
    subject = "三省一市" if (q.bloc or "YRD").upper() == "YRD" else name
    definition = (
        _scope_text(q)
        + f"；{subject}相互间 = 卖方与买方分属{name}不同成员的合同"
        + "（成员流向矩阵的非对角线单元），不含成员内部的合同"
        + ("；区县成员按所在城市计" if city_level else "")
    )
    return headline(
        rows,
        seller_dim=f"seller_{level}",
        buyer_dim=f"buyer_{level}",
        members=members,
        bloc=(q.bloc or "YRD").upper(),
        subject=subject,
        definition=definition,
    )


def _label_enum(enum: Any) -> Any:
    labels = {v: str(lbl) for v, lbl in enum.choices}
    return lambda code: labels.get(code, code)


def _breakdown(q: ReportQuery) -> Table:
    _name, provinces, _cities, _c = (
        _members(q.bloc) if q.bloc else ("", frozenset(), frozenset(), False)
    )
    filters: dict[str, Any] = {}
    enum: Any
    if provinces:
        filters[f"{q.party}_province__in"] = sorted(provinces)
    if q.table == "by-type":
        dim, enum, title = "contract_class", ContractType, "按合同类型"
    elif q.table == "by-field":
        dim, enum, title = "tech_field", TechField, "按技术领域"
    elif q.table == "by-party":
        dim, enum, title = (
            f"{q.party}_category",
            ReportCategory,
            f"按{'卖方' if q.party == 'seller' else '买方'}类型",
        )
    elif q.table == "by-ip":
        dim, enum, title = "ip_group", IPType, "按知识产权类型"
    else:
        dim, enum, title = "plan_source", PlanSource, "按计划来源"
    current = _rows(q, (dim,), q.years, filters)
    previous = _rows(q, (dim,), [y - 1 for y in q.years], filters)
    keys = [v for v in enum.values if not (dim == "ip_group" and v not in _IP_GROUPS)]
    if dim == "contract_class" and q.classes == 4:
        current = [{**r, dim: CLASS4_OF[r[dim]]} for r in current]
        previous = [{**r, dim: CLASS4_OF[r[dim]]} for r in previous]
        keys = [k for k in keys if k != ContractType.LICENCE]
    classes = ""
    if dim == "contract_class":
        classes = (
            "；四类口径（2020年及以前）：技术许可并入技术转让"
            if q.classes == 4
            else "；五类口径（2021年起）：2021年前的专利实施许可合同计入技术许可以便比较"
        )
    scope = (
        f"；范围：{'卖方' if q.party == 'seller' else '买方'}位于{_name}"
        if provinces
        else "；范围：全部登记合同"
    )
    return breakdown_table(
        current,
        previous,
        kind=q.table,
        title=f"技术合同{title}",
        dim=dim,
        label_of=_label_enum(enum),
        definition=_scope_text(q) + scope + classes + "；占比为占合计的比重；同比与上年同期相比",
        keys=keys,
    )


_IP_GROUPS = frozenset(
    {
        IPType.PATENT,
        IPType.KNOW_HOW,
        IPType.SOFTWARE,
        IPType.IC_LAYOUT,
        IPType.PLANT_VARIETY,
        IPType.BIOMED_VARIETY,
        IPType.OTHER,
        IPType.NONE,
    }
)
