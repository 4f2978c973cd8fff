"""The hot-path queries use their indexes (checked with SQLite's EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from storage import queries
from tests.conftest import DEFAULT_NOW


def planned(db, run) -> str:
    """Run a query function, capture the SQL it sent, and return SQLite's plan for it."""
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.unit_of_work() as session:
            run(session)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.fixture
def sqlite_db(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on table statistics")
    return db


def test_an_agents_queue_reads_the_owner_status_due_index(sqlite_db):
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(sqlite_db, lambda s: queries.open_callbacks_of_owner_due_before(s, "U0AGENT", before))
    assert "ix_callback_owner_open_due" in plan, plan


def test_the_morning_list_reads_the_team_status_due_index(sqlite_db):
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(sqlite_db, lambda s: queries.open_callbacks_of_team_due_before(s, "default", before))
    assert "ix_callback_team_open_due" in plan, plan


def test_customer_lookup_by_code_uses_the_unique_index(sqlite_db):
    plan = planned(sqlite_db, lambda s: queries.customer_by_code(s, "default", "A001"))
    assert "USING INDEX" in plan and "SCAN" not in plan.replace("USING INDEX", ""), plan
