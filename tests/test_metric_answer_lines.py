"""CSAT's satisfied line (4–5) and NPS's promoter and detractor lines (9–10, 0–6) are a team's settings with
care-domain §7's numbers as defaults, as every number of the domain (spec review D13: they were literals in
bot/care/metrics.py). The pure metrics take them; `carebot report settings set` changes them for a team."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from bot.care import metrics as m
from bot.care.metric_periods import MetricSettings
from bot.services.errors import CareError
from bot.services.insight import build_insight, metric_settings, set_metric_setting
from storage import call_queries
from tests import seed
from tests.conftest import DEFAULT_NOW


def test_the_defaults_are_care_domain_s_numbers():
    lines = MetricSettings()
    assert (lines.csat_satisfied_min, lines.nps_promoter_min, lines.nps_detractor_max) == (4, 9, 6)
    assert m.csat([5, 4, 3, 1]).satisfied_share == 50.0
    assert m.nps([10, 9, 8, 7, 6, 0], 1).score == 0  # 2 promoters, 2 detractors


def test_the_pure_metrics_count_by_the_lines_they_are_given():
    assert m.csat([5, 4, 3, 1], satisfied_min=5).satisfied_share == 25.0
    assert m.csat([5, 4, 3, 1], satisfied_min=3).satisfied_share == 75.0
    wide = m.nps([10, 9, 8, 7, 6, 0], 1, promoter_min=8, detractor_max=5)
    assert (wide.promoters, wide.passives, wide.detractors, wide.score) == (3, 2, 1, 33)
    lines = MetricSettings(csat_satisfied_min=5, nps_promoter_min=10, nps_detractor_max=8)
    calls = [m.CallFact(DEFAULT_NOW, "U0AGENT", 1, "ordinary", "satisfied", r, s)
             for r, s in ((5, 10), (4, 9), (3, 8), (2, None))]
    counted = m.tally(calls, lines)
    assert (counted.satisfied, counted.promoters, counted.detractors) == (1, 1, 1)
    assert (m.tally(calls).satisfied, m.tally(calls).promoters, m.tally(calls).detractors) == (2, 2, 0)


def test_no_line_is_a_literal_in_the_metrics():
    source = Path(m.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^(SATISFIED_MIN|PROMOTER_MIN|DETRACTOR_MAX)\b", source, re.M)
    assert not re.search(r"[<>]=\s*[1-9]", source), "a threshold compared with a number written in the code"


@pytest.mark.parametrize(("changes", "problem"), [
    ({"csat_satisfied_min": 0}, "insight.errors.bad_number"),
    ({"csat_satisfied_min": 6}, "insight.errors.bad_number"),
    ({"nps_promoter_min": 11}, "insight.errors.bad_number"),
    ({"nps_detractor_max": 10}, "insight.errors.bad_number"),
    ({"nps_detractor_max": 9}, "insight.errors.nps_lines"),  # 9 is a promoter and a detractor at once
    ({"nps_promoter_min": 6}, "insight.errors.nps_lines"),
    ({"nps_promoter_min": 8, "nps_detractor_max": 7}, None),
    ({"csat_satisfied_min": 5}, None),
])
def test_the_lines_a_team_may_set(changes, problem):
    found = dataclasses.replace(MetricSettings(), **changes).problem()
    assert (found[0] if found else None) == problem


def _calls(team) -> None:
    cid = seed.customer(team, "A001", "Alice Wang")
    with team.db.unit_of_work() as session:
        for k, (rating, nps) in enumerate(((5, 10), (4, 9), (4, 8), (3, 7), (2, 6))):
            call_queries.insert_call(session, team_id="default", customer_id=cid, callback_id=None,
                                     staff_id="U0AGENT", channel="phone", outcome="satisfied", rating=rating,
                                     nps=nps, summary="", feedback="", next_on=None,
                                     called_at=DEFAULT_NOW - dt.timedelta(hours=1, minutes=k))


def test_a_team_s_lines_decide_its_report(team):
    _calls(team)
    set_metric_setting(team, "nps_min_answers", "1")
    before = build_insight(team, kind="week").team.current
    assert (before.csat.satisfied_share, before.nps.promoters, before.nps.detractors, before.nps.score) == (
        60.0, 2, 1, 20)
    set_metric_setting(team, "csat_satisfied_min", "5")
    set_metric_setting(team, "nps_promoter_min", "10")
    set_metric_setting(team, "nps_detractor_max", "7")
    assert metric_settings(team) == MetricSettings(nps_min_answers=1, csat_satisfied_min=5, nps_promoter_min=10,
                                                   nps_detractor_max=7)
    after = build_insight(team, kind="week").team.current
    assert (after.csat.satisfied_share, after.nps.promoters, after.nps.detractors, after.nps.score) == (
        20.0, 1, 2, -20)
    mine = build_insight(team, kind="week", agent="U0AGENT").team.current
    assert (mine.csat.satisfied_share, mine.nps.score) == (20.0, -20)


def test_a_line_out_of_its_scale_or_across_the_other_is_refused_and_nothing_changes(team):
    with pytest.raises(CareError) as out_of_range:
        set_metric_setting(team, "csat_satisfied_min", "6")
    assert out_of_range.value.key == "insight.errors.bad_number"
    assert (out_of_range.value.params["low"], out_of_range.value.params["high"]) == (1, 5)
    with pytest.raises(CareError) as across:
        set_metric_setting(team, "nps_detractor_max", "9")
    assert across.value.key == "insight.errors.nps_lines"
    assert metric_settings(team) == MetricSettings()
    from messages.render import translate

    for locale in ("en", "zh-CN"):
        assert "1" in str(translate(locale, out_of_range.value.key, **out_of_range.value.params))
        assert "9" in str(translate(locale, across.value.key, **across.value.params))
