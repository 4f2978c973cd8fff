"""What every `carebot` command needs before it acts: its database (a URL this installation can use, answering,
migrated, its keys set), the services on it for the team its --team names, and a CareError said in one line.
Split out of bot/cli.py so the command modules (bot/cli_*.py) take these from here, not from bot/cli.py which
imports them."""

from __future__ import annotations

import click

from bot.cli_params import with_named_team
from bot.cli_privacy import require_keys
from bot.clock import SystemClock
from bot.services.core import Services
from bot.services.errors import CareError
from bot.settings import Settings
from messages.render import translate
from storage.db import Database
from storage.migrate import MigrationFailed, upgrade, upgrade_in_child


def services(url: str | None = None) -> Services:
    """The services of a command, its database answering and migrated, the team its --team names there."""
    settings, url, db = database(url)
    upgrade(url)
    return with_named_team(Services(db=db, clock=SystemClock(), default_team=settings.default_team))


def served_services() -> tuple[Services, set[str]]:
    """`carebot serve`'s services, migrated in a child process (Alembic stays out of the long-running process),
    and the code's migration heads the child found (for /readyz)."""
    settings, url, db = database(None)
    try:
        heads = upgrade_in_child(url)
    except MigrationFailed as failed:
        raise click.ClickException(str(failed)) from None
    return Services(db=db, clock=SystemClock(), default_team=settings.default_team), heads


def database(url: str | None) -> tuple[Settings, str, Database]:
    settings = Settings.from_env()
    name = "--database-url" if url else "CAREBOT_DATABASE_URL"  # where the URL came from (the demo's option)
    url = url or settings.database_url
    usable_url(url, name)
    require_keys(url)  # issue 9: customer data is encrypted; no key, no start (the demo makes its own)
    db = Database(url)
    database_answers(db, name)
    return settings, url, db


def usable_url(url: str, name: str = "CAREBOT_DATABASE_URL") -> None:
    """One line and exit 1, before anything is made of it, when `url` names a database this installation cannot
    use: not a URL, a dialect SQLAlchemy does not know, a driver not installed, an asyncio driver."""
    from bot.settings import database_url_problem

    problem = database_url_problem(url)
    if problem is not None:
        raise click.ClickException(f"{name}: {problem}")


def fail(error: CareError) -> None:
    raise click.ClickException(str(translate("en", error.key, **error.params)))


def database_answers(db: Database, name: str = "CAREBOT_DATABASE_URL") -> None:
    """One clear line, not a traceback, when the database is not there (issue 8 §3): for `serve` and `socket`
    that Carebot did not start, for any other command that that command could not run."""
    from sqlalchemy import make_url

    problem = db.check()
    if problem is not None:
        db.dispose()
        where = make_url(db.url).render_as_string(hide_password=True)
        command = command_words()
        if command[:1] in (["serve"], ["socket"]):
            raise click.ClickException(f"cannot reach the database {where}: {problem}. Start it or fix "
                                       f"{name}; Carebot did not start.")
        raise click.ClickException(f"{' '.join(['carebot', *command])}: the database is unreachable: {where}: "
                                   f"{problem}. Start it or fix {name}.")


def command_words() -> list[str]:
    """The words of the command running after `carebot` (["digest"], ["staff", "list"]); [] outside one."""
    ctx, words = click.get_current_context(silent=True), []
    while ctx is not None and ctx.parent is not None:
        words.append(ctx.info_name or "")
        ctx = ctx.parent
    return words[::-1]
