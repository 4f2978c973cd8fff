"""The weekly and monthly reports in `supervisor_channel`: which teams are due now, and posting each at most
once per team per period.

Weekly: on Monday, from the team's `digest_time` on, the week that ended on Sunday. Monthly: on the first working
day of the month (the team calendar), from `digest_time` on, the month before. Each is claimed first by a row
UNIQUE per team × kind × period (across restarts and replicas), in the same unit of work that puts the report in
the outbox as keyed steps (its text, then its charts): the outbox delivers them with retries, a chart that fails
is uploaded again later without the text posted twice, and nothing is lost if the process dies.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.care.calendar import is_past_clock_time
from bot.care.metrics import Period
from bot.services import outbox
from bot.services.core import Services
from bot.services.insight import Insight, build_insight
from storage import insight_queries as iq
from storage import queries

log = logging.getLogger(__name__)


@dataclass
class ReportRun:
    posted: list[tuple[str, str, str]] = field(default_factory=list)  # team, period label, ts (once delivered)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, reason
    queued: list[tuple[str, str, int | None]] = field(default_factory=list)  # team, period label, text's outbox id


@dataclass(frozen=True)
class Step:
    """One keyed step of a report in the outbox: `name` makes its key, `after` the step it waits for."""

    name: str
    kind: str  # report_text | report_charts
    payload: dict
    after: str | None = None


def report_key(team_id: str, period: Period, step: str) -> str:
    return f"report:{team_id}:{period.kind}:{period.label}:{step}"


def due_periods(today: dt.date, first_working_day_of_week: dt.date, first_working_day_of_month: dt.date,
                timezone: str) -> list[Period]:
    """The periods whose report is due on `today` (local): last week on the week's first working day (Monday,
    or the first day after it the team works: never on a day off, care-domain §5's calendar), last month on the
    month's first working day. Pure."""
    due = []
    if today == first_working_day_of_week:
        due.append(Period.week_of(today, timezone).previous())
    if today == first_working_day_of_month:
        due.append(Period.month_of(today, timezone).previous())
    return due


def run_reports(svc: Services, compose: Callable[[Insight], list[Step]], *, team_id: str | None = None,
                ignore_time: bool = False, only: Period | None = None) -> ReportRun:
    """Queue each due report's steps (`compose(insight)`: its text, its charts) in the outbox with its claim.
    Safe to call every minute, twice, or from several replicas. `only` queues that period's report now (the
    claim still holds)."""
    now = svc.clock.now()
    run = ReportRun()
    with svc.db.unit_of_work() as session:
        teams = queries.teams_to_run(session, team_id)
    for team in teams:
        if not team.supervisor_channel:
            run.skipped.append((team.id, "no supervisor_channel configured"))
            continue
        calendar = svc.calendar_for(team)
        local = calendar.local(now)
        if only is not None:
            periods = [Period(only.kind, only.first, team.timezone)]
        else:
            if not ignore_time and not is_past_clock_time(local, team.digest_time):
                run.skipped.append((team.id, f"before {team.digest_time}"))
                continue
            today = local.date()
            monday = today - dt.timedelta(days=today.weekday())
            periods = due_periods(today, calendar.on_or_after_working_day(monday),
                                  calendar.on_or_after_working_day(today.replace(day=1)), team.timezone)
        for period in periods:
            _post_once(svc, run, compose, team.id, team.supervisor_channel, period, now)
    return run


def _post_once(svc: Services, run: ReportRun, compose: Callable[[Insight], list[Step]], team_id: str, channel: str,
               period: Period, now: dt.datetime) -> None:
    with svc.db.unit_of_work() as session:
        if iq.report_claimed(session, team_id, period.kind, period.label):  # a cheap look first
            run.skipped.append((team_id, f"{period.label} already posted"))
            return
    try:
        steps = compose(build_insight(svc, team_id, period=period, now=now))  # drawn before claiming: an error
    except Exception as exc:  # in the numbers or the charts claims nothing, the next tick tries again
        log.exception("the %s report of %s could not be drawn; the next tick tries again", period.label, team_id)
        run.skipped.append((team_id, f"drawing failed: {exc}"))
        return
    with svc.db.unit_of_work() as session:
        if not iq.claim_report(session, team_id, period.kind, period.label, channel, now):
            run.skipped.append((team_id, f"{period.label} already posted"))
            return
        text_id = None
        for step in steps:
            effect = {"report": {"team": team_id, "kind": period.kind, "period": period.label}} \
                if step.kind == "report_text" else None
            message_id = outbox.enqueue(
                session, key=report_key(team_id, period, step.name), team_id=team_id, kind=step.kind, channel=channel,
                payload=step.payload, effect=effect,
                after_key=report_key(team_id, period, step.after) if step.after else None)
            if step.kind == "report_text":
                text_id = message_id
    run.queued.append((team_id, period.label, text_id))
