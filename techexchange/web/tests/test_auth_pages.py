"""Sign-in, sign-out, password reset by e-mail and API tokens on the profile page."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from techexchange.accounts.models import ApiToken
from techexchange.accounts.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_login_with_the_right_password_and_logout(client):
    user = make_user("grace")
    response = client.post("/login/", {"username": "grace", "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    client.post("/logout/")
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused_on_the_form(client):
    make_user("heidi")
    response = client.post("/login/", {"username": "heidi", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link(client):
    make_user("ivan")
    client.post("/password-reset/", {"email": "ivan@example.invalid"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    page = client.get(link.group(1), follow=True)
    assert page.context["validlink"]
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link.group(1)
    done = client.post(
        form_url, {"new_password1": "Brand-new-pass-42", "new_password2": "Brand-new-pass-42"}
    )
    assert done.status_code == 302
    assert client.login(username="ivan", password="Brand-new-pass-42")


def test_profile_creates_a_token_shown_once_and_revokes_it(client):
    user = make_user()
    client.force_login(user)
    html = client.post("/profile/", {"name": "脚本"}).content.decode()
    raw = re.search(r'data-testid="new-token">([^<]+)<', html).group(1)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    token = ApiToken.objects.get(user=user)
    assert raw not in client.get("/profile/").content.decode()
    client.post(f"/profile/tokens/{token.pk}/revoke/")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_profile_requires_sign_in(client):
    response = client.get("/profile/")
    assert response.status_code == 302 and response.url.startswith("/login/")
