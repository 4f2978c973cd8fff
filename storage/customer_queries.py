"""Customer lookups in bulk, for imports and exports: one query per batch of values, never one per row.

Exact matches on phone and email go through `customers_by_phones` / `customers_by_emails` only, so that
the way they match (today the stored E.164 and normalised address; with encryption at rest a keyed hash)
is decided here and nowhere else. Phones and emails are encrypted at rest (issue 9, storage/crypto.py): they are
matched by their keyed hashes (`phone_hash`, `email_hash`) under every configured key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage import crypto
from storage.models import CallLog, Complaint, Customer, Staff
from storage.privacy_models import CustomerSearchToken, name_tokens

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
    """E.164 phone -> the team's oldest customer with that phone (through the keyed hash)."""
    return _by_hash(session, team_id, Customer.phone_hash, "phone", set(phones), lambda c: c.phone or "")


def customers_by_emails(session: Session, team_id: str, emails: Collection[str]) -> dict[str, Customer]:
    """email (normalised and lower-cased) -> the team's oldest customer with that address (keyed hash)."""
    return _by_hash(session, team_id, Customer.email_hash, "email", {crypto.normal_email(e) for e in emails},
                    lambda c: crypto.normal_email(c.email or ""))


def _by_hash(session: Session, team_id: str, column, purpose: str, values: set[str], value_of) -> dict[str, Customer]:
    ring = crypto.keyring()
    hashes = [token for value in values for token in ring.tokens(purpose, value)]
    found: dict[str, Customer] = {}
    for chunk in _chunks(hashes):
        for customer in session.scalars(select(Customer).where(Customer.team_id == team_id, column.in_(chunk))
                                        .order_by(Customer.id.desc())):
            found[value_of(customer)] = customer
    return found


def insert_customers(session: Session, values: Sequence[dict]) -> None:
    """New customers in one bulk INSERT (executemany / insertmanyvalues), one dict of columns each. A bulk
    INSERT passes the ORM by, so the keyed hashes of phone and email and the name index (issue 9) are written
    here: what the ORM hooks of storage/privacy_models.py do for single customers."""
    if not values:
        return
    ring = crypto.keyring()
    rows = [{**v, "phone_hash": ring.token("phone", v["phone"]) if v.get("phone") else None,
             "email_hash": ring.token("email", crypto.normal_email(v["email"])) if v.get("email") else None}
            for v in values]
    # Core, not the ORM's bulk insert: the ORM leaves out None values and so splits the rows into thousands of
    # small batches (one per run of rows with the same empty cells); Core sends one executemany
    session.execute(insert(Customer.__table__), rows)
    for team_id in {row["team_id"] for row in rows}:
        names = {row["code"]: row.get("name") or "" for row in rows if row["team_id"] == team_id}
        ids = customer_ids_by_codes(session, team_id, names)
        tokens = [{"customer_id": ids[code], "team_id": team_id, "token": token}
                  for code, name in names.items() for token in name_tokens(team_id, name)]
        for start in range(0, len(tokens), 5000):
            session.execute(insert(CustomerSearchToken.__table__), tokens[start:start + 5000])


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
    stmt = select(Customer).where(Customer.team_id == team_id)
    if since is not None:
        stmt = stmt.where(Customer.created_at >= since)
    for rows in _keyset(session, stmt, Customer.code, "", batch):
        yield [row[0] for row in rows]


def calls_for_export(session: Session, team_id: str, since: dt.datetime | None,
                     batch: int = 1000) -> Iterator[Sequence[tuple[CallLog, Customer]]]:
    """The team's call logs (called since `since`) with their customer, oldest first, a batch at a time."""
    stmt = (select(CallLog, Customer).join(Customer, Customer.id == CallLog.customer_id)
            .where(CallLog.team_id == team_id))
    if since is not None:
        stmt = stmt.where(CallLog.called_at >= since)
    yield from _keyset(session, stmt, CallLog.id, 0, batch)


def complaints_for_export(session: Session, team_id: str, since: dt.datetime | None,
                          batch: int = 1000) -> Iterator[Sequence[tuple[Complaint, Customer]]]:
    """The team's complaints (opened since `since`) with their customer, oldest first, a batch at a time."""
    stmt = (select(Complaint, Customer).join(Customer, Customer.id == Complaint.customer_id)
            .where(Complaint.team_id == team_id))
    if since is not None:
        stmt = stmt.where(Complaint.opened_at >= since)
    yield from _keyset(session, stmt, Complaint.id, 0, batch)


def _keyset(session: Session, stmt, key, start, batch: int) -> Iterator[Sequence]:
    """Rows of `stmt` in `key` order (the key is a column of the first entity), `batch` at a time, each batch
    fetched after the last key seen (keyset pagination; the session is emptied between batches: memory)."""
    last = start
    while True:
        rows = session.execute(stmt.where(key > last).order_by(key).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = getattr(rows[-1][0], key.key)
        session.expunge_all()
