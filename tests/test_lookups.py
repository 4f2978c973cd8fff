"""Lookups by primary key (storage/queries._by_key) answer as session.get does."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage import queries
from storage.models import Staff

WHEN = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def test_a_person_removed_meanwhile_is_not_found_after_a_rollback(db):
    with db.unit_of_work() as session:
        queries.ensure_team(session, "T1")
        session.add(Staff(user_id="U1", team_id="T1", role="agent", display_name="Li", created_at=WHEN))

    with Session(db.engine) as mine:
        held = queries.staff_by_user(mine, "U1")  # kept, as a caller keeps what it read
        assert held.display_name == "Li"
        mine.rollback()  # a unit of work that failed part-way and goes on: what it held is stale
        with db.unit_of_work() as other:
            other.delete(queries.staff_by_user(other, "U1"))
        # read again, as session.get would: gone, not an object that raises when its name is read
        assert queries.staff_by_user(mine, "U1") is None
