"""The outbox's inserts (bot/services/outbox.py): one statement for any number of messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, update
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
    statement = _insert_statement(session.get_bind().dialect.name)
    result = session.execute(statement, list(rows)) if len(rows) > 1 else session.execute(statement, rows[0])
    return {key: message_id for message_id, key in result}


@lru_cache(maxsize=2)
def _insert_statement(dialect: str) -> Any:
    """Built once per dialect: every confirmation of the request path inserts one (issue 14)."""
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    return insert(_TABLE).on_conflict_do_nothing(index_elements=[_TABLE.c.key]).returning(_TABLE.c.id, _TABLE.c.key)


def mark_message_sent(session: Session, message_id: int, channel: str, ts: str, now: dt.datetime) -> bool:
    """The message being sent is sent (where and when); False when it was not `sending` any more (its lease was
    lost meanwhile). One statement built once: every confirmation is marked (issue 14)."""
    return session.connection().execute(_MARK_SENT, {"m_id": message_id, "m_at": now, "m_channel": channel,
                                                     "m_ts": ts}).rowcount == 1


_MARK_SENT = update(_TABLE).where(_TABLE.c.id == bindparam("m_id"), _TABLE.c.status == "sending").values(
    status="sent", sent_at=bindparam("m_at", type_=_TABLE.c.sent_at.type), posted_channel=bindparam("m_channel"),
    message_ts=bindparam("m_ts"), lease_until=None, last_error=None)
