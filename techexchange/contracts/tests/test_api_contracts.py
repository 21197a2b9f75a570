"""The contracts API: drafts, submission, detail, amend and cancel; malformed input is a 4xx."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from techexchange.accounts.services import create_api_token
from techexchange.accounts.tests.factories import grant, make_user
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.contracts.tests.factories import (
    contract_data,
    make_registered,
    registrar,
    submitter,
)

pytestmark = pytest.mark.django_db


def _auth(user) -> dict[str, str]:
    _token, raw = create_api_token(user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


def payload(**overrides) -> dict[str, object]:
    """A valid contract as the API takes it (flat fields named as problems name them)."""
    d = contract_data()
    body = {
        "project_name": d.project_name,
        "contract_type": d.contract_type,
        "subtype": d.subtype,
        "signing_date": d.signing_date.isoformat(),
        "valid_from": "2022-03-01",
        "valid_to": "2023-03-01",
        "seller_name": d.seller.name,
        "seller_credit_code": d.seller.credit_code,
        "seller_nature": d.seller.nature,
        "seller_country": "156",
        "seller_region_code": d.seller.region_code,
        "buyer_name": d.buyer.name,
        "buyer_credit_code": d.buyer.credit_code,
        "buyer_nature": d.buyer.nature,
        "buyer_country": "156",
        "buyer_region_code": d.buyer.region_code,
        "turnover": "1000000.00",
        "technical_amount": "800000.00",
        "deductions": [{"kind": "equipment", "amount": "200000.00", "description": "检测设备"}],
        "tech_field": "electronics",
        "ip_type": "none",
        "plan_source": "none",
        "payment_mode": "instalments",
        "seller_contact": "张三",
        "is_related_party": False,
    }
    body.update(overrides)
    return body


def _post(client, url, body, user):
    return client.post(url, json.dumps(body), content_type="application/json", headers=_auth(user))


def test_member_saves_a_draft_then_submits_it_and_the_registrar_registers(client):
    org, member = submitter()
    created = _post(client, "/api/contracts", payload(), member)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["fields"]["seller_contact"] == "张三"
    assert body["deductions"][0]["amount"] == "200000.00"
    assert [a["action"] for a in body["audit"]] == ["contract.draft"]
    submitted = _post(client, f"/api/contracts/{body['id']}/submit", {}, member)
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"
    reg = registrar("310000")
    done = _post(
        client,
        f"/api/contracts/{body['id']}/register",
        {"registration_date": "2022-06-01"},
        reg,
    )
    assert done.status_code == 200 and len(done.json()["registration_number"]) == 16
    detail = client.get(f"/api/contracts/{body['id']}", headers=_auth(member)).json()
    assert detail["status"] == "registered"
    assert [a["action"] for a in detail["audit"]] == [
        "contract.register",
        "contract.submit",
        "contract.draft",
    ]
    assert detail["audit"][0]["actor"] == reg.username
    assert TechContract.objects.get(pk=body["id"]).submitting_organisation == org


def test_submit_refusal_is_a_422_naming_the_fields(client):
    _org, member = submitter()
    draft = _post(
        client, "/api/contracts", payload(technical_amount="900000.00", tech_field=""), member
    ).json()
    response = _post(client, f"/api/contracts/{draft['id']}/submit", {}, member)
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["details"]}
    assert {"deductions", "tech_field"} <= fields
    fixed = _post(
        client,
        f"/api/contracts/{draft['id']}/submit",
        {"technical_amount": "800000.00", "tech_field": "energy"},
        member,
    )
    assert fixed.status_code == 200 and fixed.json()["fields"]["tech_field"] == "energy"


MALFORMED = [
    ("turnover", "abc"),
    ("turnover", "-5"),
    ("turnover", "1e20"),
    ("turnover", "100.001"),
    ("turnover", "NaN"),
    ("signing_date", "2022-13-45"),
    ("signing_date", None),
    ("seller_name", "名" * 300),
    ("seller_country", "CHINA"),
    ("seller_region_code", "31010400"),
    ("contract_type", "magic"),
    ("is_related_party", "maybe"),
    ("deductions", [{"kind": "gold", "amount": "1"}]),
    ("deductions", [{"amount": "x"}]),
    ("deductions", "all of it"),
    ("expected_output", "1e30"),
    ("seller_phone", "1" * 80),
    ("organisation_id", "mine"),
]


@pytest.mark.parametrize(("field", "value"), MALFORMED)
def test_malformed_payloads_are_422s_naming_the_field_never_500(client, field, value):
    _org, member = submitter()
    response = _post(client, "/api/contracts", payload(**{field: value}), member)
    assert response.status_code == 422, (field, value, response.content)
    body = response.json()
    assert body["code"] and body["message"]
    assert any(d.get("field", "").split(".")[0] == field for d in body["details"]), body


@pytest.mark.parametrize(
    "raw", ["not json", "[1, 2]", '"text"', "{", '{"turnover": {"a": 1}}', "null"]
)
def test_unparseable_bodies_are_client_errors(client, raw):
    _org, member = submitter()
    response = client.post(
        "/api/contracts", raw, content_type="application/json", headers=_auth(member)
    )
    assert 400 <= response.status_code < 500, response.content
    assert "code" in response.json()


def test_draft_and_submit_need_membership(client):
    org, _member = submitter()
    outsider = make_user()
    response = _post(client, "/api/contracts", payload(organisation_id=org.pk), outsider)
    assert response.status_code == 403
    response = _post(client, "/api/contracts", payload(), outsider)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "organisation_id"
    assert (
        client.post(
            "/api/contracts", json.dumps(payload()), content_type="application/json"
        ).status_code
        == 401
    )


def test_detail_is_scoped_to_parties_registrar_and_operators(client):
    contract = make_registered()
    _org, member = submitter()
    other_registrar = registrar("320000")
    operator = make_user()
    grant(operator, "operator")
    url = f"/api/contracts/{contract.pk}"
    submitting_member = contract.submitting_organisation.memberships.first().user
    for user, status in [
        (submitting_member, 200),
        (registrar("310000"), 200),
        (operator, 200),
        (member, 404),
        (other_registrar, 404),
    ]:
        assert client.get(url, headers=_auth(user)).status_code == status, user
    assert client.get("/api/contracts/999999", headers=_auth(operator)).status_code == 404


def test_party_members_see_the_contract(client):
    from techexchange.accounts.tests.factories import make_member, make_organisation

    buyer_org = make_organisation(province="320000", city="320500")
    d = contract_data()
    buyer = d.buyer.__class__(buyer_org.name_zh, buyer_org.credit_code, "170", "156", "320505")
    contract = make_registered(buyer=buyer)
    assert contract.links.buyer_organisation == buyer_org
    response = client.get(f"/api/contracts/{contract.pk}", headers=_auth(make_member(buyer_org)))
    assert response.status_code == 200
    assert response.json()["registration_number"] == contract.registration_number


def test_amend_and_cancel_through_the_api_need_a_reason_and_keep_stats_current(client):
    reg = registrar("310000")
    contract = make_registered(reg=reg)
    url = f"/api/contracts/{contract.pk}"
    no_reason = _post(client, f"{url}/amend", {"turnover": "2000000.00"}, reg)
    assert no_reason.status_code == 422
    assert no_reason.json()["details"][0]["field"] == "reason"
    amended = _post(
        client,
        f"{url}/amend",
        {
            "turnover": "2000000.00",
            "technical_amount": "1800000.00",
            "reason": "补充协议增加金额",
        },
        reg,
    )
    assert amended.status_code == 200, amended.content
    body = amended.json()
    assert body["status"] == "amended" and body["revision"] == 1
    assert body["registration_number"] == contract.registration_number
    assert body["audit"][0]["reason"] == "补充协议增加金额"
    total = ContractStat.objects.filter(cuboid=0, basis="r").values_list("turnover_fen", flat=True)
    assert sum(total) == 200000000
    member = contract.submitting_organisation.memberships.first().user
    assert _post(client, f"{url}/cancel", {"reason": "x"}, member).status_code == 403
    assert _post(client, f"{url}/cancel", {"reason": "  "}, reg).status_code == 422
    cancelled = _post(client, f"{url}/cancel", {"reason": "合同解除"}, reg)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert not ContractStat.objects.filter(contracts__gt=0).exists()
    assert _post(client, f"{url}/cancel", {"reason": "再次"}, reg).status_code == 409


def test_amend_refusal_names_the_field_and_changes_nothing(client):
    reg = registrar("310000")
    contract = make_registered(reg=reg)
    response = _post(
        client,
        f"/api/contracts/{contract.pk}/amend",
        {"technical_amount": "9000000.00", "reason": "更正"},
        reg,
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "technical_amount"
    assert TechContract.objects.get(pk=contract.pk).technical_amount == Decimal("800000.00")


def test_list_contracts_api_is_scoped(client):
    contract = make_registered()
    member = contract.submitting_organisation.memberships.first().user
    _org, stranger = submitter()
    ids = [c["id"] for c in client.get("/api/contracts", headers=_auth(member)).json()]
    assert ids == [contract.pk]
    assert client.get("/api/contracts", headers=_auth(stranger)).json() == []


def test_draft_is_changed_with_patch_and_register_date_is_validated(client):
    _org, member = submitter()
    draft = _post(client, "/api/contracts", payload(tech_field=""), member).json()
    url = f"/api/contracts/{draft['id']}"
    changed = client.patch(
        url,
        json.dumps({"tech_field": "energy", "turnover": "-1"}),
        content_type="application/json",
        headers=_auth(member),
    )
    assert changed.status_code == 422 and changed.json()["details"][0]["field"] == "turnover"
    changed = client.patch(
        url,
        json.dumps({"tech_field": "energy"}),
        content_type="application/json",
        headers=_auth(member),
    )
    assert changed.status_code == 200 and changed.json()["fields"]["tech_field"] == "energy"
    assert _post(client, f"{url}/submit", {}, member).json()["status"] == "submitted"
    again = client.patch(
        url, json.dumps({}), content_type="application/json", headers=_auth(member)
    )
    assert again.status_code == 409 and again.json()["code"] == "bad_transition"
    reg = registrar("310000")
    bad = _post(client, f"{url}/register", {"registration_date": "2022-02-30"}, reg)
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "registration_date"
    early = _post(client, f"{url}/register", {"registration_date": "2021-01-01"}, reg)
    assert early.status_code == 422
    assert early.json()["details"][0]["field"] == "registration_date"
