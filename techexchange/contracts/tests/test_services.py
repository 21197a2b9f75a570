"""The registration workflow through the services: permissions, numbers, audit, rollup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from techexchange.contracts import services
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.contracts.rollup import rebuild
from techexchange.contracts.tests.factories import (
    contract_input,
    make_registered,
    registrar,
    submitter,
)
from techexchange.core.audit import entries_for
from techexchange.core.errors import Conflict, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db


def _stats():
    return sorted(
        ContractStat.objects.filter(contracts__gt=0).values_list(
            "cuboid", "basis", "year", "seller_province", "buyer_province", "contracts",
            "turnover_fen", "technical_fen",
        )
    )  # fmt: skip


def test_member_submits_and_registrar_registers_with_a_sixteen_digit_number():
    org, member = submitter()
    contract = services.submit_contract(actor=member, organisation=org, inp=contract_input())
    assert contract.status == "submitted" and contract.registration_region == "310000"
    done = services.register_contract(
        actor=registrar("310000"), contract=contract, registration_date=date(2022, 6, 1)
    )
    assert done.status == "registered"
    assert done.registration_number == "2022310001000001"
    assert [e.action for e in entries_for(done)] == ["contract.register", "contract.submit"]


def test_numbers_are_unique_and_sequential_per_year_and_region():
    first = make_registered()
    second = make_registered()
    assert int(second.registration_number) == int(first.registration_number) + 1


def test_registrar_of_another_region_cannot_register():
    org, member = submitter()
    contract = services.submit_contract(actor=member, organisation=org, inp=contract_input())
    with pytest.raises(PermissionDenied):
        services.register_contract(actor=registrar("320000"), contract=contract)
    assert TechContract.objects.get(pk=contract.pk).status == "submitted"


def test_outsider_cannot_submit_for_an_organisation():
    org, _member = submitter()
    _other_org, outsider = submitter()
    with pytest.raises(PermissionDenied):
        services.submit_contract(actor=outsider, organisation=org, inp=contract_input())


def test_bad_contract_is_refused_with_every_problem_and_nothing_written():
    org, member = submitter()
    inp = contract_input(technical_amount=Decimal("2000000"), tech_field="magic")
    with pytest.raises(ValidationFailed) as exc:
        services.submit_contract(actor=member, organisation=org, inp=inp)
    assert {"technical_exceeds_turnover", "unknown_field"} <= set(exc.value.codes)
    assert TechContract.objects.count() == 0


def test_the_same_contract_cannot_be_submitted_twice():
    org, member = submitter()
    inp = contract_input()
    services.submit_contract(actor=member, organisation=org, inp=inp)
    with pytest.raises(ValidationFailed) as exc:
        services.submit_contract(actor=member, organisation=org, inp=inp)
    assert exc.value.codes == ["duplicate_contract"]


def test_reject_needs_reasons_and_a_rejected_contract_can_be_resubmitted():
    org, member = submitter()
    inp = contract_input()
    contract = services.submit_contract(actor=member, organisation=org, inp=inp)
    reg = registrar()
    with pytest.raises(ValidationFailed):
        services.reject_contract(actor=reg, contract=contract, reasons=[" "])
    rejected = services.reject_contract(actor=reg, contract=contract, reasons=["缺少验收标准"])
    assert rejected.rejection_reasons == ["缺少验收标准"]
    again = services.submit_contract(actor=member, organisation=org, inp=inp, contract=rejected)
    assert again.status == "submitted" and again.pk == contract.pk


def test_registering_twice_is_a_bad_transition():
    contract = make_registered()
    with pytest.raises(Conflict) as exc:
        services.register_contract(actor=registrar(), contract=contract)
    assert exc.value.codes == ["bad_transition"]


def test_rollup_follows_register_amend_and_cancel_and_equals_a_rebuild():
    reg = registrar()
    contract = make_registered(reg=reg)
    assert (0, "r", 2022, "310000", "320000", 1, 100000000, 80000000) in _stats()
    inp = contract_input(
        project_name=contract.project_name,
        turnover=Decimal("3000000"),
        technical_amount=Decimal("2500000"),
        buyer=contract_input().data.buyer.__class__(
            "杭州某公司", contract.buyer_credit_code, "170", "156", "330106"
        ),
    )
    amended = services.amend_contract(actor=reg, contract=contract, inp=inp, reason="金额变更")
    assert amended.status == "amended" and amended.revision == 1
    assert amended.registration_number == contract.registration_number
    incremental = _stats()
    assert (0, "r", 2022, "310000", "330000", 1, 300000000, 250000000) in incremental
    assert not [s for s in incremental if s[4] == "320000"]
    rebuild()
    assert _stats() == incremental
    services.cancel_contract(actor=reg, contract=amended, reason="合同解除")
    assert _stats() == []
    assert [e.action for e in entries_for(amended)][:2] == ["contract.cancel", "contract.amend"]


def test_expert_review_is_flagged_at_five_million():
    contract = make_registered(turnover=Decimal("6000000"), technical_amount=Decimal("5000000"))
    assert contract.needs_expert_review


def test_database_refuses_technical_amount_above_turnover():
    from django.db import IntegrityError

    contract = make_registered()
    with pytest.raises(IntegrityError):
        TechContract.objects.filter(pk=contract.pk).update(technical_amount=Decimal("9e9"))


def test_rebuild_command_reproduces_the_incremental_rollup():
    from django.core.management import call_command

    make_registered()
    before = _stats()
    call_command("rebuild_contract_stats")
    assert _stats() == before
