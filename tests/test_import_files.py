"""Files a team really has, and files an attacker or a clumsy user has (issue 9): encodings, damaged and
oversized workbooks, zip bombs, huge cells, formulas; one transaction; --dry-run; the export. Both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from bot.services.customer_import import import_customers
from bot.services.errors import CareError, Forbidden
from bot.services.exports import export
from bot.services.sheets import ImportLimits
from storage.models import Customer


def book_of(svc) -> dict[str, Customer]:
    with svc.db.unit_of_work() as session:
        return {c.code: c for c in session.scalars(select(Customer))}


def write_xlsx(path, rows, formats=None):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for (cell, fmt) in (formats or {}).items():
        sheet[cell].number_format = fmt
    book.save(path)
    return path


def test_big5_is_refused_with_its_name_and_nothing_is_saved(team, tmp_path):
    sheet = tmp_path / "big5.csv"
    sheet.write_bytes("客戶編號,姓名,聯繫電話\nT1,陳大文,13800000001\nT2,測試乙,13800000002\n".encode("big5"))
    with pytest.raises(CareError) as refused:
        import_customers(team, sheet)
    assert refused.value.key == "errors.bad_file" and "Big5" in refused.value.params["detail"]
    assert book_of(team) == {}


def test_utf16_with_bom_and_utf8_with_bom_read_right(team, tmp_path):
    (tmp_path / "u16.csv").write_text("编号\t姓名\t手机\nT1\t张三\t13800000001\n", encoding="utf-16")
    (tmp_path / "bom.csv").write_text("编号,姓名,手机\nT2,李四,13800000002\n", encoding="utf-8-sig")
    assert import_customers(team, tmp_path / "u16.csv").created == 1
    assert import_customers(team, tmp_path / "bom.csv").created == 1
    assert {c.name for c in book_of(team).values()} == {"张三", "李四"}


@pytest.mark.parametrize("content, says", [(b"code,name,phone\nT1,x,13800000001\n", "not a zip archive"),
                                           (b"PK\x03\x04truncated", "damaged or cut short")])
def test_a_file_that_is_not_a_workbook(team, tmp_path, content, says):
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(content)
    with pytest.raises(CareError) as refused:
        import_customers(team, path)
    assert refused.value.key == "errors.bad_file" and says in refused.value.params["detail"]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_an_empty_file_is_refused_as_empty(team, tmp_path, kind):
    path = tmp_path / f"empty.{kind}"
    if kind == "xlsx":
        Workbook().save(path)  # one sheet, no cell at all
    else:
        path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(CareError) as refused:
        import_customers(team, path)
    assert refused.value.key == "errors.empty_file"
    assert book_of(team) == {}


def test_a_truncated_workbook(team, tmp_path):
    whole = write_xlsx(tmp_path / "whole.xlsx", [["编号", "姓名", "手机"], ["T1", "张三", "13800000001"]])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(CareError) as refused:
        import_customers(team, cut)
    assert refused.value.key == "errors.bad_file"
    assert "damaged or cut short" in refused.value.params["detail"]  # not "a renamed .xls or CSV?"
    assert book_of(team) == {}


def test_a_zip_bomb_is_refused_before_it_is_read(team, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(40):  # 40 MiB of zeros: a few KiB zipped
                part.write(chunk)
    with pytest.raises(CareError) as refused:
        import_customers(team, bomb)
    assert "zip bomb" in refused.value.params["detail"]
    small = ImportLimits(max_expanded_bytes=16 * 1024 * 1024)
    with pytest.raises(CareError) as refused:
        import_customers(team, bomb, limits=small)
    assert "unzips to 40 MiB" in refused.value.params["detail"]


def test_size_and_row_limits(team, tmp_path):
    sheet = tmp_path / "many.csv"
    sheet.write_text("编号,姓名,手机\n" + "".join(f"T{i},n{i},1380000{i:04}\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(CareError) as refused:
        import_customers(team, sheet, limits=ImportLimits(max_rows=20))
    assert "more than 20 rows" in refused.value.params["detail"]
    with pytest.raises(CareError) as refused:
        import_customers(team, sheet, limits=ImportLimits(max_file_bytes=100))
    assert "split the file" in refused.value.params["detail"]
    assert book_of(team) == {}


def test_a_huge_cell_refuses_its_row_only(team, tmp_path):
    path = write_xlsx(tmp_path / "huge.xlsx", [["编号", "姓名", "手机", "备注"],
                                               ["T1", "张" * 40_000, "13800000001", "ok"],
                                               ["T2", "李四", "13800000002", "x" * 40_000]])
    report = import_customers(team, path)  # openpyxl itself keeps at most Excel's 32,767 characters of a cell
    assert report.created == 1 and [line for line, _ in report.errors] == [2]
    assert "name is 32,767 characters long (at most 200)" in report.errors[0][1]
    csv_path = tmp_path / "huge.csv"
    csv_path.write_text("编号,姓名,手机\nT3,王五,13800000003\nT4," + "名" * 200_000 + ",13800000004\n",
                        encoding="utf-8")
    report = import_customers(team, csv_path)
    assert report.created == 1 and report.errors == [(3, "a cell is 200,000 characters long; a cell holds at "
                                                          "most 32,767")]


def test_codes_keep_leading_zeros_and_date_cells_and_serials_are_dates(team, tmp_path):
    path = write_xlsx(tmp_path / "codes.xlsx",
                      [["客户编号", "姓名", "手机号", "生日", "首次购买时间", "同意"],
                       [42, "张三", 13800000001, dt.datetime(1990, 5, 1), 45413, "否"],
                       ["000043", "李四", "13800000002", "1991.6.2", "2024/5/1", "是"]],
                      formats={"A2": "000000"})
    report = import_customers(team, path)
    assert (report.created, report.errors, report.without_consent) == (2, [], 1)
    book = book_of(team)
    assert set(book) == {"000042", "000043"}
    assert book["000042"].birthday == dt.date(1990, 5, 1)
    assert book["000042"].first_purchase_on == dt.date(2024, 5, 1)
    assert book["000042"].consent is False and book["000043"].consent is True
    # the CSV export of the same book, imported again, finds the same customers: no second one
    out = tmp_path / "again.csv"
    export(team, "customers", "csv", out, full=True, actor_id="U0ADMIN")
    again = import_customers(team, out)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 2, [])


def test_a_sheet_that_starts_lower_right_keeps_its_lines_codes_and_only_the_first_sheet_counts(team, tmp_path):
    """The sheet as Excel shows it: empty rows and an empty column before the table, a blank row inside it,
    codes padded by `000000` and by `"VIP"0000` in another column than the first, a second sheet ignored."""
    book = Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append([])
    sheet.append([None, "姓名", "手机号", "客户编号"])
    sheet.append([None, "张三", 13800000001, 7])
    sheet.append([])
    sheet.append([None, "李四", 13800000002, 8])
    sheet.append([None, "王五", "12345", 9])
    sheet["D4"].number_format = "000000"
    sheet["D6"].number_format = '"VIP"0000'
    book.create_sheet("另一张")["A1"] = "编号"
    book.save(tmp_path / "offset.xlsx")
    report = import_customers(team, tmp_path / "offset.xlsx")
    assert report.created == 2
    assert [line for line, _ in report.errors] == [7]  # 王五's bad phone, on the line Excel shows
    assert set(book_of(team)) == {"000007", "VIP0008"}


def test_formulas_are_stored_as_text_and_neutralised_in_every_export(team, tmp_path):
    sheet = tmp_path / "inject.csv"
    sheet.write_text('编号,姓名,手机,公司,标签\n'
                     'T1,"=HYPERLINK(""http://evil"",""x"")",13800000001,+SUM(A1),@cmd\n'
                     'T2,-2+3,13800000002,"=1+1",ok\n', encoding="utf-8")
    assert import_customers(team, sheet).created == 2
    book = book_of(team)
    assert book["T1"].name == '=HYPERLINK("http://evil","x")' and book["T1"].company == "+SUM(A1)"
    out = tmp_path / "full.csv"
    export(team, "customers", "csv", out, full=True, actor_id="U0ADMIN")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    cells = [value for row in rows for value in row.values() if value]
    assert not [v for v in cells if v[0] in "=+-@"], cells
    assert rows[0]["name"] == "'=HYPERLINK(\"http://evil\",\"x\")" and rows[1]["company"] == "'=1+1"
    xlsx = tmp_path / "full.xlsx"
    export(team, "customers", "xlsx", xlsx, full=True, actor_id="U0ADMIN")
    sheet = load_workbook(xlsx).active
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not [v for v in values if isinstance(v, str) and v[:1] in "=+-@"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_exports_are_masked_unless_an_admin_asks_for_full(team, tmp_path):
    sheet = tmp_path / "people.csv"
    sheet.write_text("编号,姓名,手机,邮箱,生日\nT1,张女士,13812345678,Zhang@Example.com,1990-05-01\n",
                     encoding="utf-8")
    import_customers(team, sheet)
    out = io.StringIO()
    result = export(team, "customers", "csv", out)
    assert result.rows == 1 and not result.full
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["name"], row["phone"], row["email"]) == ("张*", "138****5678", "z***@example.com")
    assert "birthday" not in row and "13812345678" not in out.getvalue()
    with pytest.raises(Forbidden):
        export(team, "customers", "csv", io.StringIO(), full=True, actor_id="U0AGENT")
    with pytest.raises(Forbidden):
        export(team, "customers", "csv", io.StringIO(), full=True, actor_id=None)
    full = io.StringIO()
    export(team, "customers", "csv", full, full=True, actor_id="U0ADMIN")
    [row] = list(csv.DictReader(io.StringIO(full.getvalue())))
    assert (row["name"], row["phone"], row["email"], row["birthday"]) == \
        ("张女士", "'+8613812345678", "zhang@example.com", "1990-05-01")


def test_export_since_a_day(team, tmp_path):
    sheet = tmp_path / "a.csv"
    sheet.write_text("编号,姓名,手机\nT1,张三,13800000001\n", encoding="utf-8")
    import_customers(team, sheet)
    team.clock.advance(dt.timedelta(days=3))
    sheet.write_text("编号,姓名,手机\nT2,李四,13800000002\n", encoding="utf-8")
    import_customers(team, sheet)
    out = io.StringIO()
    since = team.clock.now().date()
    assert export(team, "customers", "csv", out, since=since).rows == 1
    assert "T2" in out.getvalue() and "T1" not in out.getvalue()


def test_dry_run_saves_nothing_and_reports_the_same(team, tmp_path):
    sheet = tmp_path / "dry.csv"
    sheet.write_text("编号,姓名,手机\nT1,张三,13800000001\nT2,李四,138\n", encoding="utf-8")
    dry = import_customers(team, sheet, dry_run=True)
    assert (dry.created, [line for line, _ in dry.errors], dry.dry_run) == (1, [3], True)
    assert book_of(team) == {}
    real = import_customers(team, sheet)
    assert (real.created, real.errors) == (dry.created, dry.errors)


def test_a_database_failure_half_way_leaves_nothing_of_the_file(team, tmp_path):
    """A real failure inside the one transaction (a trigger refuses the 2,500th customer, after the first
    batch was flushed): the whole file is rolled back."""
    with team.db.unit_of_work() as session:
        if session.bind.dialect.name == "sqlite":
            session.execute(text("CREATE TRIGGER boom BEFORE INSERT ON customer WHEN NEW.code = 'T2500' "
                                 "BEGIN SELECT RAISE(ABORT, 'boom'); END"))
        else:
            session.execute(text("CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.code = 'T2500' "
                                 "THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            session.execute(text("CREATE TRIGGER boom BEFORE INSERT ON customer FOR EACH ROW EXECUTE FUNCTION boom()"))
    try:
        sheet = tmp_path / "big.csv"
        sheet.write_text("编号,姓名,手机\n" + "".join(f"T{i},n{i},1380000{i:04}\n" for i in range(3000)),
                         encoding="utf-8")
        with pytest.raises(CareError) as failed:
            import_customers(team, sheet)
        assert failed.value.key == "errors.import_failed"
        assert book_of(team) == {}
    finally:
        with team.db.unit_of_work() as session:
            session.execute(text("DROP TRIGGER boom" + ("" if session.bind.dialect.name == "sqlite"
                                                         else " ON customer")))
            if session.bind.dialect.name != "sqlite":
                session.execute(text("DROP FUNCTION boom()"))


def test_merges_with_the_book_and_conflicts_are_refused(team, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("编号,姓名,手机,邮箱\nT1,张三,13800000001,zs@example.com\n", encoding="utf-8")
    import_customers(team, first)
    second = tmp_path / "second.csv"
    second.write_text("编号,姓名,手机,邮箱,公司\n"
                      "W9,张三,,ZS@example.com,张记\n"  # same email, same name: merged into T1
                      "W8,张三,,zs@example.com,\n"  # same email as W9: merged into it, so into T1
                      "W10,李四,13800000001,,\n"  # same phone as T1, another name: refused
                      "W11,王五,13800000011,a@example.com,\n"
                      "W11,王五,13800000012,,\n",  # same code in the file, another phone: refused
                      encoding="utf-8")
    report = import_customers(team, second)
    assert sorted(report.merged) == [
        (2, "W9 merged into T1, already in the book: same email"),
        (3, "W8 merged into W9 (line 2): same email; with it into T1, already in the book")]
    assert [line for line, _ in report.errors] == [4, 6]
    assert "another name" in report.errors[0][1] and "another phone" in report.errors[1][1]
    book = book_of(team)
    assert set(book) == {"T1", "W11"} and book["T1"].company == "张记"


def test_a_killed_import_leaves_all_of_the_file_or_none_of_it(tmp_path):
    """`carebot import customers` killed (SIGKILL) while it saves: the file's customers are all there or none."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from storage.db import Database

    url = f"sqlite:///{tmp_path / 'killed.db'}"
    sheet = tmp_path / "big.csv"
    rows = 8_000
    sheet.write_text("编号,姓名,手机\n" + "".join(f"T{i},n{i},138{i:08}\n" for i in range(rows)), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "import", "customers", "--progress", str(sheet)],
                               env={**os.environ, "CAREBOT_DATABASE_URL": url}, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
    seen = b""
    deadline = time.monotonic() + 120
    while b"saving" not in seen and process.poll() is None and time.monotonic() < deadline:
        seen += process.stderr.read1(256)  # type: ignore[union-attr]
    process.send_signal(signal.SIGKILL)  # mid-save; or, on a fast machine, after the commit
    process.wait()
    seen += process.stderr.read()  # type: ignore[union-attr]  # what it wrote before it ended
    assert b"saving" in seen, seen[-500:]
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            count = session.scalar(text("SELECT count(*) FROM customer"))
    finally:
        db.dispose()
    assert count in (0, rows)


def test_a_big_import_lets_the_bot_write_while_it_prepares_its_rows(team, tmp_path):
    """While a long file's new customers are being sealed and written (the "save" progress), the bot's own
    writes go on: on SQLite they are staged outside the book and copied in one short transaction at the end
    (storage/customer_stage.py); PostgreSQL never locks other writers out. Nothing of the file is visible to
    the bot before the import commits."""
    from storage.db import waiting_at_most

    sheet = tmp_path / "big.csv"
    sheet.write_text("编号,姓名,手机\n" + "".join(f"B{i},n{i},139{i:08}\n" for i in range(5_000)), encoding="utf-8")
    seen: list[tuple[int, int]] = []

    def progress(phase, _fraction, rows):
        if phase == "save" and not seen:
            with waiting_at_most(0.5), team.db.unit_of_work() as session:  # the bot's request path's patience
                session.execute(text("UPDATE team SET name = 'renamed during the import'"))
                seen.append((rows, session.scalar(select(func.count()).select_from(Customer))))

    report = import_customers(team, sheet, progress=progress)
    assert report.created == 5_000
    assert seen and seen[0][1] == 0  # the bot's write went through; the file's customers were not there yet
    assert len(book_of(team)) == 5_000


def test_calls_and_complaints_export_masked_or_full_and_since_a_day(team, clock, tmp_path):
    """Calls and complaints leave masked (no notes) unless an admin asks for --full; --since counts from the
    team's local day; every row comes out once however many batches the export reads."""
    from storage.models import CallLog
    from tests import seed

    now = clock.now()
    customer_id = seed.customer(team, "X1", "张三", phone="+8613812345678")
    with team.db.unit_of_work() as session:
        for hours in range(2_500):  # more than two batches of the export's keyset reads
            session.add(CallLog(team_id="default", customer_id=customer_id, staff_id="U0AGENT", channel="phone",
                                outcome="reached", rating=5, summary="说了地址 13812345678", feedback="",
                                called_at=now - dt.timedelta(hours=hours)))
    seed.complaint(team, customer_id, now - dt.timedelta(days=3), now)
    masked = io.StringIO()
    assert export(team, "calls", "csv", masked).rows == 2_500
    rows = list(csv.DictReader(io.StringIO(masked.getvalue().lstrip("\ufeff"))))
    assert len({row["id"] for row in rows}) == 2_500
    assert {(row["customer_name"], row["customer_phone"]) for row in rows} == {("张*", "138****5678")}
    assert "summary" not in rows[0] and "13812345678" not in masked.getvalue()
    from zoneinfo import ZoneInfo

    since = now.astimezone(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)  # yesterday, the team's day
    start = dt.datetime.combine(since, dt.time(), ZoneInfo("Asia/Shanghai"))
    expected = sum(1 for hours in range(2_500) if now - dt.timedelta(hours=hours) >= start)
    assert 24 < expected < 49
    assert export(team, "calls", "csv", io.StringIO(), since=since).rows == expected
    full = io.StringIO()
    assert export(team, "complaints", "csv", full, full=True, actor_id="U0ADMIN").rows == 1
    assert "张三" in full.getvalue() and "description" in full.getvalue().splitlines()[0]
    with pytest.raises(Forbidden):
        export(team, "complaints", "csv", io.StringIO(), full=True, actor_id="U0AGENT")
