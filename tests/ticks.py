"""Drive the real scheduler's jobs on a ManualClock: every job `build_scheduler` registers, run in order at
each tick, as APScheduler would run them once a minute (without its threads, so a simulated fortnight is
fast). A job that fails fails the test (the scheduler itself would only log it)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from slack_sdk import WebClient

from bot.scheduler import build_scheduler
from bot.services.core import Services
from messages.render import Renderer


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Ticks:
    def __init__(self, services: Services, renderer: Renderer, client: WebClient):
        self.services = services
        self.jobs = build_scheduler(services, renderer, client).get_jobs()
        assert {job.id for job in self.jobs} >= {"morning_list", "sla_sweep", "nightly_plan"}

    def at(self, moment: dt.datetime) -> None:
        """Set the clock to `moment` and run every scheduled job once."""
        self.services.clock.set(moment)
        errors = _Errors()
        logger = logging.getLogger("bot.scheduler")
        logger.addHandler(errors)
        try:
            for job in self.jobs:
                job.func(*job.args, **job.kwargs)
        finally:
            logger.removeHandler(errors)
        if errors.records:
            raise AssertionError(f"a scheduled job failed at {moment}: {errors.records[0].getMessage()}") \
                from errors.records[0].exc_info[1] if errors.records[0].exc_info else None

    def every(self, start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> Iterator[dt.datetime]:
        """Tick from `start` to `end` (inclusive) every `step`, yielding each moment after its tick."""
        moment = start
        while moment <= end:
            self.at(moment)
            yield moment
            moment += step
