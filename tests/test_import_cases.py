"""Every sheet of ../shared/cases/import/ (copied to tests/cases/import/) imported as a team would, with the
report it must give (issue 9). Runs on SQLite and on PostgreSQL (CAREBOT_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services.complaint_import import import_complaints
from bot.services.customer_import import import_customers
from bot.services.errors import CareError
from bot.services.people import Role, add_staff
from storage.models import Complaint, Customer
from tests.conftest import SHANGHAI

CASES = Path(__file__).parent / "cases" / "import"  # copies of ../shared/cases/import, byte for byte


def customers(svc) -> dict[str, Customer]:
    with svc.db.unit_of_work() as session:
        return {c.code: c for c in session.scalars(select(Customer))}


@pytest.fixture
def agent1(team):
    add_staff(team, "U0AGENT1", Role.AGENT)
    return team


def test_phone_header_手机号码_is_recognised_and_unknown_columns_are_named(agent1):
    report = import_customers(agent1, CASES / "unmapped_phone_header.csv")
    assert (report.created, report.errors, report.needs_follow_up) == (2, [], 0)
    assert report.unknown_columns == ()
    book = customers(agent1)
    assert book["T101"].phone == "+8613800000001" and book["T102"].phone == "+8613900000002"
    assert not book["T101"].needs_follow_up and book["T101"].owner_id == "U0AGENT1"


def test_a_file_without_a_phone_column_is_refused_and_saves_nothing(agent1, tmp_path):
    sheet = tmp_path / "no_phone.csv"
    sheet.write_text("客户编号,姓名,手机号码X,备注\nT1,张三,13800000001,老客户\n", encoding="utf-8")
    with pytest.raises(CareError) as refused:
        import_customers(agent1, sheet)
    assert refused.value.key == "errors.bad_header" and "phone" in refused.value.params["detail"]
    assert customers(agent1) == {}


def test_unknown_columns_are_named_in_the_report(agent1, tmp_path):
    sheet = tmp_path / "extra.csv"
    sheet.write_text("客户编号,姓名,手机号,来源渠道,备注,电话\nT1,张三,13800000001,抖音,老客户,13900000002\n",
                     encoding="utf-8")
    report = import_customers(agent1, sheet)
    assert report.created == 1
    assert report.unknown_columns == ("来源渠道", "备注", "电话 (a second column for the same field)")


def test_line_numbers_are_the_editors_with_blank_rows(agent1):
    report = import_customers(agent1, CASES / "blank_row_line_number.csv")
    assert report.created == 1
    assert report.errors == [(4, "not a valid phone number: '12345'")]


def test_complaint_import_keeps_time_of_day_and_line_numbers(agent1):
    assert import_customers(agent1, CASES / "complaint_customer.csv").created == 1
    agent1.clock.set(dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI))
    report = import_complaints(agent1, CASES / "complaints_datetime_cells.xlsx")
    assert (report.created, report.skipped, report.errors) == (2, 0, [])
    with agent1.db.unit_of_work() as session:
        opened = sorted(c.opened_at for c in session.scalars(select(Complaint)))
    assert opened == [dt.datetime(2026, 11, 27, 14, 30, tzinfo=SHANGHAI),
                      dt.datetime(2026, 11, 27, 16, 45, tzinfo=SHANGHAI)]


def test_complaint_import_names_the_editors_line(agent1, tmp_path):
    import_customers(agent1, CASES / "complaint_customer.csv")
    sheet = tmp_path / "complaints.csv"
    sheet.write_text("客户编号,登记时间\n\nT801,2026年11月20日 9:30\n\nZ999,2026-11-20 10:00\n", encoding="utf-8")
    report = import_complaints(agent1, sheet)
    assert report.created == 1
    assert [line for line, _ in report.errors] == [5]


def test_chinese_dates(agent1):
    with pytest.raises(CareError):  # no phone column: refused unless said on purpose
        import_customers(agent1, CASES / "chinese_date.csv")
    report = import_customers(agent1, CASES / "chinese_date.csv", require_phone=False)
    assert (report.created, report.errors, report.needs_follow_up) == (1, [], 1)
    customer = customers(agent1)["T301"]
    assert customer.birthday == dt.date(1990, 5, 1)
    assert customer.first_purchase_on == dt.date(2026, 11, 20)
    assert customer.needs_follow_up


def test_one_phone_written_two_ways_is_one_customer_and_the_report_says_so(agent1):
    report = import_customers(agent1, CASES / "dup_phone_two_codes.csv")
    assert (report.created, report.errors) == (1, [])
    assert report.merged == [(3, "T502 merged into T501 (line 2): same phone")]
    assert list(customers(agent1)) == ["T501"]
    again = import_customers(agent1, CASES / "dup_phone_two_codes.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert again.merged == [(3, "T502 merged into T501 (line 2): same phone")]
    assert list(customers(agent1)) == ["T501"]


def test_long_name_is_imported_whole(agent1):
    report = import_customers(agent1, CASES / "long_option_name.csv")
    assert report.created == 1
    assert len(customers(agent1)["T1001"].name) == 68  # "T1001 · " + name: 76 characters, over Slack's 75


def test_scientific_notation_phones_are_still_refused(agent1):
    report = import_customers(agent1, CASES / "phone_sci_notation.csv")
    assert report.created == 0
    assert [line for line, _ in report.errors] == [2, 3]
    assert all("scientific notation" in problem for _, problem in report.errors)


def test_gbk_excel_export_still_reads(agent1):
    report = import_customers(agent1, CASES / "gbk_excel_export.csv")
    assert (report.created, report.encoding) == (1, "gb18030")
    customer = customers(agent1)["T901"]
    assert customer.name == "测试庚" and customer.phone == "+8613800000091"


def test_long_name_from_the_sheet_is_an_option_cut_with_an_ellipsis_over_http(bot, agent1):
    """long_option_name.csv: the customer search in the log-call modal answers with the customer, its text
    cut to Slack's 75 characters with "…" (it returned no option at all)."""
    import_customers(agent1, CASES / "long_option_name.csv")
    reply = bot.sender.options(user_id="U0AGENT", action_id="customer_select", value="T1001")
    [option] = reply.json()["options"]
    text = option["text"]["text"]
    assert len(text) == 75 and text.endswith("…") and text.startswith("T1001 · Test Trading Co Ltd")
