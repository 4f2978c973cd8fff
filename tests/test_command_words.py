"""A word a /care subcommand would ignore or overrule is refused, ephemeral, in the person's language, with how
the command is said (the tryout: `/care stats week month` quietly showed the month). Over signed HTTP."""

from __future__ import annotations

import json

import pytest


def answer(bot, text: str, user: str = "U0SUPER", name: str = "w") -> dict:
    bot.sender.command(text, user_id=user, response_url=bot.slack.response_url(name),
                       trigger_id=bot.slack.new_trigger_id())
    [reply] = bot.responses(name)
    return reply


@pytest.mark.parametrize("text, word", [
    ("stats week month", "month"), ("stats month week", "week"), ("stats week week", "week"), ("stats 周 月", "月"),
    ("stats <@U0AGENT> week <@U0AGENT2>", "&lt;@U0AGENT2&gt;"), ("stats U0AGENT U0AGENT", "U0AGENT"),
])
def test_a_second_period_or_colleague_is_refused_not_quietly_the_last(bot, team, text, word):
    bot.slack.add_user("U0SUPER", locale="en-US")
    reply = answer(bot, text)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == (f"`{word}` is one word too many: `/care stats` takes one period (`week` or `month`) "
                             "and at most one colleague, e.g. `/care stats week @someone`.")


def test_the_refusal_is_in_the_persons_language(bot, team):
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    reply = answer(bot, "stats week month")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("`month` 多余：`/care stats` 只接受一个时段"), reply["text"]


@pytest.mark.parametrize("text, shown", [("stats month", "month 2026-11"), ("stats <@U0AGENT> 月", "month 2026-11"),
                                         ("stats", "week 2026-W48")])
def test_one_period_and_one_colleague_still_read_as_before(bot, team, text, shown):
    bot.slack.add_user("U0SUPER", locale="en-US")
    assert shown in json.dumps(answer(bot, text)["blocks"])


def test_complaints_takes_no_words(bot, team):
    """`/care complaints all` lists what it always lists: the word would be ignored, so it is refused."""
    bot.slack.add_user("U0AGENT", locale="en-US")
    reply = answer(bot, "complaints all", user="U0AGENT")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("`/care complaints` takes nothing after it (not `all`)"), reply["text"]
    assert "Open complaints" in answer(bot, "complaints", user="U0AGENT", name="plain")["text"]
