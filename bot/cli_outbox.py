"""`carebot outbox`: what the bot still has to deliver, and sending a failed message again (issue 12)."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli_params import RECORD_ID


def attach(main: click.Group) -> None:
    main.add_command(outbox_group)


@click.group("outbox", invoke_without_command=True)
@click.pass_context
def outbox_group(ctx: click.Context) -> None:
    """Messages not delivered yet: pending, unknown (Slack's answer lost; checked before posting again),
    failed (after its retries) and refused (Slack will not take them there). Sent ones are not listed."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.cli_services import services as _services
    from bot.services.outbox import undelivered, utc_now

    rows = undelivered(_services())
    if not rows:
        click.echo("outbox empty: every message was delivered")
        return
    now = utc_now()
    click.echo(f"{'ID':>6}  {'STATUS':8}  {'KIND':14}  {'CHANNEL':12}  {'TRIES':>5}  {'AGE':>8}  LAST ERROR")
    for row in rows:
        age = _age(now - row.created_at)
        click.echo(f"{row.id:>6}  {row.status:8}  {row.kind:14}  {row.channel:12}  {row.attempts:>5}  {age:>8}  "
                   f"{row.last_error or ''}")


@outbox_group.command("retry")
@click.argument("message_id", type=RECORD_ID)
def retry_cmd(message_id: int) -> None:
    """Send a failed or refused message again (its retries start over; the worker delivers it)."""
    from bot.cli_services import services as _services
    from bot.services.outbox import retry

    previous = retry(_services(), message_id)
    if previous is None:
        raise click.ClickException(f"no outbox message {message_id} (`carebot outbox` lists them)")
    if previous in ("failed", "refused"):
        click.echo(f"message {message_id} ({previous}) queued again; the running bot delivers it within seconds")
    elif previous == "sent":
        click.echo(f"message {message_id} was delivered already; nothing to do")
    else:
        click.echo(f"message {message_id} is {previous}: the worker is on it already")


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
