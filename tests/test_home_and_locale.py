"""App Home and the per-person language, over signed HTTP."""

from __future__ import annotations

import datetime as dt

from tests import seed
from tests.conftest import DEFAULT_NOW


def test_home_tab_shows_the_queue_with_log_buttons(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    reply = bot.sender.event({"type": "app_home_opened", "user": "U0AGENT", "channel": "D0AGENT", "tab": "home",
                              "event_ts": "1.0"})
    assert reply.status == 200
    [publish] = bot.slack.wait_for("views.publish")
    assert publish.args["user_id"] == "U0AGENT"
    view = publish.args["view"]
    assert view["type"] == "home"
    assert any("Alice Wang" in b.get("text", {}).get("text", "") for b in view["blocks"])
    assert any(b.get("accessory", {}).get("action_id") == "log_call" for b in view["blocks"])


def test_home_tab_of_an_unregistered_person_shows_no_customers(bot, team):
    seed.callback(team, seed.customer(team, "A001", "Alice Wang"), DEFAULT_NOW)
    bot.slack.add_user("U0STRANGER", locale="en-US")
    bot.sender.event({"type": "app_home_opened", "user": "U0STRANGER", "tab": "home", "event_ts": "1.0"})
    [publish] = bot.slack.wait_for("views.publish")
    shown = str(publish.args["view"])
    assert "Alice" not in shown
    assert "admin" in shown and "管理员" not in shown, "told in their own Slack language to ask an admin"


def test_the_slack_locale_is_looked_up_once_and_cached(bot, team):
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    bot.command("help", user_id="U0AGENT")
    bot.responses("cmd", 1)
    bot.command("due", user_id="U0AGENT")
    first, second = bot.responses("cmd", 2)
    assert "Carebot 命令" in str(first) and "今天没有" in str(second)
    lookups = [c for c in bot.slack.ok_calls_to("users.info") if c.args.get("user") == "U0AGENT"]
    assert len(lookups) == 1
    assert str(lookups[0].args.get("include_locale")).lower() in ("1", "true")
    from storage.models import Staff

    with team.db.unit_of_work() as session:
        staff = session.get(Staff, "U0AGENT")
        assert (staff.locale, staff.timezone) == ("zh-CN", "Asia/Shanghai"), "kept from Slack's profile"


def test_logging_a_call_refreshes_the_home_tab(bot, team):
    from tests.signed import form_values

    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    bot.sender.event({"type": "app_home_opened", "user": "U0AGENT", "tab": "home", "event_ts": "1.0"})
    [before] = bot.slack.wait_for("views.publish")
    assert "Alice Wang" in str(before.args["view"])
    bot.sender.block_action(user_id="U0AGENT", action_id="log_call", value=f"cb:{cb}",
                            trigger_id=bot.slack.new_trigger_id(), container={"type": "view", "view_id": "V0HOME"},
                            channel_id=None)
    [opened] = bot.slack.wait_for("views.open")
    reply = bot.sender.view_submission(user_id="U0AGENT", view=opened.args["view"],
                                       values=form_values(outcome="satisfied", rating=4))
    assert reply.status == 200
    after = bot.slack.wait_for("views.publish", count=2)[-1]
    assert "Alice Wang" not in str(after.args["view"])
    assert "Nothing due today" in str(after.args["view"])
    [confirmation] = bot.slack.wait_for("chat.postMessage")  # from the Home tab: confirmed by DM
    assert confirmation.args["channel"] == "U0AGENT"
