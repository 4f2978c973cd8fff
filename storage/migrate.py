"""Alembic, driven from code so that `carebot db upgrade` works from any directory.

Alembic (with Mako and the migration scripts, ~11 MB) is imported only when a migration runs or the code's
heads are read. `carebot serve` migrates in a child process (`upgrade_in_child`), so the long-running serving
process and the worker processes forked from it never hold them (issue 14's memory goal)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from storage.db import normalise_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_URL_VAR = "CAREBOT_MIGRATE_URL"  # the child's database URL: in its environment, not in `ps` output


class MigrationFailed(RuntimeError):
    """The migration child process failed; the message ends with its error."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def code_heads(url: str) -> set[str]:
    """The head revision(s) of the code's migrations."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def upgrade_in_child(url: str, timeout: float = 600) -> set[str]:
    """`upgrade(url)` in a child process; returns the code's heads (what /readyz compares the database with).
    MigrationFailed with the child's last line of error output (the exception) when it fails."""
    try:
        done = subprocess.run([sys.executable, "-m", "storage.migrate"], env={**os.environ, _URL_VAR: url},
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MigrationFailed(f"the database migration did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.strip().splitlines() if line.strip()]
        raise MigrationFailed(f"the database migration failed: {lines[-1] if lines else '(no output)'} "
                              "(`carebot db upgrade` shows it whole)")
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":  # the child of upgrade_in_child
    _url = os.environ[_URL_VAR]
    upgrade(_url)
    print(json.dumps(sorted(code_heads(_url))))
