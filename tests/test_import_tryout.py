"""What the import tryout found, each as the person sees it: CSVs in Japanese, Korean, traditional Chinese or
Western encodings refused in one line that names the encoding (never imported as GB18030 garbage) while the GBK
files Excel writes in China keep importing; a known code's tags joined, not replaced; headers with a space
inside, a semicolon CSV, a missing column's aliases listed once; an erased customer's date in the team's day.
Both databases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.cli_data import report_lines
from bot.services.customer_import import import_customers
from bot.services.errors import CareError
from bot.services.privacy import erase_customer
from storage import crypto
from storage.models import Customer


def book_of(svc) -> dict[str, Customer]:
    with svc.db.unit_of_work() as session:
        return {c.code: c for c in session.scalars(select(Customer))}


def refusal(svc, path) -> str:
    with pytest.raises(CareError) as refused:
        import_customers(svc, path)
    assert refused.value.key == "errors.bad_file", refused.value.key
    return refused.value.params["detail"]


# --- 1. encodings -------------------------------------------------------------------------------------------


def test_a_shift_jis_csv_is_refused_in_one_line_naming_it_exit_1_nothing_saved(tmp_path):
    """The tryout's sjis.csv was reported `sjis.csv (gb18030): 1 rows; created 1` and stored 嶳揷懢榊."""
    sheet = tmp_path / "sjis.csv"
    sheet.write_bytes("code,name,phone\nJ1,山田太郎,+81 90-1234-5678\n".encode("shift_jis"))
    env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.db'}"}
    crypto.use_keyring(None)
    try:
        result = CliRunner().invoke(main, ["import", "customers", str(sheet)], env=env, catch_exceptions=False)
        exported = CliRunner().invoke(main, ["export", "customers"], env=env, catch_exceptions=False)
    finally:
        crypto.use_keyring(None)
    assert result.exit_code == 1, result.output
    [line] = result.output.strip().splitlines()
    assert line == ("Error: sjis.csv cannot be imported: it is not UTF-8 or GB18030 text; it looks like Shift_JIS "
                    "(Japanese): save it as UTF-8 (in Excel: Save As → CSV UTF-8) and import that. Nothing was "
                    "saved."), line
    assert exported.exit_code == 0 and "J1" not in exported.output and "嶳" not in exported.output


@pytest.mark.parametrize("name, text, encoding, named", [
    ("euc-kr.csv", "code,name,phone\nK1,김철수,+82 10-1234-5678\n", "euc_kr", "EUC-KR (Korean)"),
    ("korean.csv", "code,name,phone,company\nK1,이민호,010-1234-5678,삼성전자\nK2,박지성,010-2222-3333,\n", "cp949",
     "EUC-KR (Korean)"),
    ("sjis-header.csv", "顧客番号,氏名,電話番号\nJ1,佐藤花子,+81 80-1111-2222\n", "cp932", "Shift_JIS (Japanese)"),
    ("big5.csv", "code,name,phone\nT1,陳大文,0912345678\n", "big5", "Big5 (traditional Chinese)"),
    ("latin1.csv", "code,name,phone\nL1,José Müller,+49 170 1234567\n", "latin-1",
     "Windows-1252 / Latin-1 (Western European)"),
])
def test_other_encodings_are_refused_naming_what_they_look_like(team, tmp_path, name, text, encoding, named):
    sheet = tmp_path / name
    sheet.write_bytes(text.encode(encoding))
    detail = refusal(team, sheet)
    assert f"it looks like {named}" in detail and "save it as UTF-8 (in Excel: Save As → CSV UTF-8)" in detail, detail
    assert "1250" not in detail
    assert book_of(team) == {}


@pytest.mark.parametrize("text, names", [
    ("客户编号,姓名,手机号码,地址\nT1,张伟,13800000001,北京市朝阳区建国路88号\nT2,王芳,13800000002,上海市浦东新区世纪大道100号\n"
     "T3,李娜,13800000003,广州市天河区体育西路\n", {"T1": "张伟", "T2": "王芳", "T3": "李娜"}),
    ("code,name,phone\nT1,李娜,13800000001\n", {"T1": "李娜"}),
    ("code,name,phone\nT1,王芳,13800000001\n", {"T1": "王芳"}),
    ("code,name,phone\nT1,陈静,13800000001\nT2,张伟,13800000002\n", {"T1": "陈静", "T2": "张伟"}),
    ("客户编号,姓名,手机号码\nT1,刘䶮,13800000001\nT2,𠮷田,13800000002\nT3,王玥,13800000003\n",
     {"T1": "刘䶮", "T2": "𠮷田", "T3": "王玥"}),
    ("code,name,phone\nT1,刘䶮,13800000001\nT2,𠮷田,13800000002\n", {"T1": "刘䶮", "T2": "𠮷田"}),
])
def test_gbk_files_from_excel_in_china_keep_importing(team, tmp_path, text, names):
    sheet = tmp_path / "gbk.csv"
    sheet.write_bytes(text.encode("gb18030"))
    report = import_customers(team, sheet)
    assert (report.encoding, report.created, report.refused) == ("gb18030", len(names), 0), report_lines(report)
    assert {code: c.name for code, c in book_of(team).items()} == names


# --- 2. a known code's tags ---------------------------------------------------------------------------------


def test_a_known_codes_tags_are_joined_and_its_empty_cells_erase_nothing(team, tmp_path):
    sheet = tmp_path / "tags.csv"
    sheet.write_text('客户编号,姓名,手机号码,公司,标签\nT1,张三,13800000001,甲公司,"x,y,新标签"\n', encoding="utf-8")
    assert import_customers(team, sheet).created == 1
    sheet.write_text("客户编号,姓名,手机号码,公司,标签\nT1,张三,13800000001,,z\n", encoding="utf-8")
    report = import_customers(team, sheet)
    assert (report.updated, report.unchanged) == (1, 0), report_lines(report)
    stored = book_of(team)["T1"]
    assert (list(stored.tags), stored.company) == (["x", "y", "新标签", "z"], "甲公司")
    sheet.write_text("客户编号,姓名,手机号码,标签\nT1,张三,13800000001,新标签 x\n", encoding="utf-8")
    again = import_customers(team, sheet)  # tags it already has: nothing to add
    assert (again.updated, again.unchanged) == (0, 1), report_lines(again)
    assert list(book_of(team)["T1"].tags) == ["x", "y", "新标签", "z"]


# --- 3. headers and delimiters ------------------------------------------------------------------------------


@pytest.mark.parametrize("name_header", ["姓 名", "姓\u3000名", " 姓名 ", "Full Name", "ＮＡＭＥ"])
def test_a_header_with_spaces_full_width_or_capitals_inside_is_recognised(team, tmp_path, name_header):
    sheet = tmp_path / "spaced.csv"
    sheet.write_text(f"客户 编号,{name_header},手机\u3000号码\nT1,张三,13800000001\n", encoding="utf-8")
    report = import_customers(team, sheet)
    assert (report.created, report.unknown_columns) == (1, ()), report_lines(report)
    assert report.columns == ("code", "name", "phone")


def test_a_missing_column_lists_each_of_its_names_once(team, tmp_path):
    sheet = tmp_path / "no-name.csv"
    sheet.write_text("客户编号,手机号码\nT1,13800000001\n", encoding="utf-8")
    with pytest.raises(CareError) as refused:
        import_customers(team, sheet)
    assert refused.value.key == "errors.bad_header"
    assert refused.value.params["detail"] == "no column for name (姓名/昵称/客户姓名/客户名称…)"


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_csv_with_semicolons_tabs_or_bars_between_columns_is_read(team, tmp_path, separator):
    """A European Excel saves `code;name;phone`: it was told "The first row must name the columns"."""
    sheet = tmp_path / "european.csv"
    rows = ["code;name;phone;company;tags", "E1;Anna Schmidt;+49 170 1234567;Müller, Söhne & Co;vip",
            'E2;"Li, Wei";13800000002;;']
    sheet.write_text("\n".join(rows).replace(";", separator) + "\n", encoding="utf-8")
    report = import_customers(team, sheet)
    assert (report.created, report.refused, report.unknown_columns) == (2, 0, ()), report_lines(report)
    stored = book_of(team)
    assert (stored["E1"].name, stored["E1"].company, stored["E2"].name) == ("Anna Schmidt", "Müller, Söhne & Co",
                                                                           "Li, Wei")


# --- 4. dates in the team's day -----------------------------------------------------------------------------


def test_an_erased_customers_refusal_gives_the_teams_date_not_utcs(team, clock, tmp_path):
    sheet = tmp_path / "old.csv"
    sheet.write_text("客户编号,姓名,手机号码\nE1,要删除的人,13900000001\n", encoding="utf-8")
    import_customers(team, sheet)
    clock.set(dt.datetime(2026, 12, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")))  # 2026-11-30 16:30 in UTC
    erase_customer(team, "E1", "cli:root")
    report = import_customers(team, sheet)
    [(line, problem)] = report.errors
    assert line == 2 and "customer E1 was erased on 2026-12-01 " in problem, problem
