"""A form opens within Slack's 3 s of the click or command (the trigger_id's life), however many pages are being
built after earlier acks: forms never wait behind them for an after-ack slot (handlers/errors.py `opens_form`)."""

from __future__ import annotations

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
