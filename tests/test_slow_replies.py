"""A response_url slow to answer (Slack's side) holds nothing for long: a reply is given up after
CAREBOT_SLACK_TIMEOUT seconds, not after Bolt's fixed 30, so the after-ack slots (and a worker process) serve the
next people at once; whoever's reply was given up is told by DM in their language, never through the same slow
address again."""

from __future__ import annotations

import time

import pytest

from bot.services.people import Role, add_staff

TIMEOUT = 1  # CAREBOT_SLACK_TIMEOUT of this bot
LATE = 15  # seconds the slow response_urls take to answer


@pytest.fixture
def bot_settings() -> dict:
    return {"slack_timeout": TIMEOUT}


def _dms(slack, user_id: str) -> list[str]:
    channel = slack.dm_channel_id(user_id)
    return [str(c.args.get("text")) for c in slack.ok_calls_to("chat.postMessage") if c.args.get("channel") in
            (user_id, channel)]


def test_slow_replies_neither_hold_up_the_next_person_nor_go_unsaid(bot, team):
    slow = {"U0SLOW0": "en-US", "U0SLOW1": "zh-CN"}  # as many as there are after-ack slots
    for user, locale in slow.items():
        add_staff(team, user, Role.AGENT)
        bot.slack.add_user(user, locale=locale)
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.slow_hook("slow", LATE)
    for user in slow:
        assert bot.sender.command("due", user_id=user, response_url=bot.slack.response_url("slow"),
                                  trigger_id=bot.slack.new_trigger_id()).status == 200
    deadline = time.monotonic() + 5
    while len(bot.slack.calls_to("response_url")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # both slow pages are on their way: the two after-ack slots are taken
    asked = time.monotonic()
    assert bot.sender.command("due", user_id="U0AGENT", response_url=bot.slack.response_url("next"),
                              trigger_id=bot.slack.new_trigger_id()).status == 200
    bot.responses("next", timeout=LATE - 7)  # Bolt's respond held the slots until the slow answers came (15 s)
    assert time.monotonic() - asked < LATE - 7

    deadline = time.monotonic() + 10
    while not all(_dms(bot.slack, user) for user in slow) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "may arrive late or not at all" in _dms(bot.slack, "U0SLOW0")[0]
    assert "回复可能稍后才到" in _dms(bot.slack, "U0SLOW1")[0]
    assert len(bot.slack.calls_to("response_url")) == 3  # two pages and the colleague's: no error report sent
    # to the slow address (nor any retry of a reply that may have arrived)
