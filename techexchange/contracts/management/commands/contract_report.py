"""`manage.py contract_report --table T [--year Y | --from-year A --to-year B] …`."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from techexchange.accounts.policies import Actor
from techexchange.analytics import to_csv, to_json, to_text, to_xlsx
from techexchange.contracts.reports import TABLES, ReportQuery, build_report
from techexchange.core import clock
from techexchange.core.errors import DomainError


class _System:
    """The command line acts with the operator's view (it runs on the server)."""

    pk = 0
    is_authenticated = True
    _te_actor = Actor(user_id=0, platform_roles=frozenset({"operator"}))


class Command(BaseCommand):
    """Print a statistics table of registered contracts."""

    help = "Statistics of registered technology contracts (flows, output, inter-bloc, …)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Table, years, bloc, level, basis, filters and output format."""
        parser.add_argument("--table", required=True, choices=TABLES)
        parser.add_argument("--year", type=int)
        parser.add_argument("--from-year", type=int)
        parser.add_argument("--to-year", type=int)
        parser.add_argument("--bloc", default="YRD", help="bloc code; ALL for no bloc")
        parser.add_argument("--level", default="province", choices=["province", "city"])
        parser.add_argument("--basis", default="registration", choices=["registration", "signing"])
        parser.add_argument("--type", default="", help="contract type filter (five-class value)")
        parser.add_argument("--field", default="", help="technology field filter")
        parser.add_argument("--classes", type=int, default=5, choices=[4, 5])
        parser.add_argument("--party", default="seller", choices=["seller", "buyer"])
        parser.add_argument("--format", default="table", choices=["table", "json", "csv", "xlsx"])
        parser.add_argument("--output", type=Path, help="file for xlsx (default report.xlsx)")

    def handle(self, *args: Any, **o: Any) -> None:
        """Build the table and write it in the chosen format."""
        if o["year"] and (o["from_year"] or o["to_year"]):
            raise CommandError("give --year or --from-year/--to-year, not both")
        year = o["year"] or clock.today().year - 1
        from_year = o["from_year"] or (o["to_year"] if o["to_year"] else year)
        to_year = o["to_year"] or from_year
        query = ReportQuery(
            table=o["table"],
            from_year=from_year,
            to_year=to_year,
            bloc="" if o["bloc"].upper() == "ALL" else o["bloc"],
            level=o["level"],
            basis=o["basis"],
            contract_type=o["type"],
            tech_field=o["field"],
            classes=o["classes"],
            party=o["party"],
        )
        try:
            table = build_report(_System(), query)
        except DomainError as exc:
            details = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
            raise CommandError(f"{exc.message}: {details}") from exc
        fmt = o["format"]
        if fmt == "json":
            self.stdout.write(json.dumps(to_json(table), ensure_ascii=False, indent=2))
        elif fmt == "csv":
            self.stdout.write(to_csv([table]), ending="")
        elif fmt == "xlsx":
            out = o["output"] or Path("report.xlsx")
            out.write_bytes(to_xlsx([table]))
            self.stdout.write(f"written {out}")
        else:
            self.stdout.write(to_text(table), ending="")
