"""Print a new API token for a user: `manage.py create_api_token USERNAME`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from techexchange.accounts.models import User
from techexchange.accounts.services import create_api_token


class Command(BaseCommand):
    """Create a bearer token (the same kind users create in their profile)."""

    help = "Create an API token for USERNAME and print it (shown once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """USERNAME and an optional --name."""
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        """Create and print the token."""
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no such user: {options['username']}")
        _token, raw = create_api_token(user=user, name=options["name"])
        self.stdout.write(raw)
