"""`carebot import complaints FILE` and `carebot escalation …` (issue 4), attached to bot/cli.py's groups."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.services.errors import CareError


def _services():
    from bot.cli import _services as services

    return services()


def _fail(error: CareError) -> None:
    from bot.cli import _fail as fail

    fail(error)


@click.command("complaints")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", default=None)
def import_complaints_cmd(file: Path, team: str | None) -> None:
    """Open complaints from a CSV or Excel sheet with their real times: 客户编号, 登记时间, 首次响应时间,
    类型 (投诉/咨询/建议), 问题类别, 严重程度, 问题描述, 负责人. Times are in the team's timezone."""
    from bot.services.complaints import import_complaints

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
    """Who the last escalation level (the manager) reaches."""


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


def attach(main: click.Group, import_group: click.Group) -> None:
    import_group.add_command(import_complaints_cmd)
    main.add_command(escalation)
