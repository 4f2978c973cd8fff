"""/care stats [week|month] [@agent]: the figures of this week or month so far against the period before,
ephemeral. Agents see theirs; supervisors the team's (with a line per agent) or any colleague's.
Dispatched from the `subcommands` of handlers/commands.py."""

from __future__ import annotations

from bot.services.errors import CareError
from bot.services.insight import Comparison, Stats, stats_for
from bot.services.people import parse_user_id
from handlers.deps import Deps
from handlers.inputs import echo
from messages.insight_text import headline, short, tier_csat, value_text
from messages.render import Message, Renderer, mention

KINDS = {"week": "week", "周": "week", "本周": "week", "month": "month", "月": "month", "本月": "month"}
MAX_AGENT_LINES = 30  # one section of at most 3,000 characters


def parse_stats_args(rest: str) -> tuple[str, str | None]:
    """"", "week", "month @U123", "<@U123|li> 月" -> (kind, agent user id or None); CareError otherwise: a word
    neither a period nor a person, or a second period or person ("week month" is not quietly the month)."""
    kind, agent = None, None
    for word in rest.split():
        if word.lower() in KINDS:
            if kind is not None:
                raise CareError("insight.errors.one_too_many", word=echo(word))
            kind = KINDS[word.lower()]
        elif word.startswith("<@") or word[:1] in "UW":
            if agent is not None:
                raise CareError("insight.errors.one_too_many", word=echo(word))
            agent = parse_user_id(word)
        else:
            raise CareError("insight.errors.bad_period")
    return kind or "week", agent


def render_stats(renderer: Renderer, locale: str, stats: Stats) -> Message:
    insight = stats.insight
    comparison = insight.by_agent.get(stats.agent) if stats.agent else insight.team
    if comparison is None:  # a registered colleague with nothing on record yet
        comparison = Comparison(_empty(insight), _empty(insight))
    items = headline(comparison.changes(), locale, insight.settings)
    if stats.agent:
        items = [i for i in items if i["key"] not in ("repeat_contact_pct",)]
    agents = []
    if stats.agent is None:
        for agent, figures in sorted(insight.by_agent.items(), key=lambda kv: insight.name_of(kv[0])):
            numbers = short(figures.current, locale)
            agents.append({"who": mention(agent), **numbers})
    kind = insight.period.kind
    who = mention(stats.agent) if stats.agent else ""
    return renderer.message(
        "stats.json.j2", locale,
        title_key=f"insight.stats.title_{kind}_{'agent' if stats.agent else 'team'}", period=insight.period.label,
        who=who, who_plain=insight.name_of(stats.agent) if stats.agent else "", as_of=insight.as_of,
        timezone=insight.timezone, previous=insight.period.previous().label,
        notice="insight.errors.not_yours" if stats.asked_for_other else None,
        first=items[:6], second=items[6:], cb=comparison.current.callbacks, co=comparison.current.complaints,
        p90=value_text(comparison.current.complaints.first_response.p90_hours, "hours", locale),
        agents=agents[:MAX_AGENT_LINES], more_agents=max(len(agents) - MAX_AGENT_LINES, 0),
        tiers=tier_csat(insight, locale) if stats.agent is None else "")


def _empty(insight):
    from bot.care import metrics as m
    from bot.services.insight import Figures

    return Figures(csat=m.csat([]), nps=m.nps([], insight.settings.nps_min_answers), callbacks=m.CallbackStats(),
                   complaints=m.ComplaintStats(), repeat=None, churn_risk=0)


def stats_command(deps: Deps, actor, rest, respond, **_) -> None:
    kind, agent = parse_stats_args(rest)
    stats = stats_for(deps.services, actor, kind, agent)
    respond(**render_stats(deps.renderer, actor.locale, stats).as_kwargs(), response_type="ephemeral")
