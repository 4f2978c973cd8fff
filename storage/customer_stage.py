"""A big import's new customers, staged outside the book so that SQLite's one write lock is held for a moment.

SQLite lets one writer at a time: an import that sealed, hashed, name-indexed and inserted 100,000 customers
inside its transaction held the lock for 12-30 s, and every write of the bot (a logged call, the SLA sweep)
waited or failed meanwhile. So on SQLite the new customers are first written, a batch at a time, to a private
SQLite file with the book's own tables (the same column types: values sealed, phones and emails hashed, names
indexed — no personal data in clear in it either), attached to the book's connection, and copied into the book
in the import's one transaction by INSERT ... SELECT inside SQLite (~1-2 s for 100,000 customers and their
name index, where the import had held the lock for 12-30 s). PostgreSQL takes the rows directly
(customer_queries.insert_customers), holding the team's book against form saves meanwhile
(storage/book_locks.hold_book_from_saves; reads, logged calls and the sweep go on).

The file lives in the system's temporary directory and is deleted when the stage closes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from storage.customer_queries import insert_customers
from storage.db import Database
from storage.models import Customer
from storage.privacy_models import CustomerSearchToken

STAGE = "carebot_stage"  # the stage's name in the book's connection (ATTACH)
# for the copy, on the import's own connection only (restored after): a bigger page cache for the index
# inserts, and no foreign-key lookup per row — the rows are consistent by construction (the team exists, owners
# were checked against registered staff, each name-index row points at a customer copied with the same offset);
# together ~3x faster, and that time is the time SQLite's write lock is held
_COPY_SETTINGS = {"foreign_keys": 0, "cache_size": -16384}  # 16 MiB of page cache


class CustomerStage:
    """New customers staged in a private SQLite file: `add()` batches of column dicts (as
    insert_customers takes them), then `copy_into(session)` inside the book's transaction. Use as a context
    manager; the file is removed on exit."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="carebot-import-"))
        self._path = self._dir / "stage.db"
        self._engine = create_engine(f"sqlite:///{self._path}")
        with self._engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=OFF")  # a scratch file: nothing to recover
            for table in (Customer.__table__, CustomerSearchToken.__table__):
                connection.execute(CreateTable(table))  # the table alone: the book's indexes are not needed here
        self.count = 0

    def __enter__(self) -> CustomerStage:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._engine.dispose()
        shutil.rmtree(self._dir, ignore_errors=True)

    def add(self, values: Sequence[dict]) -> None:
        """Stage a batch of new customers (sealed, hashed and name-indexed on the way in)."""
        with Session(self._engine) as session, session.begin():
            insert_customers(session, values)
        self.count += len(values)

    @contextmanager
    def book_session(self, db: Database) -> Iterator[Session]:
        """A unit of work on the book with the stage attached (SQLite attaches outside a transaction only):
        commits on success, rolls back on error, detaches either way."""
        with db.engine.connect() as connection:
            settings = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in _COPY_SETTINGS}
            # the book's schema as it is now: a connection opened before another process created the tables
            # (`carebot import` on a new database migrates in a child process) still knows the empty schema, and
            # with the stage attached an unqualified `customer` then named the stage's table — the import read its
            # own staged rows as the book's, and saved nothing (exit 0)
            connection.exec_driver_sql("SELECT count(*) FROM main.sqlite_master").scalar()
            connection.exec_driver_sql(f"ATTACH DATABASE ? AS {STAGE}", (str(self._path),))
            for name, value in _COPY_SETTINGS.items():
                connection.exec_driver_sql(f"PRAGMA {name}={value}")
            connection.commit()
            try:
                with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                    yield session
            finally:
                connection.rollback()
                connection.exec_driver_sql(f"DETACH DATABASE {STAGE}")
                for name, value in settings.items():
                    connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")
                connection.commit()

    def copy_into(self, session: Session) -> None:
        """Copy the staged customers and their name index into the book (INSERT ... SELECT, inside SQLite),
        in `session`'s transaction (from book_session), with ids after the book's highest. Call it after the
        transaction has written, so that SQLite's write lock is held and no other writer takes those ids."""
        if not self.count:
            return
        offset = session.scalar(select(func.coalesce(func.max(Customer.id), 0)))
        for table, id_column in ((Customer.__table__, "id"), (CustomerSearchToken.__table__, "customer_id")):
            columns = [column.name for column in table.columns]
            chosen = [f"{name} + :offset" if name == id_column else name for name in columns]
            session.execute(text(f"INSERT INTO main.{table.name} ({', '.join(columns)}) "
                                 f"SELECT {', '.join(chosen)} FROM {STAGE}.{table.name}"), {"offset": offset})
