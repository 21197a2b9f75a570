"""Sign-up of an organisation with its credit code, in the service, the web form and the API."""

from __future__ import annotations

import json
import random

import pytest

from techexchange.accounts.models import Membership, Organisation
from techexchange.accounts.services import OrganisationInput, sign_up_organisation
from techexchange.core.errors import ValidationFailed
from techexchange.core.models import AuditEntry
from techexchange.core.uscc import make_credit_code

pytestmark = pytest.mark.django_db

GOOD = make_credit_code(random.Random(7), region_code="320500")
BAD = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")


def org_input(**kw):
    data = dict(
        name_zh="苏州示例科技有限公司", party_nature="150", province="320000", city="320500"
    )
    data.update(kw)
    return OrganisationInput(
        credit_code=kw.pop("credit_code", GOOD),
        **{k: v for k, v in data.items() if k != "credit_code"},
    )


def test_sign_up_creates_org_admin_and_audits():
    user, org = sign_up_organisation(
        username="alice",
        email="alice@example.invalid",
        password="Sufficiently-long-9",
        organisation=org_input(),
    )
    assert Membership.objects.get(user=user, organisation=org).role == "admin"
    assert AuditEntry.objects.filter(action="organisation.sign_up", object_id=str(org.pk)).exists()


def test_bad_check_character_is_refused_naming_the_field_and_writes_nothing():
    with pytest.raises(ValidationFailed) as err:
        sign_up_organisation(
            username="bob",
            email="bob@example.invalid",
            password="Sufficiently-long-9",
            organisation=org_input(credit_code=BAD),
        )
    problem = err.value.problems[0]
    assert (problem.field, problem.code) == ("credit_code", "credit_code_checksum")
    assert not Organisation.objects.exists()


def test_city_must_belong_to_the_province():
    with pytest.raises(ValidationFailed) as err:
        sign_up_organisation(
            username="carol",
            email="c@example.invalid",
            password="Sufficiently-long-9",
            organisation=org_input(city="330100"),
        )
    assert "city_not_in_province" in err.value.codes


def test_web_form_shows_the_credit_code_error_next_to_the_field(client):
    response = client.post(
        "/sign-up/",
        {
            "name_zh": "苏州示例科技有限公司",
            "credit_code": BAD,
            "party_nature": "150",
            "province": "320000",
            "city": "320500",
            "username": "dave",
            "email": "dave@example.invalid",
            "password": "Sufficiently-long-9",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-field="credit_code"' in html and "校验码" in html
    assert not Organisation.objects.exists()


def test_web_sign_up_logs_in_and_redirects_to_the_organisation(client):
    response = client.post(
        "/sign-up/",
        {
            "name_zh": "苏州示例科技有限公司",
            "credit_code": GOOD,
            "party_nature": "150",
            "province": "320000",
            "city": "320500",
            "username": "erin",
            "email": "erin@example.invalid",
            "password": "Sufficiently-long-9",
        },
    )
    org = Organisation.objects.get()
    assert response.status_code == 302 and response.url == f"/organisations/{org.pk}/"


def test_api_refuses_bad_credit_code_with_422_and_code(client):
    payload = {
        "username": "frank",
        "email": "frank@example.invalid",
        "password": "Sufficiently-long-9",
        "organisation": {
            "name_zh": "示例",
            "credit_code": BAD,
            "party_nature": "150",
            "province": "320000",
        },
    }
    response = client.post("/api/sign-up", json.dumps(payload), content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "credit_code_checksum"
    assert body["details"][0]["field"] == "credit_code"
