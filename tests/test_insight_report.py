"""The report's files: PNG charts of the expected size whose pixels follow the data, CSV and XLSX of every
number, `carebot report` on a stored book."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from openpyxl import load_workbook
from PIL import Image

from bot.care.metrics import Period
from bot.cli import main
from bot.insight_charts import HEIGHT, WIDTH, cjk_font, render_charts
from bot.services.insight import build_insight
from storage.models import CallLog, Complaint
from tests import seed

SH = ZoneInfo("Asia/Shanghai")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _calls(svc, customer: int, ratings: list[int], week_start: dt.datetime) -> None:
    with svc.db.unit_of_work() as session:
        for i, rating in enumerate(ratings):
            session.add(CallLog(team_id="default", customer_id=customer, staff_id="U0AGENT", channel="phone",
                                outcome="satisfied", rating=rating, nps=9,
                                called_at=week_start + dt.timedelta(hours=i)))


def test_charts_are_pngs_of_the_expected_size_whose_pixels_follow_the_data(team, clock):
    cid = seed.customer(team, "A1", "Alice")
    monday = dt.datetime(2026, 11, 23, 10, tzinfo=SH)
    _calls(team, cid, [5, 4], monday)
    clock.set(dt.datetime(2026, 12, 1, 10, tzinfo=SH))
    week = Period.parse("2026-W48", "Asia/Shanghai")
    before = {c.name: c.png for c in render_charts(build_insight(team, period=week), "zh-CN")}
    assert sorted(before) == ["callbacks-on-time-2026-W48.png", "complaints-by-category-2026-W48.png",
                              "csat-trend-2026-W48.png", "sla-by-week-2026-W48.png"]
    for png in before.values():
        assert png.startswith(PNG_SIGNATURE)
        image = Image.open(io.BytesIO(png))
        image.verify()
        assert image.size == (WIDTH, HEIGHT)
    _calls(team, cid, [1, 1, 1], monday + dt.timedelta(days=1))
    with team.db.unit_of_work() as session:
        session.add(Complaint(team_id="default", customer_id=cid, owner_id="U0AGENT", kind="complaint",
                              category="price", severity="normal", opened_at=monday))
    after = {c.name: c.png for c in render_charts(build_insight(team, period=week), "zh-CN")}
    for name in ("csat-trend-2026-W48.png", "complaints-by-category-2026-W48.png"):
        old, new = (Image.open(io.BytesIO(p)).convert("RGB") for p in (before[name], after[name]))
        assert old.tobytes() != new.tobytes(), f"{name} did not change with the data"
    # the same data in the other language draws other pixels (labels), same size
    english = {c.name: c.png for c in render_charts(build_insight(team, period=week), "en")}
    assert english["csat-trend-2026-W48.png"] != after["csat-trend-2026-W48.png"]


def test_the_chinese_labels_have_glyphs_in_the_shipped_font():
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    path = findfont(FontProperties(family=cjk_font()), fallback_to_default=False)
    font = FT2Font(path)
    charmap = font.get_charmap()
    for char in "投诉类别分布近周满意度产品质量服务响应物流配送价格其他各客服回访按时率":
        assert ord(char) in charmap, f"{char} would be drawn as a box"


def test_carebot_report_writes_charts_csv_and_xlsx(team, clock, tmp_path):
    # a week long past, so the wall clock of the run does not matter
    cid = seed.customer(team, "A1", "Alice")
    _calls(team, cid, [5, 3], dt.datetime(2025, 3, 4, 10, tzinfo=SH))  # 2025-W10
    result = CliRunner().invoke(main, ["report", "--week", "2025-W10", "--out", str(tmp_path / "out"),
                                       "--lang", "en"], env={"CAREBOT_DATABASE_URL": team.db.url},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Weekly report 2025-W10" in result.output and "CSAT (mean): 4.00" in result.output
    out = tmp_path / "out"
    assert len(list(out.glob("*.png"))) == 4
    with open(out / "report-2025-W10.csv", encoding="utf-8-sig") as handle:
        listed = list(csv.DictReader(handle))
    rows = {(r["scope"], r["group"], r["metric"]): r for r in listed if r["scope"] != "trend"}
    assert rows[("team", "default", "csat_mean")]["value"] == "4.0"
    assert rows[("team", "default", "csat_n")]["previous"] == "0"
    assert rows[("agent", "U0AGENT", "csat_satisfied_pct")]["value"] == "50.0"
    sheet = load_workbook(out / "report-2025-W10.xlsx").active
    assert sheet.max_row == len(listed) + 1  # the header and every number of the CSV
    assert sum(r["scope"] == "trend" for r in listed) == 24  # CSAT and both SLA clocks over 8 weeks

    bad = CliRunner().invoke(main, ["report", "--week", "2025-48"], env={"CAREBOT_DATABASE_URL": team.db.url})
    assert bad.exit_code != 0 and "2026-W48" in bad.output
    both = CliRunner().invoke(main, ["report"], env={"CAREBOT_DATABASE_URL": team.db.url})
    assert both.exit_code != 0


def test_report_settings(team):
    env = {"CAREBOT_DATABASE_URL": team.db.url}
    assert CliRunner().invoke(main, ["report", "settings", "set", "nps_min_answers", "25"], env=env).exit_code == 0
    shown = CliRunner().invoke(main, ["report", "settings", "show"], env=env).output
    assert "nps_min_answers = 25" in shown and "reopen_days = 30" in shown
    bad = CliRunner().invoke(main, ["report", "settings", "set", "nps_min_answers", "many"], env=env)
    assert bad.exit_code != 0 and "whole number" in bad.output
