"""The outbox follower's parts: the young-gap rule, the position file, catch-up, the writer lock."""

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from techexchange.core.testing.locks import another_process_can_lock, held_by_another_process
from techexchange.search.follower import PositionFile, advance, catch_up, writer_lock

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
YOUNG = NOW - timedelta(seconds=5)
OLD = NOW - timedelta(minutes=5)


class Event(NamedTuple):
    id: int
    created_at: datetime


def events(*ids: int, at: datetime = YOUNG) -> list[Event]:
    return [Event(i, at) for i in ids]


# -- the young-gap rule -----------------------------------------------------------------------


def test_the_position_passes_every_event_when_ids_follow_each_other():
    assert advance(3, events(4, 5, 6), NOW) == 6


def test_the_position_stops_before_a_young_gap():
    # id 6 may belong to a transaction still in flight: 7 is applied, the position waits at 5.
    assert advance(3, events(4, 5, 7), NOW) == 5
    assert advance(3, events(5, 6), NOW) == 3


def test_an_old_gap_is_a_rolled_back_id_and_is_passed():
    assert advance(3, [Event(4, YOUNG), Event(6, OLD), Event(7, YOUNG)], NOW) == 7
    assert advance(3, events(5, 6), NOW, grace=timedelta(seconds=1)) == 6


def test_a_node_that_never_followed_starts_at_the_first_event_it_sees():
    assert advance(0, events(40, 41), NOW) == 41


def test_no_events_keep_the_position():
    assert advance(9, [], NOW) == 9


# -- the position file ------------------------------------------------------------------------


def test_the_position_is_zero_until_written_and_then_survives_a_new_handle(tmp_path):
    position = PositionFile(tmp_path / "node" / "outbox.position")
    assert position.read() == 0
    position.write(42)
    assert PositionFile(tmp_path / "node" / "outbox.position").read() == 42
    position.write(7)
    assert position.read() == 7
    assert sorted(p.name for p in (tmp_path / "node").iterdir()) == ["outbox.position"]


# -- catching up ------------------------------------------------------------------------------


class Outbox:
    """An in-memory outbox: `fetch` as an app passes it, and a record of applied batches."""

    def __init__(self, rows: list[Event]) -> None:
        self.rows = rows
        self.applied: list[list[int]] = []

    def fetch(self, after: int, limit: int) -> list[Event]:
        return sorted((e for e in self.rows if e.id > after), key=lambda e: e.id)[:limit]

    def apply(self, batch: Sequence[Event]) -> None:
        self.applied.append([e.id for e in batch])


def test_catch_up_applies_in_batches_and_advances(tmp_path):
    outbox = Outbox(events(1, 2, 3, 4, 5))
    position = PositionFile(tmp_path / "p")
    read = catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=NOW, batch=2)
    assert read == 5
    assert outbox.applied == [[1, 2], [3, 4], [5]]
    assert position.read() == 5
    assert catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=NOW) == 0


def test_events_past_a_young_gap_are_applied_again_until_the_gap_fills(tmp_path):
    outbox = Outbox(events(1, 2, 4))
    position = PositionFile(tmp_path / "p")
    catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=NOW)
    assert outbox.applied == [[1, 2, 4]] and position.read() == 2

    outbox.rows.append(Event(3, YOUNG))  # the transaction in flight commits
    catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=NOW)
    assert outbox.applied[-1] == [3, 4]
    assert position.read() == 4


def test_a_gap_that_never_fills_is_passed_once_it_is_old(tmp_path):
    outbox = Outbox(events(1, 2, 4))
    position = PositionFile(tmp_path / "p")
    catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=NOW)
    later = NOW + timedelta(minutes=2)
    catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=later)
    assert position.read() == 4


def test_a_full_batch_stuck_at_a_young_gap_does_not_loop(tmp_path):
    outbox = Outbox(events(1, 3, 4))
    position = PositionFile(tmp_path / "p")
    position.write(1)
    read = catch_up(position=position, fetch=outbox.fetch, apply=outbox.apply, now=NOW, batch=2)
    assert read == 2
    assert outbox.applied == [[3, 4]]
    assert position.read() == 1


# -- the writer lock --------------------------------------------------------------------------


def test_the_lock_excludes_other_processes_and_is_released_after_the_block(tmp_path):
    path = tmp_path / "idx" / "writer.lock"
    with writer_lock(path, wait_seconds=0) as got:
        assert got
        assert not another_process_can_lock(path)
    assert another_process_can_lock(path)


def test_a_writer_gives_up_in_time_while_another_process_holds_the_lock(tmp_path):
    path = tmp_path / "writer.lock"
    with held_by_another_process(path):
        with writer_lock(path, wait_seconds=0) as got:
            assert got is False
        with writer_lock(path, wait_seconds=0.1) as got:
            assert got is False
    with writer_lock(path, wait_seconds=0) as got:
        assert got is True


def test_a_second_thread_skips_or_waits_for_the_lock(tmp_path):
    path = tmp_path / "writer.lock"
    holding, release = threading.Event(), threading.Event()
    order: list[str] = []

    def holder() -> None:
        with writer_lock(path, wait_seconds=0) as got:
            assert got
            holding.set()
            release.wait()
            order.append("holder done")

    def waiter() -> None:
        with writer_lock(path, wait_seconds=-1) as got:
            order.append(f"waiter got {got}")

    first = threading.Thread(target=holder)
    first.start()
    holding.wait()
    with writer_lock(path, wait_seconds=0) as got:  # flock alone would let a thread in
        assert got is False
    second = threading.Thread(target=waiter)
    second.start()
    release.set()
    first.join()
    second.join()
    assert order == ["holder done", "waiter got True"]


def test_the_holder_may_take_the_lock_again_and_keeps_it_until_the_outer_block_ends(tmp_path):
    path = tmp_path / "writer.lock"
    with writer_lock(path, wait_seconds=0) as outer:
        with writer_lock(path, wait_seconds=0) as inner:
            assert outer and inner
        assert not another_process_can_lock(path)
    assert another_process_can_lock(path)
