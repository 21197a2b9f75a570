"""Pages of the workflow: register (drafts, submit), detail, amend/cancel, "my contracts"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from techexchange.accounts.tests.factories import PASSWORD, make_member, make_organisation
from techexchange.contracts import services
from techexchange.contracts.forms import FORM_FIELDS
from techexchange.contracts.models import ContractStat, TechContract
from techexchange.contracts.tests.factories import (
    contract_data,
    contract_input,
    make_registered,
    registrar,
    submitter,
)
from techexchange.core.audit import entries_for

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)


def form_data(**overrides) -> dict[str, str]:
    """The registration form as a browser posts it (one deduction row filled)."""
    d = contract_data()
    data = {
        "project_name": d.project_name,
        "contract_type": "development",
        "subtype": "commissioned",
        "signing_date": "2022-03-01",
        "valid_from": "2022-03-01",
        "valid_to": "2023-03-01",
        "seller_name": d.seller.name,
        "seller_credit_code": d.seller.credit_code,
        "seller_nature": "150",
        "seller_country": "156",
        "seller_region_code": d.seller.region_code,
        "buyer_name": d.buyer.name,
        "buyer_credit_code": d.buyer.credit_code,
        "buyer_nature": "170",
        "buyer_country": "156",
        "buyer_region_code": d.buyer.region_code,
        "turnover": "1000000.00",
        "technical_amount": "800000.00",
        "tech_field": "electronics",
        "ip_type": "none",
        "plan_source": "none",
        "payment_mode": "instalments",
        "seller_contact": "李四",
        "deductions-TOTAL_FORMS": "3",
        "deductions-INITIAL_FORMS": "0",
        "deductions-MIN_NUM_FORMS": "0",
        "deductions-MAX_NUM_FORMS": "20",
        "deductions-0-kind": "equipment",
        "deductions-0-description": "检测设备",
        "deductions-0-amount": "200000.00",
        "action": "submit",
    }
    data.update(overrides)
    return data


def test_form_prefills_the_registering_party_from_the_members_organisation(client):
    org = make_organisation(province="310000", city="310100", name_zh="上海某研究院")
    member = make_member(org)
    _login(client, member)
    html = client.get("/contracts/new/").content.decode()
    assert 'name="seller_name"' in html and 'value="上海某研究院"' in html
    assert f'value="{org.credit_code}"' in html
    for name in (*FORM_FIELDS, "deductions-0-kind", "deductions-0-amount"):
        assert f'name="{name}"' in html, name  # every field of the layout
    assert set(FORM_FIELDS) >= set(services.INPUT_FIELDS) - {"rule_version"}
    imported = client.get("/contracts/new/?role=buyer").content.decode()
    buyer_input = imported[imported.index('name="buyer_name"') - 200 :][:400]
    assert "上海某研究院" in buyer_input
    seller_input = imported[imported.index('name="seller_name"') - 200 :][:400]
    assert "上海某研究院" not in seller_input


def test_member_submits_from_the_web_and_lands_on_the_detail_page(client):
    org, member = submitter()
    _login(client, member)
    response = client.post("/contracts/new/", form_data(organisation=str(org.pk)))
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = TechContract.objects.get()
    assert contract.status == "submitted" and contract.submitting_organisation == org
    assert contract.seller_contact == "李四"
    assert [(d.kind, d.amount) for d in contract.deductions.all()] == [
        ("equipment", Decimal("200000.00"))
    ]
    page = client.get(response["Location"]).content.decode()
    assert "待审核" in page and "contract.submit" in page


def test_problems_are_shown_next_to_the_fields_they_name(client):
    _org, member = submitter()
    _login(client, member)
    html = client.post(
        "/contracts/new/",
        form_data(
            **{
                "tech_field": "",
                "seller_credit_code": "91310000XXXXXXXXX1",
                "deductions-0-amount": "100.00",
            }
        ),
    ).content.decode()
    assert 'data-field="tech_field"' in html
    assert 'data-field="seller_credit_code"' in html
    assert 'data-field="deductions"' in html
    assert TechContract.objects.count() == 0


def test_draft_is_saved_incomplete_then_edited_and_submitted(client):
    _org, member = submitter()
    _login(client, member)
    response = client.post(
        "/contracts/new/", form_data(action="draft", tech_field="", project_name="")
    )
    assert response.status_code == 302
    draft = TechContract.objects.get()
    assert draft.status == "draft" and draft.tech_field == ""
    edit = client.get(f"/contracts/{draft.pk}/edit/").content.decode()
    assert "检测设备" in edit
    refused = client.post(
        f"/contracts/{draft.pk}/edit/",
        form_data(project_name="", tech_field="", **{"deductions-0-amount": "200000.00"}),
    )
    assert refused.status_code == 200 and 'data-field="project_name"' in refused.content.decode()
    done = client.post(f"/contracts/{draft.pk}/edit/", form_data(project_name="传感器项目"))
    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "submitted" and draft.project_name == "传感器项目"
    assert [e.action for e in entries_for(draft)] == ["contract.submit", "contract.draft"]


def test_a_draft_with_broken_invariants_is_refused_on_its_fields(client):
    _org, member = submitter()
    _login(client, member)
    html = client.post(
        "/contracts/new/", form_data(action="draft", technical_amount="2000000.00")
    ).content.decode()
    assert 'data-field="technical_amount"' in html
    html = client.post("/contracts/new/", form_data(seller_name="名" * 201)).content.decode()
    assert 'data-field="seller_name"' in html
    assert TechContract.objects.count() == 0


def test_only_members_may_register_and_edit(client):
    _org, member = submitter()
    contract = services.save_draft(actor=member, organisation=_org, inp=contract_input())
    outsider = registrar("320000")
    _login(client, outsider)
    assert client.get("/contracts/new/").status_code == 403
    assert client.get(f"/contracts/{contract.pk}/").status_code == 404
    assert client.get(f"/contracts/{contract.pk}/edit/").status_code == 404


def test_detail_shows_status_certificate_and_audit_trail_to_the_scoped_only(client):
    reg = registrar("310000")
    contract = make_registered(reg=reg)
    member = contract.submitting_organisation.memberships.first().user
    _login(client, member)
    html = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert contract.registration_number in html and "已登记" in html
    assert "contract.register" in html and reg.username in html
    assert 'data-testid="cancel-form"' not in html  # members do not amend or cancel
    _login(client, submitter()[1])
    assert client.get(f"/contracts/{contract.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/contracts/{contract.pk}/").status_code == 302  # to the login page


def test_registrar_amends_from_the_web_with_a_reason(client):
    reg = registrar("310000")
    contract = make_registered(reg=reg)
    _login(client, reg)
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="amend-link"' in page and 'data-testid="cancel-form"' in page
    form = client.get(f"/contracts/{contract.pk}/amend/").content.decode()
    assert contract.project_name in form
    data = form_data(
        project_name=contract.project_name,
        seller_name=contract.seller_name,
        seller_credit_code=contract.seller_credit_code,
        buyer_name=contract.buyer_name,
        buyer_credit_code=contract.buyer_credit_code,
        turnover="1500000.00",
        technical_amount="1300000.00",
        action="amend",
    )
    no_reason = client.post(f"/contracts/{contract.pk}/amend/", data)
    assert 'data-field="reason"' in no_reason.content.decode()
    done = client.post(f"/contracts/{contract.pk}/amend/", {**data, "reason": "补充协议"})
    assert done.status_code == 302, done.content.decode()[:3000]
    contract.refresh_from_db()
    assert contract.status == "amended" and contract.turnover == Decimal("1500000.00")
    assert entries_for(contract).first().reason == "补充协议"
    cells = ContractStat.objects.filter(cuboid=0, basis="r", contracts__gt=0)
    assert [c.turnover_fen for c in cells] == [150000000]


def test_registrar_cancels_from_the_web_with_a_mandatory_reason(client):
    reg = registrar("310000")
    contract = make_registered(reg=reg)
    _login(client, reg)
    refused = client.post(f"/contracts/{contract.pk}/cancel/", {"reason": ""})
    assert refused.status_code == 422 and 'data-field="reason"' in refused.content.decode()
    assert TechContract.objects.get(pk=contract.pk).status == "registered"
    done = client.post(f"/contracts/{contract.pk}/cancel/", {"reason": "合同解除"})
    assert done.status_code == 302
    assert TechContract.objects.get(pk=contract.pk).status == "cancelled"
    assert not ContractStat.objects.filter(contracts__gt=0).exists()
    member = contract.submitting_organisation.memberships.first().user
    _login(client, member)
    assert client.post(f"/contracts/{contract.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert client.get(f"/contracts/{contract.pk}/amend/").status_code == 403


def test_my_contracts_lists_the_members_organisations_contracts(client):
    contract = make_registered()
    member = contract.submitting_organisation.memberships.first().user
    other = make_registered()
    _login(client, member)
    html = client.get("/contracts/mine/").content.decode()
    assert contract.project_name in html and other.project_name not in html
    assert f"/contracts/{contract.pk}/" in html and 'data-testid="new-contract"' in html
    assert contract.project_name not in client.get("/contracts/mine/?status=draft").content.decode()
    assert 'data-testid="mine-link"' in client.get("/contracts/?from_year=2022").content.decode()


def test_registrar_queue_links_to_details_and_lists_registered_contracts(client):
    reg = registrar("310000")
    contract = make_registered(reg=reg)
    org, member = submitter()
    waiting = services.submit_contract(actor=member, organisation=org, inp=contract_input())
    _login(client, reg)
    html = client.get("/contracts/review/").content.decode()
    assert f"/contracts/{waiting.pk}/" in html and 'data-testid="mine-link"' in html
    assert contract.registration_number in html
    found = client.get(f"/contracts/review/?q={contract.registration_number}").content.decode()
    assert f"/contracts/{contract.pk}/" in found
