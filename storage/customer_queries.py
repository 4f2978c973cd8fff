"""Customer lookups in bulk, for imports and exports: one query per batch of values, never one per row.

Exact matches on phone and email go through `customers_by_phones` / `customers_by_emails` only, so that
the way they match (today the stored E.164 and normalised address; with encryption at rest a keyed hash)
is decided here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.models import CallLog, Complaint, Customer, Staff

BATCH = 500  # values per IN (...): well under SQLite's and PostgreSQL's parameter limits


def _chunks(values: Collection[str]) -> Iterator[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def customers_by_codes(session: Session, team_id: str, codes: Collection[str]) -> dict[str, Customer]:
    """code -> the team's customer with that code (codes are unique per team)."""
    found: dict[str, Customer] = {}
    for chunk in _chunks(codes):
        for customer in session.scalars(select(Customer).where(Customer.team_id == team_id,
                                                               Customer.code.in_(chunk))):
            found[customer.code] = customer
    return found


def customers_by_phones(session: Session, team_id: str, phones: Collection[str]) -> dict[str, Customer]:
    """E.164 phone -> the team's oldest customer with that phone."""
    found: dict[str, Customer] = {}
    for chunk in _chunks(phones):
        for customer in session.scalars(select(Customer).where(Customer.team_id == team_id,
                                                               Customer.phone.in_(chunk))
                                        .order_by(Customer.id.desc())):
            found[customer.phone or ""] = customer
    return found


def customers_by_emails(session: Session, team_id: str, emails: Collection[str]) -> dict[str, Customer]:
    """email (as stored: normalised and lower-cased) -> the team's oldest customer with that address."""
    found: dict[str, Customer] = {}
    for chunk in _chunks({email.lower() for email in emails}):
        for customer in session.scalars(select(Customer).where(Customer.team_id == team_id,
                                                               Customer.email.in_(chunk))
                                        .order_by(Customer.id.desc())):
            found[customer.email or ""] = customer
    return found


def insert_customers(session: Session, values: Sequence[dict]) -> None:
    """New customers in one bulk INSERT (executemany / insertmanyvalues), one dict of columns each."""
    if values:
        session.execute(insert(Customer), list(values))


def customer_ids_by_codes(session: Session, team_id: str, codes: Collection[str]) -> dict[str, int]:
    """code -> id of the team's customers with these codes."""
    found: dict[str, int] = {}
    for chunk in _chunks(codes):
        found.update(session.execute(select(Customer.code, Customer.id).where(Customer.team_id == team_id,
                                                                              Customer.code.in_(chunk))).all())
    return found


def registered_staff(session: Session, user_ids: Collection[str]) -> set[str]:
    """Which of these Slack user ids are registered staff."""
    known: set[str] = set()
    for chunk in _chunks(user_ids):
        known.update(session.scalars(select(Staff.user_id).where(Staff.user_id.in_(chunk))))
    return known


# --- exports ----------------------------------------------------------------------------------------


def customers_for_export(session: Session, team_id: str, since: dt.datetime | None,
                         batch: int = 1000) -> Iterator[Sequence[Customer]]:
    """The team's customers (created since `since`, if given) in code order, a batch at a time (keyset)."""
    last = ""
    while True:
        stmt = select(Customer).where(Customer.team_id == team_id, Customer.code > last)
        if since is not None:
            stmt = stmt.where(Customer.created_at >= since)
        rows = session.scalars(stmt.order_by(Customer.code).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].code
        session.expunge_all()


def calls_for_export(session: Session, team_id: str, since: dt.datetime | None,
                     batch: int = 1000) -> Iterator[Sequence[tuple[CallLog, Customer]]]:
    """The team's call logs (called since `since`) with their customer, oldest first, a batch at a time."""
    last = 0
    while True:
        stmt = (select(CallLog, Customer).join(Customer, Customer.id == CallLog.customer_id)
                .where(CallLog.team_id == team_id, CallLog.id > last))
        if since is not None:
            stmt = stmt.where(CallLog.called_at >= since)
        rows = session.execute(stmt.order_by(CallLog.id).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0].id
        session.expunge_all()


def complaints_for_export(session: Session, team_id: str, since: dt.datetime | None,
                          batch: int = 1000) -> Iterator[Sequence[tuple[Complaint, Customer]]]:
    """The team's complaints (opened since `since`) with their customer, oldest first, a batch at a time."""
    last = 0
    while True:
        stmt = (select(Complaint, Customer).join(Customer, Customer.id == Complaint.customer_id)
                .where(Complaint.team_id == team_id, Complaint.id > last))
        if since is not None:
            stmt = stmt.where(Complaint.opened_at >= since)
        rows = session.execute(stmt.order_by(Complaint.id).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0].id
        session.expunge_all()
