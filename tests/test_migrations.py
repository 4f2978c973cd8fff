"""The Alembic migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from storage.models import Base
from tests.conftest import scratch_postgres_database


def schema_differences(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return diff


def round_trip(url: str) -> None:
    upgrade(url)
    assert schema_differences(url) == []
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    assert schema_differences(url) == []


def test_migrations_match_the_models_and_round_trip(tmp_path):
    url = os.environ.get("CAREBOT_DATABASE_URL")
    if url:
        with scratch_postgres_database(url) as scratch:
            round_trip(scratch)
    else:
        round_trip(f"sqlite:///{tmp_path / 'migrations.db'}")


def test_the_migration_child_runs_this_code_whatever_the_working_directory_holds(tmp_path, monkeypatch):
    """`carebot serve` migrates in a child process (storage.migrate.upgrade_in_child): the child imports the code
    the server runs, never a `storage` package that happens to sit in the working directory."""
    from storage.migrate import code_heads, upgrade_in_child

    shadow = tmp_path / "storage"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("")
    (shadow / "migrate.py").write_text("import sys\nprint('carebot-migration-failed: SHADOW', file=sys.stderr)\n"
                                       "sys.exit(3)\n")
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'child.db'}"
    assert upgrade_in_child(url) == code_heads(url)
    assert schema_differences(url) == []


def test_db_upgrade_says_in_one_line_why_it_cannot_migrate(tmp_path):
    """`carebot db upgrade` on a database it cannot bring to head: one line naming the problem, no traceback;
    with -v the whole of it is logged."""
    import subprocess
    import sys

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    upgrade(url)
    with create_engine(url, poolclass=NullPool).begin() as connection:  # as a newer Carebot leaves it
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0002'"))
    env = {**os.environ, "CAREBOT_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, capture_output=True,
                          text=True, timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "the database migration failed" in lines[0] and "f00dfeed0002" in lines[0], lines
    assert "carebot -v db upgrade" in lines[0]
    verbose = subprocess.run([sys.executable, "-m", "bot.cli", "-v", "db", "upgrade"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr and "f00dfeed0002" in verbose.stderr
