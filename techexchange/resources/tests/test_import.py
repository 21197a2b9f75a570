"""Instrument import: the national layout from CSV or xlsx, all or nothing, errors by row."""

from __future__ import annotations

import io

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.core.errors import PermissionDenied, ValidationFailed
from techexchange.resources.importing import import_instruments
from techexchange.resources.models import Instrument
from techexchange.resources.tests.factories import make_customer, make_holder

pytestmark = pytest.mark.django_db

HEADER = (
    "资产编号,仪器名称,分类编码,原值（万元）,省份代码,城市代码,运行状态,"
    "服务名称,服务方式,计价单位,校内价,校外价,企业价"
)
GOOD = [
    "S-001,场发射扫描电镜,010100,680.5,310000,310100,正常,机时,占用共享,机时,200,400,600",
    "S-002,X射线衍射仪,010300,220,310000,310100,待机,,,,,,",
]


@pytest.fixture
def holder_admin():
    from techexchange.accounts.tests.factories import make_member

    holder = make_holder()
    return holder, make_member(holder, OrgRole.ADMIN)


def _csv(*rows, encoding="utf-8-sig"):
    return "\n".join([HEADER, *rows]).encode(encoding)


def test_a_good_csv_creates_instruments_with_services_and_a_rerun_changes_nothing(holder_admin):
    holder, admin = holder_admin
    result = import_instruments(actor=admin, holder=holder, data=_csv(*GOOD), filename="a.csv")
    assert (result.created, result.updated) == (2, 0)
    sem = Instrument.objects.get(asset_id="S-001")
    assert sem.state == "normal" and sem.services.get().price_enterprise == 600
    again = import_instruments(actor=admin, holder=holder, data=_csv(*GOOD), filename="a.csv")
    assert (again.created, again.updated) == (0, 2) and Instrument.objects.count() == 2


def test_gb18030_csv_is_read(holder_admin):
    holder, admin = holder_admin
    result = import_instruments(
        actor=admin, holder=holder, data=_csv(*GOOD, encoding="gb18030"), filename="b.csv"
    )
    assert result.created == 2


def test_one_bad_row_writes_nothing_and_every_problem_names_row_and_column(holder_admin):
    holder, admin = holder_admin
    bad = [
        GOOD[0],
        "S-003,,019800,abc,310000,320500,坏了,,,,,,",
        "S-001,重复,010100,1,310000,310100,正常,,,,,,",
    ]
    with pytest.raises(ValidationFailed) as info:
        import_instruments(actor=admin, holder=holder, data=_csv(*bad), filename="c.csv")
    where = {(p.details["row"], p.field, p.code) for p in info.value.problems}
    assert {
        (2, "仪器名称", "required"),
        (2, "原值（万元）", "not_a_number"),
        (2, "分类编码", "unknown_category"),
        (2, "城市代码", "unknown_region"),
        (2, "运行状态", "invalid_choice"),
        (3, "资产编号", "duplicate_row"),
    } <= where
    assert not Instrument.objects.exists()


def test_xlsx_in_the_national_layout_is_imported(holder_admin):
    from openpyxl import Workbook

    holder, admin = holder_admin
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    for row in GOOD:
        ws.append(row.split(","))
    out = io.BytesIO()
    wb.save(out)
    result = import_instruments(actor=admin, holder=holder, data=out.getvalue(), filename="d.xlsx")
    assert result.created == 2


def test_a_missing_column_or_a_broken_file_is_a_clear_error(holder_admin):
    holder, admin = holder_admin
    with pytest.raises(ValidationFailed) as info:
        import_instruments(
            actor=admin, holder=holder, data="资产编号\nX".encode(), filename="e.csv"
        )
    assert info.value.codes[0] == "missing_column"
    with pytest.raises(ValidationFailed) as info:
        import_instruments(actor=admin, holder=holder, data=b"not a zip", filename="f.xlsx")
    assert info.value.codes == ["unreadable"]


def test_only_the_holders_admin_may_import(holder_admin):
    holder, _admin = holder_admin
    with pytest.raises(PermissionDenied):
        import_instruments(actor=make_customer(), holder=holder, data=_csv(*GOOD), filename="a.csv")
