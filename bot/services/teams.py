"""Team settings (`carebot config set KEY VALUE`), checked before they are stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.core import Services
from bot.services.errors import CareError
from messages.render import LOCALES
from storage import queries, sla_queries


def _channel(value: str) -> str:
    match = re.fullmatch(r"<#([CG][A-Z0-9]+)(\|[^>]*)?>|([CG][A-Z0-9]+)", value.strip())
    if not match:
        raise CareError("errors.bad_channel", value=value)
    return match.group(1) or match.group(3)


def _group(value: str) -> str:
    match = re.fullmatch(r"<!subteam\^(S[A-Z0-9]+)(\|[^>]*)?>|(S[A-Z0-9]+)", value.strip())
    if not match:
        raise CareError("errors.bad_group", value=value)
    return match.group(1) or match.group(3)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise CareError("errors.bad_timezone", value=value) from None
    return value


def _clock_time(value: str) -> str:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise CareError("errors.bad_time", value=value)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _locale(value: str) -> str:
    if value not in LOCALES:
        raise CareError("errors.bad_locale", value=value, locales=", ".join(LOCALES))
    return value


SETTINGS: dict[str, Callable[[str], str]] = {
    "digest_channel": _channel,
    "supervisor_channel": _channel,
    "supervisor_group": _group,
    "timezone": _timezone,
    "digest_time": _clock_time,
    "plan_time": _clock_time,  # issue 3: local time of the nightly care plan
    "locale": _locale,
    "name": str.strip,
}


def set_setting(svc: Services, key: str, value: str, team_id: str | None = None) -> str:
    if key not in SETTINGS:
        raise CareError("errors.bad_setting", setting=key, keys=", ".join(SETTINGS))
    clean = SETTINGS[key](value)
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        if key == "timezone" and clean != team.timezone:  # every SLA moment moves: the sweep works them out again
            sla_queries.look_again_at_team(session, team.id, svc.clock.now())
        setattr(team, key, clean)
    return clean


def show_settings(svc: Services, team_id: str | None = None) -> dict[str, str | None]:
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        return {key: getattr(team, key) for key in SETTINGS}
