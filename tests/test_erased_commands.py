"""`/care log CODE` and `/care complaint CODE` for an erased customer say so at once, in the person's language,
and open no form (final tryout: the modal opened with a header of `** (E001) · —` and the refusal came only on
Save, after the notes were typed)."""

from __future__ import annotations

import pytest

from bot.services.privacy import erase_customer
from tests import seed


@pytest.mark.parametrize("command", ["log E001", "complaint E001"])
@pytest.mark.parametrize("user, said", [("U0AGENT", "erased"), ("U0SUPER", "已删除")])  # each in their language
def test_a_command_naming_an_erased_customer_says_so_and_opens_nothing(bot, team, command, user, said):
    bot.slack.add_user("U0AGENT", locale="en-US")  # the team speaks zh-CN; the agent reads English
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    seed.customer(team, "E001", "欧阳娜娜")
    erase_customer(team, "E001", "cli:test")
    bot.command(command, user_id=user)
    [reply] = bot.responses("cmd")
    text = str(reply)
    assert "E001" in text and said in text and "欧阳娜娜" not in text, reply
    assert not [c for c in bot.slack.calls if c.method == "views.open"]
