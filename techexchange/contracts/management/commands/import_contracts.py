"""`manage.py import_contracts FILE [--valid-rows] [--dry-run]`: bulk import of registrations."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from techexchange.contracts.importer import import_contracts


class Command(BaseCommand):
    """Import registered contracts from CSV or .xlsx (layout: docs/contracts-import.md)."""

    help = "Import registered technology contracts (all-or-nothing unless --valid-rows)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """FILE, --valid-rows, --dry-run."""
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--valid-rows", action="store_true", help="register the good rows, reject the rest"
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the import, print the report, exit non-zero when rows were rejected."""
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        result = import_contracts(
            path,
            valid_rows=options["valid_rows"],
            dry_run=options["dry_run"],
            progress=sys.stderr,
        )
        for p in result.problems[:200]:
            self.stdout.write(f"row {p.row} [{p.column}] {p.code}: {p.message}")
        if len(result.problems) > 200:
            self.stdout.write(f"… {len(result.problems) - 200} more in {result.report_path}")
        for code, n in sorted(result.warnings.items()):
            self.stdout.write(f"warning {code}: {n} rows (checked by the registrar on documents)")
        verb = "would write" if result.dry_run else "written"
        self.stdout.write(
            f"rows: {result.rows}; {verb}: {result.written}; "
            f"already imported: {result.already_imported}; rejected rows: {result.rejected_rows}"
        )
        if result.report_path:
            self.stdout.write(f"report: {result.report_path}")
        if result.problems and not result.committed:
            raise CommandError(
                "nothing written: fix the rows above or use --valid-rows"
                if not result.dry_run
                else "dry run: rows above would be rejected"
            )
        if result.problems:
            self.stdout.write(f"{result.rejected_rows} rows rejected; the good rows are written")
