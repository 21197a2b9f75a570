"""Listing pages for the owner: renew, confirm, open/close for EoIs, attachments, NDA, access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member
from techexchange.core import clock
from techexchange.core.audit import entries_for
from techexchange.market import services
from techexchange.market.codes import ListingKind, Tier
from techexchange.market.models import Attachment, NdaAcceptance, NdaVersion
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    offer_input,
    published,
    zj_university,
)

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(days=200)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: LATER)


@pytest.fixture
def offer():
    return published(ListingKind.OFFER, zj_university(), offer_input())


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_owner_renews_confirms_and_closes_the_listing_for_eois(client, offer):
    client.force_login(make_member(offer.owner))
    page = client.get(reverse("market:listing", args=[offer.pk])).content.decode()
    assert 'data-testid="owner-actions"' in page and 'data-testid="close-eoi"' in page
    url = reverse("market:owner_action", args=[offer.pk])
    before = offer.valid_until
    assert client.post(url, {"op": "renew"}).status_code == 302
    offer.refresh_from_db()
    assert offer.valid_until == LATER + timedelta(days=365) and offer.valid_until > before
    client.post(url, {"op": "confirm"})
    offer.refresh_from_db()
    assert offer.last_confirmed_at == LATER
    client.post(url, {"op": "close"})
    offer.refresh_from_db()
    assert offer.open_for_eoi is False
    page = client.get(reverse("market:listing", args=[offer.pk])).content.decode()
    assert 'data-testid="open-eoi"' in page
    actions = set(entries_for(offer).values_list("action", flat=True))
    assert {"market.offer.renew", "market.offer.confirm", "market.offer.open_for_eoi"} <= actions


def test_outsiders_see_no_owner_buttons_and_their_posts_change_nothing(client, offer):
    client.force_login(make_member(ah_enterprise()))
    page = client.get(reverse("market:listing", args=[offer.pk])).content.decode()
    assert "owner-actions" not in page and "add-attachment" not in page
    r = client.post(reverse("market:owner_action", args=[offer.pk]), {"op": "close"}, follow=True)
    assert "没有执行此操作的权限" in " ".join(_messages(r))
    offer.refresh_from_db()
    assert offer.open_for_eoi is True
    assert not entries_for(offer).filter(action="market.offer.open_for_eoi").exists()


def test_an_unknown_owner_action_is_refused_with_a_message(client, offer):
    client.force_login(make_member(offer.owner))
    r = client.post(reverse("market:owner_action", args=[offer.pk]), {"op": "zap"}, follow=True)
    assert r.status_code == 200 and "操作无效" in _messages(r)


def test_the_owner_uploads_an_attachment_with_its_own_tier(client, offer):
    client.force_login(make_member(offer.owner))
    url = reverse("market:new_attachment", args=[offer.pk])
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("test.txt", "检测报告：电导率12 mS/cm".encode(), "text/plain")
    r = client.post(url, {"name": "第三方检测报告", "tier": str(Tier.FULL), "file": upload})
    assert r.status_code == 302
    att = Attachment.objects.get(listing=offer)
    assert att.tier == Tier.FULL and "12 mS/cm" in att.content
    assert entries_for(att).filter(action="market.attachment.add").exists()
    # A logged-in outsider without the NDA sees the name but not the link.
    client.force_login(make_member(ah_enterprise()))
    page = client.get(reverse("market:listing", args=[offer.pk])).content.decode()
    assert "第三方检测报告（无权查看）" in page


def test_bad_attachments_name_their_field_and_write_nothing(client, offer):
    client.force_login(make_member(offer.owner))
    url = reverse("market:new_attachment", args=[offer.pk])
    r = client.post(url, {"name": "", "tier": "9", "content": ""})
    assert r.status_code == 400 and {"name", "tier"} <= set(r.context["form"].errors)
    binary = SimpleUploadedFile("x.bin", b"\xff\xfe\x00\x81", "application/octet-stream")
    r = client.post(url, {"name": "图纸", "tier": "2", "file": binary})
    assert r.status_code == 400 and "file" in r.context["form"].errors
    r = client.post(url, {"name": "图纸", "tier": "2", "content": "   "})
    assert r.status_code == 400 and r.context["form"].errors["content"] == ["附件内容为空"]
    assert 'data-field="content"' in r.content.decode()
    assert not Attachment.objects.exists()


def test_an_outsider_cannot_attach_documents(client, offer):
    client.force_login(make_member(ah_enterprise()))
    r = client.post(
        reverse("market:new_attachment", args=[offer.pk]),
        {"name": "假附件", "tier": "1", "content": "x"},
    )
    assert r.status_code == 403 and not Attachment.objects.exists()


def test_the_owner_publishes_a_new_nda_version_and_new_signers_sign_it(client, offer):
    admin = make_member(offer.owner, OrgRole.ADMIN)
    client.force_login(admin)
    url = reverse("market:access", args=[offer.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["nda"].version == 1
    r = client.post(url, {"op": "nda", "text": ""})
    assert r.status_code == 400 and "text" in r.context["nda_form"].errors
    r = client.post(url, {"op": "nda", "text": "保密期限五年，违约金十万元。"})
    assert r.status_code == 302
    nda = NdaVersion.objects.get(listing=offer, version=2)
    assert nda.text == "保密期限五年，违约金十万元。"
    assert entries_for(nda).filter(action="market.nda.publish").exists()
    client.force_login(make_member(ah_enterprise()))
    page = client.get(reverse("market:listing", args=[offer.pk])).content.decode()
    assert "保密期限五年" in page and 'value="2"' in page


def test_the_access_page_and_nda_publishing_are_for_the_owners_administrators(client, offer):
    client.force_login(make_member(offer.owner))  # a plain member
    url = reverse("market:access", args=[offer.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"op": "nda", "text": "新协议"}).status_code == 403
    assert NdaVersion.objects.filter(listing=offer).count() == 1


def test_the_owner_sees_the_access_log_and_revokes_a_grant_with_a_reason(client, offer):
    firm = ah_enterprise()
    reader = make_member(firm)
    services.accept_nda(actor=reader, listing=offer, organisation=firm, version=1, now=NOW)
    client.force_login(reader)
    client.get(reverse("market:listing", args=[offer.pk]))  # full details: logged
    acc = NdaAcceptance.objects.get()

    client.force_login(make_member(offer.owner, OrgRole.ADMIN))
    url = reverse("market:access", args=[offer.pk])
    page = client.get(url)
    assert [e.user for e in page.context["log"]] == [reader]
    r = client.post(url, {"grant": "abc"}, follow=True)
    assert "授权无效" in " ".join(_messages(r))
    client.post(url, {"grant": str(acc.pk), "reason": "合作终止"})
    acc.refresh_from_db()
    assert acc.revoked_at == LATER
    entry = entries_for(acc).get(action="market.nda.revoke")
    assert entry.reason == "合作终止"
