"""The `carebot` command as a newcomer and an admin use it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from messages.render import validate_blocks


def run_carebot(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CAREBOT_DATABASE_URL": f"sqlite:///{cwd / 'carebot.db'}", **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_demo_prints_the_morning_list_as_a_person_reads_it(tmp_path):
    result = run_carebot("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "今日回访清单" in out and "@李娜" in out and "@Tom Baker" in out
    assert "张*（2024001）" in out and "13812345678" not in out
    assert "投诉 #1" in out and "未分配" in out
    assert (tmp_path / "carebot-demo.db").exists()


def test_demo_json_is_a_valid_payload_with_no_channel_ping(tmp_path):
    # runs on the wall clock (CI pins it with libfaketime to a Saturday, a Spring Festival day off, …)
    result = run_carebot("demo", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    validate_blocks(payload["blocks"], 50)
    assert payload["channel"] == "C0DEMOCARE"
    _assert_full_demo_list(payload)
    # running it again starts from fresh demo data instead of failing on duplicates
    assert run_carebot("demo", "--json", cwd=tmp_path).returncode == 0


def _assert_full_demo_list(payload: dict) -> None:
    """What a newcomer must see whatever the day: due and overdue callbacks, the overdue complaint, and the
    customer named <!channel> shown masked and escaped, never as a channel ping."""
    text = json.dumps(payload, ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;*（X666）" in text
    assert "投诉 #1" in text, "the overdue complaint"
    counts = payload["text"]
    due, overdue, late_complaints = (int(n) for n in re.findall(r"\*(\d+)\*", counts))
    assert due >= 5 and overdue >= 1 and late_complaints == 1, counts


@pytest.mark.parametrize("today, shown", [
    ("2026-11-30", "2026年11月30日"),  # a Monday: today's list
    ("2026-11-28", "2026年11月30日"),  # Saturday: the next working morning
    ("2027-02-06", "2027年2月11日"),  # Spring Festival 2027 (5–10 Feb off in `holidays`)
    ("2026-10-01", "2026年10月8日"),  # 国庆
    ("2026-02-28", "2026年2月28日"),  # a 调休 Saturday is a working day
    ("2026-12-31", "2026年12月31日"),  # New Year's Eve
    ("2027-01-01", "2027年1月4日"),  # New Year's Day, then a weekend
])
def test_demo_shows_a_full_list_on_any_day(tmp_path, today, shown):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(main, ["demo", "--json", "--today", today, "--database-url", url])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    validate_blocks(payload["blocks"], 50)
    assert payload["text"].startswith(f"今日回访清单 · {shown}")
    _assert_full_demo_list(payload)
    shifted = dt.date.fromisoformat(today) != dt.date(*map(int, re.findall(r"\d+", shown)))
    assert ("a day off for the team" in result.stderr) == shifted


def invoke(tmp_path, *args):
    env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.db'}"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_config_set_checks_values_and_show_prints_them(tmp_path):
    assert invoke(tmp_path, "config", "set", "timezone", "Mars/Olympus").exit_code != 0
    bad = invoke(tmp_path, "config", "set", "digest_time", "25:00")
    assert "not a time of day" in bad.output
    assert invoke(tmp_path, "config", "set", "digest_channel", "<#C0CARE|care>").exit_code == 0
    assert invoke(tmp_path, "config", "set", "digest_time", "8:30").exit_code == 0
    shown = invoke(tmp_path, "config", "show").output
    assert "digest_channel       C0CARE" in shown and "digest_time          08:30" in shown


def test_staff_list_shows_who_is_registered_and_says_when_nobody_is(tmp_path):
    empty = invoke(tmp_path, "staff", "list")
    assert empty.exit_code == 0 and "nobody is registered yet" in empty.output
    assert invoke(tmp_path, "staff", "add", "U0LINA", "--role", "agent", "--name", "李娜").exit_code == 0
    assert invoke(tmp_path, "staff", "add", "U0BOSS", "--role", "supervisor").exit_code == 0
    shown = invoke(tmp_path, "staff", "list").output.splitlines()
    assert shown == ["U0BOSS       supervisor", "U0LINA       agent       李娜"]


def test_import_customers_saves_good_rows_and_reports_bad_ones(tmp_path):
    assert invoke(tmp_path, "staff", "add", "U0LINA", "--role", "agent").exit_code == 0
    sheet = tmp_path / "customers.csv"
    sheet.write_text(
        "客户编号,姓名,联系方式,客户经理,tier,首次购买时间,生日\n"
        "2024001,张女士,13812345678,U0LINA,普通,2024-02-01,1988-02-15\n"
        "A001,A公司,138,U0LINA,VIP,2023/11/05,\n"
        "B002,B科技,,U0LINA,潜力,2023-11-06,\n"
        "C003,陈先生,13900001111,U0NOBODY,普通,,\n",
        encoding="utf-8-sig")
    result = invoke(tmp_path, "import", "customers", str(sheet))
    assert result.exit_code == 1
    assert "created 2" in result.output and "needing follow-up (no phone) 1" in result.output
    assert "line 3: refused: not a valid phone number: '138'" in result.output
    assert "line 5: refused: owner U0NOBODY is not registered" in result.output
    again = invoke(tmp_path, "import", "customers", str(sheet))
    assert "created 0, updated 0, unchanged 2" in again.output  # nothing changed: said so


def test_digest_dry_run_prints_without_slack(tmp_path):
    result = invoke(tmp_path, "digest", "--dry-run")
    assert result.exit_code == 0
    assert "今天没有待办" in result.output


def test_import_customers_from_excel(tmp_path):
    from openpyxl import Workbook

    assert invoke(tmp_path, "staff", "add", "U0LINA", "--role", "agent").exit_code == 0
    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Name", "Phone", "Owner", "Tier", "First purchase", "Birthday"])

    sheet.append([2024001, "Ms Zhang", "13812345678", "U0LINA", "high value", dt.datetime(2024, 2, 1), None])
    path = tmp_path / "customers.xlsx"
    book.save(path)
    result = invoke(tmp_path, "import", "customers", str(path))
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output and "refused 0" in result.output


def test_the_demo_database_serves_digest_with_the_key_the_demo_kept(tmp_path):
    """The README's path for a newcomer: `carebot demo` with no key, then digest/serve on the demo's database."""
    bare = {k: v for k, v in os.environ.items() if k != "CAREBOT_SECRET_KEY"}
    demo = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path, env=bare, capture_output=True,
                          text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    key_file = tmp_path / "carebot-demo.key"
    assert f"export CAREBOT_SECRET_KEY=$(cat {key_file.name})" in demo.stderr or str(key_file) in demo.stderr
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    url = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot-demo.db'}"}
    digest = subprocess.run([sys.executable, "-m", "bot.cli", "digest", "--dry-run"], cwd=tmp_path,
                            env={**bare, **url, "CAREBOT_SECRET_KEY": key_file.read_text().strip()},
                            capture_output=True, text=True, timeout=120)
    assert digest.returncode == 0, digest.stderr
    assert "X666" in digest.stdout and "<!channel>" not in digest.stdout
    wrong = subprocess.run([sys.executable, "-m", "bot.cli", "digest", "--dry-run"], cwd=tmp_path,
                           env={**bare, **url, "CAREBOT_SECRET_KEY": "x" * 43}, capture_output=True, text=True,
                           timeout=120)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "CAREBOT_SECRET_KEY_OLD" in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    # the README's next step, the demo again in English with the kept key exported: the key file stays (a new
    # shell's `export … $(cat carebot-demo.key)` still finds it) and opens the new demo database
    kept = key_file.read_text().strip()
    english = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--language", "en"], cwd=tmp_path,
                             env={**bare, **url, "CAREBOT_SECRET_KEY": kept}, capture_output=True, text=True,
                             timeout=120)
    assert english.returncode == 0, english.stderr
    assert key_file.read_text().strip() == kept
    # a demo on another database never replaces this one's key: another SQLite file keeps its key beside it, a
    # PostgreSQL database's is named after it (the tryout's demo on PostgreSQL had overwritten carebot-demo.key)
    (tmp_path / "other").mkdir()
    other = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--database-url",
                            f"sqlite:///{tmp_path / 'other' / 'x.db'}"], cwd=tmp_path, env=bare, capture_output=True,
                           text=True, timeout=120)
    assert other.returncode == 0 and key_file.read_text().strip() == kept and (tmp_path / "other" / "x.key").exists()
    from bot.cli import _demo_key_file

    assert _demo_key_file("postgresql+psycopg://postgres@127.0.0.1:5432/test") == Path("carebot-demo-test.key")
    # the demo again, now with a key of one's own set: it encrypts with that one, and the old key file (which
    # opens nothing in the new demo database) is gone rather than left to be exported by mistake
    again = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path, capture_output=True, text=True,
                           env={**bare, "CAREBOT_SECRET_KEY": "y" * 43}, timeout=120)
    assert again.returncode == 0 and "CAREBOT_SECRET_KEY set" in again.stderr, again.stderr
    assert not key_file.exists()


def test_digest_dry_run_says_when_today_is_a_day_off_and_names_people(tmp_path):
    """On a day off the scheduler posts no list: `digest --dry-run` says so before printing what it would say;
    people appear by name, not as raw Slack ids, and Slack's *bold*/_italic_ marks are not printed."""
    from zoneinfo import ZoneInfo

    assert invoke(tmp_path, "staff", "add", "U0LINA", "--role", "agent", "--name", "李娜").exit_code == 0
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the CLI's own (wall) clock, whatever the day
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"calendar: {{extra_days_off: [{today}, {today + dt.timedelta(days=1)}]}}\n", encoding="utf-8")
    assert invoke(tmp_path, "escalation", "rules", "set", str(rules)).exit_code == 0
    result = invoke(tmp_path, "digest", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "is a day off for team default: the scheduler posts no morning list today" in result.output


def test_the_demo_prints_as_a_person_reads_it_in_either_language(tmp_path):
    zh = invoke(tmp_path, "demo", "--database-url", f"sqlite:///{tmp_path / 'zh.db'}", "--today", "2026-11-30")
    en = invoke(tmp_path, "demo", "--database-url", f"sqlite:///{tmp_path / 'en.db'}", "--today", "2026-11-30",
                "--language", "en")
    assert zh.exit_code == 0 and en.exit_code == 0, zh.output + en.output
    assert "今日回访清单" in zh.output and "Morning list" in en.output
    for printed in (zh.output, en.output):
        assert "@李娜" in printed and "<@U" not in printed
        assert "_逾期_" not in printed and "*11*" not in printed and "_overdue_" not in printed
