"""The hot-path queries use their indexes: SQLite's EXPLAIN QUERY PLAN, and PostgreSQL's EXPLAIN with sequential
scans priced out (an empty test table would make any plan a scan; the question is whether an index serves it)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from storage import queries
from tests.conftest import DEFAULT_NOW


def planned(db, run) -> str:
    """Run a query function, capture the SQL it sent, and return the database's plan for it."""
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
        if db.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            connection.rollback()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.fixture
def plan_db(db):
    """Either database, for plans whose index names are the whole assertion. On PostgreSQL the tables hold the
    bench's tiny book with fresh statistics: on empty tables every index looks alike to its planner."""
    if db.engine.dialect.name != "sqlite":
        from bench.book import SIZES, seed

        seed(db, SIZES["tiny"])
    return db


@pytest.fixture
def sqlite_db(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on table statistics")
    return db


# a person's queue (their team's book only): the (owner, status, due) index, or the team's (team, status, owner,
# due) one, which matches every condition
OWNER_DUE = ("ix_callback_owner_open_due", "ix_callback_team_owner_open_due")


def test_an_agents_queue_reads_the_owner_status_due_index(plan_db):
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(plan_db, lambda s: queries.open_callbacks_of_owner_due_before(s, "default", "U0AGENT", before))
    assert any(index in plan for index in OWNER_DUE), plan


def test_the_morning_list_reads_the_team_status_due_index(sqlite_db):
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(sqlite_db, lambda s: queries.open_callbacks_of_team_due_before(s, "default", before))
    assert "ix_callback_team_open_due" in plan, plan


def test_customer_lookup_by_code_uses_the_unique_index(sqlite_db):
    plan = planned(sqlite_db, lambda s: queries.customer_by_code(s, "default", "A001"))
    assert "USING INDEX" in plan and "SCAN" not in plan.replace("USING INDEX", ""), plan


def test_a_queue_page_and_its_counts_read_the_owner_status_due_index(plan_db):
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(plan_db, lambda s: queries.open_callbacks_of_owner_due_before(s, "default", "U0AGENT", before,
                                                                                 offset=20, limit=20))
    assert any(index in plan for index in OWNER_DUE), plan
    plan = planned(plan_db, lambda s: queries.count_open_callbacks_of_owner_due_before(s, "default", "U0AGENT", before,
                                                                                       DEFAULT_NOW))
    assert any(index in plan for index in OWNER_DUE), plan


def test_the_morning_lists_counts_read_one_index_and_no_table_row(plan_db):
    """Each owner's due count of a team with 75,000 due callbacks: one pass over the owner-ordered index, which
    holds every column counted (SQLite: a covering index, grouped in its order, no sort)."""
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(plan_db, lambda s: queries.due_callback_counts_of_each_owner(s, "default", before, DEFAULT_NOW))
    if plan_db.engine.dialect.name == "sqlite":
        assert "COVERING INDEX ix_callback_team_owner_open_due" in plan and "TEMP B-TREE" not in plan, plan
    else:  # a team's index (PostgreSQL scans the table instead when one team is the whole of it, as in the bench)
        assert "ix_callback_team_" in plan, plan


def test_the_morning_lists_rows_are_a_short_probe_per_person_shown(plan_db):
    """The first rows of each person shown (and of the unassigned): each a range of the owner-ordered index read
    in its order and cut, never the team's due rows sorted."""
    before = DEFAULT_NOW + dt.timedelta(days=1)
    plan = planned(plan_db, lambda s: queries.first_due_callbacks_of_owners(
        s, "default", ["U0AG00000", "U0AG00001", None], before, 15))
    probes = [line for line in plan.splitlines() if "ix_callback_team_owner_open_due" in line]
    assert len(probes) == 3, plan
    if plan_db.engine.dialect.name == "sqlite":  # each probe in the index's order; only the ≤ 645 rows sorted
        assert all("owner_id=? AND due_at<?" in line for line in probes), plan
        assert plan.count("TEMP B-TREE") == 1 and plan.rstrip().endswith("USE TEMP B-TREE FOR ORDER BY"), plan
    else:
        assert all("Index Only Scan" in line or "Index Scan" in line for line in probes), plan


def test_the_morning_lists_complaints_read_a_team_index(plan_db):
    plan = planned(plan_db, lambda s: queries.complaints_of_team_past_a_due_time(s, "default", DEFAULT_NOW))
    assert "ix_complaint_team_" in plan, plan  # team_status or team_opened: the team's rows only


def test_a_logged_calls_planning_reads_the_customers_calls_from_their_index(plan_db):
    """A logged call's care plan reads its customer's latest reached call and the month's count in one pass over
    the customer's calls (storage/plan_queries.reached_calls_of), never the team's call log."""
    from storage import plan_queries

    plan = planned(plan_db, lambda s: plan_queries.reached_calls_of(s, [1], DEFAULT_NOW - dt.timedelta(days=30)))
    assert "ix_call_log_customer_called" in plan, plan
