"""The weekly and monthly reports in `supervisor_channel`: which teams are due now, and posting each at most
once per team per period.

Weekly: on Monday, from the team's `digest_time` on, the week that ended on Sunday. Monthly: on the first working
day of the month (the team calendar), from `digest_time` on, the month before. Each is claimed first by a row
UNIQUE per team × kind × period (across restarts and replicas); a failed post releases the claim so the next
tick retries it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.care.calendar import is_past_clock_time
from bot.care.metrics import Period
from bot.services.core import Services
from bot.services.insight import Insight, build_insight
from storage import insight_queries as iq
from storage import queries

log = logging.getLogger(__name__)


@dataclass
class ReportRun:
    posted: list[tuple[str, str, str]] = field(default_factory=list)  # team, period label, ts
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, reason


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


def run_reports(svc: Services, publish: Callable[[Insight, str], str], *, team_id: str | None = None,
                ignore_time: bool = False, only: Period | None = None) -> ReportRun:
    """Post each due report via `publish(insight, channel)` (returns the message ts). Safe to call every minute,
    twice, or from several replicas. `only` posts that period's report now (the claim still holds)."""
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
            _post_once(svc, run, publish, team.id, team.supervisor_channel, period, now)
    return run


def _post_once(svc: Services, run: ReportRun, publish: Callable[[Insight, str], str], team_id: str, channel: str,
               period: Period, now: dt.datetime) -> None:
    with svc.db.unit_of_work() as session:
        if iq.report_claimed(session, team_id, period.kind, period.label):  # a cheap look first
            run.skipped.append((team_id, f"{period.label} already posted"))
            return
        claimed = iq.claim_report(session, team_id, period.kind, period.label, channel, now)
    if not claimed:
        run.skipped.append((team_id, f"{period.label} already posted"))
        return
    try:
        insight = build_insight(svc, team_id, period=period, now=now)
        ts = publish(insight, channel)
    except Exception as exc:
        log.exception("the %s report of %s failed; releasing the claim so it is retried", period.label, team_id)
        with svc.db.unit_of_work() as session:
            iq.release_report_claim(session, team_id, period.kind, period.label)
        run.skipped.append((team_id, f"posting failed: {exc}"))
        return
    with svc.db.unit_of_work() as session:
        iq.record_report_ts(session, team_id, period.kind, period.label, ts)
    run.posted.append((team_id, period.label, ts))
