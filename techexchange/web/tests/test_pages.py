"""Server-rendered pages: Chinese by default, English on request, directory and detail."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from techexchange.accounts.models import Organisation, TransferCentre, User
from techexchange.accounts.tests.factories import make_organisation

pytestmark = pytest.mark.django_db


def test_home_is_chinese_and_shows_live_counts(client):
    make_organisation(province="340000", city="340100")
    html = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in html and "入驻机构" in html
    assert 'data-testid="org-total">1<' in html


def test_english_switch_persists_in_a_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html and "Organisations" in html


def test_directory_filters_by_province_and_category(client):
    make_organisation(province="340000", city="340100", nature="022", name_zh="合肥某大学")
    make_organisation(province="320000", city="320500", name_zh="苏州某公司")
    html = client.get("/organisations/?province=340000&category=university").content.decode()
    assert "合肥某大学" in html and "苏州某公司" not in html


def test_detail_hides_contacts_until_signed_in(client):
    org = make_organisation(address="示例路8号")
    assert "示例路8号" not in client.get(f"/organisations/{org.pk}/").content.decode()


def test_unknown_organisation_is_a_404(client):
    assert client.get("/organisations/424242/").status_code == 404


def test_nav_shows_only_pages_that_exist(client):
    html = client.get("/").content.decode()
    assert "/organisations/" in html
    assert 'data-area="contracts"' not in html or "/contracts/" in html


def test_seed_demo_is_idempotent_and_complete():
    call_command("seed_demo", scale=0.1, seed=3)
    counts = (Organisation.objects.count(), TransferCentre.objects.count(), User.objects.count())
    call_command("seed_demo", scale=0.1, seed=3)
    assert (
        Organisation.objects.count(),
        TransferCentre.objects.count(),
        User.objects.count(),
    ) == counts
    assert TransferCentre.objects.filter(parent__code="ETTC").count() == 19
    assert (
        Organisation.objects.filter(is_synthetic=True).exclude(credit_code=None).count()
        == counts[0]
    )


def test_seed_demo_is_deterministic_for_a_seed():
    from techexchange.accounts.demo import organisation_specs
    from techexchange.core.demo import DemoContext

    def fingerprint(seed):
        return [
            (o.credit_code, o.name_zh, o.city_id)
            for o in organisation_specs(DemoContext(seed=seed, scale=0.05))
        ]

    assert fingerprint(9) == fingerprint(9)
    assert fingerprint(9) != fingerprint(10)
