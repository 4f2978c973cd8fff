"""Replies through a response_url on Slack's bad days: a reply is given up after CAREBOT_SLACK_TIMEOUT seconds,
not after Bolt's fixed 30, so the after-ack slots (and a worker process) serve the next people at once; a reply
that may not have reached Slack (slow, refused, cut) is never sent through that address again, and its person is
told by DM in their language — as is anyone whose error notice could not get through that way."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from bot.services.people import Role, add_staff
from tests import seed

TIMEOUT = 1  # CAREBOT_SLACK_TIMEOUT of this bot
LATE = 15  # seconds the slow response_urls take to answer
LOST_EN = "may not have reached Slack"
LOST_ZH = "回复可能没有送达"


@pytest.fixture
def bot_settings() -> dict:
    return {"slack_timeout": TIMEOUT}


def _dms(slack, user_id: str) -> list[str]:
    channel = slack.dm_channel_id(user_id)
    return [str(c.args.get("text")) for c in slack.ok_calls_to("chat.postMessage") if c.args.get("channel") in
            (user_id, channel)]


def _wait_for_dms(slack, users, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not all(_dms(slack, user) for user in users) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_slow_replies_neither_hold_up_the_next_person_nor_go_unsaid(bot, team):
    slow = {"U0SLOW0": "en-US", "U0SLOW1": "zh-CN"}  # as many as there are after-ack slots
    for user, locale in slow.items():
        add_staff(team, user, Role.AGENT)
        bot.slack.add_user(user, locale=locale)
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.slow_hook("slow", LATE)
    for user in slow:
        assert bot.sender.command("due", user_id=user, response_url=bot.slack.response_url("slow"),
                                  trigger_id=bot.slack.new_trigger_id()).status == 200
    deadline = time.monotonic() + 5
    while len(bot.slack.calls_to("response_url")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # both slow pages are on their way: the two after-ack slots are taken
    asked = time.monotonic()
    assert bot.sender.command("due", user_id="U0AGENT", response_url=bot.slack.response_url("next"),
                              trigger_id=bot.slack.new_trigger_id()).status == 200
    bot.responses("next", timeout=LATE - 7)  # Bolt's respond held the slots until the slow answers came (15 s)
    assert time.monotonic() - asked < LATE - 7

    _wait_for_dms(bot.slack, slow)
    assert LOST_EN in _dms(bot.slack, "U0SLOW0")[0]
    assert LOST_ZH in _dms(bot.slack, "U0SLOW1")[0]
    assert len(bot.slack.calls_to("response_url")) == 3  # two pages and the colleague's: no error report sent
    # to the slow address (nor any retry of a reply that may have arrived)


class _CuttingHook:
    """A response_url that reads the request and closes the connection without an answer (the page may have
    arrived): it counts the POSTs it was sent."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.posts = 0
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hooks/cut"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                if conn.recv(65536):
                    self.posts += 1
            except OSError:
                pass
            conn.close()


def test_a_reply_cut_off_is_not_sent_again_and_its_person_is_told_by_dm(bot, team, caplog):
    bot.slack.add_user("U0AGENT", locale="en-US")
    hook = _CuttingHook()
    try:
        assert bot.sender.command("due", user_id="U0AGENT", response_url=hook.url,
                                  trigger_id=bot.slack.new_trigger_id()).status == 200
        _wait_for_dms(bot.slack, ["U0AGENT"])
        time.sleep(0.3)
        assert LOST_EN in _dms(bot.slack, "U0AGENT")[0]
        assert hook.posts == 1  # no error notice POSTed after a page that may have arrived
        ours = [r for r in caplog.records if r.name.startswith(("bot", "handlers"))]
        assert not [r for r in ours if r.levelno >= logging.ERROR or r.exc_info]  # Slack's trouble, not our bug
    finally:
        hook.server.close()


def test_an_error_notice_that_cannot_go_through_the_response_url_goes_by_dm(bot, team):
    # someone not registered is told so; their response_url is slow: the notice arrives by DM
    bot.slack.add_user("U0STRANGER", locale="zh-CN")
    bot.slack.slow_hook("slow", LATE)
    assert bot.sender.command("due", user_id="U0STRANGER", response_url=bot.slack.response_url("slow"),
                              trigger_id=bot.slack.new_trigger_id()).status == 200
    _wait_for_dms(bot.slack, ["U0STRANGER"])
    assert _dms(bot.slack, "U0STRANGER")


def test_resolving_from_a_list_whose_address_is_slow_still_refreshes_the_homes(bot, team):
    from bot.services.complaints import ComplaintForm, open_complaint
    from bot.services.people import Actor

    bot.slack.add_user("U0AGENT", locale="en-US")
    customer = seed.customer(team, "A001", "Alice Wang")
    opened = open_complaint(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                            ComplaintForm(customer_id=customer, description="Leaks"))
    bot.slack.slow_hook("list", LATE)
    bot.sender.block_action(user_id="U0AGENT", action_id="complaint_resolve", value=str(opened.id),
                            trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("list"))
    [call] = bot.slack.wait_for("views.open")
    published = len(bot.slack.calls_to("views.publish"))
    bot.sender.view_submission(user_id="U0AGENT", view=call.args["view"], values={
        "resolution": {"value": {"type": "plain_text_input", "value": "Refunded"}}})
    deadline = time.monotonic() + 10
    while len(bot.slack.calls_to("views.publish")) == published and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(bot.slack.calls_to("views.publish")) > published  # the Home, whatever the list's address does
    assert "resolved" in _dms(bot.slack, "U0AGENT")[0] and len(_dms(bot.slack, "U0AGENT")) == 1  # no "lost" DM:
    # the list is only refreshed in place, the person was told by DM already


def test_a_reply_slack_refuses_reaches_its_person_by_dm(bot, team):
    # a response_url is good for 5 replies within 30 min; past that Slack answers 404 used_url / expired_url
    import urllib.request

    bot.slack.add_user("U0AGENT", locale="en-US")
    url = bot.slack.response_url("worn")
    for _ in range(5):
        urllib.request.urlopen(urllib.request.Request(url, data=b'{"text": "x"}', method="POST",
                                                      headers={"Content-Type": "application/json"}), timeout=5)
    assert bot.sender.command("due", user_id="U0AGENT", response_url=url,
                              trigger_id=bot.slack.new_trigger_id()).status == 200
    _wait_for_dms(bot.slack, ["U0AGENT"])
    assert LOST_EN in _dms(bot.slack, "U0AGENT")[0]


def test_a_slow_users_info_never_holds_the_ack_nor_looks_like_our_bug(bot, team, caplog):
    # someone not registered asks; Slack's users.info (their language) hangs: the answer still comes in Slack's 3 s
    bot.slack.add_user("U0STRANGER", locale="en-US")
    bot.slack.hang_next("users.info", 4, times=4)
    started = time.monotonic()
    reply = bot.sender.command("due", user_id="U0STRANGER", response_url=bot.slack.response_url("who"),
                               trigger_id=bot.slack.new_trigger_id())
    assert reply.status == 200 and time.monotonic() - started < 3
    [told] = bot.responses("who")
    assert "登记" in str(told)  # not registered, said in the team's language: Slack did not say theirs in time
    ours = [r for r in caplog.records if r.name.startswith(("bot", "handlers"))]
    assert not [r for r in ours if r.levelno >= logging.ERROR]


def test_an_ephemeral_fallback_that_times_out_is_not_sent_again_by_dm(bot, team):
    """A click that came without a usable response_url is answered ephemeral in its channel; when Slack takes that
    post but its answer is lost, the card is not posted again by DM (a second copy, kept in the DM history): the
    person is told by DM that the reply may arrive late, as for a response_url."""
    import json

    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Wang Xiaoming", owner="U0AGENT")
    bot.slack.hang_next("chat.postEphemeral", TIMEOUT + 1.5, after_effect=True)  # shown, its answer lost
    payload = {"type": "block_actions", "user": {"id": "U0AGENT", "team_id": bot.sender.team_id},
               "trigger_id": bot.slack.new_trigger_id(), "channel": {"id": "C0CARE"},
               "container": {"type": "message", "channel_id": "C0CARE", "is_ephemeral": True},
               "actions": [{"type": "button", "action_id": "customer_card", "block_id": "b", "value": str(cid),
                            "action_ts": "1764000000.000001"}]}
    assert bot.sender.interaction(payload).status == 200
    _wait_for_dms(bot.slack, ["U0AGENT"])
    assert len(bot.slack.ephemerals("C0CARE")) == 1
    [told] = _dms(bot.slack, "U0AGENT")
    assert LOST_EN in told
    assert "A001" not in json.dumps([c.args for c in bot.slack.calls_to("chat.postMessage")])


def test_an_ephemeral_fallback_goes_in_the_thread_the_person_clicked_in(bot, team):
    """A click on a reply in a thread, without a usable response_url, is answered in that thread (it went to the
    channel, away from where the person was); a thread ts not shaped like Slack's, or the thread's first message
    (which the channel shows), is answered in the channel — the reply arrives either way."""
    import json

    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Wang Xiaoming", owner="U0AGENT")
    parent, reply = "1764000000.000100", "1764000050.000200"

    def click(n: int, container: dict, message: dict | None = None) -> None:
        payload = {"type": "block_actions", "user": {"id": "U0AGENT", "team_id": bot.sender.team_id},
                   "trigger_id": bot.slack.new_trigger_id(), "channel": {"id": "C0CARE"},
                   "container": {"type": "message", "channel_id": "C0CARE", "message_ts": reply, **container},
                   "actions": [{"type": "button", "action_id": "customer_card", "block_id": "b", "value": str(cid),
                                "action_ts": f"1764000100.00000{n}"}]}
        if message is not None:
            payload["message"] = message
        assert bot.sender.interaction(payload).status == 200
        bot.slack.wait_for("chat.postEphemeral", count=n + 1)  # one at a time: their order is the clicks'

    clicks = [({"thread_ts": parent}, None),  # a button on a reply in the thread
              ({}, {"type": "message", "ts": reply, "thread_ts": parent}),  # only the message says
              ({"thread_ts": "1764000000.000100; rm"}, None), ({"thread_ts": 1764000000.0001}, None),
              ({"thread_ts": "１７６４００００００.０００１"}, None), ({"thread_ts": parent + "\n"}, None),
              ({"thread_ts": "../../chat.delete"}, {"ts": reply, "thread_ts": ["1764000000.000100"]}),
              ({"message_ts": parent, "thread_ts": parent}, None)]  # the thread's first message: in the channel
    for n, (container, message) in enumerate(clicks):
        click(n, container, message)
    shown = bot.slack.ephemerals("C0CARE")
    assert [(m["user"], m.get("thread_ts")) for m in shown] == [("U0AGENT", parent)] * 2 + [("U0AGENT", None)] * 6
    assert all("A001" in json.dumps(m) and "Wang Xiaoming" in json.dumps(m) for m in shown)  # the card, each time
    assert not bot.slack.calls_to("chat.postMessage")  # none went by DM instead
