# ruff: noqa: E501  (the calibration tables read best one year or one list per line)
"""Synthetic registered contracts 2019–2025 calibrated to the published aggregates (DOMAIN.md §3).

Contract-level data is confidential, so the demo is invented but shaped like the statistics:
per-province output counts and average amounts follow the yearbook (2024–2025 extrapolated),
Shanghai is a net exporter, services and development dominate, enterprises sell ≈90% of the
output value, 技术交易额/成交额 ≈ 0.7–0.8, amounts are heavy-tailed (log-normal), and about 14%
of the YRD sellers' value crosses between the four provinces. `--scale 1` gives ≈30,000
contracts (2% of the real volume); `--scale 50` reaches the real YRD volume.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from techexchange.contracts import rollup
from techexchange.contracts.codes import ContractStatus
from techexchange.contracts.models import TechContract
from techexchange.contracts.policies import (
    ContractData,
    PartyData,
    dedupe_key,
    needs_expert_review,
    registering_region,
    stat_region,
)
from techexchange.core.demo import DemoContext
from techexchange.core.uscc import make_credit_code
from techexchange.regions.data import CITIES

__all__ = ["YEARS", "generate", "seed_contracts"]

YEARS = range(2019, 2026)
YRD = ("310000", "320000", "330000", "340000")
# 输出 per province: (亿元, contracts), China Statistical Yearbook on S&T; 2024–25 extrapolated.
OUTPUT: dict[int, dict[str, tuple[float, int]]] = {
    2019: {"310000": (1422.35, 35928), "320000": (1471.52, 49210), "330000": (888.01, 18996), "340000": (449.61, 19538)},
    2020: {"310000": (1583.22, 26356), "320000": (2087.85, 56916), "330000": (1403.32, 25725), "340000": (659.57, 16667)},
    2021: {"310000": (2545.49, 36450), "320000": (2606.17, 81982), "330000": (1855.78, 36970), "340000": (1787.71, 23729)},
    2022: {"310000": (3870.73, 37868), "320000": (2986.78, 86649), "330000": (2435.07, 43356), "340000": (2875.45, 30552)},
    2023: {"310000": (4642.34, 50246), "320000": (3331.00, 93004), "330000": (4323.71, 75361), "340000": (3597.57, 30697)},
}  # fmt: skip
for _y, _g in ((2024, 1.12), (2025, 1.25)):
    OUTPUT[_y] = {p: (v * _g, round(n * (_g + 1) / 2)) for p, (v, n) in OUTPUT[2023].items()}
SAMPLE = 0.02  # contracts per real contract at scale 1
SIGMA = 1.5  # log-normal spread of amounts: heavy tail
# Where YRD sellers' contracts go: same province, another YRD province, elsewhere, abroad.
BUYER_MIX = {"310000": (0.58, 0.15, 0.24, 0.03), "default": (0.78, 0.13, 0.08, 0.01)}
OTHER_PROVINCES = ("110105", "440305", "420111", "510107", "370102", "610113", "350203")
# (type, subtype, weight); from 2021 licences are their own type.
TYPES = (
    ("service", "service", 34), ("service", "training", 3), ("service", "brokerage", 2),
    ("development", "commissioned", 24), ("development", "cooperative", 8),
    ("consulting", "consulting", 10), ("transfer", "patent_transfer", 4),
    ("transfer", "know_how_transfer", 3), ("transfer", "patent_application_transfer", 1),
    ("licence", "patent_licence", 3), ("licence", "know_how_licence", 1),
)  # fmt: skip
FIELDS = (
    ("electronics", 30), ("manufacturing", 18), ("biomedicine", 12), ("materials", 8),
    ("energy", 9), ("environment", 6), ("urban", 8), ("transport", 4), ("agriculture", 3),
    ("aerospace", 1.5), ("nuclear", 0.5),
)  # fmt: skip
SELLER_NATURES = (("150", 40), ("170", 22), ("160", 12), ("110", 6), ("330", 3), ("022", 8), ("021", 7), ("023", 1), ("030", 1))  # fmt: skip
BUYER_NATURES = (("150", 36), ("170", 20), ("160", 10), ("110", 8), ("013", 9), ("022", 4), ("021", 5), ("023", 4), ("014", 4))  # fmt: skip
ENTERPRISE = frozenset({"110", "150", "160", "170", "330"})
IP_FOR = ("invention_patent", "utility_model", "know_how", "software", "patent")
PLANS = (("none", 80), ("provincial", 8), ("local", 7), ("national", 3), ("ministry", 2))
PAYMENTS = (("instalments", 55), ("lump_sum", 35), ("royalty", 5), ("royalty_with_fee", 3), ("other", 2))  # fmt: skip
CITY_WEIGHT = {"310100": 1, "320100": 8, "320500": 10, "320200": 5, "330100": 10, "330200": 5, "340100": 9}  # fmt: skip


def _pick(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(options, [o[-1] for o in options])[0]


class _Parties:
    """A deterministic pool of invented parties per (province, nature)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool: dict[tuple[str, str], list[PartyData]] = {}
        self.cities = {p: [c.code for c in CITIES if c.code[:2] == p[:2]] for p in YRD}

    def get(self, province: str, nature: str, role: str) -> PartyData:
        key = (province, nature)
        pool = self.pool.setdefault(key, [])
        if len(pool) < 60 or self.rng.random() < 0.02:
            pool.append(self._new(province, nature, role, len(pool)))
        return self.rng.choice(pool)

    def _new(self, province: str, nature: str, role: str, n: int) -> PartyData:
        rng = self.rng
        if province == "ABROAD":
            country = rng.choice(("840", "276", "392", "250", "410"))
            return PartyData(f"Example Technology {country}-{n} Ltd.", "", "330", country, "")
        if province == "HMT":
            return PartyData(f"香港示例科技有限公司{n}", "", "230", "344", "810000")
        if province in YRD:
            cities = self.cities[province]
            city = rng.choices(cities, [CITY_WEIGHT.get(c, 2) for c in cities])[0]
            region = city[:4] + f"{rng.randint(1, 9):02d}"
        else:
            region = rng.choice([c for c in OTHER_PROVINCES if c[:2] == province[:2]])
        kind = {"022": "大学", "021": "研究院", "023": "医院", "030": "促进会"}.get(
            nature, "有限公司"
        )
        if nature.startswith("01"):
            kind = "科学技术局"
        authority, entity = ("1", "2") if nature.startswith("02") else ("9", "1")
        if nature.startswith("01"):
            authority = "1"
        code = make_credit_code(rng, region_code=region, authority=authority, kind=entity)
        return PartyData(f"（演示）{region}{role}{kind}{n}号", code, nature, "156", region)


def _amount(rng: random.Random, mean_yuan: float) -> Decimal:
    mu = math.log(mean_yuan) - SIGMA * SIGMA / 2
    value = min(math.exp(rng.gauss(mu, SIGMA)), 5e10)
    return Decimal(max(round(value, -2), 5000)).quantize(Decimal("0.01"))


def generate(ctx_rng: random.Random, year: int, scale: float) -> Iterator[ContractData]:
    """Contracts signed in `year`, registered shortly after, calibrated as described above."""
    rng = ctx_rng
    parties = _Parties(rng)
    for seller_prov, (yi, count) in OUTPUT[year].items():
        n = max(1, round(count * SAMPLE * scale))
        mean = yi * 1e8 / count
        for _ in range(n):
            yield _one(rng, parties, year, seller_prov, mean)
        # Technology imports into this province, and sellers from other provinces.
        for _ in range(max(1, round(n * 0.04))):
            origin = rng.choice(("ABROAD", "HMT", "ABROAD", "OTHER", "OTHER", "OTHER"))
            yield _one(rng, parties, year, origin, mean * 1.3, buyer_prov=seller_prov)


def _one(
    rng: random.Random,
    parties: _Parties,
    year: int,
    seller_prov: str,
    mean: float,
    buyer_prov: str | None = None,
) -> ContractData:
    if seller_prov == "OTHER":
        seller_prov = rng.choice(OTHER_PROVINCES)[:2] + "0000"
    if buyer_prov is None:
        stay, cross, out, _abroad = BUYER_MIX.get(seller_prov, BUYER_MIX["default"])
        r = rng.random()
        if r < stay:
            buyer_prov = seller_prov
        elif r < stay + cross:
            buyer_prov = rng.choice([p for p in YRD if p != seller_prov])
        elif r < stay + cross + out:
            buyer_prov = rng.choice(OTHER_PROVINCES)[:2] + "0000"
        else:
            buyer_prov = "ABROAD"
    seller_nature = _pick(rng, SELLER_NATURES)[0] if seller_prov not in ("ABROAD", "HMT") else "330"
    buyer_nature = _pick(rng, BUYER_NATURES)[0] if buyer_prov != "ABROAD" else "330"
    seller = parties.get(seller_prov, seller_nature, "卖方")
    buyer = parties.get(buyer_prov, buyer_nature, "买方")
    contract_type, subtype, _w = _pick(rng, TYPES)
    if year < 2021 and contract_type == "licence":
        contract_type, subtype = "transfer", "patent_licence"
    if seller_prov in ("ABROAD", "HMT") and rng.random() < 0.6:
        contract_type, subtype = "licence" if year >= 2021 else "transfer", "patent_licence"
    factor = 1.0 if seller.nature in ENTERPRISE else 0.45
    if contract_type in ("development", "service"):
        factor *= 1.15
    turnover = _amount(rng, mean * factor)
    ratio = 1.0 if rng.random() < 0.45 else rng.uniform(0.3, 0.8)
    technical = max(
        Decimal("0.01"), (turnover * Decimal(str(round(ratio, 4)))).quantize(Decimal("0.01"))
    )
    signing = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    registered = min(signing + timedelta(days=rng.randint(3, 45)), date(2026, 1, 31))
    ip = "none"
    if contract_type in ("transfer", "licence") or rng.random() < 0.4:
        ip = rng.choice(IP_FOR)
    return ContractData(
        project_name=f"（演示）{_pick(rng, FIELDS)[0]}技术项目{rng.randrange(10**9):09d}",
        contract_type=contract_type,
        subtype=subtype,
        seller=seller,
        buyer=buyer,
        turnover=turnover,
        technical_amount=technical,
        signing_date=signing,
        valid_from=signing,
        valid_to=signing + timedelta(days=rng.choice((180, 365, 730))),
        tech_field=_pick(rng, FIELDS)[0],
        ip_type=ip,
        plan_source=_pick(rng, PLANS)[0],
        payment_mode=_pick(rng, PAYMENTS)[0],
        registration_date=registered,
    )


def model_fields(d: ContractData, number: str) -> dict[str, Any]:
    """The TechContract fields of a generated registered contract."""
    sp, sc = stat_region(d.seller.country, d.seller.region_code)
    bp, bc = stat_region(d.buyer.country, d.buyer.region_code)
    return dict(
        rule_version=2021 if d.signing_date.year >= 2021 else 2001,
        status=ContractStatus.REGISTERED,
        registration_number=number,
        project_name=d.project_name,
        contract_type=d.contract_type,
        subtype=d.subtype,
        signing_date=d.signing_date,
        valid_from=d.valid_from,
        valid_to=d.valid_to,
        seller_name=d.seller.name,
        seller_credit_code=d.seller.credit_code,
        seller_nature=d.seller.nature,
        seller_country=d.seller.country,
        seller_region_code=d.seller.region_code,
        seller_province=sp,
        seller_city=sc,
        buyer_name=d.buyer.name,
        buyer_credit_code=d.buyer.credit_code,
        buyer_nature=d.buyer.nature,
        buyer_country=d.buyer.country,
        buyer_region_code=d.buyer.region_code,
        buyer_province=bp,
        buyer_city=bc,
        turnover=d.turnover,
        technical_amount=d.technical_amount,
        tech_field=d.tech_field,
        ip_type=d.ip_type,
        plan_source=d.plan_source,
        payment_mode=d.payment_mode,
        registration_region=registering_region(d),
        registration_body="（演示）技术合同登记机构",
        registration_date=d.registration_date,
        needs_expert_review=needs_expert_review(d.technical_amount),
        dedupe_key=dedupe_key(d),
        is_synthetic=True,
    )


def numbered(rng: random.Random, scale: float) -> Iterator[tuple[ContractData, str]]:
    """Every generated contract with a registration number (year + region + point 99 + serial)."""
    serials: dict[tuple[int, str], int] = {}
    for year in YEARS:
        for d in generate(rng, year, scale):
            assert d.registration_date is not None
            region = registering_region(d)
            key = (d.registration_date.year, region)
            serials[key] = serials.get(key, 0) + 1
            # Point 99 is reserved for demo data, so it never meets the live registry's serials.
            yield d, f"{key[0]:04d}{region[:4]}99{serials[key]:06d}"


@transaction.atomic
def seed_contracts(ctx: DemoContext) -> None:
    """Registered demo contracts 2019–2025 and their statistics (a rerun adds nothing)."""
    if TechContract.objects.filter(is_synthetic=True).exists():
        ctx.report["contracts"] = TechContract.objects.count()
        return
    rng = ctx.rng("contracts")
    batch: list[TechContract] = []
    deltas: dict[Any, Any] = {}
    seen: set[str] = set()
    for d, number in numbered(rng, ctx.scale):
        fields = model_fields(d, number)
        if fields["dedupe_key"] in seen:
            continue
        seen.add(fields["dedupe_key"])
        batch.append(TechContract(**fields))
        rollup.add_contract(deltas, fields)
        if len(batch) >= 5000:
            TechContract.objects.bulk_create(batch)
            batch = []
    TechContract.objects.bulk_create(batch)
    rollup.apply_deltas(deltas)
    ctx.report["contracts"] = TechContract.objects.count()
