"""The satisfied share's label names the team's line (tryout 3, finding 1): after `carebot report settings set
csat_satisfied_min 3` the share counts ratings 3–5, and `carebot report`, the posted report and `/care stats`
say "CSAT 3–5" / "满意度 3–5 分占比", in the reader's language, not the "4–5" once written into the catalog."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.services.insight import build_insight, set_metric_setting, stats_for
from bot.services.people import Actor, Role
from handlers.report_jobs import render_report
from handlers.stats import render_stats
from messages.insight_text import report_text
from storage import call_queries
from tests import seed
from tests.conftest import DEFAULT_NOW

LABEL = {"en": "CSAT {}", "zh-CN": "满意度 {} 分占比"}


def _calls(team, last_week: tuple[int, ...] = ()) -> None:
    cid = seed.customer(team, "A001", "Alice Wang")
    rated = [(DEFAULT_NOW - dt.timedelta(hours=1, minutes=k), r) for k, r in enumerate((5, 4, 4, 3, 2))]
    rated += [(DEFAULT_NOW - dt.timedelta(days=7, minutes=k), r) for k, r in enumerate(last_week)]
    with team.db.unit_of_work() as session:
        for when, rating in rated:
            call_queries.insert_call(session, team_id="default", customer_id=cid, callback_id=None,
                                     staff_id="U0AGENT", channel="phone", outcome="satisfied", rating=rating,
                                     nps=None, summary="", feedback="", next_on=None, called_at=when)


def _surfaces(team, renderer, locale: str) -> dict[str, str]:
    insight = build_insight(team, kind="week")
    posted = render_report(renderer, insight, locale)
    stats = stats_for(team, Actor("U0SUPER", "default", Role.SUPERVISOR, locale, "Asia/Shanghai"), "week", None)
    mine = stats_for(team, Actor("U0AGENT", "default", Role.AGENT, locale, "Asia/Shanghai"), "week", None)
    return {"carebot report": report_text(insight, locale),
            "posted report": json.dumps(posted.blocks, ensure_ascii=False),
            "/care stats (team)": json.dumps(render_stats(renderer, locale, stats).blocks, ensure_ascii=False),
            "/care stats (mine)": json.dumps(render_stats(renderer, locale, mine).blocks, ensure_ascii=False)}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize(("line", "shown", "share"), [(None, "4–5", "60.0%"), ("3", "3–5", "80.0%"),
                                                       ("5", "5", "20.0%")])
def test_the_satisfied_share_is_labelled_with_the_team_s_line(team, renderer, locale, line, shown, share):
    _calls(team)
    if line is not None:
        set_metric_setting(team, "csat_satisfied_min", line)
    label = LABEL[locale].format(shown)
    for surface, text in _surfaces(team, renderer, locale).items():
        assert label in text, (surface, text)
        if line is not None:
            assert LABEL[locale].format("4–5") not in text, surface
    report = report_text(build_insight(team, kind="week"), locale)
    assert f"{label}: {share}" in report, report  # the figure and its label side by side


def test_the_moved_most_line_names_the_team_s_line_too(team, renderer):
    _calls(team, last_week=(4, 4, 2, 2))  # last week 50% at 3–5, this week 80%
    set_metric_setting(team, "csat_satisfied_min", "3")
    insight = build_insight(team, kind="week")
    assert any(c.key == "csat_satisfied_pct" for c in insight.moved), [c.key for c in insight.moved]
    moved = report_text(insight, "en").split("Moved most")[1]
    assert "CSAT 3–5: 80.0%" in moved, moved
    posted = json.dumps(render_report(renderer, insight, "zh-CN").blocks, ensure_ascii=False)
    assert posted.count("满意度 3–5 分占比") == 2  # the headline field and the moved-most line
