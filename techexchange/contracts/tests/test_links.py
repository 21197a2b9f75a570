"""A contract's links (submitting organisation and user, the parties' organisations) live in
ContractLinks, beside the contract row: submitted contracts have a row, imported ones none."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ProtectedError

from techexchange.accounts.models import Organisation
from techexchange.accounts.services import create_api_token
from techexchange.accounts.tests.factories import (
    PASSWORD,
    grant,
    make_member,
    make_organisation,
    make_user,
)
from techexchange.contracts import selectors, services
from techexchange.contracts.importer import import_contracts
from techexchange.contracts.models import ContractLinks, TechContract
from techexchange.contracts.policies import PartyData
from techexchange.contracts.tests.factories import (
    buyer,
    contract_data,
    contract_input,
    make_registered,
    registrar,
    seller,
    submitter,
)
from techexchange.contracts.tests.rows import row_of, write_csv
from techexchange.contracts.tests.test_web_contracts import form_data

pytestmark = pytest.mark.django_db


def _shanghai_org() -> Organisation:
    return make_organisation(province="310000", city="310100")


def _suzhou_org() -> Organisation:
    return make_organisation(province="320000", city="320500")


def _as_seller(org: Organisation) -> PartyData:
    return seller("310104", name=org.name_zh, credit_code=org.credit_code)


def _as_buyer(org: Organisation) -> PartyData:
    return buyer("320505", name=org.name_zh, credit_code=org.credit_code)


def _auth(user) -> dict[str, str]:
    _token, raw = create_api_token(user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


def _submit(org: Organisation, member, **overrides) -> TechContract:
    return services.submit_contract(actor=member, organisation=org, inp=contract_input(**overrides))


def test_a_web_submitted_contract_has_its_links_row(client):
    org, member = submitter(_shanghai_org())
    firm = _suzhou_org()
    d = contract_data(seller=_as_seller(org), buyer=_as_buyer(firm))
    form = form_data(
        organisation=str(org.pk),
        seller_name=d.seller.name,
        seller_credit_code=d.seller.credit_code,
        seller_region_code=d.seller.region_code,
        buyer_name=d.buyer.name,
        buyer_credit_code=d.buyer.credit_code,
        buyer_region_code=d.buyer.region_code,
        technical_amount="1000000.00",
        **{"deductions-TOTAL_FORMS": "0"},
    )
    client.login(username=member.username, password=PASSWORD)
    response = client.post("/contracts/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = TechContract.objects.get()
    links = ContractLinks.objects.get()
    assert links.contract_id == contract.pk and contract.status == "submitted"
    assert links.organisation == org and links.submitted_by == member
    assert links.seller_organisation == org and links.buyer_organisation == firm
    assert contract.submitting_organisation_id == org.pk
    assert contract.linked_organisation_ids == [org.pk, org.pk, firm.pk]


def test_an_api_draft_then_its_submission_keep_one_links_row(client):
    org, member = submitter(_shanghai_org())
    firm = _suzhou_org()
    d = contract_data(buyer=_as_buyer(firm))
    body = {
        "project_name": d.project_name,
        "contract_type": d.contract_type,
        "subtype": d.subtype,
        "signing_date": d.signing_date.isoformat(),
        "seller_name": d.seller.name,
        "seller_credit_code": d.seller.credit_code,
        "seller_nature": d.seller.nature,
        "seller_region_code": d.seller.region_code,
        "buyer_name": d.buyer.name,
        "buyer_credit_code": d.buyer.credit_code,
        "buyer_nature": d.buyer.nature,
        "buyer_region_code": d.buyer.region_code,
        "turnover": "1000000.00",
        "technical_amount": "1000000.00",
        "tech_field": "electronics",
        "ip_type": "none",
        "plan_source": "none",
        "payment_mode": "instalments",
    }
    created = client.post(
        "/api/contracts", json.dumps(body), content_type="application/json", headers=_auth(member)
    )
    assert created.status_code == 201, created.content
    assert created.json()["organisation_id"] == org.pk
    pk = created.json()["id"]
    submitted = client.post(
        f"/api/contracts/{pk}/submit", "{}", content_type="application/json", headers=_auth(member)
    )
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["organisation_id"] == org.pk
    links = ContractLinks.objects.get()
    assert links.contract_id == pk and links.organisation == org and links.submitted_by == member
    assert links.seller_organisation is None and links.buyer_organisation == firm
    # The buyer's members see the contract through the link.
    seen = client.get(f"/api/contracts/{pk}", headers=_auth(make_member(firm)))
    assert seen.status_code == 200


def test_an_imported_contract_has_no_links_row(tmp_path):
    known = _shanghai_org()  # even when a party's credit code is an organisation's
    rows = [row_of(contract_data(seller=_as_seller(known))), row_of(contract_data())]
    result = import_contracts(write_csv(tmp_path / "c.csv", rows))
    assert result.committed and result.written == 2
    assert TechContract.objects.count() == 2 and not ContractLinks.objects.exists()
    contract = TechContract.objects.select_related("links").first()
    assert contract is not None and contract.linked is None
    assert contract.submitting_organisation_id is None and contract.submitting_organisation is None
    assert contract.linked_organisation_ids == []
    member = make_member(known)
    assert not selectors.list_member_contracts_for(member).exists()
    operator = make_user()
    grant(operator, "operator")
    assert selectors.get_contract_for(operator, contract.pk).submitting_organisation_id is None


def test_amending_relinks_the_parties_and_keeps_the_submitter():
    contract = make_registered()
    links = contract.links
    before = (links.organisation_id, links.submitted_by_id)
    firm = _suzhou_org()
    inp = services.input_of(contract)
    inp = replace(inp, data=replace(inp.data, buyer=_as_buyer(firm)))
    amended = services.amend_contract(
        actor=registrar(contract.registration_region), contract=contract, inp=inp, reason="买方更名"
    )
    links = ContractLinks.objects.get(pk=amended.pk)
    assert (links.organisation_id, links.submitted_by_id) == before
    assert links.buyer_organisation == firm


def test_deleting_the_linked_seller_organisation_leaves_the_contract_with_a_null_link():
    org, member = submitter(_shanghai_org())
    seller_org = make_organisation(province="310000", city="310100")
    contract = _submit(org, member, seller=_as_seller(seller_org))
    assert contract.links.seller_organisation == seller_org
    seller_org.delete()
    links = ContractLinks.objects.get(pk=contract.pk)
    assert links.seller_organisation_id is None and links.organisation == org
    assert TechContract.objects.filter(pk=contract.pk).exists()


def test_the_submitting_organisation_and_user_cannot_be_deleted_under_a_contract():
    org, member = submitter(_shanghai_org())
    contract = _submit(org, member)
    with pytest.raises(ProtectedError):
        org.delete()
    with pytest.raises(ProtectedError):
        member.delete()
    contract.delete()  # the links row goes with the contract
    assert not ContractLinks.objects.exists()


def test_my_contracts_are_those_the_members_organisation_submitted_sells_or_buys(tmp_path):
    mine = _shanghai_org()
    member = make_member(mine)
    other, other_member = submitter(_shanghai_org())
    submitted = _submit(mine, member)
    sold = _submit(other, other_member, seller=_as_seller(mine))
    bought = _submit(other, other_member, buyer=_as_buyer(mine))
    _submit(other, other_member)  # not ours
    import_contracts(write_csv(tmp_path / "c.csv", [row_of(contract_data())]))
    expected = {submitted.pk, sold.pk, bought.pk}
    assert set(selectors.list_member_contracts_for(member).values_list("pk", flat=True)) == (
        expected
    )
    assert set(selectors.list_contracts_for(member).values_list("pk", flat=True)) == expected
    assert {
        c.pk for c in selectors.list_member_contracts_for(member, status="submitted")
    } == expected
    # Nobody's member: no contracts (and no error on the empty set of organisations).
    assert not selectors.list_member_contracts_for(make_user()).exists()
    assert selectors.list_contracts_for(make_user()).count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_links_out_of_the_row_and_back(tmp_path):
    org, member = submitter(_shanghai_org())
    firm = _suzhou_org()
    linked = _submit(org, member, buyer=_as_buyer(firm))
    registered = make_registered(when=date(2022, 6, 1))
    import_contracts(write_csv(tmp_path / "c.csv", [row_of(contract_data())]))
    imported = TechContract.objects.exclude(pk__in=[linked.pk, registered.pk]).get()
    names = ("organisation_id", "seller_organisation_id", "buyer_organisation_id")
    names += ("submitted_by_id",)
    expected = {
        linked.pk: (org.pk, None, firm.pk, member.pk),
        registered.pk: tuple(getattr(registered.links, name) for name in names),
    }
    old = [("contracts", "0007_table_defaults_for_timestamps_and_reasons")]
    new = [("contracts", "0008_contract_links_beside_the_row")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(old)
        executor.loader.build_graph()
        apps = executor.loader.project_state(old).apps
        rows = apps.get_model("contracts", "TechContract").objects.values_list("pk", *names)
        assert {r[0]: r[1:] for r in rows} == {**expected, imported.pk: (None,) * 4}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(new)
    assert {r[0]: r[1:] for r in ContractLinks.objects.values_list("pk", *names)} == expected
