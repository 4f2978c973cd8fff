"""Engine and units of work. SQLite by default (WAL, foreign keys on); any SQLAlchemy URL works."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 30000  # how long a unit of work waits for SQLite's write lock (an import may hold it)
# a request from Slack must be answered within 3 s: its units of work wait at most this long for a lock
_LOCK_WAIT: ContextVar[float | None] = ContextVar("carebot_lock_wait", default=None)


@contextmanager
def waiting_at_most(seconds: float) -> Iterator[None]:
    """Units of work begun inside wait at most `seconds` for a lock (SQLite's write lock, a PostgreSQL row
    lock) and then fail with OperationalError, instead of SQLite's 30 s. For the request path."""
    token = _LOCK_WAIT.set(seconds)
    try:
        yield
    finally:
        _LOCK_WAIT.reset(token)


def lock_wait() -> float:
    """Seconds a unit of work begun now may wait for a lock: the request's (waiting_at_most), else SQLite's."""
    wait = _LOCK_WAIT.get()
    return wait if wait is not None else BUSY_TIMEOUT_MS / 1000


def busy(why: str) -> OperationalError:
    """The error a lock held past the wait raises ("database is locked (why)"): told to the person as busy."""
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"database is locked ({why})"))


def limit_lock_wait(session: Session, seconds: float) -> None:
    """The rest of `session`'s transaction waits at most `seconds` for a lock (SQLite's busy timeout, set back
    when its connection goes back to the pool; PostgreSQL's lock_timeout, until the transaction ends)."""
    millis = max(1, int(seconds * 1000))
    dialect = session.connection().dialect.name
    if dialect == "sqlite":
        session.connection().info[_SHORT_WAIT] = True  # set back when the connection is checked in
        session.execute(text(f"PRAGMA busy_timeout={millis}"))
    elif dialect == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {millis}"))


def normalise_url(url: str) -> str:
    # Bare postgresql:// URLs would pick psycopg2; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # last in, first out: the connection just used is the next one given, so a quiet process keeps one or two
        # warm connections and the others (opened at a burst) keep their page and statement caches small. First
        # in, first out turned every pooled connection over and filled each one's caches (2 MB of pages, up to 128
        # prepared statements): the first start of the day on the full book peaked at 150 MB, now ~133 MB
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                               pool_use_lifo=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _sqlite_default_wait)
        return engine
    # a server that does not answer fails the connection in 5 s rather than the OS's minutes; no JIT: the bot's
    # queries are short, and compiling the report's few big ones cost more (~0.2 s each) than it saved
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5, "options": "-c jit=off"})


_SHORT_WAIT = "carebot.short_wait"  # a connection's info: a unit of work shortened its busy timeout


def _sqlite_default_wait(dbapi_connection, record) -> None:
    """A connection back in the pool waits the default time again when a unit of work shortened it (only then:
    a statement less for every other unit of work)."""
    if dbapi_connection is not None and record.info.pop(_SHORT_WAIT, False):
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


_engines: weakref.WeakSet = weakref.WeakSet()  # every engine of this process (`forget_inherited_connections`)


def forget_inherited_connections() -> None:
    """In a forked child (bot/offload.py's workers): drop the pooled connections of the parent's engines without
    closing them (SQLAlchemy's advice for fork: `dispose(close=False)`), so the child neither uses nor ends a
    connection the parent still has; the child opens its own."""
    for engine in list(_engines):
        engine.dispose(close=False)


class Database:
    """One engine and its session factory; `unit_of_work()` commits on success, rolls back on error."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        _engines.add(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = threading.Lock()  # this process's `write=True` units of work on SQLite, one at a time

    @contextmanager
    def unit_of_work(self, write: bool = False) -> Iterator[Session]:
        """`write=True` (a save that reads first, then writes: a logged call): on SQLite the transaction takes
        the write lock as it begins (BEGIN IMMEDIATE), after this process's other such saves, which queue here
        in order. Without it, a transaction that read first fails at once with "database is locked" when another
        one committed meanwhile (SQLite cannot upgrade a stale read), however long the busy timeout."""
        wait = _LOCK_WAIT.get()
        serial = write and self.url.startswith("sqlite")
        if serial and not self._writer.acquire(timeout=lock_wait()):
            raise busy("this process's other saves")
        try:
            with self._sessions() as session, session.begin():
                if wait is not None:
                    limit_lock_wait(session, wait)
                if serial:
                    session.execute(text("BEGIN IMMEDIATE"))
                yield session
        finally:
            if serial:
                self._writer.release()

    @contextmanager
    def rehearsal(self) -> Iterator[Session]:
        """A unit of work that is always rolled back: nothing it writes is kept, whatever happens inside. For
        running statements once so that the engine has them compiled (`carebot serve`'s start-up warm-up). Its
        waits for a lock are bounded as a unit of work's are (`waiting_at_most`)."""
        wait = _LOCK_WAIT.get()
        with self._sessions() as session:
            try:
                if wait is not None:
                    limit_lock_wait(session, wait)
                yield session
            finally:
                session.rollback()

    def check(self) -> str | None:
        """None when the database answers; else one line saying why not (for `carebot serve`)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - whatever the driver says, said on one line
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            return reason[0] if reason else type(exc).__name__
        return None

    def dispose(self) -> None:
        self.engine.dispose()
