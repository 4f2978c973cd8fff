"""`carebot import complaints FILE`: complaints already open in a spreadsheet keep their real times."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from slack_sdk import WebClient
from sqlalchemy import select

from bot.cli import main
from bot.services.complaint_import import import_complaints
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from storage.models import Complaint
from tests import seed
from tests.conftest import BOT_TOKEN, DEFAULT_NOW, SHANGHAI


def invoke(tmp_path, *args):
    env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.db'}"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_cli_imports_good_rows_reports_bad_ones_and_skips_repeats(tmp_path):
    assert invoke(tmp_path, "staff", "add", "U0LINA", "--role", "agent").exit_code == 0
    customers = tmp_path / "customers.csv"
    customers.write_text("客户编号,姓名,联系方式,客户经理\n2024001,张女士,13812345678,U0LINA\n"
                         "A001,A公司,13900001111,U0LINA\n", encoding="utf-8-sig")
    assert invoke(tmp_path, "import", "customers", str(customers)).exit_code == 0
    sheet = tmp_path / "complaints.csv"
    sheet.write_text(
        "客户编号,类型,问题类别,严重程度,问题描述,登记时间,首次响应时间\n"
        "2024001,投诉,产品质量,高,水壶漏水,2025-11-21 14:30,2025-11-21 15:00\n"
        "A001,咨询,物流,,到货时间？,2025/11/22 09:10,\n"
        "Z999,投诉,,,谁？,2025-11-22 09:00,\n"
        "A001,投诉,,,太早,2025-11-22 09:00,2025-11-21 09:00\n"
        "A001,投诉,,,时间,yesterday,\n",
        encoding="utf-8-sig")
    result = invoke(tmp_path, "import", "complaints", str(sheet))
    assert result.exit_code == 1
    assert "created 2, already imported 0, rejected 3" in result.output
    assert "line 4: customer 'Z999' is not in the book" in result.output
    assert "line 5: the first response is before the complaint was opened" in result.output
    assert "line 6: opened time 'yesterday' is not a date and time" in result.output
    again = invoke(tmp_path, "import", "complaints", str(sheet))
    assert "created 0, already imported 2" in again.output

    from storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'carebot.db'}")
    with db.unit_of_work() as session:
        first, second = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert (first.kind, first.category, first.severity) == ("complaint", "quality", "high")
        assert first.owner_id == "U0LINA"
        assert first.opened_at == dt.datetime(2025, 11, 21, 14, 30, tzinfo=SHANGHAI)
        assert first.first_response_at == dt.datetime(2025, 11, 21, 15, 0, tzinfo=SHANGHAI)
        assert first.resolution_due_at == dt.datetime(2025, 11, 22, 14, 30, tzinfo=SHANGHAI)
        assert (second.kind, second.category, second.first_response_at) == ("inquiry", "logistics", None)
    db.dispose()


def test_imported_clocks_are_right_from_the_first_sweep(team, slack, renderer, tmp_path):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    set_setting(team, "locale", "en")
    slack.add_user("U0AGENT", locale="en-US")
    seed.customer(team, "OLD1", "Old Complaint")
    seed.customer(team, "NEW1", "New Complaint")
    sheet = tmp_path / "complaints.csv"
    opened_old = DEFAULT_NOW - dt.timedelta(days=2)
    sheet.write_text("code,opened,first response,description\n"
                     f"OLD1,{opened_old:%Y-%m-%d %H:%M},{opened_old + dt.timedelta(minutes=20):%Y-%m-%d %H:%M},late\n"
                     f"NEW1,{DEFAULT_NOW - dt.timedelta(minutes=30):%Y-%m-%d %H:%M},,new\n", encoding="utf-8")
    report = import_complaints(team, sheet)
    assert (report.created, report.errors) == (2, [])

    run_sla_sweep(team, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
    [page] = slack.messages("C0SUPER")
    shown = str(page["blocks"])
    assert "Resolution is past its SLA" in shown and "O*" in shown, "two days old: breached at the first sweep"
    assert "N*" not in shown, "opened 30 minutes ago: 30 working minutes left"
