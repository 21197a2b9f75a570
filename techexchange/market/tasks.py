"""Background work of the market (Django's tasks API): index currency, digests, batches."""

from __future__ import annotations

from django.tasks import task

from techexchange.core import clock
from techexchange.market import matching, services


@task()
def process_search_outbox() -> int:
    """Apply pending listing changes to this node's search indexes (enqueued after each write)."""
    return matching.flush_outbox(clock.now(), wait_seconds=matching.TASK_WAIT_SECONDS)


@task()
def daily_market_jobs() -> dict[str, int]:
    """The daily run: reminders, auto-archive, saved-search alerts, the digest, outbox retention."""
    now = clock.now()
    return {
        "reminders": services.send_expiry_reminders(now=now),
        "archived": services.archive_expired_listings(now=now),
        "saved_searches": services.run_saved_searches(now=now),
        "digests": services.send_daily_digest(now=now),
        "outbox_pruned": matching.prune_outbox(now),
    }


@task()
def recompute_all_recommendations() -> int:
    """Recompute and store recommendations for every open request (match alerts included)."""
    return services.recompute_recommendations(now=clock.now())
