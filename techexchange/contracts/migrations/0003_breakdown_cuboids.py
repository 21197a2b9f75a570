"""Fill the three one-breakdown cuboids (3 ip, 4 plan, 5 parties) of an existing rollup.

They are sums of the breakdowns cuboid (2), which keeps every dimension they keep, so one
`INSERT … SELECT … GROUP BY` each fills them exactly, on SQLite and PostgreSQL alike; no
contract row is read. (A rollup built after this migration gets them from the services.)
"""

from django.db import migrations

# The dimensions each new cuboid keeps; the others hold "" (frozen here, like any migration).
NEW_CUBOIDS = {
    3: ("seller_province", "buyer_province", "contract_class", "tech_field", "ip_group"),
    4: ("seller_province", "buyer_province", "contract_class", "tech_field", "plan_source"),
    5: (
        "seller_province",
        "buyer_province",
        "contract_class",
        "tech_field",
        "seller_category",
        "buyer_category",
    ),
}
DIMS = (
    "seller_province",
    "seller_city",
    "buyer_province",
    "buyer_city",
    "contract_class",
    "tech_field",
    "seller_category",
    "buyer_category",
    "ip_group",
    "plan_source",
)


def derive(apps, schema_editor):  # type: ignore[no-untyped-def]
    table = schema_editor.quote_name("contracts_contractstat")
    names = ", ".join(["cuboid", "basis", "year", *DIMS])
    with schema_editor.connection.cursor() as cursor:
        for cuboid, kept in NEW_CUBOIDS.items():
            picked = ", ".join(d if d in kept else "''" for d in DIMS)
            group = ", ".join(["basis", "year", *kept])
            cursor.execute(f"DELETE FROM {table} WHERE cuboid = %s", [cuboid])  # noqa: S608
            cursor.execute(
                f"INSERT INTO {table} ({names}, contracts, turnover_fen, technical_fen)"  # noqa: S608
                f" SELECT {cuboid}, basis, year, {picked}, SUM(contracts), SUM(turnover_fen),"
                f" SUM(technical_fen) FROM {table} WHERE cuboid = 2 GROUP BY {group}"
            )


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    table = schema_editor.quote_name("contracts_contractstat")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE cuboid IN (3, 4, 5)")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("contracts", "0002_import_friendly_indexes_and_checks")]

    operations = [migrations.RunPython(derive, remove)]
