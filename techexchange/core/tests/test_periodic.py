"""Periodic jobs are enqueued when due, once, and not again before their interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from techexchange.core.periodic import Job, enqueue_due, is_due

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class FakeTask:
    def __init__(self):
        self.calls = 0

    def enqueue(self):
        self.calls += 1


def test_job_is_due_when_never_run_or_interval_passed():
    assert is_due(None, timedelta(minutes=5), T0)
    assert not is_due(T0, timedelta(minutes=5), T0 + timedelta(minutes=4))
    assert is_due(T0, timedelta(minutes=5), T0 + timedelta(minutes=5))


def test_enqueue_due_runs_each_job_once_per_interval():
    fast, slow = FakeTask(), FakeTask()
    jobs = [Job("fast", fast, timedelta(minutes=1)), Job("slow", slow, timedelta(days=1))]
    assert enqueue_due(jobs, now=T0) == ["fast", "slow"]
    assert enqueue_due(jobs, now=T0 + timedelta(seconds=30)) == []
    assert enqueue_due(jobs, now=T0 + timedelta(minutes=1)) == ["fast"]
    assert (fast.calls, slow.calls) == (2, 1)


def test_run_periodic_command_enqueues_the_schedule(capsys):
    from django.core.management import call_command

    call_command("run_periodic")
    out = capsys.readouterr().out
    assert "resources.release_no_shows" in out and "market.daily_jobs" in out
    call_command("run_periodic")
    assert capsys.readouterr().out.strip() == "enqueued: -"
