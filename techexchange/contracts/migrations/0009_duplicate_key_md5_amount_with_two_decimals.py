"""The duplicate key takes the amount with two decimals, and is an MD5 digest
(`policies.dedupe_key`).

Before, it took the amount as written: a contract submitted with 1000000 and the same contract
imported with 1000000.00 had different keys, so the second registration was not refused, and a
contract's own key changed when it was amended (a stored amount reads back with two decimals).
It was the first 40 characters of a SHA-256 digest: MD5 (32 characters) costs the bulk import,
which computes it in DuckDB, a third of the CPU, and the key only finds the same contract.
Every stored key is recomputed here with the rule frozen as it is now: the new keys go into a
temporary table, batch after batch, and one UPDATE … FROM writes them (a per-row update took
over ten minutes for a million contracts on SQLite).

A recomputed key that an earlier active contract also gets (a duplicate the old key let
through) is not written: the later contract keeps its old key, and the migration prints its id.
"""

import hashlib
import re
from decimal import Decimal
from typing import Any

from django.db import migrations

BATCH = 10_000
ACTIVE = ("submitted", "registered", "amended")
FIELDS = (
    "seller_credit_code",
    "seller_name",
    "buyer_credit_code",
    "buyer_name",
    "project_name",
    "signing_date",
    "turnover",
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def key_of(
    seller_code: str,
    seller_name: str,
    buyer_code: str,
    buyer_name: str,
    project: str,
    signed: Any,
    turnover: Decimal,
) -> str:
    """policies.dedupe_key as of this migration."""
    seller = _norm(seller_code) or _norm(seller_name)
    buyer = _norm(buyer_code) or _norm(buyer_name)
    amount = str(Decimal(turnover).quantize(Decimal("0.01")))
    raw = "|".join([seller, buyer, _norm(project), signed.isoformat(), amount])
    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


def recompute(apps: Any, schema_editor: Any) -> None:
    contract_model = apps.get_model("contracts", "TechContract")
    connection = schema_editor.connection
    contracts = contract_model.objects.using(connection.alias)
    table = schema_editor.quote_name(contract_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE contract_new_keys"
            " (id bigint PRIMARY KEY, dedupe_key varchar(64) NOT NULL, active boolean NOT NULL)"
        )
        last = 0
        while rows := list(
            contracts.filter(pk__gt=last).order_by("pk").values_list("pk", "status", *FIELDS)[:BATCH]
        ):
            last = rows[-1][0]
            cursor.executemany(
                "INSERT INTO contract_new_keys (id, dedupe_key, active) VALUES (%s, %s, %s)",
                [(pk, key_of(*fields), status in ACTIVE) for pk, status, *fields in rows],
            )
        # Old keys (40 characters) and new ones (32) never meet: only two new keys can clash.
        # The later active contracts of a clash keep their old key.
        later_twins = (
            "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY dedupe_key ORDER BY id)"
            " AS nth FROM contract_new_keys WHERE active) ranked WHERE nth > 1"
        )
        cursor.execute(f"{later_twins} ORDER BY id")
        kept = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DELETE FROM contract_new_keys WHERE id IN ({later_twins})")
        cursor.execute(
            f"UPDATE {table} SET dedupe_key = n.dedupe_key FROM contract_new_keys n"  # noqa: S608
            f" WHERE n.id = {table}.id AND {table}.dedupe_key <> n.dedupe_key"
        )
        cursor.execute("DROP TABLE contract_new_keys")
    if kept:
        print(  # noqa: T201 (the operator running the migration reads this)
            f"\n  {len(kept)} active contracts duplicate an earlier one and keep their old key: "
            + ", ".join(map(str, kept[:50]))
            + (" …" if len(kept) > 50 else "")
        )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0008_contract_links_beside_the_row")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop, elidable=True)]
