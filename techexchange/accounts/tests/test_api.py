"""The accounts and regions API: lists, details, tokens, and no 500 for malformed input."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from techexchange.accounts.models import OrgRole
from techexchange.accounts.services import create_api_token
from techexchange.accounts.tests.factories import make_member, make_organisation, make_user

pytestmark = pytest.mark.django_db


def test_organisation_list_is_paginated_and_filtered(client):
    make_organisation(province="320000", city="320500")
    make_organisation(province="340000", city="340100", nature="022")
    body = client.get("/api/organisations?province=340000").json()
    assert body["count"] == 1 and body["items"][0]["report_category"] == "university"
    assert client.get("/api/organisations?category=university").json()["count"] == 1


def test_contacts_are_hidden_from_anonymous_callers(client):
    org = make_organisation(address="示例路1号")
    assert client.get(f"/api/organisations/{org.pk}").json()["address"] is None
    client.force_login(make_user())
    assert client.get(f"/api/organisations/{org.pk}").json()["address"] == "示例路1号"


def test_bearer_token_authenticates_and_a_bad_one_is_refused(client):
    user = make_user()
    _token, raw = create_api_token(user=user)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.json()["username"] == user.username
    bad = client.get("/api/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "unauthenticated"


def test_create_api_token_command_prints_a_working_token(client, capsys):
    user = make_user("tokenuser")
    call_command("create_api_token", "tokenuser")
    raw = capsys.readouterr().out.strip()
    me = client.get("/api/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.json()["id"] == user.pk


def test_only_the_org_admin_may_update_the_organisation(client):
    org = make_organisation()
    admin = make_member(org, OrgRole.ADMIN)
    outsider = make_user()
    payload = {
        "name_zh": "改名后的机构",
        "credit_code": org.credit_code,
        "party_nature": "150",
        "province": "320000",
        "city": "320500",
    }
    for user, expected in ((outsider, 403), (admin, 200)):
        _t, raw = create_api_token(user=user)
        response = client.put(
            f"/api/organisations/{org.pk}",
            json.dumps(payload),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert response.status_code == expected, response.content
    org.refresh_from_db()
    assert org.name_zh == "改名后的机构"


def test_session_writes_need_csrf(client):
    from django.test import Client

    org = make_organisation()
    admin = make_member(org, OrgRole.ADMIN)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    response = strict.put(f"/api/organisations/{org.pk}", "{}", content_type="application/json")
    assert response.status_code == 403


MALFORMED = [
    ("get", "/api/organisations?limit=abc", None),
    ("get", "/api/organisations?limit=-1", None),
    ("get", "/api/organisations?offset=x", None),
    ("get", "/api/organisations?category=nope", None),
    ("get", "/api/organisations/abc", None),
    ("get", "/api/organisations/99999999", None),
    ("get", "/api/organisations/99999999999999999999999", None),
    ("get", "/api/regions/?level=galaxy", None),
    ("get", "/api/regions/999999", None),
    ("get", "/api/regions/blocs/NOPE", None),
    ("get", "/api/regions/%00", None),
    ("get", "/api/organisations?q=%00", None),
    ("post", "/api/sign-up", '{"username": "a\\u0000b"}'),
    ("post", "/api/sign-up", "{not json"),
    ("post", "/api/sign-up", "[]"),
    ("post", "/api/sign-up", "null"),
    ("post", "/api/sign-up", '{"username": 5}'),
    (
        "post",
        "/api/sign-up",
        json.dumps(
            {
                "username": "x",
                "email": "x",
                "password": "y",
                "organisation": {
                    "name_zh": "",
                    "credit_code": "",
                    "party_nature": "9999",
                    "province": "000000",
                },
            }
        ),
    ),
    (
        "post",
        "/api/sign-up",
        json.dumps(
            {
                "username": "x" * 500,
                "email": "x@y.z",
                "password": "p",
                "organisation": {
                    "name_zh": "甲",
                    "credit_code": "1" * 18,
                    "party_nature": "150",
                    "province": "320000",
                    "city": "999999",
                },
            }
        ),
    ),
    ("put", "/api/organisations/1", "{}"),
    ("get", "/api/no-such-endpoint", None),
]


@pytest.mark.parametrize(("method", "url", "body"), MALFORMED)
def test_malformed_input_gets_a_4xx_with_code_never_a_500(client, method, url, body):
    make_organisation()
    kwargs = {"content_type": "application/json"} if body is not None else {}
    response = (
        getattr(client, method)(url, body, **kwargs)
        if body is not None
        else getattr(client, method)(url)
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    data = response.json()
    assert {"code", "message", "details"} <= set(data), data
