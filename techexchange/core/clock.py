"""The one place that reads the time; rules take `now` as an argument instead."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

__all__ = ["now", "today"]


def now() -> datetime:
    """Return the current aware datetime."""
    return timezone.now()


def today() -> date:
    """Return today's date in the configured time zone."""
    return timezone.localdate()
