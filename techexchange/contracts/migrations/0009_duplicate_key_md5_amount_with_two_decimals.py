"""The duplicate key takes the amount with two decimals, and is an MD5 digest
(`policies.dedupe_key`).

Before, it took the amount as written: a contract submitted with 1000000 and the same contract
imported with 1000000.00 had different keys, so the second registration was not refused, and a
contract's own key changed when it was amended (a stored amount reads back with two decimals).
It was the first 40 characters of a SHA-256 digest: MD5 (32 characters) costs the bulk import,
which computes it in DuckDB, a third of the CPU, and the key only finds the same contract.
Every stored key is recomputed here, in batches, with the rule frozen as it is now.

A recomputed key that an active contract already holds (a duplicate the old key let through)
is not written: that contract keeps its old key, and the migration prints its id.
"""

import hashlib
import re
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, migrations, transaction

BATCH = 2_000
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
    contracts = contract_model.objects.using(schema_editor.connection.alias)
    kept: list[int] = []
    last = 0
    while rows := list(
        contracts.filter(pk__gt=last)
        .order_by("pk")
        .values_list("pk", "dedupe_key", "status", *FIELDS)[:BATCH]
    ):
        last = rows[-1][0]
        changed = [
            contract_model(pk=pk, dedupe_key=new)
            for pk, old, _status, *fields in rows
            if (new := key_of(*fields)) != old
        ]
        if not changed:
            continue
        try:
            with transaction.atomic(using=contracts.db):
                contracts.bulk_update(changed, ["dedupe_key"])
        except IntegrityError:  # one at a time: the clashing ones keep their old key
            for contract in changed:
                try:
                    with transaction.atomic(using=contracts.db):
                        contracts.filter(pk=contract.pk).update(dedupe_key=contract.dedupe_key)
                except IntegrityError:
                    kept.append(contract.pk)
    if kept:
        print(  # noqa: T201 (the operator running the migration reads this)
            f"\n  {len(kept)} active contracts duplicate another and keep their old key: "
            + ", ".join(map(str, kept[:50]))
            + (" …" if len(kept) > 50 else "")
        )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0008_contract_links_beside_the_row")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop, elidable=True)]
