"""The nightly care plan job: every tick, each team whose local time has passed its `plan_time` is planned
once that day (bot/services/planning.py claims the run), so the morning list shows what the plan created."""

from __future__ import annotations

import logging

from bot.services.core import Services
from bot.services.planning import NightlyRun, run_nightly_plans

log = logging.getLogger(__name__)


def run_nightly_plan_job(services: Services, team_id: str | None = None, ignore_time: bool = False,
                         **_: object) -> NightlyRun:
    run = run_nightly_plans(services, team_id=team_id, ignore_time=ignore_time)
    for team, created in run.planned:
        log.info("nightly care plan for %s: %d callback(s) created", team, created)
    return run
