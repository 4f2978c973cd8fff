"""Insight (issue 13): a team's numbers for a period and the one before, by agent and by tier.

Reads the period's facts in a few range queries (storage.insight_queries), turns them into plain facts and
hands them to the pure metrics (bot.care.metrics). Formulas: bot/care/metrics.py and the README, "Insight".
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.care import metrics as m
from bot.care.segments import Activity, CustomerFacts, activity_of, add_months
from bot.services.core import Services
from bot.services.errors import CareError
from storage import insight_queries as iq
from storage import queries

TREND_WEEKS = 8
TICKET_KINDS = frozenset({"complaint", "inquiry"})  # what counts as a customer contacting us (care-domain §3)


# --- settings -------------------------------------------------------------------------------------------


def metric_settings(svc: Services, team_id: str | None = None) -> m.MetricSettings:
    with svc.db.unit_of_work() as session:
        return _settings(session, team_id or svc.default_team)


def _settings(session, team_id: str) -> m.MetricSettings:
    row = iq.team_insight(session, team_id)
    if row is None:
        return m.MetricSettings()
    return m.MetricSettings(nps_min_answers=row.nps_min_answers, reopen_days=row.reopen_days,
                            repeat_days=row.repeat_days)


def set_metric_setting(svc: Services, key: str, value: str, team_id: str | None = None) -> m.MetricSettings:
    """`carebot report settings set KEY VALUE`: a whole number ≥ 1 for one of MetricSettings' fields."""
    names = tuple(m.MetricSettings.__dataclass_fields__)
    if key not in names:
        raise CareError("insight.errors.bad_setting", setting=key, keys=", ".join(names))
    if not value.strip().isdigit() or not 1 <= int(value) <= 10_000:
        raise CareError("insight.errors.bad_number", setting=key, value=value)
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        current = _settings(session, team.id)
        updated = m.MetricSettings(**{**current.__dict__, key: int(value)})
        iq.save_team_insight(session, team.id, updated.nps_min_answers, updated.reopen_days, updated.repeat_days)
    return updated


def period_in_team_timezone(svc: Services, text: str, team_id: str | None = None) -> m.Period:
    """"2026-W48" or "2026-11" as the team's local week or month; ValueError otherwise."""
    with svc.db.unit_of_work() as session:
        timezone = queries.ensure_team(session, team_id or svc.default_team).timezone
    return m.Period.parse(text, timezone)


# --- figures --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Every number of one scope (the team, an agent, a tier) over one period."""

    csat: m.Csat
    nps: m.Nps
    callbacks: m.CallbackStats
    complaints: m.ComplaintStats
    repeat: m.RepeatStats | None
    churn_risk: int | None

    def numbers(self) -> dict[str, float | int | None]:
        """Flat, for the CSV: name -> value."""
        c, fr, res = self.complaints, self.complaints.first_response, self.complaints.resolution
        out: dict[str, float | int | None] = {
            "csat_mean": self.csat.mean, "csat_satisfied_pct": self.csat.satisfied_share, "csat_n": self.csat.n,
            "nps": self.nps.score, "nps_n": self.nps.n, "nps_promoters": self.nps.promoters,
            "nps_passives": self.nps.passives, "nps_detractors": self.nps.detractors,
            "nps_enough_answers": int(self.nps.enough),
            "callbacks_planned": self.callbacks.planned, "callbacks_on_time": self.callbacks.on_time,
            "callbacks_late": self.callbacks.late, "callbacks_missed": self.callbacks.missed,
            "callbacks_pending": self.callbacks.pending, "callbacks_on_time_pct": self.callbacks.on_time_rate,
            "complaints_opened": c.opened, "complaints_resolved": c.resolved,
            "resolution_rate_pct": c.resolution_rate, "complaints_reopened": c.reopened,
            "first_response_within_sla_pct": fr.within_sla, "first_response_met": fr.met,
            "first_response_breached": fr.breached, "first_response_median_h": fr.median_hours,
            "first_response_p90_h": fr.p90_hours,
            "resolution_within_sla_pct": res.within_sla, "resolution_met": res.met,
            "resolution_breached": res.breached, "resolution_median_h": res.median_hours,
            "resolution_p90_h": res.p90_hours,
        }
        for name, counts in (("kind", c.by_kind), ("severity", c.by_severity), ("category", c.by_category)):
            for value, count in sorted(counts.items()):
                out[f"complaints_{name}_{value}"] = count
        if self.repeat is not None:
            out.update(repeat_contacted=self.repeat.contacted, repeat_repeated=self.repeat.repeated,
                       repeat_contact_pct=self.repeat.rate)
        if self.churn_risk is not None:
            out["churn_risk"] = self.churn_risk
        return out


HEADLINE = (  # key, unit, how to read it from Figures (value, n)
    ("csat_mean", "mean", lambda f: (f.csat.mean, f.csat.n)),
    ("csat_satisfied_pct", "%", lambda f: (f.csat.satisfied_share, f.csat.n)),
    ("nps", "score", lambda f: (f.nps.score if f.nps.enough else None, f.nps.n)),
    ("callbacks_on_time_pct", "%", lambda f: (f.callbacks.on_time_rate, f.callbacks.planned - f.callbacks.pending)),
    ("first_response_within_sla_pct", "%", lambda f: (f.complaints.first_response.within_sla,
                                                      f.complaints.first_response.met
                                                      + f.complaints.first_response.breached)),
    ("resolution_within_sla_pct", "%", lambda f: (f.complaints.resolution.within_sla,
                                                  f.complaints.resolution.met + f.complaints.resolution.breached)),
    ("resolution_rate_pct", "%", lambda f: (f.complaints.resolution_rate, f.complaints.opened)),
    ("first_response_median_h", "hours", lambda f: (f.complaints.first_response.median_hours,
                                                    len(f.complaints.first_response.hours))),
    ("resolution_median_h", "hours", lambda f: (f.complaints.resolution.median_hours,
                                                len(f.complaints.resolution.hours))),
    ("repeat_contact_pct", "%", lambda f: (f.repeat.rate if f.repeat else None, f.repeat.contacted if f.repeat else 0)),
    ("churn_risk", "count", lambda f: (f.churn_risk, f.churn_risk or 0)),
)


@dataclass(frozen=True)
class Comparison:
    current: Figures
    previous: Figures

    def changes(self) -> list[m.Change]:
        out = []
        for key, unit, read in HEADLINE:
            value, n = read(self.current)
            before, _ = read(self.previous)
            out.append(m.Change(key, value, before, unit, n))
        return out


@dataclass(frozen=True)
class Insight:
    team_id: str
    team_name: str
    locale: str
    timezone: str
    period: m.Period
    as_of: dt.datetime
    settings: m.MetricSettings
    team: Comparison
    by_agent: dict[str, Comparison]
    by_tier: dict[str, Comparison]
    names: dict[str, str]
    csat_trend: list[tuple[str, m.Csat]]  # the 8 weeks up to the period's last week
    sla_trend: list[tuple[str, float | None, float | None]]  # week, first response %, resolution % within SLA
    callbacks_by_agent: dict[str, m.CallbackStats] = field(default_factory=dict)

    @property
    def headline(self) -> list[m.Change]:
        return self.team.changes()

    @property
    def moved(self) -> list[m.Change]:
        return m.moved_most(self.headline)

    def name_of(self, user_id: str) -> str:
        return self.names.get(user_id) or user_id

    def rows(self) -> list[tuple[str, str, str, str, float | int | None, float | int | None]]:
        """Every number: (scope, group, metric, period label, value, previous value)."""
        out = []
        scopes = [("team", self.team_id, self.team)]
        scopes += [("agent", a, c) for a, c in sorted(self.by_agent.items())]
        scopes += [("tier", t, c) for t, c in sorted(self.by_tier.items())]
        for scope, group, comparison in scopes:
            now, before = comparison.current.numbers(), comparison.previous.numbers()
            for metric in sorted(now.keys() | before.keys()):
                out.append((scope, group, metric, self.period.label, now.get(metric), before.get(metric)))
        for label, csat in self.csat_trend:
            out.append(("trend", "week", "csat_mean", label, csat.mean, None))
        for label, fr, res in self.sla_trend:
            out.append(("trend", "week", "first_response_within_sla_pct", label, fr, None))
            out.append(("trend", "week", "resolution_within_sla_pct", label, res, None))
        return out


# --- building -------------------------------------------------------------------------------------------


@dataclass
class _Book:
    """The facts of the window, loaded once."""

    calls: list[m.CallFact]
    callbacks: list[m.CallbackFact]
    complaints: list[m.ComplaintFact]
    tickets: list[tuple[int, dt.datetime]]
    customers: list[tuple]  # (id, tier, first_purchase_on, owner_id)
    last_reached_before_window: dict[int, dt.datetime]


def build_insight(svc: Services, team_id: str | None = None, period: m.Period | None = None,
                  kind: str = "week", now: dt.datetime | None = None) -> Insight:
    """The team's numbers for `period` (default: the `kind` period containing now, in the team's timezone)
    against the period before, judged as of now (or the period's end when it is over)."""
    now = now or svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        period = period or m.Period.containing(kind, now, team.timezone)
        if period.timezone != team.timezone:
            period = m.Period(period.kind, period.first, team.timezone)
        sla_rules, care_rules = svc.sla_rules_for(team), svc.care_rules_for(team)
        calendar = sla_rules.work_calendar()
        settings = _settings(session, team.id)
        weeks = m.Period.week_of(period.last, team.timezone).back(TREND_WEEKS)
        previous = period.previous()
        window_start = min(weeks[0].start, previous.start)
        lookback = window_start - dt.timedelta(days=max(settings.reopen_days, settings.repeat_days,
                                                        care_rules.segments.spike_window_days))
        book = _load(session, team.id, window_start, lookback, period.end, sla_rules,
                     care_rules.segments.churn_after_months)
        names = iq.staff_names(session, team.id)
        team_name, locale, timezone = team.name or team.id, team.locale, team.timezone

    as_of, previous_as_of = period.as_of(now), previous.as_of(now)
    churn_now, churn_before = _churn_risk(book, care_rules, (as_of, previous_as_of))
    reopened = m.reopened_ids(book.complaints, settings.reopen_days)
    book.calls.sort(key=lambda c: c.called_at)
    moments = [c.called_at for c in book.calls]

    def calls_in(p: m.Period, at: dt.datetime) -> list[m.CallFact]:
        """Calls of the period up to `at`, by bisecting the calls sorted by time."""
        return book.calls[bisect_left(moments, p.start):bisect_right(moments, min(at, p.end - _TICK))]

    def figures(p: m.Period, at: dt.datetime, churn: int | None, calls, callbacks, complaints,
                with_repeat=False) -> Figures:
        return Figures(
            csat=m.csat(c.rating for c in calls),
            nps=m.nps((c.nps for c in calls), settings.nps_min_answers),
            callbacks=m.callback_stats(callbacks, p, at),
            complaints=m.complaint_stats(complaints, p, calendar, at, settings, reopened=reopened),
            repeat=m.repeat_contacts(book.tickets, p, at, settings) if with_repeat else None,
            churn_risk=churn)

    calls_now, calls_before = calls_in(period, as_of), calls_in(previous, previous_as_of)

    def compare(calls: tuple[list, list], callbacks, complaints, churn: tuple[int, int],
                with_repeat=False) -> Comparison:
        return Comparison(figures(period, as_of, churn[0], calls[0], callbacks, complaints, with_repeat),
                          figures(previous, previous_as_of, churn[1], calls[1], callbacks, complaints, with_repeat))

    def split(key) -> dict[str, tuple[list, list]]:
        """Group -> (its calls this period, its calls the period before)."""
        now_by, before_by = m.group_by(calls_now, key), m.group_by(calls_before, key)
        return {g: (now_by.get(g, []), before_by.get(g, [])) for g in now_by.keys() | before_by.keys()}

    owner_of = {row[0]: row[3] for row in book.customers}
    tier_of = {row[0]: row[1] or "ordinary" for row in book.customers}

    def churn_by(key) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for cid in tier_of:
            group = key(cid)
            counts[group][0] += churn_now[cid]
            counts[group][1] += churn_before[cid]
        return {g: (c[0], c[1]) for g, c in counts.items()}

    calls_by_agent = split(lambda c: c.staff_id)
    callbacks_by_agent = m.group_by(book.callbacks, lambda c: c.owner_id)
    complaints_by_agent = m.group_by(book.complaints, lambda c: c.owner_id)
    churn_of_agent = churn_by(lambda cid: owner_of.get(cid) or "-")
    agents = sorted((calls_by_agent.keys() | callbacks_by_agent.keys() | complaints_by_agent.keys()
                     | churn_of_agent.keys() | set(names)) - {"-"})
    by_agent = {a: compare(calls_by_agent.get(a, ([], [])), callbacks_by_agent.get(a, []),
                           complaints_by_agent.get(a, []), churn_of_agent.get(a, (0, 0))) for a in agents}
    callbacks_by_tier = m.group_by(book.callbacks, lambda c: c.tier)
    complaints_by_tier = m.group_by(book.complaints, lambda c: c.tier)
    calls_by_tier = split(lambda c: c.tier)
    churn_of_tier = churn_by(lambda cid: tier_of[cid])
    tiers = sorted(calls_by_tier.keys() | callbacks_by_tier.keys() | complaints_by_tier.keys()
                   | churn_of_tier.keys())
    by_tier = {t: compare(calls_by_tier.get(t, ([], [])), callbacks_by_tier.get(t, []),
                          complaints_by_tier.get(t, []), churn_of_tier.get(t, (0, 0))) for t in tiers}
    whole = compare((calls_now, calls_before), book.callbacks, book.complaints,
                    (sum(churn_now.values()), sum(churn_before.values())), with_repeat=True)
    csat_trend = [(w.label, m.csat(c.rating for c in calls_in(w, w.as_of(now)))) for w in weeks]
    sla_trend = []
    for w in weeks:
        stats = m.complaint_stats(book.complaints, w, calendar, w.as_of(now), settings, reopened=reopened)
        sla_trend.append((w.label, stats.first_response.within_sla, stats.resolution.within_sla))
    return Insight(team_id=team.id, team_name=team_name, locale=locale, timezone=timezone, period=period,
                   as_of=as_of, settings=settings, team=whole, by_agent=by_agent, by_tier=by_tier,
                   names=names, csat_trend=csat_trend, sla_trend=sla_trend,
                   callbacks_by_agent={a: c.current.callbacks for a, c in by_agent.items()})


_TICK = dt.timedelta(microseconds=1)


def _load(session, team_id: str, window_start: dt.datetime, lookback: dt.datetime, end: dt.datetime,
          sla_rules, churn_months: int) -> _Book:
    calls = [m.CallFact(at, staff, cid, tier or "ordinary", outcome, rating, nps)
             for at, staff, cid, tier, outcome, rating, nps in iq.calls_between(session, team_id, window_start, end)]
    callbacks = [m.CallbackFact(owner, tier or "ordinary", due, status, closed)
                 for owner, tier, due, status, closed in iq.callbacks_due_between(session, team_id, window_start, end)]
    complaints = complaint_facts(session, team_id, lookback, end, sla_rules)
    tickets = [(c.customer_id, c.opened_at) for c in complaints if c.kind in TICKET_KINDS]
    customers = list(iq.customers_of_team(session, team_id))
    return _Book(calls=calls, callbacks=callbacks, complaints=complaints, tickets=tickets, customers=customers,
                 last_reached_before_window=_last_reached(session, team_id, customers, window_start, churn_months))


def _last_reached(session, team_id: str, customers, window_start: dt.datetime, churn_months: int
                  ) -> dict[int, dt.datetime]:
    """Each customer's last reaching call before the window, as far as churn risk can tell it apart.

    Churn risk is judged at moments after `window_start`. A reaching call before `cutoff` (churn_after_months + 1
    months earlier) leaves a customer at churn risk at all of them, whichever call it was; so the exact last
    moment is read only since `cutoff` (a range of the time index, not the whole history), and for the others
    only whether such an old call exists (the customer/time index) — it matters only when their first deal is
    after `cutoff` or unknown. Such customers get `cutoff` minus a tick, which judges the same."""
    tz = window_start.tzinfo
    cutoff_day = add_months(window_start.astimezone(tz).date(), -(churn_months + 1))
    cutoff = dt.datetime.combine(cutoff_day, dt.time(0), tzinfo=tz)
    last = iq.last_reached_between(session, team_id, cutoff, window_start)
    unsure = [cid for cid, _tier, first, _owner in customers
              if cid not in last and (first is None or first >= cutoff_day)]
    for cid in iq.reached_before(session, unsure, cutoff):
        last[cid] = cutoff - _TICK
    return last


def complaint_facts(session, team_id: str, since: dt.datetime, end: dt.datetime, sla_rules) -> list[m.ComplaintFact]:
    """Complaints opened before `end` and opened or resolved since `since`, with their pauses and SLA targets."""
    rows = iq.complaints_touching(session, team_id, since, end)
    pauses = iq.pauses_of_complaints(session, [r[0] for r in rows])
    return [m.ComplaintFact(
        id=cid, customer_id=customer, owner_id=owner, tier=tier or "ordinary", kind=kind, severity=severity,
        category=category, opened_at=opened, first_response_at=first, resolved_at=resolved,
        pauses=tuple(pauses.get(cid, ())), first_response_target=_target(sla_rules, kind, severity, tier,
                                                                         "first_response"),
        resolution_target=_target(sla_rules, kind, severity, tier, "resolution"))
        for cid, customer, owner, tier, kind, severity, category, opened, first, resolved in rows]


def _target(rules, kind: str, severity: str, tier: str | None, clock: str):
    try:
        return rules.target_for(kind, severity, tier or "ordinary", clock)
    except ValueError:  # a kind/severity/tier the rules do not know: no target to judge against
        return None


def _churn_risk(book: _Book, rules, moments: tuple[dt.datetime, ...]) -> list[dict[int, bool]]:
    """For each moment: customer id -> churn risk then (care-domain §3, the segment rules in force): a ticket
    spike, or no interaction for `churn_after_months` (counted from the first deal when there was none).
    Customers with a ticket go through segments.activity_of itself; the others (most of a book) take the same
    rule inline, compared as local date and time of day (add_months keeps the time of day)."""
    tz = moments[0].tzinfo
    reached = sorted((c.called_at, c.customer_id) for c in book.calls if c.outcome != "unreachable")
    months = rules.segments.churn_after_months
    horizon: dict[dt.date, dt.date] = {}
    results = []
    for at in moments:
        last = dict(book.last_reached_before_window)
        for called_at, cid in reached[:bisect_left(reached, (at, -1))]:
            last[cid] = called_at  # sorted by time: the latest before `at` wins
        tickets: dict[int, list[dt.datetime]] = defaultdict(list)
        for customer, opened in book.tickets:
            if opened <= at:
                tickets[customer].append(opened)
        local_at = at.astimezone(tz)
        now_key = (local_at.date(), local_at.time())
        out: dict[int, bool] = {}
        for cid, _tier, first_purchase, owner in book.customers:
            since = last.get(cid)
            if cid in tickets:
                facts = CustomerFacts(customer_id=cid, code="", owner_id=owner, first_purchase_on=first_purchase,
                                      last_interaction_at=since, tickets_at=tuple(tickets[cid]))
                out[cid] = activity_of(facts, rules, at) is Activity.CHURN_RISK
                continue
            if since is not None:
                local = since.astimezone(tz)
                day, time = local.date(), local.time()
            elif first_purchase is not None:
                day, time = first_purchase, dt.time(0)
            else:
                out[cid] = False  # nothing on record: not judged (Activity.UNKNOWN)
                continue
            until = horizon.get(day)
            if until is None:
                until = horizon[day] = add_months(day, months)
            out[cid] = now_key > (until, time)
        results.append(out)
    return results


def agents_visible(insight: Insight, ids: Iterable[str]) -> list[tuple[str, Comparison]]:
    return [(a, insight.by_agent[a]) for a in ids if a in insight.by_agent]


# --- /care stats ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    insight: Insight
    agent: str | None  # None: the team's figures
    asked_for_other: bool  # an agent asked for a colleague: they get their own, and are told why


def stats_for(svc: Services, actor, kind: str, agent: str | None) -> Stats:
    """What `/care stats` shows: agents their own figures, supervisors the team's or any colleague's."""
    asked_for_other = bool(agent) and agent != actor.user_id and not actor.is_supervisor
    if asked_for_other or (agent is None and not actor.is_supervisor):
        agent = actor.user_id
    if agent is not None:
        with svc.db.unit_of_work() as session:
            staff = queries.staff_by_user(session, agent)
            if staff is None or staff.team_id != actor.team_id:
                raise CareError("insight.errors.unknown_agent", who=agent)
    insight = build_insight(svc, actor.team_id, kind=kind)
    return Stats(insight=insight, agent=agent, asked_for_other=asked_for_other)
