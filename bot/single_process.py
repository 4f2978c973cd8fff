"""SQLite runs one `carebot serve` (or `socket`) per database file: a second one is refused.

Two processes on one SQLite file would each run the scheduler and share the file's single writer; the
claims would still hold, but nothing else is designed or tested for it. Replicas run on PostgreSQL.
The lock is an OS file lock beside the database (`<file>.serve-lock`): the kernel drops it when the
process ends, however it ends (SIGKILL included), so a restart is never blocked by a dead process."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import make_url


class AlreadyServing(Exception):
    pass


_held: list = []  # the lock files this process holds (a forked worker closes its copies: `forget_inherited`)


def forget_inherited() -> None:
    """In a process forked from the one holding the lock (bot/offload.py's workers): close the copies of its lock
    files, so the lock lives exactly as long as the serving process (the lock is the serving process's handle's)."""
    while _held:
        _held.pop().close()


def lock_path(database_url: str) -> Path | None:
    """Where the lock for this database lives; None when the database is not a SQLite file."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().with_name(Path(url.database).name + ".serve-lock")


def hold_serve_lock(database_url: str):
    """Take the one-process lock of a SQLite database and keep it for the life of the process.

    Returns the open lock file (keep a reference) or None for other databases.
    Raises AlreadyServing with the message to show when another process holds it."""
    path = lock_path(database_url)
    if path is None:
        return None
    handle = open(path, "a+")  # noqa: SIM115 - held open until the process exits
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyServing(
            f"Another Carebot ({holder}) is already serving the SQLite database {path.with_suffix('')}. "
            "SQLite runs one Carebot process; to run several replicas, put them on PostgreSQL: "
            "CAREBOT_DATABASE_URL=postgresql://USER@HOST/DB carebot db upgrade, then start each replica "
            "with that URL.") from None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    _held.append(handle)
    return handle
