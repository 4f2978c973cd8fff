"""Insight (issue 13): a team's numbers for a period and the one before, by agent and by tier.

The report is built by bot.services.insight_build (counting in the database, churn risk in
bot.services.insight_churn) into the dataclasses of bot.services.insight_figures, from the pure metrics of
bot.care.metrics. Formulas: bot/care/metrics.py and the README, "Insight". This module is the service's face:
thresholds, periods, and what `/care stats` shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.care import metrics as m
from bot.care.metric_periods import SETTING_RANGES
from bot.services.core import Services
from bot.services.errors import CareError
from bot.services.insight_build import build_insight, complaint_facts
from bot.services.insight_figures import HEADLINE, TREND_WEEKS, Comparison, Figures, Insight, settings_in
from storage import insight_queries as iq
from storage import queries

__all__ = ["HEADLINE", "TREND_WEEKS", "Comparison", "Figures", "Insight", "Stats", "agents_visible",
           "build_insight", "complaint_facts", "metric_settings", "period_in_team_timezone", "set_metric_setting",
           "settings_in", "stats_for"]


# --- settings -------------------------------------------------------------------------------------------


def metric_settings(svc: Services, team_id: str | None = None) -> m.MetricSettings:
    with svc.db.unit_of_work() as session:
        return settings_in(session, team_id or svc.default_team)


def set_metric_setting(svc: Services, key: str, value: str, team_id: str | None = None) -> m.MetricSettings:
    """`carebot report settings set KEY VALUE`: a whole number within SETTING_RANGES for one of MetricSettings'
    fields; NPS's promoter line stays above its detractor line."""
    names = tuple(m.MetricSettings.__dataclass_fields__)
    if key not in names:
        raise CareError("insight.errors.bad_setting", setting=key, keys=", ".join(names))
    low, high = SETTING_RANGES[key]
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise CareError("insight.errors.bad_number", setting=key, value=value, low=low, high=high)
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        current = settings_in(session, team.id)
        updated = m.MetricSettings(**{**current.__dict__, key: int(value)})
        problem = updated.problem()
        if problem is not None:
            raise CareError(problem[0], **problem[1])
        iq.save_team_insight(session, team.id, updated.__dict__)
    return updated


def period_in_team_timezone(svc: Services, text: str, team_id: str | None = None) -> m.Period:
    """"2026-W48" or "2026-11" as the team's local week or month; ValueError otherwise."""
    with svc.db.unit_of_work() as session:
        timezone = queries.ensure_team(session, team_id or svc.default_team).timezone
    return m.Period.parse(text, timezone)


def agents_visible(insight: Insight, ids: Iterable[str]) -> list[tuple[str, Comparison]]:
    return [(a, insight.by_agent[a]) for a in ids if a in insight.by_agent]


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
    insight = build_insight(svc, actor.team_id, kind=kind, agent=agent)  # one agent's rows, not the team's
    return Stats(insight=insight, agent=agent, asked_for_other=asked_for_other)
