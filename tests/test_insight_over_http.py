"""Insight over signed HTTP: the NPS question on the log-call modal, /care stats."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import CallLog
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_log_call_over_http import open_modal_from_button, submit


def test_the_log_call_modal_asks_would_they_recommend_us_0_to_10(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    view = open_modal_from_button(bot, cb)
    [block] = [b for b in view["blocks"] if b.get("block_id") == "nps"]
    assert block["optional"] is True and "recommend" in block["label"]["text"]
    assert [o["value"] for o in block["element"]["options"]] == [str(n) for n in range(10, -1, -1)]

    forged = submit(bot, view, outcome="satisfied", rating=5, nps=11)  # not an option: someone forged it
    assert "0 to 10" in forged["errors"]["nps"]
    with team.db.unit_of_work() as session:
        assert session.scalars(select(CallLog)).all() == []

    assert submit(bot, view, outcome="satisfied", rating=5, nps=0) is None
    with team.db.unit_of_work() as session:
        [log] = session.scalars(select(CallLog)).all()
        assert (log.rating, log.nps) == (5, 0)


def test_no_answer_to_the_nps_question_stores_none(bot, team):
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    cid = seed.customer(team, "A002", "张女士")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    view = open_modal_from_button(bot, cb)
    assert "推荐" in [b for b in view["blocks"] if b.get("block_id") == "nps"][0]["label"]["text"]
    assert submit(bot, view, outcome="satisfied", rating=4) is None
    with team.db.unit_of_work() as session:
        [log] = session.scalars(select(CallLog)).all()
        assert log.nps is None
