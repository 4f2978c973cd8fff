"""What a click on an escalation post changes reaches Slack through the outbox (issue 12): the post's update and
the confirmations are written with the change, delivered with retries, never a new post, never lost — over
signed HTTP against the running bot, with the stand-in failing chat.update (500, 429, a hang past the client's
timeout) and with the post itself still in the outbox when the click comes."""

from __future__ import annotations

import datetime as dt
import json
import time

from bot.services import outbox
from bot.services.outbox import Policy
from bot.settings import Settings
from bot.slack_client import build_client
from handlers.outbox_jobs import deliver_outbox
from handlers.sla_jobs import run_sla_sweep
from tests import test_complaints_over_http as over_http
from tests.conftest import BOT_TOKEN, DEFAULT_NOW
from tests.test_complaints_over_http import _renderer, complaints_in_db, page_supervisors, press

desk = over_http.desk  # the fixture: supervisors, their group and channel

FAST = Policy(backoff=dt.timedelta(seconds=0.1), max_backoff=dt.timedelta(seconds=0.3),
              lease=dt.timedelta(seconds=3))


def quick_client(slack):
    return build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=1))


def drain(services, client, rounds: int = 20) -> None:
    """The outbox worker's next runs, until nothing is left to deliver."""
    for _ in range(rounds):
        deliver_outbox(services, _renderer(), client, FAST, budget_seconds=3)
        if not outbox.undelivered(services):
            return
        time.sleep(0.3)
    raise AssertionError(f"still undelivered: {outbox.undelivered(services)}")


def wait_idle(bot, method: str, count: int) -> None:
    """The listener (run after the ack) has made `count` calls of `method` and no outbox message is in flight."""
    deadline = time.monotonic() + 15
    while len(bot.slack.calls_to(method)) < count:
        assert time.monotonic() < deadline, bot.slack.describe_calls()
        time.sleep(0.05)
    while any(r.status == "sending" for r in outbox.undelivered(bot.services)) and time.monotonic() < deadline:
        time.sleep(0.05)


def updates_in_outbox(services) -> dict[str, str]:
    from sqlalchemy import select

    from storage.outbox_models import OutboxMessage

    with services.db.unit_of_work() as session:
        return dict(session.execute(select(OutboxMessage.key, OutboxMessage.status)
                                    .where(OutboxMessage.kind == "post_update")).all())


def test_updates_that_slack_refuses_for_a_while_arrive_later_as_updates_never_as_new_posts(bot, desk):
    desk.outbox_policy = FAST
    bot.slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    [first, second], page = page_supervisors(bot, desk, n=2)
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=5))

    bot.slack.fail_next("chat.update", error="internal_error", status=500, times=3)  # 1 try + the client's 2
    press(bot, page, "U0SUPER", "escalation_ack", value=str(first))
    wait_idle(bot, "chat.update", 3)
    assert "Acknowledged" not in json.dumps(bot.slack.messages("C0SUPER")[0]["blocks"])  # not yet in Slack
    assert set(updates_in_outbox(desk).values()) == {"pending"}, updates_in_outbox(desk)
    bot.slack.fail_next("chat.update", error="ratelimited", status=429, retry_after=1, times=3)
    press(bot, page, "U0SUPER", "escalation_snooze", value=str(second))
    wait_idle(bot, "chat.update", 6)

    client = quick_client(bot.slack)
    bot.slack.hang_next("chat.update", 1.5, after_effect=True)  # the worker's first try: done, answer lost
    drain(desk, client)
    updates = updates_in_outbox(desk)
    assert len(updates) == 2 and set(updates.values()) == {"sent"}
    [post] = bot.slack.messages("C0SUPER")  # still the one post: an update never posts
    shown = json.dumps(post["blocks"])
    assert post["ts"] == page["ts"] and "Acknowledged by <@U0SUPER>" in shown and "Snoozed" in shown, shown
    faults = [fault for method, fault in bot.slack.faults if method == "chat.update"]
    assert faults == ["500"] * 3 + ["429"] * 3 + ["hang_after"], faults
    assert bot.slack.calls_to("chat.postMessage") and all(
        c.args.get("channel") != "C0SUPER" for c in bot.slack.calls_to("chat.postMessage")[2:])


def test_a_click_on_a_post_whose_delivery_is_still_unknown_waits_for_it(bot, desk):
    """The page was posted but its answer was lost (the outbox does not know its ts yet): the update waits until
    the worker has found the post by its key, then updates it."""
    desk.outbox_policy = FAST
    from bot.services.complaints import ComplaintForm, open_complaint
    from bot.services.people import Actor, Role
    from tests import seed

    cid = seed.customer(desk, "P900", "Pat")
    agent = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
    complaint = open_complaint(desk, agent, ComplaintForm(customer_id=cid, description="Broken")).id
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=1))
    client = quick_client(bot.slack)
    bot.slack.hang_next("chat.postMessage", 1.5, after_effect=True, times=2)  # the owner's warning and the page
    run_sla_sweep(desk, _renderer(), client)
    [page] = bot.slack.messages("C0SUPER")
    assert {r.status for r in outbox.undelivered(desk)} == {"unknown"}

    press(bot, page, "U0SUPER", "escalation_ack", value=str(complaint))
    deadline = time.monotonic() + 15
    while not any(r.kind == "post_update" and r.last_error for r in outbox.undelivered(desk)):
        assert time.monotonic() < deadline, outbox.undelivered(desk)
        time.sleep(0.05)
    assert bot.slack.calls_to("chat.update") == []  # waiting: no ts known for that post yet
    [waiting] = [r for r in outbox.undelivered(desk) if r.kind == "post_update"]
    assert "waits for the team's escalation posts" in (waiting.last_error or "")
    drain(desk, client)
    [post] = bot.slack.messages("C0SUPER")  # found by its key, never posted twice; then updated in place
    assert post["ts"] == page["ts"] and "Acknowledged by <@U0SUPER>" in json.dumps(post["blocks"])
    assert len(bot.slack.ok_calls_to("chat.update")) == 1


def test_the_new_owner_is_told_through_the_outbox_when_the_dm_fails_at_first(bot, desk):
    desk.outbox_policy = FAST
    [complaint], page = page_supervisors(bot, desk)
    block_id = next(b["block_id"] for b in page["blocks"] if b["type"] == "actions")
    bot.slack.fail_next("chat.postMessage", error="internal_error", status=500, times=3)
    press(bot, page, "U0SUPER", "escalation_reassign", selected_user="U0ADMIN", block_id=block_id)
    wait_idle(bot, "chat.postMessage", 2 + 3)  # the owner's warning and the page, then the DM's 3 tries
    assert complaints_in_db(desk)[0].owner_id == "U0ADMIN"
    assert bot.slack.messages("U0ADMIN") == []
    drain(desk, quick_client(bot.slack))
    [dm] = bot.slack.messages("U0ADMIN")
    assert "gave you Complaint #" in dm["text"]


def test_an_update_of_a_post_that_is_not_ours_ends_at_once_not_after_eight_tries(bot, desk):
    """A click on a message the bot never posted (or whose notices are gone) queues an update with nothing to
    update: it ends as failed on its first delivery, saying why, instead of being retried for ~20 minutes."""
    from bot.services.escalations import queue_post_update

    with bot.services.db.unit_of_work() as session:
        queue_post_update(session, "default", ("C0SUPER", "1700000000.000100"), "click:forged")
    deliver_outbox(bot.services, _renderer(), quick_client(bot.slack), FAST, budget_seconds=3)
    [update] = [row for row in outbox.undelivered(bot.services) if row.kind == "post_update"]
    assert (update.status, update.attempts) == ("failed", 1)
    assert "no escalation post known at C0SUPER 1700000000.000100" in update.last_error
    assert bot.slack.calls_to("chat.update") == []
