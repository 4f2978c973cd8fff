"""A seeded book kept between bench runs (`python -m bench --keep DIR`): seeding the full book takes minutes.

The first run with `--keep DIR` seeds as usual, then keeps a pristine copy: on SQLite the file
`DIR/book-<size>.sqlite` (SQLite's online backup, so the WAL is folded in), on PostgreSQL a database
`carebot_bench_book_<size>` beside the URL's; `DIR/book-<size>-<database>.json` holds what the measures need to
know of the book (its agents and who has what due). Later runs start each measure's database as a copy of that
(a file copy; `CREATE DATABASE … TEMPLATE`), then apply any newer migration: every run still starts from the same
untouched rows (the first start plans callbacks and posts the list, so a used book is never reused). Delete the
files (and `DROP DATABASE carebot_bench_book_<size>`) to seed again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench.book import Book, Size

PG_PREFIX = "carebot_bench_book_"


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _manifest(keep: Path, size: Size, dialect: str) -> Path:
    return keep / f"book-{size.name}-{dialect}.json"


def _admin(url: str):
    server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    return create_engine(server, isolation_level="AUTOCOMMIT")


def _pg_exists(admin, name: str) -> bool:
    with admin.connect() as connection:
        return bool(connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar())


def restore(url: str, size: Size, keep: Path) -> Book | None:
    """Fill the empty database at `url` with the kept book of `size`: its Book, or None when none is kept."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    manifest = _manifest(keep, size, dialect)
    if not manifest.exists():
        return None
    if dialect == "sqlite":
        kept = keep / f"book-{size.name}.sqlite"
        if not kept.exists():
            return None
        _copy_sqlite(kept, _sqlite_path(url))
    else:
        admin, name = _admin(url), make_url(url).database
        try:
            if not _pg_exists(admin, PG_PREFIX + size.name):
                return None
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{PG_PREFIX}{size.name}"'))
        finally:
            admin.dispose()
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return Book(size, data["agents"], data["supervisors"],
                {agent: [tuple(pair) for pair in pairs] for agent, pairs in data["due"].items()})


def store(url: str, book: Book, keep: Path) -> None:
    """Keep a copy of the freshly seeded database at `url` (no connection of ours may be open on PostgreSQL)."""
    keep.mkdir(parents=True, exist_ok=True)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    if dialect == "sqlite":
        _copy_sqlite(_sqlite_path(url), keep / f"book-{book.size.name}.sqlite")
    else:
        admin, name = _admin(url), PG_PREFIX + book.size.name
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
        finally:
            admin.dispose()
    _manifest(keep, book.size, dialect).write_text(json.dumps(
        {"size": book.size.name, "agents": book.agents, "supervisors": book.supervisors, "due": book.due_callbacks}),
        encoding="utf-8")


def _copy_sqlite(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst, pages=65536)
    src.close()
    dst.close()
