"""The second tryout of the command line: what it refused with a traceback (an unknown setting, days past year
9999 or before year 1, ids past the database's integers) and what it accepted without a word (`--given
--withdrawn`, the last one winning; a mistyped `--team` made into a team by a dry run; the audit of a complaint
that does not exist). `carebot` runs as a process against the suite's database (SQLite, or PostgreSQL when
CAREBOT_DATABASE_URL names it); no test reads the day it runs on."""

from __future__ import annotations

import string

import pytest
from sqlalchemy import select

from messages.render import LOCALES, catalog
from storage.models import Customer, Team
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_cli_tryout import carebot, lines

SPAN = "from 1970-01-01 to 2999-12-31"


def refused(done, said: str) -> str:
    """The one `Error:` line click ends a refusal with (exit 2: how the command was said), no traceback."""
    err = done.stderr.decode()
    assert done.returncode == 2, (done.returncode, err)
    assert "Traceback" not in err and done.stdout == b""
    errors = [line for line in lines(done.stderr) if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == lines(done.stderr)[-1] and said in errors[0], err
    return errors[0]


# --- tracebacks ---------------------------------------------------------------------------------------------


def test_an_unknown_setting_is_one_line_naming_the_settings(tmp_path):
    done = carebot("config", "set", "nope", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert lines(done.stderr) == ["Error: `nope` is not a setting. Settings: digest_channel, supervisor_channel, "
                                  "supervisor_group, timezone, digest_time, plan_time, locale, name."]


@pytest.mark.parametrize("locale", LOCALES)
def test_no_text_takes_a_parameter_named_like_what_carries_it(locale):
    """CareError(key, **params) and translate(locale, key, **params): a text with `{key}` or `{locale}` could
    never be said (the unknown setting's line was one: a TypeError instead of the line)."""
    clashing = {key: name for key, text in catalog(locale).items()
                for _, name, _, _ in string.Formatter().parse(text) if name in ("key", "locale")}
    assert clashing == {}


OUT_OF_RANGE = [
    (("report", "--week", "9999-W52"), f"'--week': 9999-W52 is not a week Carebot works with: give one {SPAN}"),
    (("report", "--month", "9999-12"), f"'--month': 9999-12 is not a month Carebot works with: give one {SPAN}"),
    (("report", "--month", "0001-01"), f"'--month': 0001-01 is not a month Carebot works with: give one {SPAN}"),
    (("report", "--week", "2026-W54"), "'--week': '2026-W54' is not a week (2026-W48)"),
    (("demo", "--today", "9999-12-30"), f"'--today': 9999-12-30 is not a day Carebot works with: give one {SPAN}"),
    (("demo", "--today", "0001-01-02"), f"'--today': 0001-01-02 is not a day Carebot works with: give one {SPAN}"),
    (("demo", "--today", "2026-02-30"), "'--today': '2026-02-30' is not a date (2024-05-01)"),
    (("plan", "--from", "9999-12-30"), f"'--from': 9999-12-30 is not a day Carebot works with: give one {SPAN}"),
    (("export", "complaints", "--since", "0001-01-01"), "'--since': 0001-01-01 is not a day Carebot works with"),
    (("export", "calls", "--since", "9999年12月31日"), "'--since': 9999-12-31 is not a day Carebot works with"),
    (("escalation", "audit", "99999999999999999999"), "99999999999999999999 is not in the range 1<=x<=2147483647"),
    (("outbox", "retry", "99999999999999999999"), "99999999999999999999 is not in the range 1<=x<=2147483647"),
    (("outbox", "retry", "0"), "0 is not in the range 1<=x<=2147483647"),
]


@pytest.mark.parametrize("command, said", OUT_OF_RANGE, ids=[" ".join(command) for command, _ in OUT_OF_RANGE])
def test_a_day_period_or_id_out_of_range_is_one_line_not_a_traceback(tmp_path, command, said):
    if command[0] == "demo":
        command = (*command, "--database-url", f"sqlite:///{tmp_path / 'demo.db'}")
    refused(carebot(*command, cwd=tmp_path), f"Invalid value for {said}" if said.startswith("'") else said)


def test_the_first_and_last_periods_in_range_are_reported(tmp_path):
    for period in (("--month", "1970-01"), ("--week", "2999-W52")):
        done = carebot("report", *period, "--out", str(tmp_path / "out"), cwd=tmp_path)
        assert done.returncode == 0, done.stderr.decode()
        assert f"report-{period[1]}.csv" in done.stdout.decode()


# --- accepted without a word --------------------------------------------------------------------------------------


def consent_of(services, code: str) -> bool:
    with services.db.unit_of_work() as session:
        return session.scalars(select(Customer.consent).where(Customer.code == code)).one()


@pytest.mark.parametrize("flags", [("--given", "--withdrawn"), ("--withdrawn", "--given"), ("--given", "--given")])
def test_consent_given_and_withdrawn_at_once_is_refused_and_nothing_recorded(tmp_path, database_url, team, flags):
    seed.customer(team, "A001", "Alice Wang")
    before = consent_of(team, "A001")
    done = carebot("customer", "consent", "A001", *flags, cwd=tmp_path, url=database_url)
    refused(done, "give one of --given or --withdrawn, once")
    assert consent_of(team, "A001") == before


def test_an_option_said_twice_is_refused_not_the_last_one_kept(tmp_path):
    refused(carebot("report", "--week", "2026-W48", "--week", "2026-W47", cwd=tmp_path),
            "--week is given twice: give it once")


SHEET = "客户编号,姓名,手机号码\nT1,张女士,13812345678\n"
WITH_TEAM = [("digest", "--dry-run"), ("config", "set", "timezone", "UTC"), ("config", "show"), ("staff", "list"),
             ("import", "customers", "{sheet}"), ("import", "complaints", "{sheet}"), ("export", "customers"),
             ("plan",), ("rules", "show"), ("escalation", "rules", "show"), ("escalation", "manager", "U0BOSS"),
             ("audit",), ("customer", "consent", "A001", "--given"), ("customer", "erase", "A001", "--yes")]


def team_ids(services) -> list[str]:
    with services.db.unit_of_work() as session:
        return sorted(session.scalars(select(Team.id)).all())


@pytest.mark.parametrize("command", WITH_TEAM, ids=" ".join)
def test_a_team_that_does_not_exist_is_refused_and_nothing_is_made(tmp_path, database_url, team, command):
    seed.customer(team, "A001", "Alice Wang")
    (tmp_path / "sheet.csv").write_text(SHEET, encoding="utf-8")
    command = tuple(word.format(sheet=tmp_path / "sheet.csv") for word in command)
    done = carebot(*command, "--team", "typo-team", cwd=tmp_path, url=database_url)
    refused(done, "Invalid value for '--team': no team 'typo-team' (teams: default); a team begins with its first "
                  "person: carebot staff add U… --role admin --team typo-team")
    assert team_ids(team) == ["default"]
    assert consent_of(team, "A001") is True


def test_a_team_begins_with_its_first_person_and_is_then_named(tmp_path, database_url, team):
    done = carebot("staff", "add", "U0NEW", "--role", "admin", "--team", "sales", cwd=tmp_path, url=database_url)
    assert done.returncode == 0, done.stderr.decode()
    assert team_ids(team) == ["default", "sales"]
    for command in (("config", "set", "timezone", "UTC"), ("digest", "--dry-run"), ("staff", "list")):
        done = carebot(*command, "--team", "sales", cwd=tmp_path, url=database_url)
        assert done.returncode == 0, (command, done.stderr.decode())


def test_the_audit_of_a_complaint_that_does_not_exist_says_so(tmp_path, database_url, team):
    done = carebot("escalation", "audit", "99999", cwd=tmp_path, url=database_url)
    assert done.returncode == 1
    assert lines(done.stderr) == ["Error: no complaint 99999 (`carebot export complaints` lists them)"]
    assert done.stdout == b""


def test_the_audit_of_a_complaint_with_nothing_recorded_says_that(tmp_path, database_url, team):
    customer = seed.customer(team, "A001", "Alice Wang")
    complaint = seed.complaint(team, customer, DEFAULT_NOW, DEFAULT_NOW.replace(hour=18))
    done = carebot("escalation", "audit", str(complaint), cwd=tmp_path, url=database_url)
    assert done.returncode == 0, done.stderr.decode()
    assert lines(done.stderr) == [f"nothing recorded yet for complaint {complaint}"]
