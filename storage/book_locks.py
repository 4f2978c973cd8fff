"""Who may add or change a team's customers at the same time: a form save against another form save of the same
phone, and against an import writing the book (customer_import: it checked the book for its codes, phones and
emails, and what it found must stay true until it commits).

PostgreSQL: transaction-scoped advisory locks, so what they keep out is exactly that and nothing else — a
logged call (which updates its customer), the SLA sweep and every read go on during a big import. A form save
takes its team's book *shared* (form saves go on side by side), then its phone and its email exclusively; an
import takes its team's book exclusively (it waits for the saves under way, which then wait for it). Keys are
64-bit hashes of the team and the phone's or email's keyed hash (storage/crypto.py), never the value itself.
Waits are bounded by the transaction's lock_timeout (storage.db.limit_lock_wait), past which PostgreSQL raises
OperationalError.
SQLite: one writer at a time — a save's `write=True` unit of work holds it from its start, an import takes it
(BEGIN IMMEDIATE) when it begins to write.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage import crypto
from storage.db import limit_lock_wait


def _key(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _postgresql(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


def hold_for_save(session: Session, team_id: str, e164: str | None, email: str | None = None) -> None:
    """Before a form save checks the book (its code, its phone `e164` and its normalised `email` if it has them)
    and writes: an import of the team waits for this save to commit, or this save for the import; another save
    of the same phone or email waits here until this one ends, then sees what it saved. Phone before email:
    two saves never wait for each other's second lock."""
    if not _postgresql(session):
        return
    session.execute(select(func.pg_advisory_xact_lock_shared(_key("customer.book", team_id))))
    for purpose, value in (("phone", e164), ("email", email)):
        if value:
            token = crypto.keyring().token(purpose, value)
            session.execute(select(func.pg_advisory_xact_lock(_key(f"customer.{purpose}", team_id, token))))


def hold_book_from_saves(session: Session, team_id: str, seconds: float) -> None:
    """From here to the end of `session`'s transaction no form save adds or changes a customer of the team (an
    import's write); reads, logged calls and the sweep go on. Waits at most `seconds` for the saves under way
    to end, then raises OperationalError. SQLite: its one write lock, so call it before the transaction writes
    anything."""
    limit_lock_wait(session, seconds)
    if _postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(_key("customer.book", team_id))))
    else:
        session.execute(text("BEGIN IMMEDIATE"))
