"""What a newcomer found importing their team's sheets (issue 9 follow-ups), each as the report tells it:
an unchanged sheet imported again, a sheet without a consent column, a merge naming the sheet's own column,
formula cells with no value saved in the file. Both databases."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.cli_data import report_lines
from bot.services.customer_import import import_customers
from storage.models import Customer

SHEET = """客户编号,姓名,手机号码,邮箱,公司,客户经理,客户等级,首次购买时间,生日,年消费,标签,同意
C001,张三,13800000001,zhang@example.com,星光贸易,U0AGENT,高价值,2024-05-01,1990-01-02,12000.50,"老客户,北京",是
C002,Li Si,13800000002,,,U0AGENT,普通,2024/6/1,,,,否
C003,王五,13800000003,wang@example.cn,,,潜力,,,800,,1
"""


def book_of(svc) -> dict[str, Customer]:
    with svc.db.unit_of_work() as session:
        return {c.code: c for c in session.scalars(select(Customer))}


def test_an_unchanged_sheet_imported_again_says_unchanged_not_updated(team, tmp_path):
    sheet = tmp_path / "customers.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    first = import_customers(team, sheet)
    assert (first.created, first.updated, first.refused) == (3, 0, 0), report_lines(first)
    again = import_customers(team, sheet)
    assert (again.created, again.updated, again.unchanged, again.refused) == (0, 0, 3, 0), report_lines(again)
    assert "updated 0" in report_lines(again)[0] and "unchanged 3" in report_lines(again)[0]
    sheet.write_text(SHEET.replace("星光贸易", "星光贸易有限公司"), encoding="utf-8")
    changed = import_customers(team, sheet)
    assert (changed.updated, changed.unchanged) == (1, 2), report_lines(changed)
    assert book_of(team)["C001"].company == "星光贸易有限公司"


def test_a_sheet_without_a_consent_column_says_everyone_new_is_taken_as_consenting(team, tmp_path):
    sheet = tmp_path / "no-consent.csv"
    sheet.write_text("客户编号,姓名,手机号码\nN001,赵六,13800000011\nN002,钱七,13800000012\n", encoding="utf-8")
    report = import_customers(team, sheet)
    assert (report.created, report.consent_assumed) == (2, 2)
    said = "\n".join(report_lines(report))
    assert "no consent column" in said and "2 new customer(s) recorded as consenting" in said, said
    assert all(c.consent for c in book_of(team).values())  # the default stands; it is said, not silent

    stated = tmp_path / "stated.csv"
    stated.write_text(SHEET, encoding="utf-8")
    report = import_customers(team, stated)
    assert report.consent_assumed == 0 and "consent" not in report_lines(report)[0]
    assert not any("recorded as consenting" in line for line in report_lines(report))

    partly = tmp_path / "partly.csv"
    partly.write_text("客户编号,姓名,手机号码,同意\nP001,孙八,13800000021,\nP002,周九,13800000022,否\n",
                      encoding="utf-8")
    report = import_customers(team, partly)
    assert report.consent_assumed == 1
    assert any("1 new customer(s) with an empty consent cell recorded as consenting" in line
               for line in report_lines(report)), report_lines(report)


def test_a_merge_names_the_sheets_own_columns_not_internal_fields(team, tmp_path):
    sheet = tmp_path / "twice.csv"
    sheet.write_text("客户编号,姓名,手机号码,公司,首次购买时间,客户经理\n"
                     "M001,吴十,13800000031,甲公司,2024-05-01,U0AGENT\n"
                     "M002,吴十,13800000031,乙公司,2024-06-01,U0AGENT2\n", encoding="utf-8")
    report = import_customers(team, sheet)
    [(line, what)] = report.merged
    assert line == 3 and what.endswith("; kept the 公司, 客户经理, 首次购买时间 of line 2"), what
    english = tmp_path / "english.csv"
    english.write_text("code,name,phone,First Purchase Date,owner\n"
                       "M001,吴十,13800000031,2023-01-01,U0AGENT2\n", encoding="utf-8")
    report = import_customers(team, english)
    assert report.updated == 1  # the same code: its values are the sheet's, nothing merged
    twice = tmp_path / "english-twice.csv"
    twice.write_text("code,name,phone,First Purchase Date\nE001,Zhou,13800000041,2023-01-01\n"
                     "E002,Zhou,13800000041,2023-02-01\n", encoding="utf-8")
    [(_, what)] = import_customers(team, twice).merged
    assert "first_purchase_on" not in what and what.endswith("kept the First Purchase Date of line 2"), what


def test_a_formula_cell_with_no_saved_value_refuses_its_row_instead_of_storing_it_empty(team, tmp_path):
    """openpyxl, scripts and some exporters write formulas without computing them: the file holds no value to
    read. Such a row is refused with the cell named; a formula Excel saved (with its value) reads as the value."""
    from openpyxl import Workbook

    path = tmp_path / "formulas.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["客户编号", "姓名", "手机号码", "年消费", "备注"])
    sheet.append(["F001", "郑一", "13800000051", "=1000*12", "=A2"])  # a spend nobody computed
    sheet.append(["F002", "郑二", "13800000052", 800, "=A3"])  # only an unread column is a formula: imported
    book.save(path)
    report = import_customers(team, path)
    assert report.created == 1 and set(book_of(team)) == {"F002"}, report_lines(report)
    [(line, problem)] = report.errors
    assert line == 2 and "D2" in problem and "formula" in problem and "save" in problem, problem
    assert any("line 2: refused:" in text and "D2" in text for text in report_lines(report))


def test_a_formula_excel_saved_with_its_value_is_read_as_that_value(team, tmp_path):
    import zipfile

    path = tmp_path / "computed.xlsx"
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["客户编号", "姓名", "手机号码", "年消费"])
    book.active.append(["F003", "郑三", "13800000053", "=1000*12"])
    book.save(path)
    # what Excel writes once it has computed the formula: the formula and its cached value
    with zipfile.ZipFile(path) as source:
        parts = {item.filename: source.read(item.filename) for item in source.infolist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    computed, found = re.subn(r"<f>1000\*12</f><v\s*/>|<f>1000\*12</f><v></v>", "<f>1000*12</f><v>12000</v>", sheet_xml)
    assert found == 1, sheet_xml
    parts["xl/worksheets/sheet1.xml"] = computed.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    report = import_customers(team, path)
    assert (report.created, report.errors) == (1, []), report_lines(report)
    assert book_of(team)["F003"].annual_spend == 12000
