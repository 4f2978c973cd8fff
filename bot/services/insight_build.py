"""Building a report (issue 13): a team's numbers for a period and the one before, by agent and by tier, the
8-week trends and churn risk — or one agent's numbers only (/care stats).

The database does the counting where the rows are many: calls come back as a Tally per person, tier and
stretch of time (one range of the team/time index: every period and trend week is a sum of stretches), churn
risk as a count per owner and tier (bot.services.insight_churn). What is read row by row is small: the window's
callbacks and complaints (their SLA clocks need the work calendar; each clock is judged once per moment and
shared by the team, the agent and the tier). Building only reads; posting is someone else's (reports.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.care import metrics as m
from bot.services.core import Services
from bot.services.insight_churn import churn_by_owner_and_tier
from bot.services.insight_figures import TICKET_KINDS, TREND_WEEKS, Comparison, Figures, Insight, settings_in
from storage import insight_queries as iq
from storage import queries

_TICK = dt.timedelta(microseconds=1)


def _cut(period: m.Period, at: dt.datetime) -> dt.datetime:
    """Calls of `period` judged at `at` are those before this: up to `at` itself, within the period."""
    return min(at + _TICK, period.end)


class _Calls:
    """The window's call tallies, summed per scope and period."""

    def __init__(self, rows, bounds: list[dt.datetime]):
        self.bounds = bounds
        self.cells: list[tuple[str, str, int, m.Tally]] = [
            (staff, tier or "ordinary", bucket, m.Tally(*(int(v or 0) for v in counts)))
            for staff, tier, bucket, *counts in rows]

    def tally(self, period: m.Period, at: dt.datetime, keep: Callable[[str, str], bool] | None = None,
              until: dt.datetime | None = None) -> m.Tally:
        start, end = period.start, min(_cut(period, at), until or period.end)
        out = m.Tally()
        for staff, tier, bucket, counts in self.cells:
            if self.bounds[bucket] >= start and self.bounds[bucket + 1] <= end and (keep is None or keep(staff, tier)):
                out += counts
        return out

    def staff(self) -> set[str]:
        return {c[0] for c in self.cells}

    def tiers(self) -> set[str]:
        return {c[1] for c in self.cells}


def build_insight(svc: Services, team_id: str | None = None, period: m.Period | None = None,
                  kind: str = "week", now: dt.datetime | None = None, agent: str | None = None) -> Insight:
    """The team's numbers for `period` (default: the `kind` period containing now, in the team's timezone)
    against the period before, judged as of now (or the period's end when it is over). With `agent`, only that
    person's numbers (their calls, callbacks, complaints and customers): what /care stats shows an agent."""
    now = now or svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        period = period or m.Period.containing(kind, now, team.timezone)
        if period.timezone != team.timezone:
            period = m.Period(period.kind, period.first, team.timezone)
        sla_rules, care_rules = svc.sla_rules_for(team), svc.care_rules_for(team)
        calendar = sla_rules.work_calendar()
        settings = settings_in(session, team.id)
        weeks = m.Period.week_of(period.last, team.timezone).back(TREND_WEEKS)
        previous = period.previous()
        as_of, previous_as_of = period.as_of(now), previous.as_of(now)
        spans = [(period, as_of), (previous, previous_as_of), *[(w, w.as_of(now)) for w in weeks]]
        # nothing after the period counts, not even in its last trend week (a month ending mid-week)
        bounds = sorted({p.start for p, _ in spans} | {min(_cut(p, at), period.end) for p, at in spans})
        window_start = bounds[0]
        lookback = window_start - dt.timedelta(days=max(settings.reopen_days, settings.repeat_days,
                                                        care_rules.segments.spike_window_days))
        calls = _Calls(iq.call_tallies(session, team.id, bounds, settings.csat_satisfied_min,
                                       settings.nps_promoter_min, settings.nps_detractor_max, staff_id=agent), bounds)
        callbacks = [m.CallbackFact(owner, tier or "ordinary", due, status, closed) for owner, tier, due, status, closed
                     in iq.callbacks_due_between(session, team.id, window_start, period.end, owner_id=agent)]
        complaints = complaint_facts(session, team.id, lookback, period.end, sla_rules)
        tickets = [(c.customer_id, c.opened_at) for c in complaints if c.kind in TICKET_KINDS]
        churn = churn_by_owner_and_tier(session, team.id, (as_of, previous_as_of), care_rules, window_start,
                                        tickets, owner_id=agent)
        names = iq.staff_names(session, team.id)
        team_name, locale, timezone = team.name or team.id, team.locale, team.timezone

    reopened = m.reopened_ids(complaints, settings.reopen_days)  # over every owner's: a reopen may cross owners
    if agent is not None:
        complaints = [c for c in complaints if c.owner_id == agent]
    judged: dict = {}

    def figures(p: m.Period, at: dt.datetime, churn_risk: int, keep, callbacks_of, complaints_of,
                with_repeat=False) -> Figures:
        counted = calls.tally(p, at, keep)
        return Figures(
            csat=counted.csat(), nps=counted.nps(settings.nps_min_answers),
            callbacks=m.callback_stats(callbacks_of, p, at),
            complaints=m.complaint_stats(complaints_of, p, calendar, at, settings, reopened=reopened, judged=judged),
            repeat=m.repeat_contacts(tickets, p, at, settings) if with_repeat else None,
            churn_risk=churn_risk)

    def compare(keep, callbacks_of, complaints_of, churn_risk: tuple[int, int], with_repeat=False) -> Comparison:
        return Comparison(figures(period, as_of, churn_risk[0], keep, callbacks_of, complaints_of, with_repeat),
                          figures(previous, previous_as_of, churn_risk[1], keep, callbacks_of, complaints_of,
                                  with_repeat))

    def churn_of(pick: Callable[[str, str], bool]) -> tuple[int, int]:
        numbers = [n for (owner, tier), n in churn.items() if pick(owner, tier)]
        return sum(n[0] for n in numbers), sum(n[1] for n in numbers)

    callbacks_by_agent = m.group_by(callbacks, lambda c: c.owner_id)
    complaints_by_agent = m.group_by(complaints, lambda c: c.owner_id)
    churn_owners = {owner for owner, _ in churn}
    if agent is not None:
        agents = [agent]
    else:
        agents = sorted((calls.staff() | callbacks_by_agent.keys() | complaints_by_agent.keys() | churn_owners
                         | set(names)) - {"-"})
    by_agent = {a: compare(lambda staff, _t, a=a: staff == a, callbacks_by_agent.get(a, []),
                           complaints_by_agent.get(a, []), churn_of(lambda owner, _t, a=a: owner == a))
                for a in agents}
    by_tier: dict[str, Comparison] = {}
    if agent is None:
        callbacks_by_tier = m.group_by(callbacks, lambda c: c.tier)
        complaints_by_tier = m.group_by(complaints, lambda c: c.tier)
        tiers = sorted(calls.tiers() | callbacks_by_tier.keys() | complaints_by_tier.keys()
                       | {tier for _, tier in churn})
        by_tier = {t: compare(lambda _s, tier, t=t: tier == t, callbacks_by_tier.get(t, []),
                              complaints_by_tier.get(t, []), churn_of(lambda _o, tier, t=t: tier == t))
                   for t in tiers}
        whole = compare(None, callbacks, complaints, churn_of(lambda _o, _t: True), with_repeat=True)
    else:
        whole = by_agent[agent]
    csat_trend = [(w.label, calls.tally(w, w.as_of(now), until=period.end).csat()) for w in weeks]
    sla_trend = []
    for w in weeks:
        stats = m.complaint_stats(complaints, w, calendar, w.as_of(now), settings, reopened=reopened, judged=judged)
        sla_trend.append((w.label, stats.first_response.within_sla, stats.resolution.within_sla))
    return Insight(team_id=team.id, team_name=team_name, locale=locale, timezone=timezone, period=period,
                   as_of=as_of, settings=settings, team=whole, by_agent=by_agent, by_tier=by_tier,
                   names=names, csat_trend=csat_trend, sla_trend=sla_trend,
                   callbacks_by_agent={a: c.current.callbacks for a, c in by_agent.items()}, agent=agent)


def complaint_facts(session, team_id: str, since: dt.datetime, end: dt.datetime, sla_rules) -> list[m.ComplaintFact]:
    """Complaints opened before `end` and opened or resolved since `since`, with their pauses and SLA targets."""
    rows = iq.complaints_touching(session, team_id, since, end)
    pauses = iq.pauses_of_complaints(session, [r[0] for r in rows])
    targets: dict[tuple, tuple] = {}
    out = []
    for cid, customer, owner, tier, kind, severity, category, opened, first, resolved, withdrawn in rows:
        key = (kind, severity, tier)
        if key not in targets:
            targets[key] = (_target(sla_rules, kind, severity, tier, "first_response"),
                            _target(sla_rules, kind, severity, tier, "resolution"))
        out.append(m.ComplaintFact(
            id=cid, customer_id=customer, owner_id=owner, tier=tier or "ordinary", kind=kind, severity=severity,
            category=category, opened_at=opened, first_response_at=first, resolved_at=resolved,
            pauses=tuple(pauses.get(cid, ())), first_response_target=targets[key][0],
            resolution_target=targets[key][1], withdrawn_at=withdrawn))
    return out


def _target(rules, kind: str, severity: str, tier: str | None, clock: str):
    try:
        return rules.target_for(kind, severity, tier or "ordinary", clock)
    except ValueError:  # a kind/severity/tier the rules do not know: no target to judge against
        return None
