"""`carebot keys …`, `carebot audit`, `carebot customer erase|consent`: protection of customer personal data
(issue 9, care-domain §8)."""

from __future__ import annotations

import json
import secrets
import shlex
import sys
from pathlib import Path

import click

from bot.services.errors import CareError
from storage import crypto


def _services(url: str | None = None):
    from bot.cli_services import services

    return services(url)


def _fail(error: CareError) -> None:
    from bot.cli_services import fail

    fail(error)


def require_keys(database_url: str | None = None) -> None:
    """Exit with the reason (no traceback) when CAREBOT_SECRET_KEY is missing or unusable. With none set on the
    SQLite database of `carebot demo` (the key the demo made kept beside it), the line says to export that one:
    a new key from `carebot keys generate` would open nothing there."""
    try:
        crypto.keyring()
    except crypto.KeyProblem as problem:
        demo_key = _demo_key_beside(database_url)
        if demo_key is not None and not _secret_key_set():
            raise click.ClickException(
                f"CAREBOT_SECRET_KEY is not set, and this is the demo's database, encrypted with the key the demo "
                f"kept beside it: export CAREBOT_SECRET_KEY=$(cat {shlex.quote(str(demo_key))})") from None
        raise click.ClickException(str(problem)) from None


def _secret_key_set() -> bool:
    from bot.settings import Settings

    return bool(Settings.from_env().secret_key)


def _demo_key_beside(database_url: str | None) -> Path | None:
    """The key file `carebot demo` left beside this SQLite database file (`carebot-demo.db` → `carebot-demo.key`),
    when both are there; else None."""
    from sqlalchemy import make_url

    from bot.cli import _demo_key_file

    if not database_url:
        return None
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or not Path(url.database).is_file():
        return None
    key_file = _demo_key_file(database_url)
    return key_file if key_file.is_file() else None


def demo_keys() -> str | None:
    """The demo runs without an operator key: it makes a throwaway one for its own database. Returns the
    key made, or None when CAREBOT_SECRET_KEY is set (then that one is used)."""
    from bot.settings import Settings

    if Settings.from_env().secret_key:
        return None
    key = secrets.token_urlsafe(32)
    crypto.use_keyring(crypto.Keyring(key))
    return key


def attach(main: click.Group) -> None:
    @main.group()
    def keys() -> None:
        """The key that encrypts customer personal data (CAREBOT_SECRET_KEY)."""

    @keys.command("generate")
    def keys_generate() -> None:
        """Print a new random key for CAREBOT_SECRET_KEY."""
        click.echo(secrets.token_urlsafe(32))

    @keys.command("status")
    def keys_status() -> None:
        """How many rows per table are not yet sealed under the current key."""
        from bot.services.privacy import rotation_status

        status = rotation_status(_services())
        click.echo(f"current key id {crypto.keyring().current.kid}")
        for table, count in status.pending.items():
            click.echo(f"  {table:20} {count} row(s) to re-encrypt")

    @keys.command("rotate")
    @click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
                  help="Rows per transaction.")
    def keys_rotate(batch: int) -> None:
        """Re-encrypt everything under CAREBOT_SECRET_KEY; earlier keys go in CAREBOT_SECRET_KEY_OLD
        (comma-separated) until it finishes. Safe to stop and run again: it resumes where it stopped."""
        from bot.services.privacy import rotate_keys, rotation_status

        services = _services()
        total = sum(rotation_status(services).pending.values())
        if total == 0:
            click.echo(f"nothing to do: every value is under key {crypto.keyring().current.kid}")
            return
        with click.progressbar(length=total, label="re-encrypting", file=click.get_text_stream("stderr"),
                               show_pos=True) as bar:
            done = rotate_keys(services, batch=batch, progress=lambda _table, rows: bar.update(rows))
        click.echo(f"re-encrypted {done.done} row(s) under key {crypto.keyring().current.kid}; "
                   "CAREBOT_SECRET_KEY_OLD can now be removed")

    @main.command("audit")
    @click.option("--customer", "code", default=None, help="Only this customer's lines (by code).")
    @click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
    @click.option("--team", default=None)
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    def audit(code: str | None, limit: int, team: str | None, as_json: bool) -> None:
        """Who viewed (card, export) or changed customers' personal data, and when: in the team's timezone
        (`carebot config set timezone`), each time with its UTC offset (--json: ISO 8601 in UTC)."""
        from zoneinfo import ZoneInfo

        from bot.services.privacy import audit_trail
        from bot.services.teams import show_settings

        try:
            svc = _services()
            lines = audit_trail(svc, team_id=team, code=code, limit=limit)
        except CareError as error:
            _fail(error)
        zone_name = show_settings(svc, team)["timezone"] or "UTC"
        zone = ZoneInfo(zone_name)
        if lines and not as_json:
            click.echo(f"times in {zone_name} (the team's timezone)", err=True)
        for line in lines:
            if as_json:
                click.echo(json.dumps({"at": line.at.isoformat(), "actor": line.actor_id, "action": line.action,
                                       "customer": line.customer_code, "detail": line.detail},
                                      ensure_ascii=False))
            else:
                detail = " ".join(f"{k}={v}" for k, v in line.detail.items())
                at = line.at.astimezone(zone)
                offset = at.strftime("%z")
                click.echo(f"{at:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}  {line.actor_id or 'carebot':14} "
                           f"{line.action:9} {line.customer_code or '-':14} {detail}".rstrip())
        if not lines:
            click.echo("no audit lines", err=True)

    @main.group()
    def customer() -> None:
        """One customer's personal data."""

    @customer.command("consent")
    @click.argument("code")
    @click.option("--given/--withdrawn", required=True, help="Consent to be contacted given, or withdrawn.")
    @click.option("--team", default=None)
    def customer_consent(code: str, given: bool, team: str | None) -> None:
        """Record a customer's consent to be contacted (PIPL), with when and how (cli); audited."""
        from bot.services.privacy import cli_actor, set_consent

        try:
            changed = set_consent(_services(), code, given, cli_actor(), team_id=team)
        except CareError as error:
            _fail(error)
        state = "given" if given else "withdrawn"
        click.echo(f"consent of {code} {state}" if changed else f"consent of {code} was already {state}")

    @customer.command("erase")
    @click.argument("code")
    @click.option("--team", default=None)
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def customer_erase(code: str, team: str | None, yes: bool) -> None:
        """Erase a customer's personal data (PIPL right to deletion); counts and statistics stay, anonymous."""
        from bot.services.privacy import cli_actor, erase_customer

        svc = _services()
        team_id = team or svc.default_team
        _erasable(svc, code, team_id)  # an unknown or erased code is said before anything is asked
        if not yes:
            try:
                sure = click.confirm(f"Erase every personal detail of customer {code}? This cannot be undone")
            except click.Abort:  # stdin ended (a pipe, a script, cron) before anyone said yes; Ctrl-C at a terminal
                if sys.stdin.isatty():
                    raise
                click.echo("")  # ends the question's line
                raise click.ClickException(f"customer {code} not erased: nobody answered the question (no "
                                           "terminal?); pass --yes to erase without asking") from None
            if not sure:
                raise click.ClickException(f"customer {code} not erased")
        try:
            erased = erase_customer(svc, code, cli_actor(), team_id=team_id)
        except CareError as error:
            _erasure_refused(svc, team_id, error)
        click.echo(f"erased customer {erased.code}: {erased.calls_kept} call(s) and {erased.complaints_kept} "
                   f"complaint(s) kept without personal data, {erased.callbacks_cancelled} open callback(s) "
                   "cancelled")


def _erasable(svc, code: str, team_id: str) -> None:
    """Exit 1 with one line when `code` names no customer of the team, or one already erased."""
    from storage import queries

    with svc.db.unit_of_work() as session:
        customer = queries.customer_by_code(session, team_id, code)
        erased_at = customer.erased_at if customer is not None else None
    if customer is None:
        _erasure_refused(svc, team_id, CareError("privacy.errors.no_customer", code=code))
    if erased_at is not None:
        _erasure_refused(svc, team_id, CareError("privacy.errors.already_erased", code=code,
                                                 at=erased_at.isoformat()))


def _erasure_refused(svc, team_id: str, error: CareError) -> None:
    """Why `carebot customer erase` erased nothing, as a person reads it: the team named, the time of an earlier
    erasure in the team's timezone (not an ISO timestamp in UTC)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from storage import queries

    code = error.params.get("code")
    if error.key == "privacy.errors.no_customer":
        raise click.ClickException(f"No customer with code {code} in team {team_id}.")
    if error.key == "privacy.errors.already_erased":
        with svc.db.unit_of_work() as session:
            row = queries.team_by_id(session, team_id)
            zone_name = row.timezone if row is not None and row.timezone else "UTC"
        at = dt.datetime.fromisoformat(error.params["at"]).astimezone(ZoneInfo(zone_name))
        raise click.ClickException(f"Customer {code} was already erased on {at:%Y-%m-%d %H:%M} ({zone_name}).")
    _fail(error)
