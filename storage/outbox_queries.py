"""The outbox's inserts (bot/services/outbox.py): one statement for any number of messages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.outbox_models import OutboxMessage

_TABLE = OutboxMessage.__table__


def insert_messages(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert outbox rows (every column but id, sent_at, … given as a dict); a row whose `key` exists is left out
    (INSERT … ON CONFLICT (key) DO NOTHING RETURNING: no SAVEPOINT, no flush). key -> id of the rows inserted.
    Many rows go, on PostgreSQL, as one JSON document (json_to_recordset: ~90 posts of a catch-up were ~1,000
    parameters, each processed by SQLAlchemy and psycopg: issue 14), on SQLite as one executemany, which
    SQLAlchemy batches into multi-row INSERTs ("insertmanyvalues")."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect
    if len(rows) > 1 and dialect.name == "postgresql":  # a catch-up's ~90 posts: one JSON parameter, not ~1,000
        seal = _TABLE.c.payload.type.process_bind_param
        document = json.dumps([{**row, "payload": seal(row["payload"], dialect), **{
            name: row[name].isoformat() for name in _MOMENTS if row.get(name) is not None}} for row in rows],
            ensure_ascii=False)
        return {key: message_id for message_id, key in session.execute(_INSERT_MANY_PG, {"rows": document})}
    statement = _insert_statement(dialect.name)
    result = session.execute(statement, list(rows)) if len(rows) > 1 else session.execute(statement, rows[0])
    return {key: message_id for message_id, key in result}


_MOMENTS = ("next_attempt_at", "lease_until", "created_at")
# the rows as one JSON document (json_to_recordset): the payload sealed as the column's type seals it; what the
# document leaves out is NULL, as an INSERT leaves it out
_INSERT_MANY_PG = text(
    "INSERT INTO outbox_message (key, team_id, kind, channel, payload, effect, status, attempts, next_attempt_at, "
    "lease_until, created_at, after_key) "
    "SELECT key, team_id, kind, channel, payload, effect, status, attempts, next_attempt_at, lease_until, "
    "created_at, after_key FROM json_to_recordset(CAST(:rows AS json)) AS m(key varchar, team_id varchar, "
    "kind varchar, channel varchar, payload json, effect json, status varchar, attempts integer, "
    "next_attempt_at timestamptz, lease_until timestamptz, created_at timestamptz, after_key varchar) "
    "ON CONFLICT (key) DO NOTHING RETURNING id, key")


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
