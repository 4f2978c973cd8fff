"""The `carebot` command."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import click

from bot.cli_params import DAY, PORT, refuse_repeated_options
from bot.cli_privacy import attach as _attach_privacy
from bot.cli_privacy import demo_keys
from bot.cli_services import command_words as _command_words  # noqa: F401 - bot.cli_* and tests read them here
from bot.cli_services import database_answers as _database_answers
from bot.cli_services import fail as _fail
from bot.cli_services import served_services as _served_services
from bot.cli_services import services as _services
from bot.cli_services import usable_url as _usable_url
from bot.services.core import Services
from bot.services.errors import CareError
from bot.settings import Settings
from messages.render import Renderer
from storage.db import Database
from storage.migrate import failure_line, upgrade

DEMO_DATABASE_URL = "sqlite:///carebot-demo.db"


class _CareGroup(click.Group):
    """Data sealed under a key this process does not have is one line saying which key to set, not a traceback."""

    def invoke(self, ctx: click.Context):
        from storage.crypto import KeyProblem

        try:
            return super().invoke(ctx)
        except KeyProblem as problem:
            raise click.ClickException(str(problem)) from None


@click.group(cls=_CareGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log what the bot does.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object a line (ts, level, logger, message, request_id).")
def main(verbose: bool, log_format: str) -> None:
    """Carebot: callbacks due, call logs and complaint SLAs for customer-care teams, in Slack."""
    from bot.logs import configure

    configure(logging.INFO if verbose else logging.WARNING, log_format)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Loopback by default: put a reverse proxy (HTTPS) in front; 0.0.0.0 listens "
                   "on every interface, /metrics included (it has no login).")
@click.option("--port", default=3000, show_default=True, type=PORT)
def serve(host: str, port: int) -> None:
    """Serve Slack's HTTP requests at /slack/events (signatures verified) and run the scheduler.
    SIGTERM stops it in order: no new requests, in-flight ones and the current job finished, exit 0."""
    from bot.app import freeze_startup_heap, wsgi_app
    from bot.health import Health
    from bot.scheduler import build_scheduler
    from bot.shutdown import serve_until_stopped

    logging.getLogger().setLevel(logging.INFO)
    settings = Settings.from_env()
    _lock = _one_sqlite_process(settings)  # noqa: F841 - held for the life of the process
    (services, heads), renderer = _served_services(), Renderer()
    app = _built_app(settings, services, renderer, workers=settings.workers)
    health = Health(services, heads=heads)
    scheduler = build_scheduler(services, renderer, app.client, health=health)
    click.echo(f"Carebot listening on http://{host}:{port}/slack/events")
    freeze_startup_heap()
    serve_until_stopped(wsgi_app(app, health), host=host, port=port, threads=8, scheduler=scheduler,
                        bolt_app=app, health=health)


def _built_app(settings: Settings, services: Services, renderer: Renderer, workers: int = 0):
    """The Bolt app; one clear line and exit 1 when Slack refuses the token or cannot be reached."""
    from bot.app import SlackNotReached, build_app

    try:
        return build_app(settings, services, renderer, workers=workers)
    except SlackNotReached as problem:
        services.db.dispose()
        raise click.ClickException(str(problem)) from None


def _one_sqlite_process(settings: Settings):
    from bot.single_process import AlreadyServing, hold_serve_lock

    _usable_url(settings.database_url)
    try:
        return hold_serve_lock(settings.database_url)
    except AlreadyServing as refused:
        raise click.ClickException(str(refused)) from None


@main.command()
def socket() -> None:
    """Connect over Socket Mode (needs SLACK_APP_TOKEN) and run the scheduler."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.scheduler import build_scheduler

    settings = Settings.from_env()
    if not settings.slack_app_token:
        raise click.ClickException("SLACK_APP_TOKEN is not set (an xapp- token with connections:write).")
    _lock = _one_sqlite_process(settings)  # noqa: F841 - held for the life of the process
    services, renderer = _services(), Renderer()
    app = _built_app(settings, services, renderer)
    build_scheduler(services, renderer, app.client).start()
    SocketModeHandler(app, settings.slack_app_token).start()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the exact Block Kit payload instead.")
@click.option("--database-url", default=DEMO_DATABASE_URL, show_default=True,
              help="Where the demo data goes; it is replaced on every run.")
@click.option("--today", type=DAY, default=None,
              help="Lay the demo out as of this local date (default: today). On a day off the demo shows the "
                   "next working morning's list.")
@click.option("--language", type=click.Choice(["zh-CN", "en"]), default=None,
              help="The demo team's language (default zh-CN): the list is printed in it.")
def demo(as_json: bool, database_url: str, today, language: str | None) -> None:
    """Load demo data into a fresh database and print the morning list of today (or the next working day)."""
    from bot.clock import ManualClock
    from bot.demo import DEMO_TEAM, demo_morning, load_demo, staff_names
    from bot.plaintext import blocks_to_text
    from bot.services.queue import morning_list
    from handlers.jobs import render_morning_list
    from storage import queries

    _usable_url(database_url, "--database-url")
    _start_afresh(database_url)
    key = demo_keys()
    key_file = _demo_key_file(database_url)
    if key:
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        click.echo(f"(no CAREBOT_SECRET_KEY set: the demo encrypts {database_url} with a key of its own, kept in "
                   f"{key_file}; `export CAREBOT_SECRET_KEY=$(cat {key_file})` to use it with serve or digest)",
                   err=True)
    else:  # made afresh under the key set: an earlier demo's key file opens nothing now — unless it is that key
        if key_file.exists() and key_file.read_text().strip() != Settings.from_env().secret_key:
            key_file.unlink()
        click.echo(f"(the demo encrypts {database_url} with the CAREBOT_SECRET_KEY set; keep it set for serve or "
                   "digest)", err=True)
    wall = _services(database_url)
    with wall.db.unit_of_work() as session:
        team = queries.ensure_team(session, DEMO_TEAM)
        calendar = wall.calendar_for(team)
        digest_time = dt.time.fromisoformat(team.digest_time)
    now = wall.clock.now()
    morning = demo_morning(calendar, now, digest_time, today)
    services = Services(db=wall.db, clock=ManualClock(morning), default_team=wall.default_team)
    load_demo(services)
    with services.db.unit_of_work() as session:
        team = queries.ensure_team(session, DEMO_TEAM)
        if language:
            team.locale = language
    digest = morning_list(services, team, morning, services.calendar_for(team))
    message = render_morning_list(Renderer(), digest)
    shown_day = calendar.local_date(morning)
    if (today or calendar.local_date(now)) != shown_day:
        click.echo(f"(a day off for the team: this is the morning list of the next working day, {shown_day})",
                   err=True)
    if as_json:
        click.echo(json.dumps({"channel": digest.channel, **message.as_kwargs()}, ensure_ascii=False, indent=2))
    else:
        click.echo(blocks_to_text(message.blocks, staff_names(services)))
        click.echo(f"(demo data in {database_url}; `--json` prints the Block Kit payload)", err=True)


def _demo_key_file(database_url: str) -> Path:
    """Where the demo keeps the key it made: beside its SQLite file (`carebot-demo.db` → `carebot-demo.key`),
    else in the current directory named after the database (`carebot-demo-<name>.key`): a demo on another
    database never replaces the key of the SQLite demo's file."""
    from sqlalchemy import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).with_suffix(".key")
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in (url.database or url.get_backend_name()))
    return Path(f"carebot-demo-{name}.key")


def _start_afresh(database_url: str) -> None:
    """The demo database is rebuilt on every run: a SQLite file is removed, another database emptied."""
    from sqlalchemy import make_url

    from storage.migrate import downgrade

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    else:
        upgrade(database_url)
        downgrade(database_url, "base")


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the list instead of posting it.")
@click.option("--team", default=None, help="Team id (default: CAREBOT_TEAM or 'default').")
def digest(dry_run: bool, team: str | None) -> None:
    """Post today's morning list now (at most once per channel per day)."""
    from bot.plaintext import blocks_to_text
    from bot.services.queue import morning_list
    from handlers.jobs import post_morning_lists, render_morning_list
    from storage import queries

    settings = Settings.from_env()
    services, renderer = _services(), Renderer()
    team_id = team or settings.default_team
    if dry_run:
        with services.db.unit_of_work() as session:
            row = queries.ensure_team(session, team_id)
            names = {s.user_id: s.display_name or s.user_id for s in queries.staff_of_team(session, team_id)}
        now, calendar = services.clock.now(), services.calendar_for(row)
        # Built before anything is printed: when it cannot be built (a wrong key), the one error line stands alone.
        text = blocks_to_text(render_morning_list(renderer, morning_list(services, row, now, calendar)).blocks, names)
        if not calendar.is_working_day(calendar.local_date(now)):
            click.echo(f"(today, {calendar.local_date(now)}, is a day off for team {team_id}: the scheduler posts no "
                       "morning list today; this is what it would say)", err=True)
        click.echo(text)
        return
    from bot.app import build_client

    if not settings.slack_bot_token:
        raise click.ClickException("SLACK_BOT_TOKEN is not set; use --dry-run to print the list.")
    run = post_morning_lists(services, renderer, build_client(settings), team_id=team_id, ignore_time=True)
    for team_name, channel, ts in run.posted:
        click.echo(f"posted the morning list of {team_name} in {channel} (ts {ts})")
    for team_name, reason in run.skipped:
        click.echo(f"not posted for {team_name}: {reason}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (SQLite or PostgreSQL, from CAREBOT_DATABASE_URL)."""
    url = Settings.from_env().database_url
    _usable_url(url)
    database = Database(url)
    _database_answers(database)
    database.dispose()
    try:
        upgrade(url)
    except Exception as exc:  # noqa: BLE001 - one line; with -v the whole of it in the log
        logging.getLogger(__name__).info("the migration failed", exc_info=True)
        raise click.ClickException(f"the database migration failed: {failure_line(exc)}"
                                   + ("" if logging.getLogger().isEnabledFor(logging.INFO)
                                      else " (`carebot -v db upgrade` shows where)")) from None
    click.echo(f"database at head: {url.split('@')[-1]}")


@main.group()
def staff() -> None:
    """Who may use Carebot."""


@staff.command("add")
@click.argument("user_id")
@click.option("--role", type=click.Choice(["agent", "supervisor", "admin"]), required=True)
@click.option("--team", default=None)
@click.option("--name", default="", help="Display name (for terminal output).")
@click.option("--move", is_flag=True, help="Move a person registered in another team into this one.")
def staff_add(user_id: str, role: str, team: str | None, name: str, move: bool) -> None:
    """Register a Slack user (U…) with a role. A person registered in another team stays there unless --move."""
    from bot.services.people import Role, add_staff, parse_user_id, work_left_in_old_team

    try:
        services, person = _services(), parse_user_id(user_id)
        left = work_left_in_old_team(services, person, team) if move else None
        created = add_staff(services, person, Role(role), team_id=team, display_name=name, move=move)
    except CareError as error:
        _fail(error)
    click.echo(f"{'added' if created else 'updated'} {user_id} as {role}")
    if left is not None and any(left[1:]):
        old, customers, callbacks, complaints = left
        click.echo(f"moved from team {old}, where {user_id} still owns {customers} customer(s), {callbacks} open "
                   f"callback(s) and {complaints} unresolved complaint(s): they stay in {old}'s book, where its "
                   "supervisors reassign them (the person no longer sees them)", err=True)


@staff.command("list")
@click.option("--team", default=None)
def staff_list_command(team: str | None) -> None:
    """Print who is registered: user id, role, name."""
    from bot.services.people import staff_list

    people = staff_list(_services(), team_id=team)
    if not people:
        click.echo("nobody is registered yet: carebot staff add U… --role agent|supervisor|admin")
        return
    for person in people:
        click.echo(f"{person.user_id:12} {person.role:11} {person.display_name}".rstrip())


@main.group()
def config() -> None:
    """Team settings."""


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--team", default=None)
def config_set(key: str, value: str, team: str | None) -> None:
    """Set one setting: digest_channel, supervisor_channel, supervisor_group, timezone, digest_time, plan_time,
    locale."""
    from bot.services.teams import set_setting

    try:
        clean = set_setting(_services(), key, value, team_id=team)
    except CareError as error:
        _fail(error)
    click.echo(f"{key} = {clean}")


@config.command("show")
@click.option("--team", default=None)
def config_show(team: str | None) -> None:
    """Print the team's settings."""
    from bot.services.teams import show_settings

    for key, value in show_settings(_services(), team_id=team).items():
        click.echo(f"{key:20} {value if value is not None else '(not set)'}")


@main.group("import")
def import_() -> None:
    """Bring a team's existing data in."""


from bot.cli_complaints import attach as _attach_complaints  # noqa: E402  (issue 4)

_attach_complaints(main, import_)  # `carebot import complaints`, `carebot escalation manager`
from bot.cli_plan import attach as _attach_plan  # noqa: E402  (issue 3)

_attach_plan(main)  # `carebot rules show|check|set`, `carebot plan`
from bot.cli_report import attach as _attach_report  # noqa: E402  (issue 13)

_attach_report(main)  # `carebot report --week|--month --out DIR`, `carebot report settings`
from bot.cli_data import attach as _attach_data  # noqa: E402  (issue 9)

_attach_data(main, import_)  # `carebot import customers`, `carebot export`
_attach_privacy(main)  # issue 9: `carebot keys generate|status|rotate`, `carebot audit`, `carebot customer erase`
from bot.cli_outbox import attach as _attach_outbox  # noqa: E402  (issue 12)

_attach_outbox(main)  # `carebot outbox`, `carebot outbox retry ID`
refuse_repeated_options(main)  # every command attached: `--given --withdrawn`, `--week A --week B` are refused

if __name__ == "__main__":  # `python -m bot.cli`: every command attached first (`outbox` was missing)
    main()
