"""The writes of a logged call (bot/services/calls.py, bot/services/next_callback.py), built once and sent on the
tables: the call stored, its callback closed, the next callback made. Nothing holds these rows as ORM objects
afterwards (the closed callback's object is told its new values), so the unit of work's flush, its bookkeeping
of each object, is not paid for them: a logged call is the hottest write (issue 14)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Callback, CallLog

_CALLS = CallLog.__table__
_CALLBACKS = Callback.__table__
_INSERT_CALL = insert(_CALLS).returning(_CALLS.c.id)
_INSERT_CALLBACK = insert(_CALLBACKS)
_CLOSE_CALLBACK = update(_CALLBACKS).where(_CALLBACKS.c.id == bindparam("cb")).values(
    status=bindparam("new_status"), attempts=bindparam("new_attempts"),
    closed_at=bindparam("closed", type_=_CALLBACKS.c.closed_at.type))


def insert_call(session: Session, **values: Any) -> int:
    """Store a call log (every column but the id); its id."""
    return session.connection().scalar(_INSERT_CALL, values)


def close_callback(session: Session, callback: Callback, status: str, attempts: int, closed_at: dt.datetime) -> None:
    """The callback a call was made for, closed (done, rescheduled, skipped) after `attempts` calls; the object
    the unit of work holds shows the same values, unflushed."""
    session.connection().execute(_CLOSE_CALLBACK, {"cb": callback.id, "new_status": status,
                                                   "new_attempts": attempts, "closed": closed_at})
    for name, value in (("status", status), ("attempts", attempts), ("closed_at", closed_at)):
        set_committed_value(callback, name, value)


def insert_callback(session: Session, **values: Any) -> None:
    """A new callback (every column but the id and closed_at); refused by the database (IntegrityError) when the
    customer has an open one of its kind already."""
    session.connection().execute(_INSERT_CALLBACK, {"closed_at": None, **values})
