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


def _book(team, clock):
    """This week (W48, Tuesday 10:00): Alice (U0AGENT) rated 5 and 4, Bob (U0AGENT2) rated 2; W47: one 3."""
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")
    alice = seed.customer(team, "A1", "Alice", owner="U0AGENT")
    bob = seed.customer(team, "B1", "Bob", owner="U0AGENT2")
    with team.db.unit_of_work() as session:
        for customer, staff, when, rating, nps in (
                (alice, "U0AGENT", dt.datetime(2026, 11, 23, 10, tzinfo=sh), 5, 10),
                (alice, "U0AGENT", dt.datetime(2026, 11, 23, 15, tzinfo=sh), 4, 9),
                (bob, "U0AGENT2", dt.datetime(2026, 11, 24, 9, tzinfo=sh), 2, 5),
                (bob, "U0AGENT2", dt.datetime(2026, 11, 17, 9, tzinfo=sh), 3, None)):
            session.add(CallLog(team_id="default", customer_id=customer, staff_id=staff, channel="phone",
                                outcome="satisfied", rating=rating, nps=nps, called_at=when))


def _text(message: dict) -> str:
    import json

    return json.dumps(message["blocks"], ensure_ascii=False)


def test_an_agent_sees_their_own_week_and_not_a_colleague_s(bot, team, clock):
    bot.slack.add_user("U0AGENT", locale="en-US")
    _book(team, clock)
    bot.command("stats", user_id="U0AGENT")
    [mine] = bot.responses("cmd")
    assert mine["response_type"] == "ephemeral"
    shown = _text(mine)
    assert "week 2026-W48" in shown and "<@U0AGENT>" in shown
    assert "*CSAT (mean)*\\n4.50 · nothing to compare" in shown  # 5 and 4; nothing of theirs last week
    assert "U0AGENT2" not in shown  # no line per colleague for an agent

    bot.command("stats week <@U0AGENT2|bob>", user_id="U0AGENT")
    answer = bot.responses("cmd", count=2)[-1]
    assert "Only supervisors see a colleague" in _text(answer) and "4.50" in _text(answer)


def test_a_supervisor_sees_the_team_by_agent_and_any_colleague(bot, team, clock):
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    _book(team, clock)
    bot.command("stats", user_id="U0SUPER")
    [whole] = bot.responses("cmd")
    shown = _text(whole)
    assert "团队数据 · 2026-W48 周" in shown
    assert "*满意度（均分）*\\n3.67 · ▲ +0.67" in shown  # (5 + 4 + 2) / 3 against last week's 3
    assert "<@U0AGENT>：4.50" in shown and "<@U0AGENT2>：2.00" in shown
    assert "回答太少（3 条）" in shown  # NPS: 3 answers, under the default 10
    assert "各层级客户满意度：普通 3.67 (n=3)" in shown

    bot.command("stats week <@U0AGENT2|bob>", user_id="U0SUPER")
    bob = _text(bot.responses("cmd", count=2)[-1])
    assert "U0AGENT2 的数据" in bob and "<@U0AGENT2>" in bob and "*满意度（均分）*\\n2.00 · ▼ -1.00" in bob

    bot.command("stats month", user_id="U0SUPER")
    month = _text(bot.responses("cmd", count=3)[-1])
    assert "2026-11 月" in month and "对比 2026-10" in month


def test_stats_arguments_are_checked(bot, team):
    bot.slack.add_user("U0SUPER", locale="en-US")
    bot.command("stats fortnight", user_id="U0SUPER")
    [answer] = bot.responses("cmd")
    assert "Say `week` or `month`" in _text(answer)
    bot.command("stats <@U0STRANGER|x>", user_id="U0SUPER")
    assert "not registered in your team" in _text(bot.responses("cmd", count=2)[-1])
