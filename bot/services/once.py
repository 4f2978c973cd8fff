"""Every delivery has one effect (issue 8 §2): services claim a key in the transaction of the effect.

Keys come from the payload (a modal's view id + hash, the post a button is on, a click's action_ts) or from the
state the action moves ("complaint 12's first response", "its 3rd pause"). They are UNIQUE in the database
(`inbound_delivery`), so the rule holds for double clicks, Slack's retries, replays, and across replicas.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from storage import inbound_queries
from storage.db import Database, busy, lock_wait

MAX_KEY = 200


class AlreadyDone(Exception):
    """This request (or its twin) already had its effect; `result` is what the first one answered."""

    def __init__(self, key: str, result: dict[str, Any] | None):
        super().__init__(key)
        self.key = key
        self.result = result or {}


def make_key(*parts: object) -> str:
    """A key from its parts; hashed when long (a hostile view id must not overflow the column)."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= MAX_KEY:
        return key
    return f"{parts[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def claim(session: Session, kind: str, user_id: str | None, now: dt.datetime, *keys: str | None) -> str | None:
    """Claim every key given (None: not claimed); AlreadyDone at the first one another delivery holds.

    Call it in the unit of work of the effect, before changing anything: when the effect fails the claim is
    rolled back with it, so a corrected resubmission is not mistaken for a repeat. Returns the first key."""
    first = None
    for key in keys:
        if key is None:
            continue
        key = make_key(key) if len(key) > MAX_KEY else key
        if not inbound_queries.claim_delivery(session, key, kind, user_id, now):
            raise AlreadyDone(key, inbound_queries.delivery_result(session, key))
        first = first or key
    return first


def remember(session: Session, key: str | None, result: dict[str, Any]) -> None:
    """Keep what the first delivery answered, for the repeats."""
    if key is not None:
        inbound_queries.record_delivery_result(session, key, result)


TWIN_EXTRA = 1.0  # seconds: a modal's save waits 1.5 s for the lock (handlers/unavailable.SAVE_WAIT); Slack, 3 s
_running: dict[str, threading.Event] = {}
_running_lock = threading.Lock()


@contextmanager
def saving(db: Database, once: str | None) -> Iterator[Session]:
    """A write unit of work (`db.unit_of_work(write=True)`) for the delivery keyed `once`.

    Its twins in this process (the same modal delivered again while it is saving: Slack's retry, a double click)
    do not queue for the write lock behind it: they wait for it to end, then read whether it took the key and
    raise AlreadyDone with its result (else, when it failed, one of them saves in its place). A twin waits the
    request's lock wait (storage.db.waiting_at_most) and TWIN_EXTRA seconds more (its first may have waited the
    whole lock wait and still be saving), then OperationalError ("locked"), told as busy. Across processes and
    replicas the key's UNIQUE row still decides (claim)."""
    if once is None:
        with db.unit_of_work(write=True) as session:
            yield session
        return
    key = make_key(once) if len(once) > MAX_KEY else once
    deadline = time.monotonic() + lock_wait() + TWIN_EXTRA
    while True:
        with _running_lock:
            twin = _running.get(key)
            if twin is None:
                mine = _running[key] = threading.Event()
                break
        if not twin.wait(max(0.0, deadline - time.monotonic())):
            raise busy("its twin delivery is still saving")
        with db.unit_of_work() as session:
            taken, result = inbound_queries.delivery_state(session, key)
        if taken:
            raise AlreadyDone(key, result)
    try:
        with db.unit_of_work(write=True) as session:
            yield session
    finally:
        with _running_lock:
            del _running[key]
        mine.set()
