"""A call logged as unreachable has no rating and no NPS answer: nobody was reached, so nobody rated it (care-domain
§6; spec review #9: a rating of 1 on an unreachable call opened a low-rating complaint and counted in CSAT). The
form refuses one, in the person's language, on the field; one stored before is left out of CSAT and NPS."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.care import metrics as m
from bot.care.call_form import CallForm, check_call
from bot.services.insight import build_insight
from messages.render import translate
from storage import call_queries
from storage.models import Callback, CallLog, Complaint
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_log_call_over_http import open_modal_from_button, submit

TODAY = dt.date(2026, 11, 24)


def form(outcome: str | None, rating: int | None, nps: int | None = None) -> CallForm:
    return CallForm(customer_id=1, callback_id=None, channel="phone", outcome=outcome, rating=rating, summary="",
                    feedback="", next_on=None, nps=nps)


def test_an_unreachable_call_takes_no_rating_and_no_nps_answer():
    assert check_call(form("unreachable", 1), TODAY) == {"rating": ("form.errors.rating_unreachable", {})}
    assert check_call(form("unreachable", 5), TODAY) == {"rating": ("form.errors.rating_unreachable", {})}
    assert check_call(form("unreachable", None, nps=0), TODAY) == {"nps": ("insight.form.nps_unreachable", {})}
    assert check_call(form("unreachable", None), TODAY) == {}
    # a reached customer still rates the call; an out-of-range rating is said as such, whatever the outcome
    assert check_call(form("satisfied", None), TODAY) == {"rating": ("form.errors.rating_missing", {})}
    assert check_call(form("problem", 2, nps=3), TODAY) == {}
    assert check_call(form("unreachable", 9), TODAY) == {"rating": ("form.errors.rating_range", {})}
    assert check_call(form(None, 3), TODAY) == {"outcome": ("form.errors.outcome_missing", {})}


def test_the_refusal_is_said_in_both_languages():
    for key in ("form.errors.rating_unreachable", "insight.form.nps_unreachable"):
        en, zh = str(translate("en", key)), str(translate("zh-CN", key))
        assert "reach" in en and "未联系上" in zh


def test_the_modal_shows_the_refusal_on_the_rating_field_and_saves_nothing(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    view = open_modal_from_button(bot, cb)

    refused = submit(bot, view, outcome="unreachable", rating=1, nps=0)
    assert refused["response_action"] == "errors"
    assert refused["errors"]["rating"] == str(translate("en", "form.errors.rating_unreachable"))
    assert refused["errors"]["nps"] == str(translate("en", "insight.form.nps_unreachable"))
    with team.db.unit_of_work() as session:
        assert session.scalars(select(CallLog)).all() == []
        assert session.scalars(select(Complaint)).all() == [], "no low-rating complaint for nobody's rating"
        assert session.get(Callback, cb).status == "open"

    assert submit(bot, view, outcome="unreachable", rating=None) is None  # without one it is logged


def test_ratings_already_stored_on_unreachable_calls_leave_csat_and_nps(team, clock):
    cid = seed.customer(team, "A001", "Alice Wang")
    with team.db.unit_of_work() as session:
        for outcome, rating, nps, minutes in (("satisfied", 5, 10, 0), ("unreachable", 1, 0, 10),
                                              ("unreachable", 2, None, 20), ("unreachable", None, None, 30)):
            call_queries.insert_call(session, team_id="default", customer_id=cid, callback_id=None,
                                     staff_id="U0AGENT", channel="phone", outcome=outcome, rating=rating, nps=nps,
                                     summary="", feedback="", next_on=None,
                                     called_at=DEFAULT_NOW - dt.timedelta(hours=1, minutes=minutes))
    figures = build_insight(team, kind="week").team.current
    assert (figures.csat.n, figures.csat.mean, figures.csat.satisfied_share) == (1, 5.0, 100.0)
    assert (figures.nps.n, figures.nps.promoters, figures.nps.detractors, figures.nps.score) == (1, 1, 0, 100)
    by_agent = build_insight(team, kind="week", agent="U0AGENT").team.current
    assert (by_agent.csat.n, by_agent.nps.n) == (1, 1)

    # the pure tally counts the same as the database
    calls = [m.CallFact(DEFAULT_NOW, "U0AGENT", cid, "ordinary", "satisfied", 5, 10),
             m.CallFact(DEFAULT_NOW, "U0AGENT", cid, "ordinary", "unreachable", 1, 0),
             m.CallFact(DEFAULT_NOW, "U0AGENT", cid, "ordinary", "unreachable", 2, None)]
    counted = m.tally(calls)
    assert (counted.calls, counted.csat().n, counted.csat().mean, counted.nps(1).n) == (3, 1, 5.0, 1)
