"""The App Home is refreshed when something of the person's changes (issue 13), over signed HTTP with the Slack
stand-in recording views.publish: an escalation acknowledged, snoozed or reassigned (the old and the new
owner), and the nightly plan (only the people whose queue it changed; one failed Home does not stop the others).
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.services.people import Role, add_staff
from handlers.plan_jobs import run_nightly_plan_job
from messages.render import Renderer
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_complaints_over_http import _client, desk, page_supervisors, press  # noqa: F401,F811 (desk: a fixture)


def published_to(bot, since: int = 0) -> list[str]:
    return [c.args["user_id"] for c in bot.slack.ok_calls_to("views.publish")[since:]]


def home_block_ids(bot, user: str) -> list[str]:
    view = bot.slack.home_view(user)
    return [b.get("block_id") for b in view["blocks"]] if view else []


def test_reassigning_an_escalation_refreshes_the_old_and_the_new_owner_s_home(bot, desk):  # noqa: F811
    [complaint], page = page_supervisors(bot, desk)
    assert f"home-co-{complaint}" not in home_block_ids(bot, "U0ADMIN")
    block_id = next(b["block_id"] for b in page["blocks"] if b["type"] == "actions")
    press(bot, page, "U0SUPER", "escalation_reassign", selected_user="U0ADMIN", block_id=block_id)
    bot.slack.wait_for("views.publish", count=3, timeout=15)  # refreshed after the ack: seconds on a busy machine
    assert set(published_to(bot)) == {"U0SUPER", "U0AGENT", "U0ADMIN"}
    assert f"home-co-{complaint}" in home_block_ids(bot, "U0ADMIN")  # now in the new owner's queue
    assert f"home-co-{complaint}" not in home_block_ids(bot, "U0AGENT")  # and gone from the old one's


def test_acknowledging_and_snoozing_refresh_the_owner_s_home(bot, desk):  # noqa: F811
    [complaint], page = page_supervisors(bot, desk)
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=5))
    press(bot, page, "U0SUPER", "escalation_snooze", value=str(complaint))
    bot.slack.wait_for("views.publish", count=2, timeout=15)  # refreshed after the ack: seconds on a busy machine
    assert sorted(published_to(bot)) == ["U0AGENT", "U0SUPER"]
    press(bot, page, "U0SUPER", "escalation_ack", value=str(complaint))
    bot.slack.wait_for("views.publish", count=4, timeout=15)  # refreshed after the ack: seconds on a busy machine
    assert sorted(published_to(bot, 2)) == ["U0AGENT", "U0SUPER"]


def test_the_nightly_plan_refreshes_only_the_homes_whose_queue_changed(bot, team, clock, caplog):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.add_user("U0AGENT2", locale="en-US")
    for n in range(3):
        add_staff(team, f"U0IDLE{n}", Role.AGENT)  # nothing of theirs changes: no Home for them
    first_deal = DEFAULT_NOW.date() - dt.timedelta(days=1)
    for code, owner in (("N1", "U0AGENT"), ("N2", "U0AGENT2"), ("N3", "U0AGENT2")):
        cid = seed.customer(team, code, f"New {code}", owner=owner)
        with team.db.unit_of_work() as session:
            from storage.models import Customer

            session.get(Customer, cid).first_purchase_on = first_deal
    bot.slack.fail_next("views.publish", error="internal_error", status=200)  # the first Home fails

    with caplog.at_level(logging.WARNING, logger="handlers.home"):
        run = run_nightly_plan_job(team, Renderer(), _client(bot), ignore_time=True, home_pause=0)
    assert run.changed_owners == {"default": {"U0AGENT", "U0AGENT2"}}
    [failed] = [r for r in caplog.records if r.name == "handlers.home"]  # Slack's refusal: one line, no traceback
    assert "Slack answered internal_error" in failed.getMessage() and failed.exc_info is None
    calls = bot.slack.calls_to("views.publish")  # the job publishes before it returns
    assert sorted(c.args["user_id"] for c in calls) == ["U0AGENT", "U0AGENT2"]  # the failure did not stop it
    assert len(bot.slack.ok_calls_to("views.publish")) == 1
    [shown] = published_to(bot)
    assert any(str(b).startswith("home-") for b in home_block_ids(bot, shown))

    again = run_nightly_plan_job(team, Renderer(), _client(bot), ignore_time=True, home_pause=0)
    assert again.changed_owners == {} and len(bot.slack.calls_to("views.publish")) == 2  # claimed: no rerun
