"""The notifications page: per-event preferences and saved searches."""

from __future__ import annotations

import pytest
from django.urls import reverse

from techexchange.accounts.tests.factories import make_user
from techexchange.core.audit import entries_for
from techexchange.market.codes import NotificationEvent
from techexchange.market.models import NotificationPreference, SavedSearch

pytestmark = pytest.mark.django_db


def _prefs(**override: str) -> dict[str, str]:
    data = {"op": "prefs"}
    for event in NotificationEvent.values:
        data[f"in_app_{event}"] = "1"
        data[f"email_{event}"] = "digest"
    data.update(override)
    return data


def test_a_user_chooses_how_each_event_reaches_them(client):
    user = make_user()
    client.force_login(user)
    page = client.get(reverse("market:notifications"))
    assert page.status_code == 200 and 'name="email_eoi_received"' in page.content.decode()
    data = _prefs(email_eoi_received="instant")
    del data["in_app_match_alert"]  # an unticked box is not sent
    data["email_match_alert"] = "off"
    assert client.post(reverse("market:notifications"), data).status_code == 302
    prefs = {p.event: p for p in NotificationPreference.objects.filter(user=user)}
    assert set(prefs) == set(NotificationEvent.values)
    assert prefs["eoi_received"].email == "instant" and prefs["eoi_received"].in_app
    assert (prefs["match_alert"].in_app, prefs["match_alert"].email) == (False, "off")
    assert (
        entries_for(prefs["eoi_received"]).filter(action="market.notification_preference").exists()
    )
    page = client.get(reverse("market:notifications")).content.decode()
    assert '<option value="instant" selected>' in page


def test_a_bad_email_choice_is_shown_beside_its_event_and_nothing_is_saved(client):
    client.force_login(make_user())
    r = client.post(reverse("market:notifications"), _prefs(email_deal_updated="weekly"))
    assert r.status_code == 400
    body = r.content.decode()
    assert 'data-field="email_deal_updated"' in body and "邮件方式无效" in body
    assert not NotificationPreference.objects.exists()


def test_a_user_saves_a_search_and_sees_it_listed(client):
    user = make_user()
    client.force_login(user)
    r = client.post(
        reverse("market:notifications"),
        {"op": "search", "kind": "offer", "query": "固态电解质", "tech_field": "new_energy",
         "province": "330000"},
    )  # fmt: skip
    assert r.status_code == 302
    saved = SavedSearch.objects.get(user=user)
    assert (saved.kind, saved.query, saved.province_id) == ("offer", "固态电解质", "330000")
    assert entries_for(saved).filter(action="market.saved_search.create").exists()
    page = client.get(reverse("market:notifications")).content.decode()
    assert "固态电解质" in page and "新能源与高效节能" in page


def test_a_search_without_words_or_with_an_unknown_kind_names_the_field(client):
    client.force_login(make_user())
    r = client.post(
        reverse("market:notifications"), {"op": "search", "kind": "patent", "query": " "}
    )
    assert r.status_code == 400
    assert {"kind", "query"} <= set(r.context["search_form"].errors)
    assert 'data-field="query"' in r.content.decode()
    assert not SavedSearch.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in_and_nothing_is_written(client):
    r = client.post(
        reverse("market:notifications"), {"op": "search", "kind": "offer", "query": "电池"}
    )
    assert r.status_code == 302 and "login" in r["Location"]
    assert client.post(reverse("market:notifications"), _prefs()).status_code == 302
    assert not SavedSearch.objects.exists() and not NotificationPreference.objects.exists()
