"""The nightly care plan job: every tick, each team whose local time has passed its `plan_time` is planned
once that day (bot/services/planning.py claims the run), so the morning list shows what the plan created.
Afterwards the App Home of each person whose queue the plan changed is refreshed (issue 13) — only those,
at most HOME_LIMIT a run, HOME_BATCH at a time; one Home that fails does not stop the others."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.services.core import Services
from bot.services.planning import NightlyRun, run_nightly_plans
from handlers.deps import Deps
from handlers.home import refresh_homes
from messages.render import Renderer

log = logging.getLogger(__name__)
HOME_LIMIT = 500  # Homes refreshed after one night's plan; the rest refresh when their tab is opened
HOME_BATCH = 50  # views.publish is Slack's tier 4 (100+/min); the client also waits out a 429's Retry-After
HOME_PAUSE_SECONDS = 1.0


def run_nightly_plan_job(services: Services, renderer: Renderer | None = None, client: WebClient | None = None,
                         team_id: str | None = None, ignore_time: bool = False, home_pause: float = HOME_PAUSE_SECONDS,
                         **_: object) -> NightlyRun:
    run = run_nightly_plans(services, team_id=team_id, ignore_time=ignore_time)
    for team, created in run.planned:
        log.info("nightly care plan for %s: %d callback(s) created", team, created)
    if renderer is not None and client is not None:
        changed = sorted({user for owners in run.changed_owners.values() for user in owners})
        if changed:
            published, over = refresh_homes(Deps(services, renderer), client, changed, limit=HOME_LIMIT,
                                            batch=HOME_BATCH, pause=home_pause)
            log.info("nightly care plan: %d App Home(s) refreshed, %d left to their next opening", published, over)
    return run
