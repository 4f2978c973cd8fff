"""`carebot report`: a period's charts and every number (CSV, XLSX) without Slack, and the team's metric
thresholds (`carebot report settings`)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.care.metric_periods import SETTING_RANGES
from bot.cli_params import Period
from bot.services.errors import CareError

# every setting `report settings set` takes, with its range: from SETTING_RANGES, the one list that checks them
SETTINGS_HELP = ", ".join(f"{name} ({low}–{high})" for name, (low, high) in SETTING_RANGES.items())


def _services():
    from bot.cli_services import services

    return services()


def _fail(error: CareError) -> None:
    from bot.cli_services import fail

    fail(error)


@click.group(invoke_without_command=True)
@click.option("--week", "week", type=Period("week"), help="An ISO week in the team's timezone, e.g. 2026-W48.")
@click.option("--month", "month", type=Period("month"), help="A month in the team's timezone, e.g. 2026-11.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder for the charts, the CSV and the XLSX.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default=None, help="Language of the charts (team's).")
@click.pass_context
def report(ctx: click.Context, week: str | None, month: str | None, out: Path, lang: str | None) -> None:
    """Write a week's or a month's report: charts (PNG), report.csv and report.xlsx with every number."""
    if ctx.invoked_subcommand is not None:
        return
    if bool(week) == bool(month):
        raise click.UsageError("give one of --week 2026-W48 or --month 2026-11")
    from bot.insight_files import write_csv, write_xlsx
    from bot.services.insight import build_insight, period_in_team_timezone

    svc = _services()
    try:
        period = period_in_team_timezone(svc, week or month or "")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    insight = build_insight(svc, period=period)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"report-{period.label}"
    written = [write_csv(insight, out / f"{stem}.csv"), write_xlsx(insight, out / f"{stem}.xlsx")]
    try:
        from bot.insight_charts import write_charts
    except ImportError:  # pragma: no cover - charts come with the package
        write_charts = None
    if write_charts is not None:
        written += write_charts(insight, out, lang or insight.locale)
    click.echo(render_text(insight, lang or insight.locale))
    for path in written:
        click.echo(f"wrote {path}")


def render_text(insight, locale: str) -> str:
    from messages.insight_text import report_text

    return report_text(insight, locale)


@report.group(help=f"The team's metric thresholds: {SETTINGS_HELP}.")
def settings() -> None:
    pass


@settings.command("show", short_help="Print the team's metric thresholds.",
                  help=f"Print the team's metric thresholds: {', '.join(SETTING_RANGES)}.")
@click.option("--team", default=None, help="Team id (default: CAREBOT_TEAM or 'default').")
def settings_show(team: str | None) -> None:
    from bot.services.insight import metric_settings

    for key, value in metric_settings(_services(), team_id=team).__dict__.items():
        click.echo(f"{key} = {value}")


@settings.command("set", short_help="Set one metric threshold.",
                  help=f"Set one metric threshold (a whole number): {SETTINGS_HELP}.")
@click.argument("key")
@click.argument("value")
@click.option("--team", default=None, help="Team id (default: CAREBOT_TEAM or 'default').")
def settings_set(key: str, value: str, team: str | None) -> None:
    from bot.services.insight import set_metric_setting

    try:
        updated = set_metric_setting(_services(), key, value, team_id=team)
    except CareError as error:
        _fail(error)
        return
    click.echo(f"{key} = {getattr(updated, key)}")


def attach(main: click.Group) -> None:
    main.add_command(report)
