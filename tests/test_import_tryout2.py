"""The second import tryout, each finding as the person sees it: a complaint sheet's row for an ERASED customer is
refused (their name never comes back, in the book or in the supervisors' channel); an owner registered in another
team is refused by both imports; a complaint sheet's first response in the future, a description longer than the
form takes and a year nobody opens a complaint in are refused by line (never a traceback); a numeric .xlsx code
cell is its integer digits or, when a fraction or more than 15 digits, refused saying to format the column as text
(both imports). Both databases."""

from __future__ import annotations

import datetime as dt
import json

from openpyxl import Workbook
from slack_sdk import WebClient
from sqlalchemy import select

from bot.services.complaint_import import import_complaints
from bot.services.customer_import import import_customers
from bot.services.people import Role, add_staff
from bot.services.privacy import erase_customer
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from storage.models import Complaint, Customer
from tests import seed
from tests.conftest import BOT_TOKEN, DEFAULT_NOW

NOW = f"{DEFAULT_NOW:%Y-%m-%d %H:%M}"
EARLIER = f"{DEFAULT_NOW - dt.timedelta(hours=3):%Y-%m-%d %H:%M}"


def complaints_of(svc) -> list[tuple[str, str | None, str]]:
    with svc.db.unit_of_work() as session:
        return [(customer.code, complaint.owner_id, complaint.description) for complaint, customer in session.execute(
            select(Complaint, Customer).join(Customer, Customer.id == Complaint.customer_id).order_by(Complaint.id))]


def book_of(svc) -> dict[str, Customer]:
    with svc.db.unit_of_work() as session:
        return {c.code: c for c in session.scalars(select(Customer))}


def csv_sheet(tmp_path, text: str, name: str = "complaints.csv"):
    sheet = tmp_path / name
    sheet.write_text(text, encoding="utf-8")
    return sheet


def xlsx_sheet(tmp_path, rows: list[list], name: str):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / name)
    return tmp_path / name


# --- 1. an erased customer's complaint ------------------------------------------------------------------------


def test_a_complaint_row_for_an_erased_customer_is_refused_and_the_name_never_reaches_the_channel(team, slack,
                                                                                                  renderer, tmp_path):
    """The tryout's row `E001, 欧阳娜娜女士来电：漏水…` was imported as an open complaint of the erased E001; it
    escalated and the supervisors' post quoted the name in clear (the channel scrub no longer knows it)."""
    set_setting(team, "supervisor_channel", "C0SUPER")
    seed.customer(team, "E001", "欧阳娜娜", phone="+8613912345678")
    seed.customer(team, "E002", "李雷", phone="+8613912345679")
    erase_customer(team, "E001", "cli:test")
    sheet = csv_sheet(tmp_path, "客户编号,问题描述,登记时间\n"
                                f"E001,欧阳娜娜女士来电：漏水，要求退款 13912345678,{EARLIER}\n"
                                f"E002,漏水,{EARLIER}\n")
    report = import_complaints(team, sheet)
    assert report.created == 1, report
    assert report.errors == [(2, "customer E001 was erased on 2026-11-24 (the right to deletion); their code is "
                                 "retired: if they are a customer again, give them a new code")], report.errors
    assert complaints_of(team) == [("E002", "U0AGENT", "漏水")]

    team.clock.set(DEFAULT_NOW + dt.timedelta(days=2))
    run_sla_sweep(team, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
    posts = json.dumps(slack.messages("C0SUPER"), ensure_ascii=False)
    assert "欧阳娜娜" not in posts and "13912345678" not in posts and "E001" not in posts, posts


# --- 2. an owner of another team ------------------------------------------------------------------------------


def test_the_customer_import_refuses_an_owner_registered_in_another_team(team, tmp_path):
    add_staff(team, "U0OTHER", Role.AGENT, team_id="otherteam")
    sheet = csv_sheet(tmp_path, "code,name,phone,owner\nE010,王五,13912345610,U0OTHER\n"
                                "E011,赵六,13912345611,U0AGENT\nE012,钱七,13912345612,U0NOBODY\n", "customers.csv")
    report = import_customers(team, sheet)
    assert report.created == 1, report
    assert report.errors == [(2, "owner U0OTHER is not registered in this team (they are in another team)"),
                             (4, "owner U0NOBODY is not registered (carebot staff add)")], report.errors
    assert set(book_of(team)) == {"E011"}


def test_the_complaint_import_refuses_an_owner_of_another_team_named_or_inherited(team, tmp_path):
    """Named in the owner column, or the customer's owner who has moved to another team since: either way the
    complaint would sit with someone who reads another team's book."""
    add_staff(team, "U0OTHER", Role.AGENT, team_id="otherteam")
    add_staff(team, "U0MOVED", Role.AGENT)
    seed.customer(team, "C001", "张三")
    seed.customer(team, "C002", "李四", owner="U0MOVED")
    add_staff(team, "U0MOVED", Role.AGENT, team_id="otherteam", move=True)
    sheet = csv_sheet(tmp_path, "客户编号,问题描述,登记时间,负责人\n"
                                f"C001,漏水,{EARLIER},U0OTHER\n"
                                f"C002,漏水,{EARLIER},\n"
                                f"C002,破损,{EARLIER},U0AGENT2\n")
    report = import_complaints(team, sheet)
    assert report.errors == [
        (2, "owner U0OTHER is not registered in this team (they are in another team)"),
        (3, "the customer's owner U0MOVED is not registered in this team (they are in another team): name an "
            "owner of this team in the 负责人 column")], report.errors
    assert complaints_of(team) == [("C002", "U0AGENT2", "破损")]


# --- 3. values the complaint form refuses ---------------------------------------------------------------------


def test_the_complaint_import_refuses_by_line_what_the_form_would_refuse(team, tmp_path):
    seed.customer(team, "C001", "张三")
    longest, too_long = "长" * 3000, "长" * 3001
    soon = f"{DEFAULT_NOW + dt.timedelta(minutes=1):%Y-%m-%d %H:%M}"
    sheet = csv_sheet(tmp_path, "客户编号,问题描述,登记时间,首次响应时间\n"
                                f"C001,未来的响应,2026-11-20 12:00,2030-01-01 10:00\n"
                                f"C001,一分钟后,2026-11-20 12:01,{soon}\n"
                                f"C001,{too_long},2026-11-20 13:00,\n"
                                "C001,公元一年,0001-01-01 00:00,\n"
                                "C001,九九九九年,2026-11-20 14:00,9999-12-31 23:59\n"
                                f"C001,未来,{soon},\n"
                                "C001,早于登记,2026-11-20 15:00,2026-11-20 14:59\n"
                                f"C001,{longest},2026-11-20 16:00,{NOW}\n")
    report = import_complaints(team, sheet)
    assert report.errors == [
        (2, "the first response is in the future"),
        (3, "the first response is in the future"),
        (4, "the description is 3,001 characters long (at most 3,000, as in the complaint form)"),
        (5, "opened time '0001-01-01 00:00' is not a time of an open complaint (a year from 2000 to 2099)"),
        (6, "first response '9999-12-31 23:59' is not a time of an open complaint (a year from 2000 to 2099)"),
        (7, "the opened time is in the future"),
        (8, "the first response is before the complaint was opened"),
    ], report.errors
    assert report.created == 1 and complaints_of(team) == [("C001", "U0AGENT", longest)]


# --- 4. numeric codes in an .xlsx -----------------------------------------------------------------------------

FORMAT_AS_TEXT = "format the code column as text and type the code again"


def test_numeric_xlsx_codes_are_their_digits_or_refused_in_the_customer_import(team, tmp_path):
    """The tryout's codes.xlsx stored `1000000000000000.0`, `1.234567890123457e+19` and `2024002.5` as codes."""
    sheet = xlsx_sheet(tmp_path, [
        ["客户编号", "姓名", "手机号码"],
        [2024001, "张女士", "13812345678"],
        [2024002.5, "李先生", "13812345679"],
        [12345678901234567890, "大数", "13812345680"],
        [1e15, "一千万亿", "13812345681"],
        [999999999999999, "十五位", "13812345682"],
        [2024003.0, "王先生", "13812345683"],
        [dt.date(2024, 5, 1), "日期", "13812345684"],
        [True, "是非", "13812345685"],
    ], "codes.xlsx")
    report = import_customers(team, sheet)
    assert report.errors == [
        (3, f"code 2024002.5 is a number with a fraction, not a code: {FORMAT_AS_TEXT}"),
        (4, "code 12345678901234570000 is a number of more than 15 digits, so its last digits are lost (Excel "
            f"keeps 15): {FORMAT_AS_TEXT}"),
        (5, "code 1000000000000000 is a number of more than 15 digits, so its last digits are lost (Excel keeps 15): "
            f"{FORMAT_AS_TEXT}"),
        (8, f"code 2024-05-01 is a date cell (Excel took the code for a date): {FORMAT_AS_TEXT}"),
        (9, f"code TRUE is a yes/no cell, not a code: {FORMAT_AS_TEXT}"),
    ], report.errors
    assert sorted(book_of(team)) == ["2024001", "2024003", "999999999999999"]


def test_a_code_excel_wrote_in_scientific_notation_into_a_csv_is_refused(team, tmp_path):
    sheet = csv_sheet(tmp_path, "code,name,phone\n1.23457E+19,大数,13812345680\n1E+15,整数,13812345681\n"
                                "2E5A,字母,13812345682\n", "customers.csv")
    report = import_customers(team, sheet)
    shortened = ("was shortened by Excel to scientific notation and its digits are lost: format the column as text "
                 "and export again")
    assert report.errors == [(2, f"code '1.23457E+19' {shortened}"), (3, f"code '1E+15' {shortened}")], report.errors
    assert sorted(book_of(team)) == ["2E5A"]


def test_numeric_xlsx_codes_in_the_complaint_import(team, tmp_path):
    seed.customer(team, "2024001", "张女士")
    sheet = xlsx_sheet(tmp_path, [
        ["客户编号", "问题描述", "登记时间"],
        [2024001, "漏水", EARLIER],
        [2024001.5, "破损", EARLIER],
        [1e15, "大数", EARLIER],
        [None, "无编号", EARLIER],
    ], "complaints.xlsx")
    report = import_complaints(team, sheet)
    assert report.errors == [
        (3, f"code 2024001.5 is a number with a fraction, not a code: {FORMAT_AS_TEXT}"),
        (4, "code 1000000000000000 is a number of more than 15 digits, so its last digits are lost (Excel keeps 15): "
            f"{FORMAT_AS_TEXT}"),
        (5, "the customer code is empty"),
    ], report.errors
    assert complaints_of(team) == [("2024001", "U0AGENT", "漏水")]
