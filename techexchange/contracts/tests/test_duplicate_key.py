"""The duplicate key takes the amount with two decimals, however it was written, as an MD5
digest (migration 0009 recomputes the stored keys)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from techexchange.contracts.importer import import_contracts
from techexchange.contracts.models import TechContract
from techexchange.contracts.policies import ContractData, _norm, dedupe_key
from techexchange.contracts.tests.factories import contract_data
from techexchange.contracts.tests.rows import row_of, write_csv

pytestmark = pytest.mark.django_db


def _key_as_written(d: ContractData) -> str:
    """The key before migration 0009: the amount as written, SHA-256 cut to 40 characters."""
    seller = _norm(d.seller.credit_code) or _norm(d.seller.name)
    buyer = _norm(d.buyer.credit_code) or _norm(d.buyer.name)
    raw = "|".join(
        [seller, buyer, _norm(d.project_name), d.signing_date.isoformat(), str(d.turnover)]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def test_one_amount_written_three_ways_is_one_key():
    d = contract_data(turnover=Decimal("1000000"), technical_amount=Decimal("800000"))
    keys = {
        dedupe_key(replace(d, turnover=t))
        for t in (Decimal("1000000"), Decimal("1000000.0"), Decimal("1000000.00"))
    }
    assert len(keys) == 1
    assert dedupe_key(d) != dedupe_key(replace(d, turnover=Decimal("1000000.01")))


def test_a_contract_imported_again_with_its_amount_written_otherwise_is_already_there(tmp_path):
    d = contract_data(turnover=Decimal("1000000"), technical_amount=Decimal("800000"))
    first = import_contracts(write_csv(tmp_path / "a.csv", [row_of(d)]))
    assert first.ok and first.written == 1
    again = row_of(d)
    again[14] = "1,000,000.00"  # 成交额
    second = import_contracts(write_csv(tmp_path / "b.csv", [again]))
    assert second.ok and second.written == 0 and second.already_imported == 1
    stored = TechContract.objects.get()
    assert stored.dedupe_key == dedupe_key(d)


def test_the_stored_key_is_what_the_row_reads_back_as():
    """Amending recomputes the key from the stored row, whose amount has two decimals."""
    d = contract_data(turnover=Decimal("250000"), technical_amount=Decimal("200000"))
    read_back = replace(d, turnover=Decimal("250000.00"), technical_amount=Decimal("200000.00"))
    assert dedupe_key(d) == dedupe_key(read_back)


@pytest.mark.django_db(transaction=True)
def test_the_migration_recomputes_keys_and_keeps_a_clashing_one(tmp_path):
    kept = contract_data(
        project_name="键保留", turnover=Decimal("300000"), technical_amount=Decimal("1000")
    )
    moved = contract_data(
        project_name="键重算", turnover=Decimal("400000"), technical_amount=Decimal("1000")
    )
    twin = contract_data(
        project_name="重复合同", turnover=Decimal("500000"), technical_amount=Decimal("1000")
    )
    rows = [row_of(kept), row_of(moved), row_of(twin), row_of(replace(twin, project_name="x"))]
    assert import_contracts(write_csv(tmp_path / "c.csv", rows)).written == 4
    by_name = {c.project_name: c.pk for c in TechContract.objects.all()}
    # As the old rule stored them: the amounts were written without decimals. The fourth
    # contract is the same as the third; its old key let it through.
    TechContract.objects.filter(pk=by_name["键重算"]).update(dedupe_key=_key_as_written(moved))
    TechContract.objects.filter(pk=by_name["x"]).update(
        project_name=twin.project_name, dedupe_key=_key_as_written(twin)
    )
    old = [("contracts", "0008_contract_links_beside_the_row")]
    new = [("contracts", "0009_duplicate_key_md5_amount_with_two_decimals")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(old)
        executor = MigrationExecutor(connection)
        executor.migrate(new)
        keys = dict(TechContract.objects.values_list("pk", "dedupe_key"))
    finally:  # the schema as the later tests expect it (the latest migrations)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert keys[by_name["键保留"]] == dedupe_key(kept)
    assert keys[by_name["键重算"]] == dedupe_key(moved)
    assert keys[by_name["重复合同"]] == dedupe_key(twin)
    assert keys[by_name["x"]] == _key_as_written(twin)  # the clash keeps its old key
