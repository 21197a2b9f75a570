"""Factories for contracts: valid data by default, override what a test is about."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from techexchange.accounts.models import Organisation, OrgRole, User
from techexchange.accounts.tests.factories import grant, make_member, make_organisation, make_user
from techexchange.contracts import services
from techexchange.contracts.models import TechContract
from techexchange.contracts.policies import ContractData, PartyData
from techexchange.core.uscc import make_credit_code

_serial = itertools.count(1)
_rng = random.Random(31)


def code(region: str = "310100") -> str:
    """A valid credit code registered in `region`."""
    return make_credit_code(_rng, region_code=region)


def seller(region: str = "310104", **kw: Any) -> PartyData:
    """A Shanghai limited company by default."""
    return PartyData(
        name=kw.pop("name", f"卖方{next(_serial)}有限公司"),
        credit_code=kw.pop("credit_code", code(region)),
        nature=kw.pop("nature", "150"),
        country=kw.pop("country", "156"),
        region_code=region,
    )


def buyer(region: str = "320505", **kw: Any) -> PartyData:
    """A Suzhou private company by default."""
    return seller(region, nature=kw.pop("nature", "170"), **kw)


def contract_data(**overrides: Any) -> ContractData:
    """A valid 2022 technology development contract from Shanghai to Suzhou."""
    base = ContractData(
        project_name=f"智能传感器联合研发项目{next(_serial)}",
        contract_type="development",
        subtype="commissioned",
        seller=seller(),
        buyer=buyer(),
        turnover=Decimal("1000000.00"),
        technical_amount=Decimal("800000.00"),
        deductions=(Decimal("200000.00"),),
        signing_date=date(2022, 3, 1),
        valid_from=date(2022, 3, 1),
        valid_to=date(2023, 3, 1),
        tech_field="electronics",
        ip_type="none",
        plan_source="none",
        payment_mode="instalments",
    )
    return replace(base, **overrides)


def contract_input(**overrides: Any) -> services.ContractInput:
    """A ContractInput with the deduction itemised to match the data."""
    data = contract_data(**overrides)
    gap = data.turnover - data.technical_amount
    deductions = [services.Deduction("equipment", gap, "检测设备")] if gap > 0 else []
    return services.ContractInput(data=data, deductions=deductions)


def submitter(org: Organisation | None = None) -> tuple[Organisation, User]:
    """An organisation in Shanghai and a member who submits for it."""
    org = org or make_organisation(province="310000", city="310100")
    return org, make_member(org, OrgRole.MEMBER)


def registrar(region: str = "310000") -> User:
    """A contract registrar for a province."""
    user = make_user()
    grant(user, "registrar", region_id=region)
    return user


def make_registered(
    when: date = date(2022, 6, 1), reg: User | None = None, **overrides: Any
) -> TechContract:
    """Submit then register one contract (through the services)."""
    inp = contract_input(**overrides)
    org, member = submitter()
    contract = services.submit_contract(actor=member, organisation=org, inp=inp)
    return services.register_contract(
        actor=reg or registrar(contract.registration_region),
        contract=contract,
        registration_date=when,
    )
