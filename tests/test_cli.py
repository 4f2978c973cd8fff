"""The `carebot` command as a newcomer and an admin use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    result = run_carebot("demo", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    validate_blocks(payload["blocks"], 50)
    assert payload["channel"] == "C0DEMOCARE"
    assert "<!channel>" not in result.stdout and "&lt;*" in result.stdout
    # running it again starts from fresh demo data instead of failing on duplicates
    assert run_carebot("demo", "--json", cwd=tmp_path).returncode == 0


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
    assert "created 0, updated 2" in again.output


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
    import datetime as dt

    sheet.append([2024001, "Ms Zhang", "13812345678", "U0LINA", "high value", dt.datetime(2024, 2, 1), None])
    path = tmp_path / "customers.xlsx"
    book.save(path)
    result = invoke(tmp_path, "import", "customers", str(path))
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output and "refused 0" in result.output
