"""Requests Slack did not sign (or signed too long ago) are refused and change nothing."""

from __future__ import annotations

import time
import urllib.parse

from sqlalchemy import func, select

from storage.models import Staff


def staff_count(services) -> int:
    with services.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Staff))


def admin_command_body(bot) -> str:
    return urllib.parse.urlencode({
        "team_id": "T0TEST", "channel_id": "C0CARE", "user_id": "U0ADMIN", "command": "/care",
        "text": "staff add <@U0INTRUDER> admin", "response_url": bot.slack.response_url("cmd"),
        "trigger_id": bot.slack.new_trigger_id()})


def test_bad_signature_is_refused_with_401_and_no_effect(bot, team):
    before = staff_count(team)
    reply = bot.sender.post(admin_command_body(bot), signature="v0=" + "0" * 64)
    assert reply.status == 401
    time.sleep(0.2)
    assert staff_count(team) == before
    assert bot.slack.responses("cmd") == []


def test_stale_timestamp_is_refused_with_401_and_no_effect(bot, team):
    before = staff_count(team)
    reply = bot.sender.post(admin_command_body(bot), timestamp=int(time.time()) - 6 * 60)
    assert reply.status == 401
    time.sleep(0.2)
    assert staff_count(team) == before
    assert bot.slack.calls == [] or all(c.method == "auth.test" for c in bot.slack.calls)


def test_the_same_request_properly_signed_does_take_effect(bot, team):
    bot.slack.add_user("U0ADMIN", locale="en-US")
    reply = bot.sender.post(admin_command_body(bot))
    assert reply.status == 200
    bot.responses("cmd")
    assert staff_count(team) == 5
