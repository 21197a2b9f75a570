"""The registration rules, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from techexchange.contracts.policies import (
    PartyData,
    RuleContext,
    contract_problems,
    contract_warnings,
    dedupe_key,
    format_registration_number,
    needs_expert_review,
    rule_version_for,
    stat_region,
    transition_problems,
)
from techexchange.contracts.tests.factories import buyer, contract_data, seller

CTX = RuleContext(
    today=date(2026, 1, 1),
    provinces=frozenset({"310000", "320000", "330000", "340000", "440000", "810000"}),
)


def codes(data, ctx=CTX):
    return [p.code for p in contract_problems(data, ctx)]


def test_a_valid_contract_has_no_problems():
    assert codes(contract_data()) == []


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"technical_amount": Decimal("0")}, "technical_not_positive", "technical_amount"),
        (
            {"technical_amount": Decimal("2000000")},
            "technical_exceeds_turnover",
            "technical_amount",
        ),
        (
            {"turnover": Decimal("-1"), "technical_amount": Decimal("1")},
            "turnover_not_positive",
            "turnover",
        ),
        ({"deductions": ()}, "deductions_mismatch", "deductions"),
        ({"subtype": "training"}, "subtype_mismatch", "subtype"),
        ({"contract_type": "leasing"}, "unknown_type", "contract_type"),
        ({"tech_field": "magic"}, "unknown_field", "tech_field"),
        ({"ip_type": "x"}, "unknown_ip_type", "ip_type"),
        ({"plan_source": "x"}, "unknown_plan_source", "plan_source"),
        ({"payment_mode": "x"}, "unknown_payment_mode", "payment_mode"),
        (
            {"valid_from": date(2023, 1, 1), "valid_to": date(2022, 12, 1)},
            "validity_order",
            "valid_to",
        ),
        (
            {"signing_date": date(2026, 5, 1), "valid_from": None, "valid_to": None},
            "signing_in_future",
            "signing_date",
        ),
        ({"registration_date": date(2022, 1, 1)}, "registered_before_signing", "registration_date"),
        ({"rule_version": 2001}, "rule_version_mismatch", "rule_version"),
        ({"registration_number": "12345"}, "registration_number_format", "registration_number"),
    ],
)
def test_each_rule_names_its_code_and_field(overrides, code, field):
    problems = contract_problems(contract_data(**overrides), CTX)
    assert (code, field) in [(p.code, p.field) for p in problems]


def test_credit_code_check_character_is_verified():
    party = seller()  # one party: each call makes a new one, with its own check character
    bad = party.credit_code[:-1] + ("0" if party.credit_code[-1] != "0" else "1")
    data = contract_data(seller=replace(party, credit_code=bad))
    assert "credit_code_checksum" in codes(data)


def test_unknown_region_code_is_refused():
    assert "unknown_region" in codes(contract_data(buyer=buyer("990101")))
    assert "region_code" in codes(contract_data(buyer=buyer("3205")))


def test_no_licence_type_under_the_2001_rules():
    data = contract_data(
        contract_type="licence",
        subtype="patent_licence",
        ip_type="invention_patent",
        signing_date=date(2020, 6, 1),
        valid_from=None,
        valid_to=None,
    )
    assert "licence_before_2021" in codes(data)
    assert "licence_before_2021" not in codes(replace(data, signing_date=date(2021, 1, 1)))


def test_patent_licence_is_its_own_type_from_2021():
    data = contract_data(contract_type="transfer", subtype="patent_licence", ip_type="patent")
    assert "licence_is_own_type" in codes(data)
    assert "licence_is_own_type" not in codes(
        replace(data, signing_date=date(2020, 1, 1), valid_from=None, valid_to=None)
    )


def test_transfers_and_licences_need_ip_in_force():
    data = contract_data(contract_type="transfer", subtype="patent_transfer", ip_type="none")
    assert "ip_required" in codes(data)
    expired = replace(data, ip_type="patent", ip_valid_until=date(2021, 1, 1))
    assert "ip_expired" in codes(expired)


def test_registration_happens_in_the_sellers_region():
    data = contract_data(registration_region="320000")
    assert "registration_region_mismatch" in codes(data)
    assert codes(replace(data, registration_region="310000")) == []


def test_technology_imports_are_registered_by_the_domestic_buyer():
    foreign = PartyData("Example GmbH", "", "330", "276", "")
    data = contract_data(seller=foreign, registration_region="310000")
    assert "import_registered_by_buyer" in codes(data)
    assert codes(replace(data, registration_region="320000")) == []


def test_registration_number_region_must_be_the_registering_partys():
    data = contract_data(registration_number="2022320001000001", registration_date=date(2022, 5, 1))
    assert "registration_region_mismatch" in codes(data)
    ok = replace(data, registration_number="2022310001000001")
    assert codes(ok) == []
    assert "registration_number_year" in codes(replace(ok, registration_date=date(2023, 1, 2)))


def test_two_foreign_parties_cannot_register():
    foreign = PartyData("Example Ltd", "", "330", "840", "")
    assert "no_domestic_party" in codes(contract_data(seller=foreign, buyer=foreign))


def test_natural_persons_and_foreign_parties_need_no_credit_code():
    person = replace(seller(), nature="400", credit_code="")
    assert codes(contract_data(seller=person)) == []


def test_expert_review_from_five_million_technical_amount():
    assert needs_expert_review(Decimal("5000000"))
    assert not needs_expert_review(Decimal("4999999.99"))
    warned = contract_warnings(
        contract_data(turnover=Decimal("6000000"), technical_amount=Decimal("5800000"))
    )
    assert "expert_review" in [w.code for w in warned]


def test_checks_the_data_cannot_settle_are_warnings():
    assert "objectives_unverified" in [w.code for w in contract_warnings(contract_data())]


def test_rule_version_follows_the_signing_date():
    starts = {2001: date(2001, 1, 1), 2021: date(2021, 1, 1), 2026: date(2026, 3, 1)}
    assert rule_version_for(date(2020, 12, 31), starts) == 2001
    assert rule_version_for(date(2021, 1, 1), starts) == 2021
    assert rule_version_for(date(2026, 3, 1), starts) == 2026


def test_statistical_regions():
    assert stat_region("156", "310104") == ("310000", "310100")
    assert stat_region("156", "320505") == ("320000", "320500")
    assert stat_region("344", "") == ("HMT", "HMT")
    assert stat_region("156", "810000") == ("HMT", "HMT")
    assert stat_region("276", "") == ("ABROAD", "ABROAD")


def test_duplicate_key_ignores_spacing_but_not_amount():
    a = contract_data()
    assert dedupe_key(a) == dedupe_key(replace(a, project_name=" " + a.project_name))
    assert dedupe_key(a) != dedupe_key(replace(a, turnover=Decimal("1000000.01")))


def test_number_format_must_give_sixteen_digits():
    fmt = "{year:04d}{region:4.4}{point:02d}{serial:06d}"
    assert format_registration_number(fmt, year=2024, region="3100", point=1, serial=7) == (
        "2024310001000007"
    )
    with pytest.raises(ValueError, match="16 digits"):
        format_registration_number("{year}{serial}", year=2024, region="", point=1, serial=7)


def test_workflow_refuses_registering_a_draft():
    assert transition_problems("draft", "register")[0].code == "bad_transition"
    assert transition_problems("submitted", "register") == []
