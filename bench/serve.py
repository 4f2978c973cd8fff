"""One served app for the bench, in its own process (its own GIL, as in production): our bot or a bare Bolt
app, behind waitress with 8 threads like `carebot serve` (and its CAREBOT_WORKERS worker processes), at
a pinned clock.

    python -m bench.serve ours|bare|floor|first-start DATABASE_URL SLACK_API_URL SIGNING_SECRET

Prints `PORT <n>` once it listens. `floor` is bench/floor.py (the least a log-call submission must do).
`first-start` is our bot with its scheduler, as `carebot serve` starts it on the first morning of the day
(nightly plan, morning list and SLA sweep all due at once)."""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import replace

from waitress.server import create_server


def bare_app(secret: str, api_url: str):
    """What the bot is compared with: Bolt that acks and answers with a fixed text, nothing else."""
    from slack_bolt import App
    from slack_sdk import WebClient

    app = App(client=WebClient(token="xoxb-bench", base_url=api_url), signing_secret=secret)

    @app.command("/care")
    def care(ack, respond):
        ack()
        respond(text="ok", response_type="ephemeral")

    @app.view("log_call_modal")
    def submitted(ack):
        ack()

    return app


def main(argv: list[str]) -> None:
    kind, url, api_url, secret = argv
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is what a load test makes
    from bench.book import NOW
    from bot.app import build_app, freeze_startup_heap, wsgi_app
    from bot.clock import ManualClock

    scheduler = None
    if kind == "bare":
        app = bare_app(secret, api_url)
    elif kind == "floor":
        from bench.floor import floor_app

        app = floor_app(secret, api_url, url)
    else:
        from bot.services.core import Services
        from bot.settings import Settings
        from messages.render import Renderer
        from storage.db import Database

        settings = replace(Settings.from_env(), database_url=url, slack_bot_token="xoxb-bench",
                           slack_signing_secret=secret, slack_api_url=api_url)  # CAREBOT_WORKERS as served
        if kind == "first-start":  # as `carebot serve` starts: migrated (here: checked) in a child process
            from storage.migrate import upgrade_in_child

            upgrade_in_child(url)
        services, renderer = Services(db=Database(url), clock=ManualClock(NOW)), Renderer()
        app = build_app(settings, services, renderer, workers=settings.workers)  # as `carebot serve`
        if kind == "first-start":
            from bot.scheduler import build_scheduler

            scheduler = build_scheduler(services, renderer, app.client)
            scheduler.start()
    server = create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=8)
    freeze_startup_heap()  # as `carebot serve`
    print(f"PORT {server.effective_port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the bench's stop: the worker processes end in order
    try:
        server.run()
    finally:
        if scheduler is not None:  # first, as `carebot serve` stops (else it submits jobs to a stopped pool)
            scheduler.shutdown(wait=False)
        app.listener_runner.listener_executor.shutdown(wait=True)


if __name__ == "__main__":
    main(sys.argv[1:])
