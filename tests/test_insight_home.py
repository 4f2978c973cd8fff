"""The App Home of issue 13 over signed HTTP: my week, quick actions, the team's week for supervisors, a
1,000-item queue under Slack's 100 blocks, and a refresh after each change of mine."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from storage.models import Callback, CallLog
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.signed import form_values

SH = ZoneInfo("Asia/Shanghai")


def open_home(bot, user: str, count: int = 1) -> dict:
    bot.sender.event({"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.0"})
    return bot.slack.wait_for("views.publish", count=count)[-1].args["view"]


def texts(view: dict) -> str:
    return str(view["blocks"])


def test_my_week_and_quick_actions(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    monday = dt.datetime(2026, 11, 23, 10, tzinfo=SH)
    with team.db.unit_of_work() as session:  # this week: two calls rated 5 and 3; one callback on time, one missed
        for hours, rating in ((0, 5), (3, 3)):
            session.add(CallLog(team_id="default", customer_id=cid, staff_id="U0AGENT", channel="phone",
                                outcome="satisfied", rating=rating, called_at=monday + dt.timedelta(hours=hours)))
        session.add_all([
            Callback(team_id="default", customer_id=cid, owner_id="U0AGENT", kind="survey", due_at=monday,
                     status="done", closed_at=monday + dt.timedelta(hours=3), created_at=monday),
            Callback(team_id="default", customer_id=cid, owner_id="U0AGENT", kind="welcome", due_at=monday,
                     status="expired", created_at=monday)])
    view = open_home(bot, "U0AGENT")
    shown = texts(view)
    assert "*My week* (2026-W48): *2* calls done · callbacks on time 50.0% · CSAT 4.00" in shown
    actions = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["home_log_call", "home_open_complaint"]
    assert "Team this week" not in shown  # agents see their own figures only

    bot.sender.block_action(user_id="U0AGENT", action_id="home_log_call", value="log",
                            trigger_id=bot.slack.new_trigger_id(), container={"type": "view", "view_id": "V0HOME"})
    [opened] = bot.slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "log_call_modal"
    bot.sender.block_action(user_id="U0AGENT", action_id="home_open_complaint", value="complaint",
                            trigger_id=bot.slack.new_trigger_id(), container={"type": "view", "view_id": "V0HOME"})
    assert bot.slack.wait_for("views.open", count=2)[-1].args["view"]["callback_id"] == "complaint_modal"


def test_a_supervisor_sees_the_team_s_week(bot, team):
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    cid = seed.customer(team, "A001", "Alice Wang")
    with team.db.unit_of_work() as session:
        session.add(CallLog(team_id="default", customer_id=cid, staff_id="U0AGENT", channel="phone",
                            outcome="satisfied", rating=4, nps=10, called_at=DEFAULT_NOW - dt.timedelta(hours=1)))
    shown = texts(open_home(bot, "U0SUPER"))
    assert "*团队本周*：满意度 4.00 · NPS 回答太少（1 条）" in shown
    assert "*我的本周*（2026-W48）：完成回访 *0* 次" in shown


def test_a_queue_of_1000_stays_under_100_blocks_and_says_how_many_more(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    first = seed.customer(team, "A000", "Customer 0")
    with team.db.unit_of_work() as session:
        from storage.models import Customer

        session.execute(insert(Customer), [dict(team_id="default", code=f"A{n:04d}", name=f"Customer {n}",
                                                owner_id="U0AGENT", tier="ordinary", tags=[], consent=True,
                                                needs_follow_up=False, created_at=DEFAULT_NOW)
                                           for n in range(1, 1000)])
        session.execute(insert(Callback), [dict(team_id="default", customer_id=first + n, owner_id="U0AGENT",
                                                kind="survey", due_at=DEFAULT_NOW - dt.timedelta(minutes=n),
                                                status="open", attempts=0, rule="manual", params={},
                                                created_at=DEFAULT_NOW) for n in range(1000)])
    view = open_home(bot, "U0AGENT")  # the stand-in refuses a view over 100 blocks
    assert len(view["blocks"]) < 100
    assert "more in `/care due`" in texts(view)
    assert bot.slack.refused() == []


def test_opening_and_resolving_a_complaint_refresh_my_home(bot, team, clock):
    from tests.test_complaints_over_http import complaint_values

    bot.slack.add_user("U0AGENT", locale="en-US")
    seed.customer(team, "A001", "Alice Wang")
    bot.command("complaint A001", user_id="U0AGENT")
    [opened] = bot.slack.wait_for("views.open")
    reply = bot.sender.view_submission(user_id="U0AGENT", view=opened.args["view"], values=complaint_values())
    assert reply.status == 200
    bot.slack.wait_for("views.publish")  # refreshed at once (not yet past its SLA: not in the queue)
    clock.advance(dt.timedelta(days=3))
    complaint_id = opened_id(team)
    before = open_home(bot, "U0AGENT", count=2)
    assert f"home-co-{complaint_id}" in [b.get("block_id") for b in before["blocks"]]  # now past its SLA
    bot.sender.block_action(user_id="U0AGENT", action_id="complaint_resolve", value=str(complaint_id),
                            trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("list"))
    modal = bot.slack.wait_for("views.open", count=2)[-1].args["view"]
    bot.sender.view_submission(user_id="U0AGENT", view=modal, values={
        "resolution": {"value": {"type": "plain_text_input", "value": "Refunded"}}})
    after = bot.slack.wait_for("views.publish", count=3)[-1].args["view"]
    assert f"home-co-{complaint_id}" not in [b.get("block_id") for b in after["blocks"]]
    assert "Post-complaint callback" in texts(after)  # what resolving planned takes its place


def opened_id(team) -> int:
    from sqlalchemy import select

    from storage.models import Complaint

    with team.db.unit_of_work() as session:
        return session.scalars(select(Complaint.id)).one()


def test_logging_a_call_counts_in_my_week_at_once(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(hours=1))
    assert "*0* calls done" in texts(open_home(bot, "U0AGENT"))
    bot.sender.block_action(user_id="U0AGENT", action_id="log_call", value=f"cb:{cb}",
                            trigger_id=bot.slack.new_trigger_id(), container={"type": "view", "view_id": "V0HOME"})
    [opened] = bot.slack.wait_for("views.open")
    bot.sender.view_submission(user_id="U0AGENT", view=opened.args["view"],
                               values=form_values(outcome="satisfied", rating=5))
    after = bot.slack.wait_for("views.publish", count=2)[-1].args["view"]
    assert "*1* calls done · callbacks on time 100.0% · CSAT 5.00" in texts(after)


def test_a_supervisor_resolving_my_complaint_refreshes_my_home_too(bot, team, clock):
    from tests.test_complaints_over_http import complaint_values

    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.add_user("U0SUPER", locale="en-US")
    seed.customer(team, "A001", "Alice Wang")
    bot.command("complaint A001", user_id="U0AGENT")
    [opened] = bot.slack.wait_for("views.open")
    bot.sender.view_submission(user_id="U0AGENT", view=opened.args["view"], values=complaint_values())
    clock.advance(dt.timedelta(days=3))
    complaint_id = opened_id(team)
    bot.sender.block_action(user_id="U0SUPER", action_id="complaint_resolve", value=str(complaint_id),
                            trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("list"))
    modal = bot.slack.wait_for("views.open", count=2)[-1].args["view"]
    bot.sender.view_submission(user_id="U0SUPER", view=modal, values={
        "resolution": {"value": {"type": "plain_text_input", "value": "Refunded"}}})
    publishes = bot.slack.wait_for("views.publish", count=3)
    assert {p.args["user_id"] for p in publishes[1:]} == {"U0SUPER", "U0AGENT"}
    mine = [p for p in publishes if p.args["user_id"] == "U0AGENT"][-1].args["view"]
    assert f"home-co-{complaint_id}" not in [b.get("block_id") for b in mine["blocks"]]
