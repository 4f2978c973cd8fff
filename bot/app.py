"""The app factory: a Bolt app wired to our services, and the WSGI server that serves it."""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import sys
from dataclasses import replace

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient

from bot.background import SWITCH_INTERVAL, ListenerPool
from bot.health import Health, ops_routes
from bot.observe import observed
from bot.offload import Offload
from bot.request_gate import signed_only
from bot.services.core import Services
from bot.settings import Settings
from bot.slack_client import build_client as new_client
from handlers import register_all
from handlers.deps import Deps
from messages.render import Renderer

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


class SlackNotReached(Exception):
    """Slack refused the token or could not be reached when the app was built (Bolt's auth.test): one line
    for the operator, not a traceback."""


def build_client(settings: Settings) -> WebClient:
    """Every Slack client comes from here (see bot/slack_client.py: retries, timeouts, metrics)."""
    return new_client(settings)


def build_app(settings: Settings, services: Services, renderer: Renderer | None = None,
              client: WebClient | None = None, workers: int = 0) -> App:
    """The Bolt app with every listener. `workers` > 0: the after-ack work (`/care`'s pages, App Home refreshes)
    runs in that many worker processes (bot/offload.py; `carebot serve` passes CAREBOT_WORKERS), started here;
    0: in this process."""
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise SystemExit("SLACK_SIGNING_SECRET is not set: Carebot refuses unsigned requests.")
    if not settings.slack_bot_token:
        raise SystemExit("SLACK_BOT_TOKEN is not set.")
    client = client or build_client(settings)
    renderer = renderer or Renderer()
    if workers > 0:  # `carebot serve`: built once, before the worker processes are forked (they share them)
        renderer.warm()
        warm_calendars(services)
        warm_statements(services)
    pool = ListenerPool(offload=_offload(settings, services, workers, renderer))
    # a thread waiting for the GIL (an ack's next step) gets it within 1 ms of asking, not 5: the after-ack work
    # of other requests (a page rendered) yields to it sooner
    sys.setswitchinterval(SWITCH_INTERVAL)
    # process_before_response: Bolt answers with what the listener returns, and handlers/errors.py's `guarded`
    # returns the moment ack() is called (no 10 ms polling), the listener going on in `pool` after the ack
    try:
        with _startup_quiet():  # slack_sdk logs each failed try of auth.test: the one line below says it all
            app = App(client=client, signing_secret=settings.slack_signing_secret or "unused",
                      process_before_response=True, listener_executor=pool)
    except BoltError as exc:  # auth.test answered with an error: the token is refused
        raise SlackNotReached(f"Slack refused SLACK_BOT_TOKEN ({_auth_error(exc)}): check the bot token "
                              "(xoxb-…) of the installed app; Carebot did not start.") from None
    except OSError as exc:  # DNS, refused connection, timeout (urllib's errors are OSErrors)
        raise SlackNotReached(f"cannot reach Slack at {client.base_url} ({_reason(exc)}): check the network or "
                              "SLACK_API_URL; Carebot did not start.") from None
    register_all(app, Deps(services=services, renderer=renderer, pool=pool))
    if pool.offload is not None:
        pool.offload.start()
    return app


def warm_calendars(services: Services) -> None:
    """Every team's holiday table for this year and the next (bot/care/calendar.py `holiday_table`), so neither
    the first sweep nor the first page of a worker fills it (~0.1 s a year)."""
    from bot.care.calendar import warm_holidays
    from storage import queries

    with services.db.unit_of_work() as session:
        calendars = [services.calendar_for(team) for team in queries.all_teams(session)]
    for calendar in calendars:
        if calendar.holiday_country:
            warm_holidays(calendar.holiday_country, calendar.local_date(services.clock.now()))


def warm_statements(services: Services) -> None:
    """The SLA sweep's statements compiled before its first catch-up (bot/services/sla_sweep.warm_statements).
    A database that refuses now (busy, away) costs only that: the first catch-up compiles them, as before."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.services.sla_sweep import warm_statements as warm_sweep

    try:
        warm_sweep(services)
    except SQLAlchemyError as exc:
        log.warning("could not run the SLA sweep's statements ahead (%s): its first catch-up compiles them",
                    str(exc).splitlines()[0])


def _offload(settings: Settings, services: Services, workers: int, renderer: Renderer) -> Offload | None:
    if workers <= 0:
        return None
    from storage import crypto

    return Offload(replace(settings, database_url=services.db.url), workers, services.clock,
                   keyring=crypto.keyring(), renderer=renderer)


@contextlib.contextmanager
def _startup_quiet():
    logger = logging.getLogger("slack_sdk.web.base_client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _auth_error(exc: BoltError) -> str:
    found = re.search(r"'error': '([a-z_]+)'", str(exc))
    return found.group(1) if found else str(exc).splitlines()[0][:200]


def _reason(exc: OSError) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}".splitlines()[0][:200]


def freeze_startup_heap() -> None:
    """Call once the process is built, before it serves: the ~120,000 objects made at start (modules, templates,
    the engine, Bolt) leave the garbage collector's sight (`gc.freeze`), so a full collection, which stops every
    thread of the process, scans only what was made since: well under 1 ms instead of 20-80 ms, one request in a
    few hundred (a `/care` ack's p99)."""
    gc.collect()
    gc.freeze()


def wsgi_app(app: App, health: Health | None = None):
    """The WSGI callable: Bolt at /slack/events (each request counted, timed and given a request id),
    the operator routes (/healthz, /readyz, /metrics: bot/health.py)."""
    bolt = observed(signed_only(SlackRequestHandler(app, path=EVENTS_PATH), app, EVENTS_PATH))  # 401 before Bolt
    operator = ops_routes(health)

    def application(environ, start_response):
        answer = operator(environ, start_response)
        if answer is not None:
            return answer
        return bolt(environ, start_response)

    return application
