"""Background work of the market (Django's tasks API): index currency, digests, batches."""

from __future__ import annotations

from django.tasks import task

from techexchange.core import clock
from techexchange.market import matching, services


@task()
def process_search_outbox() -> int:
    """Apply pending listing changes to the search indexes (enqueued after each write)."""
    return matching.flush_outbox(clock.now())


@task()
def daily_market_jobs() -> dict[str, int]:
    """The daily run: expiry reminders, auto-archive, saved-search alerts and the digest."""
    now = clock.now()
    return {
        "reminders": services.send_expiry_reminders(now=now),
        "archived": services.archive_expired_listings(now=now),
        "saved_searches": services.run_saved_searches(now=now),
        "digests": services.send_daily_digest(now=now),
    }


@task()
def recompute_all_recommendations() -> int:
    """Recompute and store recommendations for every open request (match alerts included)."""
    return services.recompute_recommendations(now=clock.now())
