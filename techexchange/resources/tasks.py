"""Background jobs of resources: each takes no objects, only what it needs to find them."""

from __future__ import annotations

from datetime import datetime

from django.tasks import task

from techexchange.resources import indexing, services


@task()
def release_no_shows(now: str | None = None) -> int:
    """Release bookings nobody checked in to, expire lapsed requests, hand lapsed wait-list
    holds on to the next waiting user (idempotent, safe in several workers at once).

    `now` (ISO-8601) is for tests and replays; the scheduler passes nothing.
    """
    at = datetime.fromisoformat(now) if now else None
    return (
        services.release_no_shows(now=at)
        + services.expire_holds(now=at)
        + services.hand_on_lapsed_holds(now=at)
    )


@task()
def refresh_free_time() -> int:
    """Rebuild the free-time summary of the availability filter (a repair; nightly)."""
    return services.refresh_free_time()


@task()
def sync_search_index() -> int:
    """Apply the outbox to this node's instrument index."""
    return indexing.sync_index()
