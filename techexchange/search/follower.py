"""Following an outbox into a node's search index (ADR 0002), for any app.

An app records every change that a search shows as a row of its outbox table, in the write's
transaction; the database numbers the rows. Each node keeps its own position in that outbox
(a small file beside its index) and applies the rows after it, only while it holds the node's
writer lock: tantivy allows one writer per index directory, and several processes of a node
share the directory. This module holds the parts that know no app and no database: the lock,
the position file, the rule that never moves past a young gap of ids, and the catch-up loop
(the app passes in how to fetch and how to apply a batch).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

__all__ = [
    "BATCH",
    "GAP_GRACE",
    "LOCK_FILE",
    "POSITION_FILE",
    "OutboxEvent",
    "PositionFile",
    "advance",
    "catch_up",
    "writer_lock",
]

# A gap in outbox ids younger than this may be a transaction still in flight (PostgreSQL
# assigns ids before commit, so id 10 can be visible before id 9): wait for it. An older gap
# is a rolled-back id and is passed.
GAP_GRACE = timedelta(seconds=60)
BATCH = 5000
LOCK_FILE = "writer.lock"
POSITION_FILE = "outbox.position"


class OutboxEvent(Protocol):
    """What the follower needs of an outbox row: its id and when it was written."""

    @property
    def id(self) -> int:
        """The id the database gave the row."""
        ...

    @property
    def created_at(self) -> datetime:
        """When the row was written (aware)."""
        ...


# -- the writer lock --------------------------------------------------------------------------


class _LockState:
    """The in-process side of one lock file: a mutex and the holder's nesting depth."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0  # changed only by the thread holding the mutex


_states: dict[str, _LockState] = {}
_states_lock = threading.Lock()


def _state(path: Path) -> _LockState:
    key = os.path.abspath(path)
    with _states_lock:
        state = _states.get(key)
        if state is None:
            state = _states[key] = _LockState()
        return state


@contextmanager
def writer_lock(path: Path, *, wait_seconds: float) -> Iterator[bool]:
    """Hold the writer lock file `path`: yields True when held, False when not got in time.

    The file lock (`flock`) excludes other processes; flock does not exclude threads of one
    process, so they also take a mutex. `wait_seconds` bounds the wait (0: one try; -1: wait
    for ever). A thread that already holds the lock may enter it again.
    """
    state = _state(path)
    deadline = time.monotonic() + wait_seconds
    if not state.mutex.acquire(timeout=wait_seconds if wait_seconds >= 0 else -1):
        yield False
        return
    try:
        if state.depth:  # this thread holds the file lock already
            state.depth += 1
            try:
                yield True
            finally:
                state.depth -= 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if wait_seconds >= 0 and time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.02)
            state.depth = 1
            try:
                yield True
            finally:
                state.depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        state.mutex.release()


# -- the position -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionFile:
    """A node's position in an outbox: the id of the last event it applied (0 when none)."""

    path: Path

    def read(self) -> int:
        """The stored position (0 when the file does not exist yet)."""
        try:
            return int(self.path.read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0

    def write(self, value: int) -> None:
        """Store the position atomically (a reader sees the old or the new value)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(str(value), encoding="ascii")
        os.replace(tmp, self.path)


# -- following --------------------------------------------------------------------------------


def advance(
    position: int,
    events: Iterable[OutboxEvent],
    now: datetime,
    *,
    grace: timedelta = GAP_GRACE,
) -> int:
    """The new position after `events` (in id order): past each, but not past a young gap."""
    previous = position
    for event in events:
        if previous and event.id != previous + 1 and now - event.created_at < grace:
            return previous
        previous = event.id
    return previous


def catch_up[E: OutboxEvent](
    *,
    position: PositionFile,
    fetch: Callable[[int, int], Sequence[E]],
    apply: Callable[[Sequence[E]], None],
    now: datetime,
    grace: timedelta = GAP_GRACE,
    batch: int = BATCH,
) -> int:
    """Apply the events after the position in batches and advance it; return how many were read.

    Call it holding the writer lock. `fetch(after_id, limit)` returns the next events in id
    order; `apply(events)` brings the index up to date with them. Events past a young gap are
    applied, then applied again on a later call: applying must be idempotent (upsert the
    current row, delete a missing one).
    """
    total = 0
    while True:
        start = position.read()
        events = fetch(start, batch)
        if not events:
            return total
        apply(events)
        total += len(events)
        new = advance(start, events, now, grace=grace)
        position.write(new)
        if new == start or len(events) < batch:
            return total
