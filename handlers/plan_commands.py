"""/care rules (admins: the care rules in effect) and /care plan [days] (supervisors: the load per person per
day). Dispatched from the `subcommands` of handlers/commands.py."""

from __future__ import annotations

import datetime as dt

from bot.services.errors import CareError
from bot.services.people import require_admin, require_supervisor
from bot.services.planning import SUPERVISORS, Forecast, forecast_team, rules_overview
from handlers.deps import Deps
from messages.render import Mrkdwn, escape_mrkdwn, mention, translate

SECTION_LIMIT = 2800  # Slack takes 3,000 characters a section; the code fence and escaping need room
MAX_PARTS = 20  # two blocks a part, with header and context: far below 50
MAX_DAYS = 90
MAX_PEOPLE = 40


def plan_load_context(result: Forecast, locale: str) -> dict:
    """Per person: total, busiest day and one "MM-DD: n" entry per day with callbacks."""
    load = result.load()
    people = []
    for owner, per_day in sorted(load.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        if owner == SUPERVISORS:
            who = translate(locale, "plan.supervisors")
        elif not owner:
            who = translate(locale, "plan.unassigned")
        else:
            try:
                who = mention(owner)
            except ValueError:
                who = owner
        busiest = max(sorted(per_day), key=lambda d: per_day[d])
        lines = Mrkdwn(" · ".join(translate(locale, "plan.day", date=d.strftime("%m-%d"), count=n)
                                  for d, n in sorted(per_day.items())))
        people.append({"who": who, "total": sum(per_day.values()), "busiest": busiest.strftime("%m-%d"),
                       "max": per_day[busiest], "lines": lines})
    return {"days": result.days, "start": result.start, "total": len(result.rows), "people": people[:MAX_PEOPLE],
            "more": max(len(people) - MAX_PEOPLE, 0)}


def split_for_sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Whole lines, each part at most `limit` characters once escaped for mrkdwn."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines():
        cost = len(escape_mrkdwn(line)) + 1
        while cost > limit:  # a single line longer than a section: cut it
            parts.extend(["\n".join(current)] if current else [])
            current, size = [], 0
            head, line = line[: limit // 2], line[limit // 2:]
            parts.append(head)
            cost = len(escape_mrkdwn(line)) + 1
        if size + cost > limit and current:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += cost
    if current:
        parts.append("\n".join(current))
    return parts


def rules_command(deps: Deps, actor, rest, respond, **_) -> None:
    require_admin(actor)
    overview = rules_overview(deps.services, actor.team_id)
    who = None
    if overview.set_by is not None:
        try:
            who = mention(overview.set_by)
        except ValueError:
            who = overview.set_by
    parts = split_for_sections(overview.yaml_text)[:MAX_PARTS]
    respond(**deps.renderer.message("rules.json.j2", actor.locale, team=overview.team_id, who=who,
                                    when=overview.set_at, parts=parts).as_kwargs(), response_type="ephemeral")


def plan_command(deps: Deps, actor, rest, respond, **_) -> None:
    require_supervisor(actor)
    days = 14
    if rest.strip():
        try:
            days = int(rest.split()[0])
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_DAYS:
            raise CareError("plan.bad_days", value=rest.split()[0], max=MAX_DAYS)
    result = forecast_team(deps.services, actor.team_id, days)
    context = plan_load_context(result, actor.locale)
    context["end"] = result.start + dt.timedelta(days=days - 1)
    respond(**deps.renderer.message("plan_load.json.j2", actor.locale, **context).as_kwargs(),
            response_type="ephemeral")
