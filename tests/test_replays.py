"""Every delivery has one effect (issue 8 §2): each modal and button delivered 1, 2 and 5 times, one after the
other (with Slack's X-Slack-Retry-Num) and all at once, makes exactly one change and one audit row, and every
delivery is answered (HTTP 200) like the first. Runs on SQLite and, with CAREBOT_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.services.complaints import ComplaintForm, open_complaint, wait_on_customer
from bot.services.people import Actor, Role
from storage.models import Callback, CallLog, Complaint
from storage.sla_models import ComplaintPause, EscalationAudit
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.signed import form_values
from tests.test_complaints_over_http import complaint_values

TIMES = (1, 2, 5)
AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")


def deliver(bot, payload: dict, times: int, together: bool) -> list:
    """The same signed payload `times` times: in sequence (later ones marked as Slack's retries) or at once."""
    def one(attempt: int):
        headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"} if attempt else {}
        return bot.sender.interaction(payload, headers=headers)

    if together:
        with ThreadPoolExecutor(max_workers=times) as pool:
            results = list(pool.map(one, range(times)))
    else:
        results = [one(attempt) for attempt in range(times)]
    assert [r.status for r in results] == [200] * times
    return results


def count(svc, model, *where) -> int:
    with svc.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def audits(svc, complaint_id: int, action: str) -> int:
    return count(svc, EscalationAudit, EscalationAudit.complaint_id == complaint_id, EscalationAudit.action == action)


def settled(read, at_least: int = 1):
    """`read()` once it has reached `at_least` and stayed put a moment (listeners run after ack, so the effect
    of the last delivery may still be on its way; a second effect would show up within the pause)."""
    deadline = time.monotonic() + 10
    while read() < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.15)
    return read()


MODES = [(n, together) for n in TIMES for together in (False, True) if n > 1 or not together]


def test_the_log_call_modal_makes_one_call_log_one_closed_callback_one_follow_up(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    for index, (times, together) in enumerate(MODES):
        cid = seed.customer(team, f"L{index:03d}", f"Customer {index}")
        cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
        view = {"id": f"VLOG{index}", "hash": f"h{index}", "type": "modal", "callback_id": "log_call_modal",
                "blocks": [], "private_metadata": json.dumps({"cb": cb, "cu": cid, "ch": "C0CARE"}),
                "state": {"values": form_values(outcome="unreachable", rating=None, summary="no answer")}}
        replies = deliver(bot, {"type": "view_submission", "user": {"id": "U0AGENT"}, "view": view}, times, together)
        assert all(not r.body for r in replies)  # each closes the modal, like the first
        assert settled(lambda c=cid: count(team, CallLog, CallLog.customer_id == c)) == 1, (times, together)
        assert count(team, Callback, Callback.customer_id == cid, Callback.status != "open") == 1
        assert count(team, Callback, Callback.customer_id == cid, Callback.status == "open") == 1
    confirmations = [e for e in bot.slack.ephemerals("C0CARE") if "Customer" in json.dumps(e)]
    assert len(confirmations) == len(MODES)  # one confirmation per submission, whatever the deliveries


def test_the_complaint_modal_opens_one_complaint(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    for index, (times, together) in enumerate(MODES):
        cid = seed.customer(team, f"C{index:03d}", f"Customer {index}")
        view = {"id": f"VCOM{index}", "hash": f"h{index}", "type": "modal", "callback_id": "complaint_modal",
                "blocks": [], "private_metadata": json.dumps({"cu": cid, "ch": "C0CARE", "link": None}),
                "state": {"values": complaint_values()}}
        deliver(bot, {"type": "view_submission", "user": {"id": "U0AGENT"}, "view": view}, times, together)
        assert settled(lambda c=cid: len(_complaints(team, c))) == 1, (times, together)
        [complaint] = _complaints(team, cid)
        assert audits(team, complaint.id, "opened") == 1


def _complaints(svc, customer_id: int):
    with svc.db.unit_of_work() as session:
        return session.scalars(select(Complaint).where(Complaint.customer_id == customer_id)).all()


def _open(svc, index: int) -> int:
    cid = seed.customer(svc, f"K{index:03d}", f"Customer {index}")
    return open_complaint(svc, AGENT, ComplaintForm(customer_id=cid, description="Leaks")).id


def test_the_resolution_modal_resolves_once(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    for index, (times, together) in enumerate(MODES):
        complaint_id = _open(team, index)
        view = {"id": f"VRES{index}", "hash": f"h{index}", "type": "modal", "callback_id": "complaint_resolve_modal",
                "blocks": [], "private_metadata": json.dumps({"co": complaint_id}),
                "state": {"values": {"resolution": {"value": {"type": "plain_text_input", "value": "Replaced"}}}}}
        replies = deliver(bot, {"type": "view_submission", "user": {"id": "U0AGENT"}, "view": view}, times, together)
        assert all(not r.body for r in replies)
        assert settled(lambda c=complaint_id: audits(team, c, "resolved")) == 1, (times, together)


def click(bot, user: str, action_id: str, value: str, *, action_ts: str, message_ts: str | None = None,
          channel: str = "C0CARE") -> dict:
    container = {"type": "message", "channel_id": channel, "is_ephemeral": message_ts is None}
    if message_ts:
        container["message_ts"] = message_ts
    return {"type": "block_actions", "user": {"id": user}, "trigger_id": "1.2.abc", "container": container,
            "channel": {"id": channel}, "response_url": bot.slack.response_url("row"),
            "actions": [{"type": "button", "action_id": action_id,  # a post's button sits in its complaint's block
                         "block_id": f"esc:{value}:1" if message_ts else "b", "value": value, "action_ts": action_ts}]}


@pytest.mark.parametrize("action_id, action, prepare", [
    ("complaint_first_response", "first_response", None),
    ("complaint_wait", "waiting", None),
    ("complaint_resume", "resumed", "wait"),
])
def test_complaint_row_buttons_act_once_replayed_or_double_clicked(bot, team, action_id, action, prepare):
    bot.slack.add_user("U0AGENT", locale="en-US")
    for index, (times, together) in enumerate(MODES):
        complaint_id = _open(team, index)
        if prepare == "wait":
            wait_on_customer(team, AGENT, complaint_id)
        # the same delivery again and again (a replay, Slack's retry) ...
        deliver(bot, click(bot, "U0AGENT", action_id, str(complaint_id), action_ts=f"1764000000.{index:06d}"),
                times, together)
        # ... and a second click of the same button (a double click: its own action_ts)
        deliver(bot, click(bot, "U0AGENT", action_id, str(complaint_id), action_ts=f"1764000001.{index:06d}"),
                times, together)
        assert settled(lambda c=complaint_id: audits(team, c, action)) == 1, (times, together)
        if action == "waiting":
            assert count(team, ComplaintPause, ComplaintPause.complaint_id == complaint_id) == 1


@pytest.mark.parametrize("action_id, action", [("escalation_ack", "acknowledged"),
                                               ("escalation_snooze", "snoozed")])
def test_escalation_post_buttons_act_once_per_post(bot, team, action_id, action):
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    for index, (times, together) in enumerate(MODES):
        complaint_id = _open(team, index)
        for click_no in range(2):  # a replayed click, then a second click on the same post
            deliver(bot, click(bot, "U0SUPER", action_id, str(complaint_id), action_ts=f"17640000{click_no}.{index}",
                               message_ts=f"1764000000.{index:06d}", channel="C0SUPER"), times, together)
        assert settled(lambda c=complaint_id: audits(team, c, action)) == 1, (times, together)


def test_the_customer_modal_adds_one_customer_and_every_delivery_closes_it(bot, team):
    """A double click or Slack's retry of "Add customer" is answered like the first (the modal closes), not with
    "code N… is already in use", which would tell the person their customer was not saved."""
    from storage.models import Customer
    from tests.test_customer_card_over_http import customer_values

    bot.slack.add_user("U0AGENT", locale="en-US")
    for index, (times, together) in enumerate(MODES):
        code = f"N{index:03d}"
        view = {"id": f"VCUS{index}", "hash": f"h{index}", "type": "modal", "callback_id": "customer_modal",
                "blocks": [], "private_metadata": json.dumps({"ch": "C0CARE"}),
                "state": {"values": customer_values(code=code, name=f"Nina {index}", phone=f"+8613800138{index:03d}",
                                                    email=f"n{index}@example.com")}}
        replies = deliver(bot, {"type": "view_submission", "user": {"id": "U0AGENT"}, "view": view}, times, together)
        assert all(not r.body for r in replies), [r.body for r in replies]  # each closes the modal
        assert settled(lambda c=code: count(team, Customer, Customer.code == c)) == 1, (times, together)
    confirmations = [e for e in bot.slack.ephemerals("C0CARE") if "Added customer" in json.dumps(e)]
    assert len(confirmations) == len(MODES)  # one confirmation per submission, whatever the deliveries
