"""`carebot import customers FILE` and `carebot export …` (issue 9), attached to bot/cli.py's groups."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from bot.cli_params import SHEET_DAY
from bot.services.errors import CareError


def _services():
    from bot.cli_services import services

    return services()


def _fail(error: CareError) -> None:
    from bot.cli_services import fail

    fail(error)


class _Bar:
    """click.progressbar over the import's two phases (reading the file, saving it), on stderr; a row count
    when the workbook does not say how long it is."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar, self.phase, self.shown = enabled, None, "", 0

    def __call__(self, phase: str, fraction: float | None, rows: int) -> None:
        if not self.enabled:
            return
        label = {"read": "reading", "save": "saving"}.get(phase, phase)
        if phase != self.phase:
            self.close()
            self.phase, self.shown = phase, 0
        if fraction is None:
            click.echo(f"\r{label:8} {rows:,} rows", nl=False, err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=1000, label=f"{label:8}", file=sys.stderr, width=30)
            self.bar.__enter__()
        step = int(fraction * 1000) - self.shown
        if step > 0:
            self.bar.update(step)
            self.shown += step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        elif self.phase:
            click.echo("", err=True)


def report_lines(report) -> list[str]:
    """The import report as a person reads it: totals, then merges, then every refused row by line."""
    verb = "would create" if report.dry_run else "created"
    lines = [f"{report.file} ({report.encoding}): {report.rows} rows; {verb} {report.created}, "
             f"updated {report.updated}, unchanged {report.unchanged}, merged {len(report.merged)}, "
             f"refused {report.refused}",
             f"needing follow-up (no phone) {report.needs_follow_up}, without consent {report.without_consent}"]
    lines.append("columns read: " + ", ".join(report.columns))
    if report.consent_assumed and "consent" in report.columns:  # the default said, never silent (care-domain §8)
        lines.append(f"{report.consent_assumed} new customer(s) with an empty consent cell recorded as consenting "
                     "to be contacted; fill it (是/否) to say otherwise")
    elif report.consent_assumed:
        lines.append(f"no consent column (同意/consent): {report.consent_assumed} new customer(s) recorded as "
                     "consenting to be contacted; add the column (是/否) to say otherwise")
    if report.unknown_columns:
        lines.append("columns not understood (not imported): " + ", ".join(report.unknown_columns))
    for line, what in report.merged:
        lines.append(f"  line {line}: {what}")
    for line, problem in report.errors:
        lines.append(f"  line {line}: refused: {problem}")
    if report.dry_run:
        lines.append("dry run: nothing was saved")
    elif report.plan_deferred:
        lines.append("callbacks for the new customers are planned by tonight's planning run")
    elif report.planned:
        lines.append(f"planned {report.planned} callback(s) for the new customers")
    return lines


@click.command("customers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", default=None)
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; save nothing.")
@click.option("--without-phones", is_flag=True,
              help="The sheet has no phone column on purpose (new customers are marked 待跟进; stored phones kept).")
@click.option("--progress/--no-progress", default=None, help="A progress bar on stderr (default: on a terminal).")
def import_customers_cmd(file: Path, team: str | None, dry_run: bool, without_phones: bool,
                         progress: bool | None) -> None:
    """Customers from a CSV (UTF-8, GB18030 or UTF-16; , ; tab or | between columns) or Excel sheet: 客户编号,
    姓名, 手机号码 (required), 邮箱, 公司, 客户经理, 等级, 首次购买时间, 生日, 年消费, 标签, 同意 … Duplicates by
    code, phone or email are merged; the whole file is saved in one transaction. Exit 1 if any row was refused."""
    from bot.services.customer_import import import_customers

    bar = _Bar(sys.stderr.isatty() if progress is None else progress)
    try:
        report = import_customers(_services(), file, team_id=team, dry_run=dry_run, progress=bar,
                                  require_phone=not without_phones)
    except CareError as error:
        bar.close()
        if error.key == "errors.bad_header" and "phone" in str(error.params.get("detail")):
            error.params["detail"] += " (a sheet without phones on purpose: --without-phones)"
        _fail(error)
        return
    bar.close()
    for text in report_lines(report):
        click.echo(text)
    if report.errors:
        sys.exit(1)


@click.command("export")
@click.argument("kind", type=click.Choice(["customers", "calls", "complaints"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="csv or xlsx (default: from the --output file's extension, .xlsx or .csv; else csv).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: CSV on stdout; .xlsx needs a file).")
@click.option("--since", "day", type=SHEET_DAY, default=None,
              help="Only rows from this day on (2024-05-01, 2024年5月1日 …).")
@click.option("--full", is_flag=True, help="Unmasked names, phones, emails, birthdays and notes (admins only).")
@click.option("--as", "acting", default=None, help="Your Slack user id (U…): required with --full.")
@click.option("--team", default=None)
def export_cmd(kind: str, fmt: str | None, output: Path | None, day, full: bool, acting: str | None,
               team: str | None) -> None:
    """The team's customers, calls or complaints as CSV (UTF-8 with BOM, opens in Excel; on stdout too) or
    .xlsx. Masked (张*, 138****5678) unless --full by an admin; every export is logged. Cells that a
    spreadsheet would run as a formula (= + - @) are written as text."""
    from bot.services.exports import export

    fmt = _format_of(fmt, output)
    if full and not acting:
        raise click.UsageError("--full needs --as U… (your Slack user id, an admin's)")
    stdout = None if output else _csv_stdout()
    try:
        result = export(_services(), kind, fmt, output or stdout or sys.stdout, since=day, full=full,
                        actor_id=acting, team_id=team)
    except CareError as error:
        _fail(error)
        return
    except OSError as error:  # a folder that does not exist, no permission, a full disk: one line, no file left
        raise click.ClickException(f"cannot write {output or 'the export'}: {error.strerror or error}; "
                                   "nothing was exported") from None
    finally:
        if stdout is not None:
            stdout.flush()
            stdout.detach()  # stdout itself stays open
    where = f" to {output}" if output else ""
    note = "unmasked" if result.full else "masked"
    click.echo(f"exported {result.rows} {kind}{where} ({note}; recorded in the carebot.audit log)", err=True)


_EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx"}


def _format_of(fmt: str | None, output: Path | None) -> str:
    """The export's format: --format, else the --output file's extension (.xlsx, .csv), else csv. A --format
    that contradicts the extension is refused in one line, exit 2, before anything is written."""
    implied = _EXTENSIONS.get(output.suffix.lower()) if output is not None else None
    if fmt is not None and implied is not None and fmt != implied:
        refused = click.ClickException(f"--format {fmt} contradicts --output {output.name}, whose extension "
                                       f"says {implied}: drop --format, or name the file .{fmt}; nothing was "
                                       "written")
        refused.exit_code = 2
        raise refused
    return fmt or implied or "csv"


def _csv_stdout() -> io.TextIOWrapper | None:
    """stdout for a CSV export: the same bytes as `--output FILE` writes (UTF-8 with BOM, CRLF rows as the csv
    module ends them), whatever the terminal's encoding. The BOM goes out with the first row, so an export that
    fails before it writes nothing. None when stdout takes text only (then the text as it comes)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return None
    sys.stdout.flush()
    return io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")


def attach(main: click.Group, import_group: click.Group) -> None:
    import_group.add_command(import_customers_cmd)
    main.add_command(export_cmd)
