"""The app factory: a Bolt app wired to our services, and the WSGI server that serves it."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.health import Health, ops_routes
from bot.observe import observed
from bot.request_gate import signed_only
from bot.services.core import Services
from bot.settings import Settings
from bot.slack_client import build_client as new_client
from handlers import register_all
from handlers.deps import Deps
from messages.render import Renderer

EVENTS_PATH = "/slack/events"


def build_client(settings: Settings) -> WebClient:
    """Every Slack client comes from here (see bot/slack_client.py: retries, timeouts, metrics)."""
    return new_client(settings)


def build_app(settings: Settings, services: Services, renderer: Renderer | None = None,
              client: WebClient | None = None) -> App:
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise SystemExit("SLACK_SIGNING_SECRET is not set: Carebot refuses unsigned requests.")
    if not settings.slack_bot_token:
        raise SystemExit("SLACK_BOT_TOKEN is not set.")
    app = App(client=client or build_client(settings), signing_secret=settings.slack_signing_secret or "unused")
    register_all(app, Deps(services=services, renderer=renderer or Renderer()))
    return app


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
