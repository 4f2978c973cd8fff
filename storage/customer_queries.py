"""Customer lookups in bulk, for imports and exports: one query per batch of values, never one per row.

Exact matches on phone and email go through `customers_by_phones` / `customers_by_emails` only, so that
the way they match (today the stored E.164 and normalised address; with encryption at rest a keyed hash)
is decided here and nowhere else. Phones and emails are encrypted at rest (issue 9, storage/crypto.py): they are
matched by their keyed hashes (`phone_hash`, `email_hash`) under every configured key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Table, insert, select, text
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
    given = _ids_from_sequence(session, Customer.__table__, len(rows))
    if given:  # PostgreSQL: the ids are known before the COPY, no lookup after it
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, given, strict=True)]
    _bulk_insert(session, Customer.__table__, rows)
    for team_id in {row["team_id"] for row in rows}:
        names = {row["code"]: row.get("name") or "" for row in rows if row["team_id"] == team_id}
        ids = ({row["code"]: row["id"] for row in rows if row["team_id"] == team_id} if given
               else customer_ids_by_codes(session, team_id, names))
        tokens = [{"customer_id": ids[code], "team_id": team_id, "token": token}
                  for code, name in names.items() for token in name_tokens(team_id, name)]
        _bulk_insert(session, CustomerSearchToken.__table__, tokens)


def _bulk_insert(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Rows (dicts of column values, as the ORM would take them) into `table` at once. PostgreSQL: one COPY
    (an executemany there is one statement per row, ~20x slower for 100,000 customers); each value goes through
    its column type's bind processing first (sealing, JSON) and columns a row leaves out take their Python-side
    default. Elsewhere: Core executemany (not the ORM's bulk insert, which leaves out None values and so splits
    the rows into thousands of small batches, one per run of rows with the same empty cells)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = [column for column in table.columns if column.name in rows[0] or _python_default(column)]
    processors = [_copy_processor(column, connection.dialect) for column in columns]
    defaults = [_python_default(column) for column in columns]
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(column.name for column in columns)}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for column, process, default in zip(columns, processors, defaults, strict=True):
                value = row[column.name] if column.name in row else default()
                values.append(process(value) if process and value is not None else value)
            copy.write_row(values)


def _ids_from_sequence(session: Session, table: Table, count: int) -> list[int]:
    """`count` new ids from the table's id sequence (PostgreSQL), or [] elsewhere. Looking the rows up by code
    after a COPY is slow there: within the transaction the planner still believes the table empty."""
    if session.connection().dialect.name != "postgresql" or not count:
        return []
    return list(session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                     "FROM generate_series(1, :count)"), {"count": count}))


def _copy_processor(column, dialect) -> Callable[[Any], Any] | None:
    """What a value of `column` becomes for COPY: its type's bind processing; JSON as psycopg's Json."""
    if isinstance(column.type, JSON):
        from psycopg.types.json import Json

        return Json
    return column.type.bind_processor(dialect)


def _python_default(column) -> Callable[[], Any] | None:
    """The column's Python-side default as a function of nothing, or None."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False) and not getattr(default, "is_callable", False):
        return None
    if default.is_scalar:
        return lambda: default.arg
    return lambda: default.arg(None)


def customer_ids_by_codes(session: Session, team_id: str, codes: Collection[str]) -> dict[str, int]:
    """code -> id of the team's customers with these codes."""
    found: dict[str, int] = {}
    for chunk in _chunks(codes):
        found.update(session.execute(select(Customer.code, Customer.id).where(Customer.team_id == team_id,
                                                                              Customer.code.in_(chunk))).all())
    return found


def registered_staff(session: Session, user_ids: Collection[str]) -> dict[str, str]:
    """The registered staff among these Slack user ids, each with the team they are registered in (an import's
    owner must be of the importing team: a person of another team reads that team's book, not this one)."""
    known: dict[str, str] = {}
    for chunk in _chunks(user_ids):
        known.update(session.execute(select(Staff.user_id, Staff.team_id).where(Staff.user_id.in_(chunk))).all())
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
