"""`carebot import complaints FILE` and `carebot escalation …` (issue 4), attached to bot/cli.py's groups."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli_params import RECORD_ID
from bot.services.errors import CareError


def _services():
    from bot.cli_services import services

    return services()


def _fail(error: CareError) -> None:
    from bot.cli_services import fail

    fail(error)


@click.command("complaints")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", default=None)
def import_complaints_cmd(file: Path, team: str | None) -> None:
    """Open complaints from a CSV or Excel sheet with their real times: 客户编号, 登记时间, 首次响应时间,
    类型 (投诉/咨询/建议), 问题类别, 严重程度, 问题描述, 负责人. Times are in the team's timezone."""
    from bot.services.complaint_import import import_complaints

    try:
        report = import_complaints(_services(), file, team_id=team)
    except CareError as error:
        _fail(error)
        return
    click.echo(f"created {report.created}, already imported {report.skipped}, rejected {len(report.errors)}")
    for line, problem in report.errors:
        click.echo(f"  line {line}: {problem}", err=True)
    if report.errors:
        sys.exit(1)


@click.group("escalation")
def escalation() -> None:
    """Complaint SLAs: the team's SLA rules and who the last escalation level (the manager) reaches."""


@escalation.command("manager")
@click.argument("user_id", required=False)
@click.option("--channel", default=None, help="Post the manager's pages in this channel (C…) instead of a DM.")
@click.option("--team", default=None)
def escalation_manager(user_id: str | None, channel: str | None, team: str | None) -> None:
    """Set the manager (U…, mentioned in their pages) and/or their channel. Without either, manager pages
    go to the supervisors' channel."""
    from bot.services.escalations import set_manager
    from bot.services.people import parse_user_id
    from bot.services.teams import SETTINGS

    services = _services()
    try:
        user = parse_user_id(user_id) if user_id else None
        where = SETTINGS["supervisor_channel"](channel) if channel else None
    except CareError as error:
        _fail(error)
        return
    set_manager(services, team or services.default_team, user, where)
    click.echo(f"manager = {user or '(none)'}, manager channel = {where or '(none: DM or the supervisors channel)'}")


@escalation.group("rules")
def sla_rules() -> None:
    """The team's SLA rules: targets per kind x severity x tier, calendar, quiet hours, escalation levels."""


def _read_rules(file: Path) -> str:
    return file.read_text(encoding="utf-8")


@sla_rules.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def sla_rules_check(file: Path) -> None:
    """Validate a rules file (YAML over the defaults) without storing it."""
    from bot.care.sla_rules import RulesError
    from bot.services.complaints import check_sla_rules

    try:
        check_sla_rules(_read_rules(file))
    except RulesError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{file}: valid SLA rules")


@sla_rules.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", default=None)
def sla_rules_set(file: Path, team: str | None) -> None:
    """Validate and store the team's rules; open complaints move to the new targets at once."""
    from bot.care.sla_rules import RulesError
    from bot.services.complaints import set_sla_rules

    try:
        set_sla_rules(_services(), _read_rules(file), set_by="cli", team_id=team)
    except RulesError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"SLA rules of {team or 'the default team'} set from {file}")


@sla_rules.command("show")
@click.option("--team", default=None)
def sla_rules_show(team: str | None) -> None:
    """Print the team's own rules file (or the shipped defaults), then the quiet-hours rule in effect."""
    from importlib import resources

    from bot.care.sla_rules import describe_paging, load_sla_rules
    from bot.services.complaints import team_sla_rules_text

    text = team_sla_rules_text(_services(), team)
    click.echo(text if text else resources.files("bot.care").joinpath("sla_default.yaml").read_text(encoding="utf-8"))
    rule = describe_paging(load_sla_rules(text))
    click.echo("\n# In effect:\n" + "\n".join(f"# {line}" for line in rule.splitlines()))


@escalation.command("audit")
@click.argument("complaint_id", type=RECORD_ID)
def escalation_audit(complaint_id: int) -> None:
    """Every action on one complaint: opened, notified (level, channel), acknowledged, reassigned, snoozed …"""
    from bot.services.escalations import audit_trail
    from storage.models import Complaint

    services = _services()
    with services.db.unit_of_work() as session:
        if session.get(Complaint, complaint_id) is None:
            raise click.ClickException(f"no complaint {complaint_id} (`carebot export complaints` lists them)")
    trail = audit_trail(services, complaint_id)
    if not trail:
        click.echo(f"nothing recorded yet for complaint {complaint_id}", err=True)
    for entry in trail:
        detail = " ".join(f"{key}={value}" for key, value in sorted(entry.detail.items()) if value is not None)
        click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S}Z  {entry.action:14} {entry.actor_id or 'carebot':10} {detail}")


def attach(main: click.Group, import_group: click.Group) -> None:
    import_group.add_command(import_complaints_cmd)
    main.add_command(escalation)
