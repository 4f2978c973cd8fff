"""The customer's name in a channel post's free text is masked however it was typed (tryout): with spaces between
its characters (ASCII or U+3000), in full-width letters or another case. The matcher keeps its rules: only the
whole name, never a one-character name (a surname alone) in other words."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from slack_sdk import WebClient

from bot.care.scrub import scrub
from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI

AGENT = Actor("U0AGENT", "default", Role.AGENT, "zh-CN", "Asia/Shanghai")


def test_the_supervisors_post_masks_the_name_written_with_spaces(team, renderer, slack, clock):
    """The tryout's complaint: its description named 张女士 three times, once as 张 女士; the escalation post in
    the supervisors' channel showed that one in full."""
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    for user in ("U0AGENT", "U0SUPER"):
        slack.add_user(user, locale="zh-CN")
    customer = seed.customer(team, "2024001", "张女士", phone="+8613812345678")
    open_complaint(team, AGENT, ComplaintForm(
        customer_id=customer, kind="complaint", category="service", severity="high",
        description="张女士来电说 张 女士 很生气，张　女士的手机13812345678。老张说张先生会转告"))
    clock.set(dt.datetime(2026, 11, 24, 12, 0, tzinfo=SHANGHAI))  # past the 1 h first response
    run = run_sla_sweep(team, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
    assert run.failed == []
    posts = [json.dumps(m, ensure_ascii=False) for m in slack.messages("C0SUPER")]
    assert posts, slack.describe_calls()
    post = "\n".join(posts)
    assert "张*来电说 张* 很生气，张*的手机138****5678" in post
    assert "女士" not in post and "13812345678" not in post
    assert "老张说张先生会转告" in post  # the surname alone, in other words, stays


@pytest.mark.parametrize("text, name, shown", [
    # spaces between the characters: ASCII, U+3000, several, a no-break space, a zero-width space
    ("张 女士很生气", "张女士", "张*很生气"),
    ("张\u3000女士很生气", "张女士", "张*很生气"),
    ("张 \u3000 女 士很生气", "张女士", "张*很生气"),
    ("张\u00a0女士很生气", "张女士", "张*很生气"),
    ("张\u200b女士很生气", "张女士", "张*很生气"),
    # the name's own space written otherwise, or not at all, in a script written without spaces
    ("A公司陈总说", "A公司 陈总", "A*说"),
    ("ａ公司　陈总说", "A公司 陈总", "A*说"),
    # another case, full-width letters, more or other spaces where the name has one
    ("ALICE WANG called", "Alice Wang", "A* called"),
    ("ａｌｉｃｅ　ｗａｎｇ called", "Alice Wang", "A* called"),
    ("Alice  Wang called", "Alice Wang", "A* called"),
    ("客户Alice Wang来电", "Alice Wang", "客户A*来电"),
    # composed or decomposed accents
    ("Jose\u0301 Li called", "José Li", "J* called"),
    ("JOSÉ LI called", "Jose\u0301 Li", "J* called"),
])
def test_a_name_is_masked_however_it_is_typed(text, name, shown):
    assert scrub(text, name) == shown


@pytest.mark.parametrize("text, name", [
    ("老张说张先生和张三都在", "张女士"),  # the surname of 张女士, alone, in other words
    ("张三来了，张 三也来了", "张"),  # a one-character name masks nothing
    ("Annual report", "Ann"),  # an alphabetic name only as whole words
    ("Mali and Malinda", "Ma Li"),
    ("he will call in a minute", "Li Na"),  # letters of several words never make a name
    ("AliceWang", "Alice Wang"),  # nor one word the letters of a name written with a space
])
def test_ordinary_text_is_not_masked(text, name):
    assert scrub(text, name) == text
