"""On SQLite each pooled connection keeps its own page cache (2 MB) and prepared statements (up to 128, some of
0.2-0.4 MB): after a burst has opened several, the quiet work that follows goes on with one of them, so the
others' caches stay as small as the burst left them (the first start of the day: 150 -> ~133 MB, issue 14)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text


def test_after_a_burst_the_quiet_work_keeps_to_one_connection(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's caches live in the server")
    inside, release = threading.Barrier(4), threading.Event()

    def held():
        with db.unit_of_work() as session:
            session.execute(text("SELECT 1"))
            inside.wait(timeout=10)
            release.wait(timeout=10)

    burst = [threading.Thread(target=held) for _ in range(3)]
    for thread in burst:
        thread.start()
    inside.wait(timeout=10)  # four connections checked out at once: the three threads' and this one
    with db.unit_of_work() as session:
        session.execute(text("SELECT 1"))
        release.set()
    for thread in burst:
        thread.join()
    used = set()
    for _ in range(12):
        with db.unit_of_work() as session:
            used.add(id(session.connection().connection.dbapi_connection))
    assert db.engine.pool.checkedin() >= 4 and len(used) == 1, (db.engine.pool.status(), used)


def test_a_request_s_short_lock_wait_ends_with_its_unit_of_work(db):
    # the request path waits 1.5 s at most for the write lock; the next unit of work on the same connection (a
    # nightly job, an import) waits SQLite's whole default again, and one that never shortened it keeps it
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's lock_timeout is SET LOCAL: it ends with the transaction")
    from storage.db import BUSY_TIMEOUT_MS, waiting_at_most

    def busy_timeout(session) -> int:
        return session.execute(text("PRAGMA busy_timeout")).scalar()

    with waiting_at_most(0.2), db.unit_of_work() as session:
        assert busy_timeout(session) == 200
    for _ in range(2):
        with db.unit_of_work() as session:
            assert busy_timeout(session) == BUSY_TIMEOUT_MS
