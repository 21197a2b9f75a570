"""Periodic jobs on Django's tasks API: enqueue each job when it is due, once across processes.

Django's tasks API runs tasks but has no clock. `run_periodic` (a management command) calls
`enqueue_due` every minute; the row lock on `PeriodicRun` makes two schedulers on two machines
enqueue a job once, not twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from techexchange.core.models import PeriodicRun

__all__ = ["Job", "enqueue_due", "is_due"]


@dataclass(frozen=True)
class Job:
    """A task to enqueue every `every`."""

    name: str
    task: Any
    every: timedelta


def is_due(last: datetime | None, every: timedelta, now: datetime) -> bool:
    """True when the job never ran or its interval has passed."""
    return last is None or now - last >= every


def enqueue_due(jobs: Sequence[Job], *, now: datetime) -> list[str]:
    """Enqueue every due job (each in its own transaction); return the names enqueued."""
    enqueued = []
    for job in jobs:
        with transaction.atomic():
            PeriodicRun.objects.get_or_create(name=job.name)
            run = PeriodicRun.objects.select_for_update().get(name=job.name)
            if not is_due(run.last_enqueued_at, job.every, now):
                continue
            run.last_enqueued_at = now
            run.save(update_fields=["last_enqueued_at"])
            transaction.on_commit(job.task.enqueue)
            enqueued.append(job.name)
    return enqueued
