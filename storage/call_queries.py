"""The writes of a logged call (bot/services/calls.py, bot/services/next_callback.py), built once and sent on the
tables: the call stored, its callback closed, its customer's last contact and flag, the next callback made.
Nothing holds these rows as ORM objects afterwards (the objects the unit of work holds are told their new
values), so the unit of work's flush, its bookkeeping of each object, is not paid for them: a logged call is the
hottest write (issue 14)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Callback, CallLog, Customer

_CALLS = CallLog.__table__
_CALLBACKS = Callback.__table__
_CUSTOMERS = Customer.__table__
_INSERT_CALL = insert(_CALLS).returning(_CALLS.c.id)
_INSERT_CALLBACK = insert(_CALLBACKS)
_CLOSE_CALLBACK = update(_CALLBACKS).where(_CALLBACKS.c.id == bindparam("cb")).values(
    status=bindparam("new_status"), attempts=bindparam("new_attempts"),
    closed_at=bindparam("closed", type_=_CALLBACKS.c.closed_at.type))
_CUSTOMER_CALLED = update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("cu")).values(
    last_contact_at=bindparam("contact", type_=_CUSTOMERS.c.last_contact_at.type),
    needs_follow_up=bindparam("follow_up", type_=_CUSTOMERS.c.needs_follow_up.type))


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


def customer_called(session: Session, customer: Customer, last_contact_at: dt.datetime | None,
                    needs_follow_up: bool) -> None:
    """The customer after a call: when they were last reached, whether they need a follow-up (待跟进). One UPDATE
    when either changed, none when neither did; the object the unit of work holds shows the same values."""
    if (last_contact_at, needs_follow_up) == (customer.last_contact_at, customer.needs_follow_up):
        return
    session.connection().execute(_CUSTOMER_CALLED, {"cu": customer.id, "contact": last_contact_at,
                                                    "follow_up": needs_follow_up})
    set_committed_value(customer, "last_contact_at", last_contact_at)
    set_committed_value(customer, "needs_follow_up", needs_follow_up)
