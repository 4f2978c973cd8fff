"""The App Home's figures (issue 13): my week (calls done, callbacks on time, CSAT) and, for supervisors, the
team's week. Light on purpose: the Home is published after every change of mine, so this reads only this week's
rows through the time-range indexes — no churn, no trends, no comparison (those are `/care stats`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.care import metrics as m
from bot.services.core import Services
from bot.services.insight_build import complaint_facts
from bot.services.insight_figures import settings_in
from bot.services.people import Actor
from bot.services.queue import Queue, queue_in
from storage import insight_queries as iq
from storage import queries
from storage.models import Team


@dataclass(frozen=True)
class WeekFigures:
    period: m.Period
    done: int  # calls logged this week
    csat: m.Csat
    nps: m.Nps
    callbacks: m.CallbackStats
    first_response_within_sla: float | None = None
    resolution_within_sla: float | None = None


@dataclass(frozen=True)
class Home:
    """What a person's App Home shows: their queue's first rows, their week, and the team's for supervisors."""

    queue: Queue
    mine: WeekFigures
    team: WeekFigures | None


def home_of(svc: Services, actor: Actor, rows: int) -> Home:
    """The person's Home (`rows` of their queue), read in one unit of work: it is built after every change of
    theirs (issue 13), so it starts one transaction, not two."""
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, actor.team_id)
        mine = week_figures_in(svc, session, team, actor.user_id, now)
        whole = week_figures_in(svc, session, team, None, now) if actor.is_supervisor else None
        return Home(queue=queue_in(svc, session, team, actor, now, limit=rows), mine=mine, team=whole)


def week_figures_in(svc: Services, session: Session, team: Team, staff_id: str | None,
                    now: dt.datetime) -> WeekFigures:
    """This local week so far: of one person (`staff_id`), or of the whole team (None, with complaint SLAs)."""
    period = m.Period.containing("week", now, team.timezone)
    as_of = period.as_of(now)
    settings = settings_in(session, team.id)
    calls = m.Tally()  # counted in the database; a call logged this very moment counts
    bounds = [period.start, as_of + dt.timedelta(microseconds=1)]
    for row in iq.call_tallies(session, team.id, bounds, settings.csat_satisfied_min, settings.nps_promoter_min,
                               settings.nps_detractor_max, staff_id=staff_id):
        calls += m.Tally(*(int(v or 0) for v in row[3:]))
    callbacks = [m.CallbackFact(owner, tier or "ordinary", due, status, closed) for owner, tier, due, status, closed
                 in iq.callbacks_due_between(session, team.id, period.start, period.end, owner_id=staff_id)]
    fr = res = None
    if staff_id is None:
        sla_rules = svc.sla_rules_for(team)
        complaints = complaint_facts(session, team.id, period.start, period.end, sla_rules)
        stats = m.complaint_stats(complaints, period, sla_rules.work_calendar(), as_of, settings, reopened=set())
        fr, res = stats.first_response.within_sla, stats.resolution.within_sla
    return WeekFigures(period=period, done=calls.calls, csat=calls.csat(), nps=calls.nps(settings.nps_min_answers),
                       callbacks=m.callback_stats(callbacks, period, as_of),
                       first_response_within_sla=fr, resolution_within_sla=res)
