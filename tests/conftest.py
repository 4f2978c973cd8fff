"""Test fixtures: a real database (SQLite file or CAREBOT_DATABASE_URL) migrated by Alembic, a manual
clock, the Slack Web API stand-in, and the bot served over loopback HTTP by waitress."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, delete, make_url, text
from waitress.server import create_server

from bot.app import build_app, wsgi_app
from bot.clock import ManualClock
from bot.health import Health
from bot.services.core import Services
from bot.services.people import Role, add_staff
from bot.settings import Settings
from messages.render import Renderer
from storage.db import Database, normalise_url
from storage.migrate import upgrade
from storage.models import Base
from tests.signed import SlackSender
from tests.slack_stand_in import SlackStandIn

# Properties are judged by what they check, never by how fast a loaded CI machine runs an example: no per-example
# deadline, no too-slow health check (speed is measured in bench/).
settings.register_profile("carebot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("carebot")

# The suite's databases are its own: a scratch database beside CAREBOT_DATABASE_URL when it names PostgreSQL,
# else SQLite files in temp dirs. A SQLite URL left in the shell (the README's export for the demo) is dropped
# here, so neither the suite nor the `carebot` processes it starts ever open that file.
if (os.environ.get("CAREBOT_DATABASE_URL") or "").startswith("sqlite"):
    del os.environ["CAREBOT_DATABASE_URL"]


def pytest_configure(config) -> None:
    url = os.environ.get("CAREBOT_DATABASE_URL")
    if url and not url.startswith("postgresql"):
        raise pytest.UsageError(f"CAREBOT_DATABASE_URL={url!r}: the suite runs on SQLite (leave it unset) or on "
                                "PostgreSQL (postgresql+psycopg://…, a database that exists on that server)")


# customer data is encrypted at rest (issue 9): the suite and its subprocesses share one throwaway key
os.environ.setdefault("CAREBOT_SECRET_KEY", "carebot-test-secret-key-not-for-production-use")
SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
# Tuesday 2026-11-24, 10:00 in Shanghai: a working day
DEFAULT_NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite in a temp dir, or a scratch database created beside CAREBOT_DATABASE_URL's PostgreSQL
    (so parallel runs never meet and real data is never touched). Either way Alembic builds the schema."""
    url = os.environ.get("CAREBOT_DATABASE_URL")
    if not url:
        sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'carebot-test.db'}"
        upgrade(sqlite_url)
        yield sqlite_url
        return
    with scratch_postgres_database(url) as scratch:
        upgrade(scratch)
        yield scratch


@contextmanager
def scratch_postgres_database(url: str) -> Iterator[str]:
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    name = f"carebot_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    with database.unit_of_work() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DEFAULT_NOW)


@pytest.fixture
def services(db, clock) -> Services:
    return Services(db=db, clock=clock, default_team="default")


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=BOT_TOKEN) as stand_in:
        yield stand_in


@dataclass
class RunningBot:
    url: str
    sender: SlackSender
    app: object
    services: Services
    slack: SlackStandIn
    health: Health | None = None

    @property
    def base(self) -> str:
        return self.url.rsplit("/slack/events", 1)[0]

    def responses(self, name: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        """What the bot posted to response_urls named `name`, once `count` have arrived (listeners run after ack)."""
        deadline = time.monotonic() + timeout
        while len(self.slack.responses(name)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} response(s) to {name!r}; Slack saw:\n"
                                     + self.slack.describe_calls())
            time.sleep(0.01)
        return self.slack.responses(name)

    def command(self, text: str, user_id: str, **kwargs):
        """A signed /care command with a fresh response_url and trigger_id."""
        return self.sender.command(text, user_id=user_id, response_url=self.slack.response_url("cmd"),
                                   trigger_id=self.slack.new_trigger_id(), **kwargs)


@pytest.fixture
def bot_settings() -> dict:
    """Settings of the `bot` fixture beyond its database and Slack (a module overrides this fixture)."""
    return {}


@pytest.fixture
def bot(services, renderer, slack, bot_settings) -> Iterator[RunningBot]:
    settings = Settings(database_url=services.db.url, slack_bot_token=BOT_TOKEN,
                        slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url, **bot_settings)
    app = build_app(settings, services, renderer)
    health = Health(services, expects_scheduler=False)
    server = create_server(wsgi_app(app, health), host="127.0.0.1", port=0, threads=4,
                           asyncore_loop_timeout=0.1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"
    yield RunningBot(url=url, sender=SlackSender(url, SIGNING_SECRET), app=app, services=services, slack=slack,
                     health=health)
    stop_waitress(server)
    thread.join(timeout=5)
    # listeners run after ack on Bolt's pool: let the last ones finish before the database is emptied
    app.listener_runner.listener_executor.shutdown(wait=True)


def stop_waitress(server) -> None:
    """Close waitress's sockets from inside its own loop (closing them from here races its select())."""
    def close_everything():
        for channel in list(server._map.values()):
            channel.close()

    # Wait for requests still in flight (a loaded machine can take seconds): a worker thread left running past
    # teardown writes into the next test's emptied database (on PostgreSQL the emptying then fails on a foreign key).
    server.task_dispatcher.shutdown(timeout=60)
    if server.task_dispatcher.threads:
        raise RuntimeError("waitress threads still running 60 s after the test")
    try:
        server.trigger.pull_trigger(close_everything)
    except OSError:  # the trigger's pipe is already gone (seen once in a full run: EBADF): close from here
        close_everything()


@pytest.fixture
def team(services):
    """The default team with a digest channel, an agent (English), a supervisor (Chinese) and an admin."""
    add_staff(services, "U0AGENT", Role.AGENT)
    add_staff(services, "U0AGENT2", Role.AGENT)
    add_staff(services, "U0SUPER", Role.SUPERVISOR)
    add_staff(services, "U0ADMIN", Role.ADMIN)
    from bot.services.teams import set_setting

    set_setting(services, "digest_channel", "C0DIGEST")
    return services
