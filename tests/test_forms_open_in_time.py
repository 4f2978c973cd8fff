"""A form opens within Slack's 3 s of the click or command (the trigger_id's life), however many pages are being
built after earlier acks: forms never wait behind them for an after-ack slot (handlers/errors.py `opens_form`)."""

from __future__ import annotations

import time

import pytest

from bot.services.people import Role, add_staff
from tests import seed

PAGES = 6  # more than the after-ack slots (bot/background.py AFTER_ACK_SLOTS): they queue behind each other
SLOW = 1.5  # seconds each page's answer takes to reach Slack (its response_url answering late)


@pytest.fixture
def busy(bot, team):
    """Pages of `/care due` from colleagues, each holding an after-ack slot for SLOW s: the queue is ~4 s long."""
    seed.customer(team, "A001", "Alice Wang")
    for n in range(PAGES):
        user = f"U0PAGE{n}"
        add_staff(team, user, Role.AGENT)
        bot.slack.add_user(user, locale="en-US")
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.slow("response_url", SLOW)
    for n in range(PAGES):
        assert bot.sender.command("due", user_id=f"U0PAGE{n}", response_url=bot.slack.response_url(f"p{n}"),
                                  trigger_id=bot.slack.new_trigger_id()).status == 200
    return bot


@pytest.mark.parametrize("text,callback_id", [("log A001", "log_call_modal"), ("complaint A001", "complaint_modal"),
                                              ("customer add", "customer_modal")])
def test_a_command_s_form_opens_while_pages_are_being_built(busy, text, callback_id):
    busy.command(text, user_id="U0AGENT")
    [opened] = busy.slack.wait_for("views.open", timeout=5)
    assert opened.args["view"]["callback_id"] == callback_id
    assert not [c for c in busy.slack.calls_to("views.open") if not c.ok]  # no expired_trigger_id


def test_a_button_s_form_opens_while_pages_are_being_built(busy):
    busy.sender.block_action(user_id="U0AGENT", action_id="home_log_call", value="log",
                             trigger_id=busy.slack.new_trigger_id(), container={"type": "view", "view_id": "V0HOME"})
    [opened] = busy.slack.wait_for("views.open", timeout=5)
    assert opened.args["view"]["callback_id"] == "log_call_modal"
    assert not [c for c in busy.slack.calls_to("views.open") if not c.ok]


@pytest.mark.parametrize("text", ["log A001", "complaint A001", "customer add"])
def test_a_repeated_command_opens_its_form_once_and_tells_nobody_of_an_error(bot, team, text, caplog):
    """Slack retries a command it thinks went unanswered, with the same trigger_id, which opens one form only
    (`invalid_trigger_id` for the second): the form is open, so the person hears nothing more, no error."""
    seed.customer(team, "A001", "Alice Wang")
    bot.slack.add_user("U0AGENT", locale="en-US")
    trigger, hook = bot.slack.new_trigger_id(), bot.slack.response_url("cmd")
    for retry in (None, "1"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        assert bot.sender.command(text, user_id="U0AGENT", response_url=hook, trigger_id=trigger,
                                  headers=headers).status == 200
    bot.slack.wait_for("views.open", timeout=5)
    deadline = time.monotonic() + 5
    while len(bot.slack.calls_to("views.open")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # anything the second delivery would say has had time to arrive
    # The two deliveries run side by side, so either may reach Slack first: one form opened, at most one refused.
    assert sorted(c.ok for c in bot.slack.calls_to("views.open")) in ([True], [False, True])
    assert bot.slack.responses("cmd") == []  # no "something went wrong" while the form is open
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
