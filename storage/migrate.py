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


def upgrade_in_child(url: str) -> set[str]:
    """`upgrade(url)` in a child process running this process's code (its import path, not the working
    directory's: `python -P`); returns the code's heads (what /readyz compares the database with).
    MigrationFailed with one line saying why when it fails. No time limit, as `carebot db upgrade` has none:
    a migration waiting for another replica's lock waits."""
    path = os.pathsep.join(entry or os.getcwd() for entry in sys.path)
    done = subprocess.run([sys.executable, "-P", "-m", "storage.migrate"], capture_output=True, text=True,
                          env={**os.environ, _URL_VAR: url, "PYTHONPATH": path})
    said = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == 0 and said:
        try:
            return set(json.loads(said[-1]))
        except ValueError:
            pass
    if done.returncode < 0:
        why = f"the migration process was killed by signal {-done.returncode}"
    else:
        errors = [line.strip() for line in done.stderr.splitlines() if line.strip().startswith(_SAID)]
        why = errors[-1][len(_SAID):] if errors else f"the migration process ended with {done.returncode} " \
            f"and said nothing we understand"
    raise MigrationFailed(f"the database migration failed: {why} (`carebot -v db upgrade` shows where)")


_SAID = "carebot-migration-failed: "


def failure_line(exc: BaseException) -> str:
    """A failed migration in one line: a database error in the database's own words (not SQLAlchemy's wrapper
    with its SQL and link), else the exception's first line."""
    reason = getattr(exc, "orig", None) or exc
    first = (str(reason).strip().splitlines() or [""])[0][:300]
    return f"{type(reason).__name__}: {first}"


def _child() -> int:
    url = os.environ[_URL_VAR]
    try:
        upgrade(url)
        heads = code_heads(url)
    except Exception as exc:  # noqa: BLE001 - one line for the parent; the whole of it with `carebot -v db upgrade`
        print(f"{_SAID}{failure_line(exc)}", file=sys.stderr)
        return 1
    print(json.dumps(sorted(heads)))
    return 0


if __name__ == "__main__":  # the child of upgrade_in_child
    sys.exit(_child())
