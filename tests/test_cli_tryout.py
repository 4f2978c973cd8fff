"""The tryout of the command line: what a person sees when they export, erase, point Carebot at a database it
cannot use, or open the demo's database without its key. `carebot` runs as a process (its stdout bytes, its exit
status, the one line it prints); times are pinned with a ManualClock, never read from the day the suite runs."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BOM = b"\xef\xbb\xbf"
BOOK = "客户编号,姓名,手机号码\nE1,张女士,13812345678\nE2,李先生,13900001111\n"


def carebot(*args: str, cwd: Path, env: dict | None = None, url: str | None = None,
            stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`carebot ARGS` in `cwd`, stdin not a terminal (empty unless given), stdout and stderr as bytes."""
    environment = {**os.environ, "CAREBOT_DATABASE_URL": url or f"sqlite:///{cwd / 'carebot.db'}", **(env or {})}
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=environment,
                          input=stdin if stdin is not None else b"", capture_output=True, timeout=120)


def lines(stream: bytes) -> list[str]:
    return [line for line in stream.decode().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def made_book(tmp_path_factory) -> Path:
    """A SQLite database with two customers, E1 and E2, imported by `carebot import customers` (once)."""
    where = tmp_path_factory.mktemp("book")
    sheet = where / "book.csv"
    sheet.write_text(BOOK, encoding="utf-8")
    done = carebot("import", "customers", str(sheet), cwd=where)
    assert done.returncode == 0 and b"created 2" in done.stdout, done.stdout.decode() + done.stderr.decode()
    return where / "carebot.db"


@pytest.fixture
def book(made_book, tmp_path) -> Path:
    """A directory of its own with a copy of that database as carebot.db."""
    shutil.copyfile(made_book, tmp_path / "carebot.db")
    return tmp_path


# --- 1, 2: exports -----------------------------------------------------------------------------------------


def test_a_csv_export_on_stdout_is_the_same_bytes_as_the_file_with_its_bom(book):
    """`carebot export customers > f.csv` is what `--output f.csv` writes: UTF-8 with a BOM (Excel opens the
    Chinese right), not BOM-less text."""
    piped = carebot("export", "customers", cwd=book)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout.startswith(BOM + b"code,name,phone"), piped.stdout[:20]
    assert carebot("export", "customers", "--output", "f.csv", cwd=book).returncode == 0
    assert piped.stdout == (book / "f.csv").read_bytes()
    assert "张*" in piped.stdout.decode("utf-8-sig")


def test_the_format_comes_from_the_output_files_extension(book):
    from openpyxl import load_workbook

    done = carebot("export", "customers", "--output", "out.xlsx", cwd=book)
    assert done.returncode == 0, done.stderr.decode()
    sheet = load_workbook(book / "out.xlsx").active  # a workbook, not CSV text in a file named .xlsx
    assert [cell.value for cell in sheet[1]][:3] == ["code", "name", "phone"]
    assert [cell.value for cell in sheet[2]][:2] == ["E1", "张*"]
    assert carebot("export", "customers", "--output", "out.csv", cwd=book).returncode == 0
    assert (book / "out.csv").read_bytes().startswith(BOM + b"code,")


@pytest.mark.parametrize("fmt, name", [("csv", "a.xlsx"), ("xlsx", "a.csv")])
def test_a_format_that_contradicts_the_extension_is_refused_in_one_line_and_nothing_is_written(book, fmt, name):
    done = carebot("export", "customers", "--format", fmt, "--output", name, cwd=book)
    assert done.returncode == 2
    [line] = lines(done.stderr)
    assert f"--format {fmt} contradicts --output {name}" in line and "nothing was written" in line
    assert done.stdout == b""
    assert not [p.name for p in book.iterdir() if p.name.startswith(("a.", ".a."))]


# --- 3: erasure --------------------------------------------------------------------------------------------


def test_erasing_an_unknown_code_says_so_at_once_without_asking(book):
    done = carebot("customer", "erase", "NOPE", cwd=book)
    assert done.returncode == 1
    assert lines(done.stderr) == ["Error: No customer with code NOPE in team default."]
    assert b"Erase every" not in done.stdout, "no question about a customer who is not there"


def test_erasing_without_a_terminal_says_to_pass_yes_and_erases_nothing(book):
    done = carebot("customer", "erase", "E1", cwd=book)  # stdin is empty: nobody can answer
    assert done.returncode == 1
    [line] = lines(done.stderr)
    assert "customer E1 not erased" in line and "pass --yes" in line, line
    still = carebot("export", "customers", cwd=book).stdout.decode("utf-8-sig")
    assert "E1,张*,138****5678" in still
    erased = carebot("customer", "erase", "E1", "--yes", cwd=book)
    assert erased.returncode == 0 and "erased customer E1" in erased.stdout.decode()


def test_already_erased_says_when_in_the_teams_timezone(book):
    """The time of the earlier erasure as a person reads it: the team's local time and zone, not
    `2026-11-30T18:28:28.959110+00:00`."""
    from bot.clock import ManualClock
    from bot.services.core import Services
    from bot.services.privacy import erase_customer
    from storage import crypto
    from storage.db import Database

    crypto.use_keyring(None)  # the suite's key, as the `carebot` processes read it
    db = Database(f"sqlite:///{book / 'carebot.db'}")
    try:
        erase_customer(Services(db=db, clock=ManualClock(dt.datetime(2026, 11, 30, 18, 28, 28, 959110, dt.UTC))),
                       "E1", "cli:test")
    finally:
        db.dispose()
        crypto.use_keyring(None)
    done = carebot("customer", "erase", "E1", cwd=book)
    assert done.returncode == 1
    assert lines(done.stderr) == ["Error: Customer E1 was already erased on 2026-12-01 02:28 (Asia/Shanghai)."]
    assert b"Erase every" not in done.stdout


# --- 4: a database URL Carebot cannot use, a database that does not answer -----------------------------------

COMMANDS = [("staff", "list"), ("digest", "--dry-run"), ("db", "upgrade"), ("export", "customers"), ("outbox",),
            ("audit",), ("serve", "--port", "0")]


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="the MySQL driver is installed here")
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_url_without_its_driver_is_one_line_naming_the_package(tmp_path, command):
    done = carebot(*command, cwd=tmp_path, url="mysql://carebot:s3cret@db.example/care")
    assert done.returncode == 1
    assert lines(done.stderr) == [
        "Error: CAREBOT_DATABASE_URL: mysql://carebot:***@db.example/care needs a driver that is not installed "
        "(pip install mysqlclient); Carebot is tested on SQLite and PostgreSQL (sqlite:///carebot.db, "
        "postgresql://USER@HOST/DB)"]


@pytest.mark.parametrize("url, said", [
    ("foo://x/care", "foo://x/care names a database SQLAlchemy does not know (foo)"),
    ("carebot.db", "'carebot.db' is not a database URL"),
    ("postgresql+asyncpg://carebot@db.example/care", "names an asyncio driver (postgresql+asyncpg)"),
])
@pytest.mark.parametrize("command", [("staff", "list"), ("db", "upgrade")], ids=" ".join)
def test_a_database_url_carebot_cannot_use_is_one_line(tmp_path, url, said, command):
    done = carebot(*command, cwd=tmp_path, url=url)
    assert done.returncode == 1
    [line] = lines(done.stderr)
    assert line.startswith("Error: CAREBOT_DATABASE_URL: ") and said in line, line


def test_the_demos_database_url_option_is_checked_the_same_way(tmp_path):
    done = carebot("demo", "--database-url", "foo://x/care", cwd=tmp_path)
    assert done.returncode == 1
    [line] = lines(done.stderr)
    assert line.startswith("Error: --database-url: foo://x/care names a database SQLAlchemy does not know"), line


@pytest.mark.parametrize("command, said", [(("digest", "--dry-run"), "carebot digest"),
                                           (("staff", "list"), "carebot staff list")])
def test_a_command_on_an_unreachable_database_says_what_it_could_not_do(tmp_path, command, said):
    url = f"sqlite:///{tmp_path / 'no such directory' / 'carebot.db'}"
    done = carebot(*command, cwd=tmp_path, url=url)
    assert done.returncode == 1
    [line] = lines(done.stderr)
    assert line.startswith(f"Error: {said}: the database is unreachable: sqlite:///"), line
    assert "did not start" not in line


# --- 5: the demo's database without its key --------------------------------------------------------------------


def test_the_demos_database_without_a_key_points_to_the_demos_key_file(tmp_path):
    no_key = {"CAREBOT_SECRET_KEY": None}
    demo = carebot("demo", cwd=tmp_path, env=no_key)
    assert demo.returncode == 0, demo.stderr.decode()
    done = carebot("digest", "--dry-run", cwd=tmp_path, env=no_key, url="sqlite:///carebot-demo.db")
    assert done.returncode == 1
    [line] = lines(done.stderr)
    assert "this is the demo's database" in line and line.endswith("export CAREBOT_SECRET_KEY=$(cat carebot-demo.key)")
    assert "keys generate" not in line
    # elsewhere the line stays general: a key of one's own
    other = carebot("staff", "list", cwd=tmp_path, env=no_key)
    assert other.returncode == 1
    [line] = lines(other.stderr)
    assert "CAREBOT_SECRET_KEY is not set" in line and "carebot keys generate" in line and "demo" not in line


def test_python_dash_m_bot_cli_knows_every_command(tmp_path):
    """`python -m bot.cli outbox` (the suite's way of running carebot) has the commands attached last."""
    done = carebot("outbox", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()


def test_the_first_import_into_a_new_database_saves_its_customers(tmp_path):
    """`carebot import customers` as the very first command on a new SQLite file (it migrates the database in a
    child process first): the two customers are created and exported, not reported 'unchanged' and lost."""
    sheet = tmp_path / "book.csv"
    sheet.write_text(BOOK, encoding="utf-8")
    done = carebot("import", "customers", str(sheet), cwd=tmp_path)
    assert done.returncode == 0 and b"created 2" in done.stdout, done.stdout.decode() + done.stderr.decode()
    plain = carebot("export", "customers", cwd=tmp_path)
    assert [line.split(",")[0] for line in plain.stdout.decode("utf-8-sig").splitlines()[1:]] == ["E1", "E2"]


def test_moving_a_person_between_teams_is_on_purpose_and_says_what_they_leave_behind(tmp_path):
    """`carebot staff add` never takes a person from another team by accident (one line, exit 1); with --move it
    does, and says what they still own in the team they left, whose supervisors reassign it."""
    assert carebot("staff", "add", "U0MOVER", "--role", "agent", "--team", "other", cwd=tmp_path).returncode == 0
    sheet = tmp_path / "other.csv"
    sheet.write_text("客户编号,姓名,手机号码,客户经理\nO1,欧阳娜娜,13812345678,U0MOVER\nO2,王芳,13900001111,U0MOVER\n",
                     encoding="utf-8")
    done = carebot("import", "customers", str(sheet), "--team", "other", cwd=tmp_path)
    assert done.returncode == 0 and b"created 2" in done.stdout, done.stdout.decode() + done.stderr.decode()
    refused = carebot("staff", "add", "U0MOVER", "--role", "agent", cwd=tmp_path)
    assert refused.returncode == 1 and len(lines(refused.stderr)) == 1, refused.stderr.decode()
    assert "registered in another team" in refused.stderr.decode() and "--move" in refused.stderr.decode()
    moved = carebot("staff", "add", "U0MOVER", "--role", "agent", "--move", cwd=tmp_path)
    assert moved.returncode == 0 and b"updated U0MOVER as agent" in moved.stdout, moved.stderr.decode()
    said = moved.stderr.decode()
    assert "moved from team other" in said and "2 customer(s)" in said, said
    listed = carebot("staff", "list", "--team", "other", cwd=tmp_path)
    assert b"U0MOVER" not in listed.stdout


@pytest.mark.parametrize("where", ["missing/dir/x.csv", "/proc/x.csv"])
def test_an_export_to_a_place_that_cannot_be_written_is_one_line(book, where):
    done = carebot("export", "customers", "--output", where, cwd=book)
    said = lines(done.stderr)
    assert done.returncode == 1 and len(said) == 1 and "Traceback" not in done.stderr.decode(), said
    assert "cannot write" in said[0] and "nothing was exported" in said[0], said


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_url_is_one_line(tmp_path, url):
    done = carebot("config", "show", cwd=tmp_path, url=url)
    said = lines(done.stderr)
    assert done.returncode == 1 and len(said) == 1 and "in-memory SQLite" in said[0], done.stderr.decode()
