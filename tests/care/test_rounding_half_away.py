"""Every number a report shows rounds a half away from zero, as a spreadsheet does (tryout: NPS 12.5 was shown 12,
-12.5 as -12; Python's round() and format() round a half to even)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.care import metrics as m


@pytest.mark.parametrize(("n", "promoters", "detractors", "score"), [
    (16, 5, 3, 13),    # 12.5
    (16, 3, 5, -13),   # -12.5
    (16, 7, 5, 13),    # 12.5
    (8, 3, 0, 38),     # 37.5
    (8, 0, 3, -38),    # -37.5
    (3, 2, 0, 67),     # 66.67
    (3, 1, 0, 33),     # 33.33
    (4, 2, 2, 0),
    (1, 1, 0, 100),
    (1, 0, 1, -100),
])
def test_nps_rounds_a_half_away_from_zero(n, promoters, detractors, score):
    assert m.nps_of(n, promoters, detractors, 1).score == score
    answers = [10] * promoters + [0] * detractors + [8] * (n - promoters - detractors)
    assert m.nps(answers, 1).score == score


@pytest.mark.parametrize(("value", "digits", "shown"), [
    (12.5, 0, "13"), (-12.5, 0, "-13"), (6.25, 1, "6.3"), (-6.25, 1, "-6.3"), (4.125, 2, "4.13"),
    (2.675, 2, "2.68"),  # the float is 2.67499999…: read as it prints, as a spreadsheet reads it
    (0.05, 1, "0.1"), (1.35, 1, "1.4"), (87.5, 0, "88"), (3, 0, "3"), (0.0, 1, "0.0"),
])
def test_half_away_rounds_the_number_as_it_prints(value, digits, shown):
    assert str(m.half_away(value, digits)) == shown


def test_shown_values_and_changes_round_a_half_away_from_zero():
    from messages.insight_text import delta_text, value_text

    assert value_text(100 * 1 / 16, "%", "en") == "6.3%"  # 6.25 %: format() said 6.2%
    assert value_text(33 / 8, "mean", "en") == "4.13"  # CSAT mean 4.125: format() said 4.12
    assert value_text(m.nps_of(16, 5, 3, 1).score, "score", "en") == "+13"
    assert value_text(0.25, "hours", "en") == "0.3 h"
    assert value_text(None, "%", "en") == "no data"
    # the change is the difference of the two numbers shown, rounded the same way
    assert delta_text(m.Change("csat_mean", 4.125, 4.0, "mean"), "en") == "▲ +0.13"
    assert delta_text(m.Change("csat_mean", 4.0, 4.125, "mean"), "en") == "▼ -0.13"
    assert delta_text(m.Change("on_time", 12.35, 10.0, "%"), "en") == "▲ +2.4 pts"  # 2.3499999… in binary
    assert delta_text(m.Change("nps", 13, 0, "score"), "en") == "▲ +13"
    assert delta_text(m.Change("on_time", 10.04, 10.0, "%"), "en") == "＝ 0.0 pts"


def test_the_report_files_round_the_same_way():
    from bot.insight_files import _change, _round

    assert _round(100 / 3200) == 0.0313  # 1 of 3,200 is 0.03125 %: round() said 0.0312
    assert _round(-100 / 3200) == -0.0313
    assert _round(7) == 7 and _round(None) is None
    assert _round(_change(12.35, 10.0)) == 2.35 and _change(7, 5) == 2
    assert isinstance(m.half_away(1.5), Decimal)
