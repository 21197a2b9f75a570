"""The web upload of the instrument import: the command's report, nothing written on error."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member
from techexchange.core.models import AuditEntry
from techexchange.resources.models import Instrument
from techexchange.resources.tests.factories import make_customer, make_holder
from techexchange.resources.tests.test_import import GOOD, HEADER

pytestmark = pytest.mark.django_db

URL = "/resources/import/"


def _file(*rows, name="instruments.csv"):
    return SimpleUploadedFile(name, "\n".join([HEADER, *rows]).encode("utf-8-sig"))


@pytest.fixture
def admin_client(client):
    holder = make_holder()
    admin = make_member(holder, OrgRole.ADMIN)
    client.force_login(admin)
    return client, holder


def test_the_holders_admin_uploads_a_csv_and_the_instruments_are_created(admin_client):
    client, holder = admin_client
    page = client.get(URL)
    assert page.status_code == 200 and holder.name_zh in page.content.decode()
    done = client.post(URL, {"holder": holder.pk, "file": _file(*GOOD)}, follow=True)
    assert done.status_code == 200
    assert "新增2台" in done.content.decode()
    assert set(Instrument.objects.values_list("asset_id", flat=True)) == {"S-001", "S-002"}
    assert Instrument.objects.filter(holder=holder).count() == 2


def test_a_bad_row_shows_every_problem_by_row_and_column_and_writes_nothing(admin_client):
    client, holder = admin_client
    bad = [GOOD[0], "S-003,,019800,abc,310000,320500,坏了,,,,,,"]
    audits_before = AuditEntry.objects.count()
    response = client.post(URL, {"holder": holder.pk, "file": _file(*bad)})
    assert response.status_code == 422
    body = response.content.decode()
    for text in (
        "第2行「仪器名称」：必填",
        "第2行「原值（万元）」",
        "unknown_category",
        "未写入任何数据",
    ):
        assert text in body
    problems = response.context["problems"]
    assert {(p.details["row"], p.details["column"]) for p in problems} >= {
        (2, "仪器名称"),
        (2, "运行状态"),
    }
    assert not Instrument.objects.exists()
    assert AuditEntry.objects.count() == audits_before


def test_a_missing_file_or_an_unsupported_type_is_reported_not_a_500(admin_client):
    client, holder = admin_client
    no_file = client.post(URL, {"holder": holder.pk})
    assert no_file.status_code == 422 and "file_required" in no_file.content.decode()
    pdf = SimpleUploadedFile("a.pdf", b"%PDF")
    wrong = client.post(URL, {"holder": holder.pk, "file": pdf})
    assert wrong.status_code == 422 and "unsupported_file" in wrong.content.decode()
    broken = client.post(URL, {"holder": holder.pk, "file": SimpleUploadedFile("b.xlsx", b"x")})
    assert broken.status_code == 422 and "unreadable" in broken.content.decode()
    assert not Instrument.objects.exists()


def test_outsiders_may_not_import_for_a_holder(client):
    holder = make_holder()
    client.force_login(make_customer())
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"holder": holder.pk, "file": _file(*GOOD)})
    assert response.status_code == 403
    assert not Instrument.objects.exists()


def test_an_operator_imports_for_any_holder(client):
    from techexchange.accounts.tests.factories import grant, make_user

    holder = make_holder()
    operator = make_user()
    grant(operator, "operator")
    client.force_login(operator)
    assert client.get(URL).status_code == 200
    client.post(URL, {"holder": holder.pk, "file": _file(*GOOD)})
    assert Instrument.objects.filter(holder=holder).count() == 2


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]
