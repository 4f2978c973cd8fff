"""Complaints and escalation posts in Slack, over signed HTTP against the running bot and the stand-in."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.scheduler import build_scheduler
from bot.services import escalations
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from storage.models import Callback, Complaint
from tests import seed
from tests.conftest import BOT_TOKEN, DEFAULT_NOW
from tests.test_due_over_http import texts


@pytest.fixture
def desk(bot, team):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    set_setting(team, "locale", "en")
    for user in ("U0AGENT", "U0AGENT2", "U0SUPER", "U0ADMIN"):
        bot.slack.add_user(user, locale="en-US")
    bot.slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    return team


def selected(value):
    return {"value": {"type": "static_select", "selected_option": {"value": value} if value else None}}


def complaint_values(*, kind="complaint", category="quality", severity="normal", description="Leaks",
                     customer_id=None):
    values = {"kind": selected(kind), "category": selected(category), "severity": selected(severity),
              "description": {"value": {"type": "plain_text_input", "value": description}}}
    if customer_id is not None:
        values["customer"] = {"customer_select": {"type": "external_select",
                                                  "selected_option": {"value": str(customer_id)}}}
    return values


def complaints_in_db(svc):
    with svc.db.unit_of_work() as session:
        return session.scalars(select(Complaint).order_by(Complaint.id)).all()


def open_by_command(bot, text, user="U0AGENT"):
    bot.command(f"complaint {text}".strip(), user_id=user)
    [call] = bot.slack.wait_for("views.open")
    return call.args["view"]


def test_complaint_command_opens_a_prefilled_modal_and_starts_the_clocks(bot, desk):
    seed.customer(desk, "2024001", "张女士")
    view = open_by_command(bot, "2024001")
    assert view["callback_id"] == "complaint_modal"
    assert "张女士" in json.dumps(view, ensure_ascii=False)

    missing = bot.sender.view_submission(user_id="U0AGENT", view=view,
                                         values=complaint_values(description="")).json()
    assert missing["response_action"] == "errors" and "Describe what happened" in missing["errors"]["description"]
    assert complaints_in_db(desk) == []

    reply = bot.sender.view_submission(user_id="U0AGENT", view=view,
                                       values=complaint_values(severity="high", description="Kettle leaks"))
    assert reply.status == 200
    [confirmation] = [c.args for c in bot.slack.wait_for("chat.postEphemeral")]
    shown = confirmation["text"] + json.dumps(confirmation["blocks"], ensure_ascii=False)
    assert "opened for *张女士*" in shown and "First response due" in shown and "Resolution due" in shown
    [complaint] = complaints_in_db(desk)
    assert (complaint.severity, complaint.owner_id, complaint.description) == ("high", "U0AGENT", "Kettle leaks")
    assert complaint.first_response_due_at == DEFAULT_NOW + dt.timedelta(hours=1)


def test_message_shortcut_prefills_the_description_and_links_the_message(bot, desk):
    cid = seed.customer(desk, "A001", "Alice Wang")
    ts = bot.slack.add_message("C0CARE", "Customer says the kettle leaks & wants a refund", "U0AGENT")
    reply = bot.sender.interaction({
        "type": "message_action", "callback_id": "open_complaint_from_message",
        "trigger_id": bot.slack.new_trigger_id(), "response_url": bot.slack.response_url("sc"),
        "user": {"id": "U0AGENT", "team_id": "T0TEST"}, "channel": {"id": "C0CARE", "name": "care"},
        "message": {"type": "message", "ts": ts, "user": "U0AGENT",
                    "text": "Customer says the kettle leaks & wants a refund"}})
    assert reply.status == 200
    [call] = bot.slack.wait_for("views.open")
    view = call.args["view"]
    description = next(b for b in view["blocks"] if b.get("block_id") == "description")
    assert description["element"]["initial_value"] == "Customer says the kettle leaks & wants a refund"
    assert f"/archives/C0CARE/p{ts.replace('.', '')}" in json.dumps(view)

    bot.sender.view_submission(user_id="U0AGENT", view=view, values=complaint_values(
        customer_id=cid, description=description["element"]["initial_value"]))
    bot.slack.wait_for("chat.postEphemeral")
    [complaint] = complaints_in_db(desk)
    assert complaint.source_link.endswith(f"/archives/C0CARE/p{ts.replace('.', '')}")


def test_complaints_list_shows_time_left_and_pauses_while_waiting_on_the_customer(bot, desk):
    cid = seed.customer(desk, "A001", "Alice Wang")
    view = open_by_command(bot, "A001")
    bot.sender.view_submission(user_id="U0AGENT", view=view, values=complaint_values(customer_id=cid))
    bot.slack.wait_for("chat.postEphemeral")
    [complaint] = complaints_in_db(desk)
    desk.clock.set(DEFAULT_NOW + dt.timedelta(minutes=20))

    bot.command("complaints", user_id="U0AGENT")
    [listing] = bot.responses("cmd")
    shown = texts(listing)
    assert "Alice Wang" in shown and "First response: 40 minutes left" in shown
    buttons = {e["action_id"]: e["value"] for b in listing["blocks"] if b["type"] == "actions"
               for e in b["elements"]}
    assert set(buttons) == {"complaint_first_response", "complaint_wait", "complaint_resolve"}

    url = bot.slack.response_url("row")
    bot.sender.block_action(user_id="U0AGENT", action_id="complaint_wait", value=buttons["complaint_wait"],
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    [paused] = bot.responses("row")
    assert paused["replace_original"] is True
    assert "Waiting on the customer" in texts(paused) and "paused, 40 minutes left" in texts(paused)

    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=3))  # 13:00: the time spent waiting does not count
    resume = {e["action_id"]: e["value"] for b in paused["blocks"] if b["type"] == "actions" for e in b["elements"]}
    bot.sender.block_action(user_id="U0AGENT", action_id="complaint_resume", value=resume["complaint_resume"],
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    resumed = bot.responses("row", 2)[-1]
    assert "First response: 40 minutes left" in texts(resumed)
    # 40 working minutes from 13:00, and 12:00-13:30 is lunch: due 14:10
    assert complaints_in_db(desk)[0].first_response_due_at == DEFAULT_NOW + dt.timedelta(hours=4, minutes=10)
    assert complaint.id == complaints_in_db(desk)[0].id


def test_an_agent_cannot_change_a_colleagues_complaint(bot, desk):
    cid = seed.customer(desk, "A001", "Alice Wang")
    view = open_by_command(bot, "A001")
    bot.sender.view_submission(user_id="U0AGENT", view=view, values=complaint_values(customer_id=cid))
    bot.slack.wait_for("chat.postEphemeral")
    [complaint] = complaints_in_db(desk)
    bot.sender.block_action(user_id="U0AGENT2", action_id="complaint_first_response", value=str(complaint.id),
                            trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("x"))
    [refusal] = bot.responses("x")
    assert "belongs to a colleague" in texts(refusal)
    assert complaints_in_db(desk)[0].first_response_at is None


# --- the escalation post -----------------------------------------------------------------------------


def page_supervisors(bot, desk, n=1):
    ids = []
    for i in range(n):
        cid = seed.customer(desk, f"P{i:03d}", f"Pat {i}")
        from bot.services.complaints import ComplaintForm, open_complaint
        from bot.services.people import Actor, Role

        agent = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
        ids.append(open_complaint(desk, agent, ComplaintForm(customer_id=cid, description="Broken")).id)
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=1))
    run_sla_sweep(desk, _renderer(), _client(bot))
    [page] = bot.slack.messages("C0SUPER")
    return ids, page


def _renderer():
    from messages.render import Renderer

    return Renderer()


def _client(bot):
    return WebClient(token=BOT_TOKEN, base_url=bot.slack.api_url)


def press(bot, page, user, action_id, value=None, selected_user=None, block_id=None, url_name="act", action_ts=None):
    # a post's buttons sit in the block of their complaint ("esc:<complaint>:<notice>"), as Slack sends them
    action = {"type": "users_select" if selected_user else "button", "action_id": action_id,
              "block_id": block_id or (f"esc:{value}:1" if value else "b"),
              "action_ts": action_ts or f"{time.time():.6f}"}
    if selected_user:
        action["selected_user"] = selected_user
    else:
        action["value"] = value
    return bot.sender.interaction({
        "type": "block_actions", "user": {"id": user, "team_id": "T0TEST"}, "trigger_id": bot.slack.new_trigger_id(),
        "response_url": bot.slack.response_url(url_name, channel="C0SUPER", ts=page["ts"]),
        "container": {"type": "message", "channel_id": "C0SUPER", "message_ts": page["ts"], "is_ephemeral": False},
        "channel": {"id": "C0SUPER", "name": "care-supervisors"}, "message": page, "actions": [action]})


def test_acknowledge_updates_the_post_in_place_and_stops_the_chain(bot, desk):
    [complaint], page = page_supervisors(bot, desk)
    assert "<!subteam^S0SUPERS>" in page["text"]
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=5))
    press(bot, page, "U0SUPER", "escalation_ack", value=str(complaint))
    bot.slack.wait_for("chat.update")
    [updated] = bot.slack.messages("C0SUPER")
    assert updated["ts"] == page["ts"]
    assert "Acknowledged by <@U0SUPER>" in json.dumps(updated["blocks"])

    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=32))  # the manager would be due, but it is acked
    run_sla_sweep(desk, _renderer(), _client(bot))
    assert len(bot.slack.messages("C0SUPER")) == 1
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=35))  # re-trigger 30 min after the ack
    run_sla_sweep(desk, _renderer(), _client(bot))
    assert "Still not resolved" in json.dumps(bot.slack.messages("C0SUPER")[-1]["blocks"])
    assert "acknowledged" in [a.action for a in escalations.audit_trail(desk, complaint)]


def test_a_non_supervisor_is_refused_reassign_resolve_and_snooze(bot, desk):
    [complaint], page = page_supervisors(bot, desk)
    block_id = next(b["block_id"] for b in page["blocks"] if b["type"] == "actions")
    press(bot, page, "U0AGENT2", "escalation_reassign", selected_user="U0AGENT2", block_id=block_id)
    [refusal] = bot.responses("act")
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert "Only supervisors" in texts(refusal)
    press(bot, page, "U0AGENT2", "escalation_snooze", value=str(complaint))
    press(bot, page, "U0AGENT2", "escalation_resolve", value=str(complaint))
    assert all("Only supervisors" in texts(r) for r in bot.responses("act", 3))
    assert complaints_in_db(desk)[0].owner_id == "U0AGENT"
    assert bot.slack.calls_to("chat.update") == [] and bot.slack.calls_to("views.open") == []
    assert {a.action for a in escalations.audit_trail(desk, complaint)} == {"opened", "notified"}


def test_a_member_of_the_supervisor_group_reassigns_and_the_new_owner_is_told(bot, desk):
    bot.slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER", "U0AGENT2"])  # an agent in the group
    [complaint], page = page_supervisors(bot, desk)
    block_id = next(b["block_id"] for b in page["blocks"] if b["type"] == "actions")
    press(bot, page, "U0AGENT2", "escalation_reassign", selected_user="U0ADMIN", block_id=block_id)
    bot.slack.wait_for("chat.update")
    bot.slack.wait_for("chat.postMessage", count=3)  # owner's warning, the page, then the DM to the new owner
    assert complaints_in_db(desk)[0].owner_id == "U0ADMIN"
    assert "Reassigned to <@U0ADMIN> by <@U0AGENT2>" in json.dumps(bot.slack.messages("C0SUPER")[0]["blocks"])
    [dm] = bot.slack.messages("U0ADMIN")
    assert "gave you Complaint #" in dm["text"]


def test_resolve_from_the_post_asks_for_the_resolution_and_plans_the_follow_up(bot, desk):
    [complaint], page = page_supervisors(bot, desk)
    press(bot, page, "U0SUPER", "escalation_resolve", value=str(complaint))
    [call] = bot.slack.wait_for("views.open")
    view = call.args["view"]
    assert view["callback_id"] == "complaint_resolve_modal"
    empty = bot.sender.view_submission(user_id="U0SUPER", view=view, values={
        "resolution": {"value": {"type": "plain_text_input", "value": " "}}}).json()
    assert "Write what was done" in empty["errors"]["resolution"]
    bot.sender.view_submission(user_id="U0SUPER", view=view, values={
        "resolution": {"value": {"type": "plain_text_input", "value": "Replaced the kettle"}}})
    bot.slack.wait_for("chat.update")
    updated = bot.slack.messages("C0SUPER")[0]
    assert "Resolved by <@U0SUPER>" in json.dumps(updated["blocks"])
    assert not any(b["type"] == "actions" for b in updated["blocks"]), "no buttons on a resolved complaint"
    [resolved] = complaints_in_db(desk)
    assert (resolved.status, resolved.resolution) == ("resolved", "Replaced the kettle")
    with desk.db.unit_of_work() as session:
        kinds = sorted(c.kind for c in session.scalars(select(Callback)).all())
    assert len(kinds) == 3 and "complaint_callback" in kinds, kinds


def test_the_real_scheduler_posts_the_sweep(bot, desk):
    cid = seed.customer(desk, "S001", "Sam Sun")
    from bot.services.complaints import ComplaintForm, open_complaint
    from bot.services.people import Actor, Role

    open_complaint(desk, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                   ComplaintForm(customer_id=cid, description="No reply"))
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=1))
    scheduler = build_scheduler(desk, _renderer(), _client(bot), every_seconds=1)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not bot.slack.messages("C0SUPER") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # at least one more tick: still one post
    finally:
        scheduler.shutdown(wait=True)
    posts = bot.slack.messages("C0SUPER")
    assert len(posts) == 1 and "<!subteam^S0SUPERS>" in posts[0]["text"]


def test_resolve_from_the_list_refreshes_it_and_tells_how_many_callbacks_follow(bot, desk):
    cid = seed.customer(desk, "A001", "Alice Wang")
    view = open_by_command(bot, "A001")
    bot.sender.view_submission(user_id="U0AGENT", view=view, values=complaint_values(customer_id=cid))
    bot.slack.wait_for("chat.postEphemeral")
    [complaint] = complaints_in_db(desk)

    bot.command("complaints", user_id="U0SUPER")  # supervisors see the team's complaints, with the owner
    [team_list] = bot.responses("cmd")
    assert "Open complaints of the team" in texts(team_list) and "Owner <@U0AGENT>" in texts(team_list)

    url = bot.slack.response_url("list")
    bot.sender.block_action(user_id="U0AGENT", action_id="complaint_resolve", value=str(complaint.id),
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    [call] = bot.slack.wait_for("views.open", count=2)[-1:]
    modal = call.args["view"]
    assert modal["callback_id"] == "complaint_resolve_modal" and "Alice Wang" in json.dumps(modal)
    bot.sender.view_submission(user_id="U0AGENT", view=modal, values={
        "resolution": {"value": {"type": "plain_text_input", "value": "Refunded"}}})
    [refreshed] = bot.responses("list")
    assert refreshed["replace_original"] is True and "No open complaints" in texts(refreshed)
    [done] = bot.slack.messages("U0AGENT")
    assert f"#{complaint.id} resolved. 3 follow-up callback(s) planned" in done["text"]


@pytest.mark.parametrize("locale,said", [("en-US", "try again"), ("zh-CN", "请再试一次")])
def test_a_form_slack_no_longer_waits_for_is_a_retry_in_the_persons_language_not_a_bug(bot, desk, locale, said,
                                                                                     caplog):
    """Slack lets a form open within 3 s of the click (trigger_id); a slower open is refused `expired_trigger_id`.
    The person is told to try again in their language, with no 'something went wrong, ref …' and no traceback."""
    seed.customer(desk, "A001", "Alice Wang")
    bot.slack.add_user("U0AGENT", locale=locale)
    bot.slack.trigger_ttl = 0.0  # every trigger is already past its time when the bot uses it
    bot.command("complaint A001", user_id="U0AGENT")
    [told] = bot.responses("cmd")
    assert said in texts(told) and told["response_type"] == "ephemeral"
    assert "reference" not in texts(told) and "参考号" not in texts(told)
    assert bot.slack.calls_to("views.open") and not bot.slack.ok_calls_to("views.open")
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]


def test_a_reassign_does_not_wait_long_on_a_slow_users_info(bot, desk):
    """The new owner's language comes from users.info when it is not known yet: a Slack slow to answer gets one
    short try (as on the request path), then the team's language — the reassignment, its post update and the new
    owner's DM do not wait out the client's timeout and retries in an after-ack slot."""
    from bot.services.people import Role, add_staff

    add_staff(desk, "U0NEWBIE", Role.AGENT)  # registered today: Slack not asked about them yet
    bot.slack.add_user("U0NEWBIE", locale="en-US")
    [complaint], page = page_supervisors(bot, desk)
    block_id = next(b["block_id"] for b in page["blocks"] if b["type"] == "actions")
    bot.slack.slow("users.info", 8)
    started = time.monotonic()
    press(bot, page, "U0SUPER", "escalation_reassign", selected_user="U0NEWBIE", block_id=block_id)
    bot.slack.wait_for("chat.update", timeout=6)
    [dm] = bot.slack.wait_for("chat.postMessage", count=3, timeout=6)[-1:]
    took = time.monotonic() - started
    bot.slack.slow("users.info", 0)
    assert took < 6, took
    assert complaints_in_db(desk)[0].owner_id == "U0NEWBIE" and "gave you Complaint #" in dm.args["text"]
