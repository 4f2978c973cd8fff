"""What the escalation says, and to whom in which language (issue 10 §1, §3): a DM speaks the person's
Slack language, a channel post the team's; one complaint is one item however many clocks are over, and
"about to breach" is never said of a clock already over. Over the sweep job the scheduler runs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from slack_sdk import WebClient

from bot.services import escalations
from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
CJK = re.compile(r"[\u4e00-\u9fff]")


def at(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def zh_team(team, slack):
    """A zh-CN team whose agent and manager read Slack in English, the supervisor in Chinese."""
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    set_setting(team, "locale", "zh-CN")
    escalations.set_manager(team, "default", "U0BOSS", None)
    for user in ("U0AGENT", "U0AGENT2", "U0ADMIN", "U0BOSS"):
        slack.add_user(user, locale="en-US")
    slack.add_user("U0SUPER", locale="zh-CN")
    slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    return team


def sweep(svc, renderer, slack, moment):
    svc.clock.set(moment)
    return run_sla_sweep(svc, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))


def shown(message):
    return message["text"] + str(message["blocks"])


def test_the_owner_warning_and_the_manager_dm_speak_the_persons_language(zh_team, renderer, slack):
    zh_team.clock.set(at(24, 10))
    customer = seed.customer(zh_team, "K001", "Alice Wang", owner="U0AGENT")
    complaint = open_complaint(zh_team, AGENT, ComplaintForm(customer_id=customer, description="Leaks")).id
    sweep(zh_team, renderer, slack, at(24, 10, 48))
    [warning] = slack.messages("U0AGENT")
    assert "soon be past their SLA" in shown(warning) and not CJK.search(shown(warning))
    sweep(zh_team, renderer, slack, at(24, 11, 1))
    [page] = slack.messages("C0SUPER")
    assert "需要客服主管处理" in shown(page), "the channel post speaks the team's language"
    sweep(zh_team, renderer, slack, at(24, 11, 31))
    [manager] = slack.messages("U0BOSS")
    assert "escalated to the manager" in shown(manager) and f"#{complaint}" in shown(manager)
    assert not CJK.search(shown(manager))


def test_one_complaint_with_both_clocks_over_is_one_item_and_says_breached(zh_team, renderer, slack):
    """The reported case: "您有 2 项投诉即将超时" for one complaint whose two clocks were both over."""
    set_setting(zh_team, "locale", "en")
    slack.add_user("U0AGENT", locale="zh-CN")
    zh_team.clock.set(at(23, 9))  # Monday 09:00; swept first on Tuesday 10:00, both clocks over
    customer = seed.customer(zh_team, "K002", "Bob Li", owner="U0AGENT")
    complaint = open_complaint(zh_team, AGENT, ComplaintForm(customer_id=customer, description="Late")).id
    sweep(zh_team, renderer, slack, at(24, 10))
    [warning] = slack.messages("U0AGENT")
    assert "您有 1 项投诉已超时" in shown(warning) and "即将" not in shown(warning)
    assert shown(warning).count(f"#{complaint}*") == 1
    assert "首次响应已超时" in shown(warning) and "解决已超时" in shown(warning)
    [page] = slack.messages("C0SUPER")
    assert "1 complaint(s) need a supervisor" in page["text"]
    assert shown(page).count(f"#{complaint}*") == 1 and [b["type"] for b in page["blocks"]].count("actions") == 1
    assert "First response is past its SLA" in shown(page) and "Resolution is past its SLA" in shown(page)


def test_a_mixed_warning_counts_soon_and_over_apart(zh_team, renderer, slack):
    set_setting(zh_team, "locale", "en")
    zh_team.clock.set(at(24, 9))
    first = seed.customer(zh_team, "K003", "Cao Yu", owner="U0AGENT")
    open_complaint(zh_team, AGENT, ComplaintForm(customer_id=first, description="Old"))
    zh_team.clock.set(at(24, 9, 20))
    second = seed.customer(zh_team, "K004", "Du Fang", owner="U0AGENT")
    open_complaint(zh_team, AGENT, ComplaintForm(customer_id=second, description="New"))
    slack.set_dnd("U0AGENT", snooze_enabled=True, snooze_endtime=int(at(24, 10, 10).timestamp()))
    sweep(zh_team, renderer, slack, at(24, 10, 8))  # both warnings held by DND: the first is over by then
    sweep(zh_team, renderer, slack, at(24, 10, 10))
    [warning] = slack.messages("U0AGENT")
    assert "1 past their SLA, 1 about to be" in warning["text"]


def test_lateness_is_said_the_same_way_in_the_escalation_post_and_the_morning_list(zh_team, renderer, slack):
    """Issue 10 §4: "已超时 6小时" in the post but "超时 2天" in the morning list, for the same clock."""
    from handlers.jobs import post_morning_lists

    set_setting(zh_team, "locale", "en")
    zh_team.clock.set(at(23, 9))  # Monday 09:00: first response due 10:00 (1 working hour)
    customer = seed.customer(zh_team, "K005", "Eve Zhou", owner="U0AGENT")
    open_complaint(zh_team, AGENT, ComplaintForm(customer_id=customer, description="Still broken"))
    sweep(zh_team, renderer, slack, at(25, 9, 30))  # Wednesday 09:30: 14.5 working hours, 47.5 by the calendar
    post_morning_lists(zh_team, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
    late = "14 hours 30 minutes of working time (1 day 23 hours by the calendar)"  # never rounded up to "2 days"
    [page] = slack.messages("C0SUPER")
    assert f"First response: over by {late}" in shown(page)
    assert "Resolution: over by 1 day (was due" in shown(page), "a calendar clock: calendar time only"
    [morning] = slack.messages("C0DIGEST")
    assert f"First response over by {late}" in shown(morning)
