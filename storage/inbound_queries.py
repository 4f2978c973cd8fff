"""Claims of the one effect of a request from Slack (storage/inbound_models.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.inbound_models import Delivery

_UPSERT = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def claim_delivery(session: Session, key: str, kind: str, user_id: str | None, now: dt.datetime) -> bool:
    """Insert the key; False when another delivery has it (committed, or committing: PostgreSQL waits for it).
    One `INSERT … ON CONFLICT DO NOTHING` (SQLite and PostgreSQL): no savepoint on the request path."""
    dialect = session.get_bind().dialect.name
    if dialect not in _UPSERT:
        try:
            with session.begin_nested():
                session.add(Delivery(key=key, kind=kind, user_id=user_id, result={}, created_at=now))
        except IntegrityError:
            return False
        return True
    claimed = session.connection().execute(_claim_statement(dialect), {
        "d_key": key, "d_kind": kind, "d_user": user_id, "d_at": now}).scalar()
    return claimed is not None


_CLAIMS: dict[str, Any] = {}


def _claim_statement(dialect: str) -> Any:
    """The claim's INSERT of this dialect, built once, on the table (the request path: issue 14; no ORM object
    comes of it)."""
    statement = _CLAIMS.get(dialect)
    if statement is None:
        table = Delivery.__table__
        statement = _CLAIMS[dialect] = _UPSERT[dialect](table).values(
            key=bindparam("d_key"), kind=bindparam("d_kind"), user_id=bindparam("d_user"), result={},
            created_at=bindparam("d_at", type_=table.c.created_at.type),
        ).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
    return statement


def delivery_result(session: Session, key: str) -> dict[str, Any] | None:
    return session.scalars(select(Delivery.result).where(Delivery.key == key)).first()


def delivery_state(session: Session, key: str) -> tuple[bool, dict[str, Any] | None]:
    """(whether a delivery took `key`, the result it kept)."""
    row = session.execute(select(Delivery.id, Delivery.result).where(Delivery.key == key)).first()
    return (row is not None, row.result if row is not None else None)


def record_delivery_result(session: Session, key: str, result: dict[str, Any]) -> None:
    """Keep what the delivery claimed as `key` answered (one UPDATE; the key was claimed in this transaction)."""
    done = session.connection().execute(_RECORD_RESULT, {"d_key": key, "d_result": result}).rowcount
    if done != 1:
        raise LookupError(f"no delivery claimed as {key!r}")


_DELIVERIES = Delivery.__table__
_RECORD_RESULT = update(_DELIVERIES).where(_DELIVERIES.c.key == bindparam("d_key")) \
    .values(result=bindparam("d_result", type_=_DELIVERIES.c.result.type))
