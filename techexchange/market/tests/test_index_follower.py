"""Every node follows the market outbox into its own indexes (ADR 0002)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import F

from techexchange.core import clock
from techexchange.core.testing.locks import held_by_another_process
from techexchange.market import matching, services, tasks
from techexchange.market.codes import ListingKind
from techexchange.market.models import SearchOutbox
from techexchange.market.tests.factories import (
    NOW,
    ah_enterprise,
    offer_input,
    published,
    request_input,
    zj_university,
)

LATER = NOW + timedelta(days=400)  # past every listing's validity


def on_node(settings: Any, root: Path) -> None:
    """Act as the node whose market indexes live in `root` (each node has its own directory)."""
    settings.MARKET_INDEX_DIR = str(root)


def indexed(kind: str, pk: int) -> bool:
    return str(pk) in matching.index_for(kind).documents([str(pk)])


def last_id() -> int:
    return SearchOutbox.objects.order_by("-id").values_list("id", flat=True)[0]


@pytest.mark.django_db
def test_two_nodes_following_one_outbox_both_see_a_publication_and_its_withdrawal(
    settings, tmp_path
):
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    for node in ("a", "b"):
        on_node(settings, tmp_path / node)
        assert matching.flush_outbox(NOW) >= 1
        assert indexed(ListingKind.OFFER, offer.pk)
        assert not matching.pending_events()
    assert SearchOutbox.objects.filter(listing_id=offer.pk).exists()  # read, not consumed

    assert services.archive_expired_listings(now=LATER) == 1
    for node in ("b", "a"):
        on_node(settings, tmp_path / node)
        assert matching.pending_events()
        assert matching.flush_outbox(LATER) == 1
        assert not indexed(ListingKind.OFFER, offer.pk)
        assert matching.read_position() == last_id()


@pytest.mark.django_db
def test_matching_reads_its_own_writes_on_a_node_that_has_not_followed_yet(settings, tmp_path):
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    request = published(ListingKind.REQUEST, ah_enterprise(), request_input())
    on_node(settings, tmp_path / "fresh")
    found = services.match_listing(request, now=NOW)
    assert [int(m.candidate.id) for m in found] == [offer.pk]
    assert indexed(ListingKind.REQUEST, request.pk)


@pytest.mark.django_db
def test_nothing_pending_costs_one_query(settings, tmp_path, django_assert_num_queries):
    published(ListingKind.OFFER, zj_university(), offer_input())
    matching.flush_outbox(NOW)
    with django_assert_num_queries(1):
        assert matching.flush_outbox(NOW) == 0


@pytest.mark.django_db
def test_the_position_waits_below_a_young_gap_and_the_late_row_is_applied(settings, tmp_path):
    published(ListingKind.OFFER, zj_university(), offer_input())
    matching.flush_outbox(NOW)
    start = matching.read_position()
    late = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="迟到的成果"))
    early = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="先到的成果"))
    in_flight = SearchOutbox.objects.get(listing_id=late.pk).id
    SearchOutbox.objects.filter(id=in_flight).delete()  # id taken, row not visible yet

    matching.flush_outbox(NOW)
    assert indexed(ListingKind.OFFER, early.pk)  # applied past the gap...
    assert matching.read_position() == start  # ...but the position waits below it
    assert matching.pending_events()

    SearchOutbox.objects.create(id=in_flight, listing_id=late.pk, kind=ListingKind.OFFER)
    matching.flush_outbox(NOW)
    assert indexed(ListingKind.OFFER, late.pk)
    assert matching.read_position() == last_id()
    assert not matching.pending_events()


@pytest.mark.django_db
def test_an_old_gap_is_a_rolled_back_id_and_the_position_passes_it(settings, tmp_path):
    published(ListingKind.OFFER, zj_university(), offer_input())
    matching.flush_outbox(NOW)
    rolled_back = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="回滚"))
    published(ListingKind.OFFER, zj_university(), offer_input(title_zh="之后"))
    SearchOutbox.objects.filter(listing_id=rolled_back.pk).delete()
    SearchOutbox.objects.update(created_at=F("created_at") - timedelta(minutes=2))

    matching.flush_outbox(NOW)
    assert matching.read_position() == last_id()


@pytest.mark.django_db
def test_a_reader_serves_what_is_indexed_while_another_process_writes(settings, tmp_path):
    offer = published(ListingKind.OFFER, zj_university(), offer_input())
    with held_by_another_process(tmp_path / "search" / "market.writer.lock"):
        assert matching.flush_outbox(NOW) == 0  # gave up after a short wait, no LockBusy
        assert not indexed(ListingKind.OFFER, offer.pk)
        assert matching.pending_events()
    assert matching.flush_outbox(NOW) == 1
    assert indexed(ListingKind.OFFER, offer.pk)


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_in_threads_wait_or_skip_and_never_fail(settings, tmp_path):
    offers = [
        published(ListingKind.OFFER, zj_university(), offer_input(title_zh=f"成果{i}"))
        for i in range(4)
    ]
    on_node(settings, tmp_path / "new-node")  # nothing applied here yet
    threads = 6
    barrier = threading.Barrier(threads)
    errors: list[Exception] = []
    read: list[int] = []

    def flush(k: int) -> None:
        try:
            barrier.wait()
            read.append(matching.flush_outbox(NOW, wait_seconds=0 if k % 2 else -1))
        except Exception as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=flush, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert sum(read) >= len(offers)  # someone applied them; the others skipped or found none
    assert all(indexed(ListingKind.OFFER, o.pk) for o in offers)
    assert not matching.pending_events()


@pytest.mark.django_db
def test_a_rebuild_loses_no_change_written_while_it_scans(settings, tmp_path, monkeypatch):
    keep = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="保留的成果"))
    # Published 300 days before NOW: its validity ends 65 days after NOW.
    ending = published(
        ListingKind.OFFER,
        zj_university(),
        offer_input(title_zh="即将到期的成果"),
        now=NOW - timedelta(days=300),
    )
    matching.flush_outbox(NOW)
    arrived: list[int] = []
    index = matching.index_for(ListingKind.OFFER)
    rebuild = index.rebuild

    def rebuild_with_writes_during_the_scan(docs: Any, **kw: Any) -> int:
        scanned = list(docs)  # the scan has read the table...
        new = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="新到的成果"))
        arrived.append(new.pk)
        assert services.archive_expired_listings(now=NOW + timedelta(days=100)) == 1
        return int(rebuild(scanned, **kw))  # ...and indexes what it read

    monkeypatch.setattr(index, "rebuild", rebuild_with_writes_during_the_scan)
    counts = matching.rebuild_indexes(NOW)

    assert counts == {ListingKind.OFFER: 2, ListingKind.REQUEST: 0}
    assert indexed(ListingKind.OFFER, keep.pk)
    assert indexed(ListingKind.OFFER, arrived[0])  # written after the watermark: caught up
    assert not indexed(ListingKind.OFFER, ending.pk)  # archived during the scan: removed
    assert matching.read_position() == last_id()


@pytest.mark.django_db
def test_a_rebuild_sets_the_position_below_a_young_gap(settings, tmp_path):
    published(ListingKind.OFFER, zj_university(), offer_input())
    in_flight = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="未提交"))
    published(ListingKind.OFFER, zj_university(), offer_input(title_zh="已提交"))
    gap = SearchOutbox.objects.get(listing_id=in_flight.pk).id
    SearchOutbox.objects.filter(id=gap).delete()
    matching.rebuild_indexes(NOW)
    assert matching.read_position() == gap - 1  # the late row will be above it


@pytest.mark.django_db
def test_outbox_rows_older_than_the_retention_are_deleted_by_the_daily_jobs(settings, tmp_path):
    now = clock.now()
    old = published(ListingKind.OFFER, zj_university(), offer_input(), now=now)
    new = published(ListingKind.OFFER, zj_university(), offer_input(title_zh="新成果"), now=now)
    SearchOutbox.objects.filter(listing_id=old.pk).update(
        created_at=now - matching.OUTBOX_RETENTION - timedelta(hours=1)
    )
    result = tasks.daily_market_jobs.call()
    assert result["outbox_pruned"] == 1
    assert not SearchOutbox.objects.filter(listing_id=old.pk).exists()
    assert SearchOutbox.objects.filter(listing_id=new.pk).exists()
