"""`import_instruments FILE --holder ORG_ID --user NAME`: national layout, all or nothing."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from techexchange.accounts.models import Organisation
from techexchange.core.errors import DomainError
from techexchange.resources.importing import import_instruments


class Command(BaseCommand):
    """Import instruments for one holder."""

    help = "Import instruments from CSV or xlsx (national layout); nothing is written on errors."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """FILE, --holder, --user."""
        parser.add_argument("file")
        parser.add_argument("--holder", type=int, required=True, help="holder organisation id")
        parser.add_argument("--user", required=True, help="acting user (admin of the holder)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Import and report, or list every problem by row and column."""
        path = Path(options["file"])
        holder = Organisation.objects.filter(pk=options["holder"]).first()
        user = get_user_model().objects.filter(username=options["user"]).first()
        if holder is None or user is None or not path.exists():
            raise CommandError("unknown holder, user or file")
        try:
            result = import_instruments(
                actor=user, holder=holder, data=path.read_bytes(), filename=path.name
            )
        except DomainError as exc:
            for p in exc.problems:
                self.stderr.write(p.message)
            raise CommandError(exc.message) from None
        self.stdout.write(f"created {result.created}, updated {result.updated}")
