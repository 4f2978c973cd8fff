"""What a report holds (issue 13): the figures of one scope over one period, this period against the one
before, and the whole report's numbers by agent, by tier and for the team. Built by bot.services.insight_build;
formulas in bot/care/metrics.py and the README, "Insight"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.care import metrics as m
from storage import insight_queries as iq

TREND_WEEKS = 8
TICKET_KINDS = frozenset({"complaint", "inquiry"})  # what counts as a customer contacting us (care-domain §3)


def settings_in(session, team_id: str) -> m.MetricSettings:
    """The team's metric thresholds (defaults until `carebot report settings set`)."""
    row = iq.team_insight(session, team_id)
    if row is None:
        return m.MetricSettings()
    stored = {name: getattr(row, name) for name in m.MetricSettings.__dataclass_fields__}
    return m.MetricSettings(**{name: value for name, value in stored.items() if value is not None})  # None: default


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
            "complaints_opened": c.opened, "complaints_resolved": c.resolved, "complaints_withdrawn": c.withdrawn,
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
    ("resolution_rate_pct", "%", lambda f: (f.complaints.resolution_rate,
                                            f.complaints.opened - f.complaints.withdrawn)),
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
    agent: str | None = None  # built for one agent only (/care stats): `team` and by_agent hold theirs

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
