"""A Carebot worker as its own process, for the tests that SIGKILL it: runs one job (the morning lists or
an SLA sweep) at a pinned time, then delivers the outbox. Prints "done" when everything was handled.

    python -m tests.outbox_process DATABASE_URL SLACK_API_URL ISO_TIME morning|sweep LEASE_SECONDS
"""

from __future__ import annotations

import datetime as dt
import sys

from bot.clock import ManualClock
from bot.services.core import Services
from bot.services.outbox import Policy
from bot.settings import Settings
from bot.slack_client import build_client
from handlers.jobs import post_morning_lists
from handlers.outbox_jobs import deliver_outbox
from handlers.sla_jobs import run_sla_sweep
from messages.render import Renderer
from storage.db import Database

BOT_TOKEN = "xoxb-test-token"


def main(url: str, api_url: str, at: str, job: str, lease: str) -> None:
    services = Services(db=Database(url), clock=ManualClock(dt.datetime.fromisoformat(at)),
                        outbox_policy=Policy(lease=dt.timedelta(seconds=float(lease)), backoff=dt.timedelta(0)))
    client = build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=api_url, slack_timeout=5))
    renderer = Renderer()
    if job == "morning":
        post_morning_lists(services, renderer, client)
    else:
        run_sla_sweep(services, renderer, client)
    deliver_outbox(services, renderer, client, budget_seconds=30)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
