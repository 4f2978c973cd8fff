"""What the `carebot` command line accepts, checked where click reads it: days and periods in one sane range, ids
in the database's range, an option given once, a team that exists. Each refusal is click's one `Error:` line,
exit 2, before anything runs (the tryout found tracebacks past year 9999 and silent last-one-wins flags)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import click

FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2999, 12, 31)  # a care team's days, weeks and months
SPAN = f"from {FIRST_DAY} to {LAST_DAY}"
MAX_ID = 2**31 - 1  # PostgreSQL integer: every id Carebot keeps
RECORD_ID = click.IntRange(1, MAX_ID)
PORT = click.IntRange(0, 65535)  # 0: any free port
TEAM_MAKERS = (["staff", "add"],)  # a team begins with its first person; every other command names one that is


class Day(click.ParamType):
    """A calendar day from 1970-01-01 to 2999-12-31: YYYY-MM-DD, or as a sheet writes it (`loose`: 2024/5/1,
    2024年5月1日 …). A date beyond that range would overflow the weeks and months worked out around it."""

    name = "day"

    def __init__(self, loose: bool = False) -> None:
        self.loose = loose

    def convert(self, value, param, ctx) -> dt.date:
        if isinstance(value, dt.date):
            day = value
        else:
            try:
                day = self._parse(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a date (2024-05-01)", param, ctx)
        if not FIRST_DAY <= day <= LAST_DAY:
            self.fail(f"{day} is not a day Carebot works with: give one {SPAN}", param, ctx)
        return day

    def _parse(self, text: str) -> dt.date:
        if self.loose:
            from bot.care.sheet_cells import parse_date

            return parse_date(text)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
            raise ValueError(text)
        return dt.date.fromisoformat(text.strip())


class Period(click.ParamType):
    """An ISO week (2026-W48) or a month (2026-11) within the years of `Day`, as its text."""

    def __init__(self, kind: str) -> None:
        self.kind, self.name = kind, "YYYY-Www" if kind == "week" else "YYYY-MM"

    def convert(self, value, param, ctx) -> str:
        text = str(value).strip()
        match = re.fullmatch(r"([0-9]{4})-W([0-9]{2})" if self.kind == "week" else r"([0-9]{4})-([0-9]{2})", text)
        example = "2026-W48" if self.kind == "week" else "2026-11"
        if match is None:
            self.fail(f"{value!r} is not a {self.kind} ({example})", param, ctx)
        year, number = int(match[1]), int(match[2])
        try:
            dt.date.fromisocalendar(year, number, 1) if self.kind == "week" else dt.date(year, number, 1)
        except ValueError:
            self.fail(f"{value!r} is not a {self.kind} ({example})", param, ctx)
        if not FIRST_DAY.year <= year <= LAST_DAY.year:
            self.fail(f"{text} is not a {self.kind} Carebot works with: give one {SPAN}", param, ctx)
        return text


DAY, SHEET_DAY = Day(), Day(loose=True)


def _once(parse: Callable, ctx: click.Context) -> Callable:
    def parse_once(args):
        opts, rest, order = parse(args)
        seen: set[click.Parameter] = set()
        for param in order:
            if isinstance(param, click.Option) and not (param.multiple or param.count) and not ctx.resilient_parsing:
                if param in seen and param.secondary_opts:  # --given … --withdrawn: the last would win
                    ctx.fail(f"give one of {' or '.join(param.opts + param.secondary_opts)}, once")
                if param in seen and not param.is_flag:  # --team a … --team b
                    ctx.fail(f"{param.opts[-1]} is given twice: give it once")
                seen.add(param)
        return opts, rest, order

    return parse_once


def refuse_repeated_options(command: click.Command) -> None:
    """Every command under `command`: an option given twice (`--week A --week B`) or both sides of a flag pair
    (`--given --withdrawn`) is refused, where click would keep the last one said."""
    make_parser = command.make_parser

    def make_checked_parser(ctx: click.Context):
        parser = make_parser(ctx)
        parser.parse_args = _once(parser.parse_args, ctx)
        return parser

    command.make_parser = make_checked_parser
    for sub in getattr(command, "commands", {}).values():
        refuse_repeated_options(sub)


def with_named_team(services):
    """`services`, once the team the running command's `--team` names is there: a team that does not exist is
    refused before the command does anything (a dry run once created the mistyped team). The default team
    (CAREBOT_TEAM) is made on first use; `carebot staff add` makes any team."""
    from storage import queries

    ctx, words, team = click.get_current_context(silent=True), [], None
    while ctx is not None and ctx.parent is not None:
        team = team if team is not None else ctx.params.get("team")
        words, ctx = [ctx.info_name or "", *words], ctx.parent
    if not isinstance(team, str) or team == services.default_team or words in TEAM_MAKERS:
        return services
    with services.db.unit_of_work() as session:
        known = queries.team_by_id(session, team) is not None
        teams = [row.id for row in queries.all_teams(session)]
    if not known:
        services.db.dispose()
        raise click.BadParameter(f"no team {team!r} (teams: {', '.join(teams) or 'none yet'}); a team begins with "
                                 f"its first person: carebot staff add U… --role admin --team {team}",
                                 param_hint="'--team'")
    return services
