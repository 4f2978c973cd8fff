"""The third tryout's import findings, each as the person sees it: a code in scientific notation in any form
(European decimal comma, a sign, no fraction, e or E) is refused; a negative number in an .xlsx code column
(-0.0 too, which read as the code 0) is refused, a text `-5` stays a code; one formula cell with no saved value in
`import complaints` refuses its row, naming the cell, and the good rows are imported; an empty description cell
refuses its row, as the complaint form does. Both databases."""

from __future__ import annotations

import datetime as dt

from openpyxl import Workbook
from sqlalchemy import select

from bot.services.complaint_import import import_complaints
from bot.services.customer_import import import_customers
from storage.models import Complaint, Customer
from tests import seed
from tests.conftest import DEFAULT_NOW

EARLIER = f"{DEFAULT_NOW - dt.timedelta(hours=3):%Y-%m-%d %H:%M}"
AS_TEXT = "format the code column as text and type the code again"
SHORTENED = ("was shortened by Excel to scientific notation and its digits are lost: format the column as text and "
             "export again")


def book_of(svc) -> list[str]:
    with svc.db.unit_of_work() as session:
        return sorted(c.code for c in session.scalars(select(Customer)))


def complaints_of(svc) -> list[tuple[str, str]]:
    with svc.db.unit_of_work() as session:
        return [(customer.code, complaint.description) for complaint, customer in session.execute(
            select(Complaint, Customer).join(Customer, Customer.id == Complaint.customer_id).order_by(Complaint.id))]


def xlsx_sheet(tmp_path, rows: list[list], name: str, formats: dict[str, str] | None = None):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    for ref, number_format in (formats or {}).items():
        book.active[ref].number_format = number_format
    book.save(tmp_path / name)
    return tmp_path / name


# --- 1. scientific notation, every form ----------------------------------------------------------------------


def test_a_code_in_scientific_notation_is_refused_in_every_form(team, tmp_path):
    """`1,23457E+19` in a `;` CSV (a European Excel's decimal comma), `1.2E19`, `-1.2E+19` and `1E5` were stored
    as codes; only `1.23457E+19` was refused."""
    sheet = tmp_path / "eu.csv"
    sheet.write_text("code;name;phone\n"
                     "1,23457E+19;Euro;+8613900000009\n"
                     "1.2E19;Plain;+8613900000010\n"
                     "-1.2E+19;Signed;+8613900000011\n"
                     "1E5;Short;+8613900000012\n"
                     "2e-3;Small;+8613900000013\n"
                     "１Ｅ５;Wide;+8613900000014\n"
                     "2E5A;Letters;+8613900000015\n"
                     "-5;Text;+8613900000016\n"
                     "E15;Letter first;+8613900000017\n"
                     "B1;Phone;1,38139E+10\n", encoding="utf-8")
    report = import_customers(team, sheet)
    assert report.errors == [(2, f"code '1,23457E+19' {SHORTENED}"), (3, f"code '1.2E19' {SHORTENED}"),
                             (4, f"code '-1.2E+19' {SHORTENED}"), (5, f"code '1E5' {SHORTENED}"),
                             (6, f"code '2e-3' {SHORTENED}"), (7, f"code '１Ｅ５' {SHORTENED}"),
                             (11, f"phone '1,38139E+10' {SHORTENED}")], report.errors
    assert book_of(team) == ["-5", "2E5A", "E15"]


def test_a_code_in_scientific_notation_is_refused_in_the_complaint_import(team, tmp_path):
    seed.customer(team, "100000", "张女士")
    sheet = tmp_path / "complaints.csv"
    sheet.write_text(f"客户编号;问题描述;登记时间\n1E5;漏水;{EARLIER}\n1,0E+5;破损;{EARLIER}\n100000;好;{EARLIER}\n",
                     encoding="utf-8")
    report = import_complaints(team, sheet)
    assert report.errors == [(2, f"code '1E5' {SHORTENED}"), (3, f"code '1,0E+5' {SHORTENED}")], report.errors
    assert complaints_of(team) == [("100000", "好")]


# --- 2. negative numbers in an .xlsx code column -------------------------------------------------------------


def test_a_negative_number_in_an_xlsx_code_column_is_refused(team, tmp_path):
    """-5 and -2024001 became codes (-9 through `#,##0`, -42 through `000000` as `-00042`); -0.0 became the code 0
    and collided with the real customer 0."""
    sheet = xlsx_sheet(tmp_path, [
        ["客户编号", "姓名", "手机号码"],
        [0, "零号", "13812345670"],
        [-5, "负五", "13812345671"],
        [-2024001, "负号", "13812345672"],
        [-0.0, "负零", "13812345673"],
        [-9, "千分位", "13812345674"],
        [-42, "补零", "13812345675"],
        [42, "补零正", "13812345676"],
        ["-5", "文本", "13812345677"],
    ], "customers.xlsx", {"A6": "#,##0", "A7": "000000", "A8": "000000", "A9": "@"})
    report = import_customers(team, sheet)
    assert report.errors == [
        (3, f"code -5 is a negative number, not a code: {AS_TEXT}"),
        (4, f"code -2024001 is a negative number, not a code: {AS_TEXT}"),
        (5, f"code -0 is a negative number, not a code: {AS_TEXT}"),
        (6, f"code -9 is a negative number, not a code: {AS_TEXT}"),
        (7, f"code -42 is a negative number, not a code: {AS_TEXT}"),
    ], report.errors
    assert book_of(team) == ["-5", "0", "000042"]


def test_minus_zero_finds_no_customer_in_the_complaint_import(team, tmp_path):
    seed.customer(team, "0", "零号")
    seed.customer(team, "7", "七号")
    sheet = xlsx_sheet(tmp_path, [
        ["客户编号", "问题描述", "登记时间"],
        [-0.0, "负零", EARLIER],
        [-7, "负七", EARLIER],
        [0, "零", EARLIER],
    ], "complaints.xlsx")
    report = import_complaints(team, sheet)
    assert report.errors == [(2, f"code -0 is a negative number, not a code: {AS_TEXT}"),
                             (3, f"code -7 is a negative number, not a code: {AS_TEXT}")], report.errors
    assert complaints_of(team) == [("0", "零")]


# --- 3. one bad cell refuses its row in `import complaints`, never the file ----------------------------------

UNCOMPUTED = ("is a formula with no value saved in the file (written by a program that does not compute formulas): "
              "open the file in Excel or WPS and save it, or paste the values")


def test_a_formula_with_no_saved_value_refuses_only_its_row_in_the_complaint_import(team, tmp_path):
    """The whole file was refused ('line 3: cell A3 is a formula … Nothing was saved'), its good rows with it; the
    customer import refuses that row only, naming the cell. A formula in a column the import does not read is no
    matter."""
    seed.customer(team, "A001", "张三")
    seed.customer(team, "A002", "李四")
    sheet = xlsx_sheet(tmp_path, [
        ["客户编号", "问题描述", "登记时间", "备注"],
        ["A001", "漏水", EARLIER, None],
        ['="A0"&"01"', "公式编号", EARLIER, None],
        ["A001", '="漏"&"水"', EARLIER, None],
        ["A002", "破损", EARLIER, "=1+1"],
    ], "complaints.xlsx")
    report = import_complaints(team, sheet)
    assert report.errors == [(3, f"cell A3 {UNCOMPUTED}"), (4, f"cell B4 {UNCOMPUTED}")], report.errors
    assert complaints_of(team) == [("A001", "漏水"), ("A002", "破损")]


def test_an_over_long_cell_refuses_only_its_row_in_the_complaint_import(team, tmp_path):
    seed.customer(team, "A001", "张三")
    seed.customer(team, "A002", "李四")
    sheet = tmp_path / "complaints.csv"
    sheet.write_text(f"客户编号,问题描述,登记时间,备注\nA001,{'长' * 40_000},{EARLIER},\nA002,破损,{EARLIER},\n"
                     f"A001,漏水,{EARLIER},{'x' * 40_000}\n", encoding="utf-8")
    report = import_complaints(team, sheet)
    assert report.errors == [(2, "a cell is 40,000 characters long; a cell holds at most 32,767"),
                             (4, "a cell is 40,000 characters long; a cell holds at most 32,767")], report.errors
    assert complaints_of(team) == [("A002", "破损")]


# --- 4. an empty description -------------------------------------------------------------------------------


def test_an_empty_description_cell_refuses_its_row_as_the_form_does(team, tmp_path):
    seed.customer(team, "A001", "张三")
    sheet = tmp_path / "complaints.csv"
    earlier = DEFAULT_NOW - dt.timedelta(hours=3)
    times = [f"{earlier + dt.timedelta(minutes=m):%Y-%m-%d %H:%M}" for m in range(4)]
    sheet.write_text(f"客户编号,问题描述,登记时间\nA001,  ,{times[0]}\nA001,,{times[1]}\nA001,\u200b\u202e,{times[2]}\n"
                     f"A001,漏水,{times[3]}\n", encoding="utf-8")
    report = import_complaints(team, sheet)
    empty = "the description is empty (the complaint form needs one too)"
    assert report.errors == [(2, empty), (3, empty), (4, empty)], report.errors
    assert complaints_of(team) == [("A001", "漏水")]


def test_a_sheet_without_a_description_column_still_imports(team, tmp_path):
    """The description column is optional (README: import complaints; tests/test_escalation_rules.py imports
    `客户编号,登记时间`): such a sheet's complaints are stored without one."""
    seed.customer(team, "A001", "张三")
    sheet = tmp_path / "complaints.csv"
    sheet.write_text(f"客户编号,登记时间\nA001,{EARLIER}\n", encoding="utf-8")
    report = import_complaints(team, sheet)
    assert (report.created, report.errors) == (1, [])
    assert complaints_of(team) == [("A001", "")]
