"""`carebot rules …` and `carebot plan`: the care rules in effect, checking and setting a team's rules file,
and the load the plan will make per agent per day."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from bot.care.rules import RulesError
from bot.cli_params import DAY
from bot.services.errors import CareError

MAX_DAYS = 366


def _services():
    from bot.cli_services import services

    return services()


def _fail(error: CareError) -> None:
    from bot.cli_services import fail

    fail(error)


def _read(file: Path) -> str:
    from bot.services.planning import read_rules_file

    try:
        return read_rules_file(file)
    except CareError as error:
        _fail(error)
        raise


def _report(file: Path, error: RulesError) -> None:
    for path, line, message in error.issues:
        click.echo(f"{file}:{line}: {path}: {message}", err=True)
    click.echo("nothing applied", err=True)
    sys.exit(1)


@click.group()
def rules() -> None:
    """The care rules (care-domain §3–§4): triggers, cadences, etiquette, outcomes."""


@rules.command("show")
@click.option("--team", default=None, help="Team id (default: CAREBOT_TEAM or 'default').")
def rules_show(team: str | None) -> None:
    """Print the rules in effect for the team: the shipped defaults with the team's override merged in."""
    from bot.services.planning import effective_rules_yaml

    click.echo(effective_rules_yaml(_services(), team), nl=False)


@rules.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rules_check(file: Path) -> None:
    """Validate a rules file (YAML) against the defaults; nothing is applied. Exit 1 naming key and line."""
    from bot.services.planning import check_rules

    try:
        check_rules(_read(file))
    except RulesError as error:
        _report(file, error)
    click.echo(f"{file}: valid")


@rules.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", default=None)
@click.option("--by", "set_by", default=None, help="Who sets them (shown with /care rules); default $USER.")
def rules_set(file: Path, team: str | None, set_by: str | None) -> None:
    """Validate a rules file and store it as the team's override (replaces the previous one)."""
    import getpass

    from bot.services.planning import set_rules

    text = _read(file)
    try:
        set_rules(_services(), text, set_by or getpass.getuser(), team)
    except RulesError as error:
        _report(file, error)
    click.echo(f"rules from {file} are in effect for team {team or 'default'} (`carebot rules show` prints them)")


@click.command("plan")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, MAX_DAYS))
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A candidate rules file: the load it would make, without applying it.")
@click.option("--json", "as_json", is_flag=True, help="Every callback: date, agent, customer code, kind, rule.")
@click.option("--from", "start", type=DAY, default=None,
              help="First day of the forecast (the team's local date; default: today).")
@click.option("--team", default=None)
def plan(days: int, rules_file: Path | None, as_json: bool, start, team: str | None) -> None:
    """How many callbacks each agent will have per day over the next DAYS days under the rules."""
    from bot.services.planning import check_rules, forecast_team
    from storage import queries

    candidate = None
    if rules_file is not None:
        try:
            candidate = check_rules(_read(rules_file))
        except RulesError as error:
            _report(rules_file, error)
    services = _services()
    now = None
    if start is not None:
        with services.db.unit_of_work() as session:
            calendar = services.calendar_for(queries.ensure_team(session, team or services.default_team))
        now = calendar.start_of_day(start)
    result = forecast_team(services, team, days, candidate, now=now)
    if as_json:
        click.echo(json.dumps([{"date": r.date.isoformat(), "agent": r.owner_id, "customer_code": r.customer_code,
                                "kind": r.kind, "rule": r.rule} for r in result.rows], ensure_ascii=False, indent=2))
        return
    load = result.load()
    agents = sorted(load)
    label = {a: a or "(unassigned)" for a in agents}
    width = max([10, *(len(label[a]) for a in agents)])
    click.echo(f"{'date':<10}  " + "  ".join(f"{label[a]:>{width}}" for a in agents) + f"  {'total':>5}")
    for offset in range(days):
        day = result.start + dt.timedelta(days=offset)
        counts = [load[a].get(day, 0) for a in agents]
        click.echo(f"{day.isoformat():<10}  " + "  ".join(f"{n:>{width}}" for n in counts) + f"  {sum(counts):>5}")
    totals = [sum(load[a].values()) for a in agents]
    click.echo(f"{'total':<10}  " + "  ".join(f"{n:>{width}}" for n in totals) + f"  {sum(totals):>5}")
    source = f"candidate rules {rules_file}" if rules_file else "the rules in effect"
    click.echo(f"({len(result.rows)} callbacks over {days} days under {source}; --json lists them)", err=True)


def attach(main: click.Group) -> None:
    main.add_command(rules)
    main.add_command(plan)
