"""The app factory: a Bolt app wired to our services, and the WSGI server that serves it."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.services.core import Services
from bot.settings import Settings
from handlers import register_all
from handlers.deps import Deps
from messages.render import Renderer

EVENTS_PATH = "/slack/events"


def build_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2), ConnectionErrorRetryHandler()],
    )


def build_app(settings: Settings, services: Services, renderer: Renderer | None = None,
              client: WebClient | None = None) -> App:
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise SystemExit("SLACK_SIGNING_SECRET is not set: Carebot refuses unsigned requests.")
    if not settings.slack_bot_token:
        raise SystemExit("SLACK_BOT_TOKEN is not set.")
    app = App(client=client or build_client(settings), signing_secret=settings.slack_signing_secret or "unused")
    register_all(app, Deps(services=services, renderer=renderer or Renderer()))
    return app


def wsgi_app(app: App):
    """The WSGI callable: Bolt at /slack/events, a health check at /healthz."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return bolt(environ, start_response)

    return application
