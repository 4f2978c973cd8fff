"""The outbox's inserts (bot/services/outbox.py): one statement for any number of messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.outbox_models import OutboxMessage

_TABLE = OutboxMessage.__table__


def insert_messages(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert outbox rows (every column but id, sent_at, … given as a dict); a row whose `key` exists is left out
    (INSERT … ON CONFLICT (key) DO NOTHING RETURNING: no SAVEPOINT, no flush). key -> id of the rows inserted.
    Many rows go as one executemany, which SQLAlchemy batches into multi-row INSERTs ("insertmanyvalues")."""
    if not rows:
        return {}
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[session.get_bind().dialect.name]
    statement = insert(_TABLE).on_conflict_do_nothing(index_elements=[_TABLE.c.key]) \
        .returning(_TABLE.c.id, _TABLE.c.key)
    result = session.execute(statement, list(rows)) if len(rows) > 1 else session.execute(statement, rows[0])
    return {key: message_id for message_id, key in result}
