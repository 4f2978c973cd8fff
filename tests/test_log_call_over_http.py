"""Logging a call: button -> modal -> submit, with Slack's own payload shapes, over signed HTTP."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from storage.models import Callback, CallLog, Customer
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.signed import form_values
from tests.test_due_over_http import texts


def open_modal_from_button(bot, callback_id: int, user_id: str = "U0AGENT") -> dict:
    reply = bot.sender.block_action(user_id=user_id, action_id="log_call", value=f"cb:{callback_id}",
                                    trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("row"))
    assert reply.status == 200
    [call] = bot.slack.wait_for("views.open")
    return call.args["view"]


def test_log_button_opens_the_prefilled_modal(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=2), kind="first_use")
    view = open_modal_from_button(bot, cb)
    assert view["callback_id"] == "log_call_modal"
    assert json.loads(view["private_metadata"])["cb"] == cb
    shown = json.dumps(view, ensure_ascii=False)
    assert "Alice Wang" in shown and "138****5678" in shown and "First-use callback" in shown
    block_ids = [b.get("block_id") for b in view["blocks"]]
    assert {"channel", "outcome", "rating", "summary", "next_on"} <= set(block_ids)


def submit(bot, view: dict, user_id: str = "U0AGENT", **values):
    reply = bot.sender.view_submission(user_id=user_id, view=view, values=form_values(**values))
    assert reply.status == 200
    return reply.json() if reply.body else None


def test_modal_errors_are_inline_and_nothing_is_saved(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    view = open_modal_from_button(bot, cb)

    no_rating = submit(bot, view, outcome="satisfied", rating=None)
    assert no_rating["response_action"] == "errors"
    assert "rate the call" in no_rating["errors"]["rating"]

    past = submit(bot, view, next_on=(DEFAULT_NOW.date() - dt.timedelta(days=1)).isoformat())
    assert "after today" in past["errors"]["next_on"]

    no_outcome = submit(bot, view, outcome=None)
    assert set(no_outcome["errors"]) == {"outcome"}

    with team.db.unit_of_work() as session:
        assert session.scalars(select(CallLog)).all() == []
        assert session.get(Callback, cb).status == "open"


def test_unknown_customer_is_an_inline_error(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("log", user_id="U0AGENT")
    [call] = bot.slack.wait_for("views.open")
    view = call.args["view"]
    assert any(b.get("element", {}).get("type") == "external_select" for b in view["blocks"])
    answer = submit(bot, view, customer_id=987654)
    assert "not in your team" in answer["errors"]["customer"]


def test_valid_submit_stores_the_log_closes_the_callback_and_plans_the_next(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "A001", "Alice Wang")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
    view = open_modal_from_button(bot, cb)

    assert submit(bot, view, outcome="satisfied", rating=5, summary="设备运行正常 & happy") is None

    with team.db.unit_of_work() as session:
        [log] = session.scalars(select(CallLog)).all()
        assert (log.outcome, log.rating, log.channel, log.staff_id) == ("satisfied", 5, "phone", "U0AGENT")
        assert session.get(Callback, cb).status == "done"
        [following] = session.scalars(select(Callback).where(Callback.status == "open")).all()
        # satisfied -> light touch 30 days later (2026-12-24, a Thursday, a working day) at the plan's default
        # time, 10:00, like every callback the care plan places
        assert following.kind == "light_touch"
        assert following.due_at == dt.datetime(2026, 12, 24, 10, 0, tzinfo=DEFAULT_NOW.tzinfo)
        assert session.get(Customer, cid).last_contact_at == DEFAULT_NOW
    [confirmation] = bot.slack.wait_for("chat.postEphemeral")
    assert "Logged your call with *Alice Wang*" in confirmation.args["text"]

    bot.command("due", user_id="U0AGENT")
    [response] = bot.responses("cmd")
    assert "Alice Wang" not in texts(response)


def test_unreachable_three_times_flags_the_customer(bot, team, clock):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "B002", "Bob Li")
    seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(hours=1), kind="survey")
    due_days = []
    for attempt in range(3):
        with team.db.unit_of_work() as session:
            open_cb = session.scalars(select(Callback).where(Callback.status == "open")).one()
            due_days.append(open_cb.due_at.date())
            cb_id = open_cb.id
        view = open_modal_from_button(bot, cb_id) if attempt == 0 else _reopen(bot, cb_id, attempt)
        assert submit(bot, view, outcome="unreachable", rating=None) is None
        clock.advance(dt.timedelta(days=1))
    with team.db.unit_of_work() as session:
        # no more retries; the flagged (待跟进) customer is in the owner's queue with a record check (issue 11)
        [check] = session.scalars(select(Callback).where(Callback.status == "open")).all()
        assert (check.kind, check.rule, check.owner_id) == ("complete_record", "record.check", "U0AGENT")
        assert session.get(Customer, cid).needs_follow_up is True
        statuses = sorted(session.scalars(select(Callback.status)).all())
    assert statuses == ["open", "rescheduled", "rescheduled", "skipped"]
    # retries land on the next working day: Wed 25th, then Thu 26th (Tue 24th was the original)
    assert due_days[1:] == [dt.date(2026, 11, 25), dt.date(2026, 11, 26)]
    flagged = bot.slack.wait_for("chat.postEphemeral", count=3)[-1]
    assert "not reached after 3 tries" in flagged.args["text"]


def _reopen(bot, cb_id: int, attempt: int) -> dict:
    bot.sender.block_action(user_id="U0AGENT", action_id="log_call", value=f"cb:{cb_id}",
                            trigger_id=bot.slack.new_trigger_id())
    return bot.slack.wait_for("views.open", count=attempt + 1)[-1].args["view"]


def test_log_with_a_code_prefills_and_search_finds_customers(bot, team):
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    seed.customer(team, "2024001", "张女士")
    seed.customer(team, "2024002", "张先生")
    bot.command("log 2024001", user_id="U0AGENT")
    [call] = bot.slack.wait_for("views.open")
    assert "张女士" in json.dumps(call.args["view"], ensure_ascii=False)
    assert call.args["view"]["title"]["text"] == "记录回访"

    reply = bot.sender.options(user_id="U0AGENT", action_id="customer_select", value="张")
    labels = [o["text"]["text"] for o in reply.json()["options"]]
    assert labels == ["2024001 · 张女士", "2024002 · 张先生"]

    stranger = bot.sender.options(user_id="U0NOBODY", action_id="customer_select", value="张")
    assert stranger.json()["options"] == []


def test_a_team_ranking_by_top_percent_logs_a_call_without_reading_every_customer(bot, team):
    """With tiers by top percent of spend, the customer's tier is their rank in the whole book — read as the
    book's spends (two columns), not as every customer's record (names and phones decrypted: seconds per call on
    a book of 100,000)."""
    from decimal import Decimal

    from sqlalchemy import event

    from bot.services import planning

    bot.slack.add_user("U0AGENT", locale="en-US")
    planning.set_rules(team, "segments:\n  tier_method: top_percent\n  top_percent: 20\n", "U0ADMIN")
    ids = [seed.customer(team, f"T{n:03d}", f"Customer {n}") for n in range(10)]
    with team.db.unit_of_work() as session:
        for n, cid in enumerate(ids):
            session.get(Customer, cid).annual_spend = Decimal(1000 * (n + 1))  # T009 spends most
    cb = seed.callback(team, ids[-1], DEFAULT_NOW - dt.timedelta(days=1))
    view = open_modal_from_button(bot, cb)
    full_reads: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "customer.name" in statement:
            full_reads.append(statement)

    event.listen(team.db.engine, "before_cursor_execute", watch)
    try:
        assert submit(bot, view, outcome="satisfied", rating=5, summary="ok") is None
        bot.slack.wait_for("chat.postEphemeral")
    finally:
        event.remove(team.db.engine, "before_cursor_execute", watch)
    with team.db.unit_of_work() as session:
        top, bottom = session.get(Customer, ids[-1]), session.get(Customer, ids[0])
        assert top.segment_tier == "high_value" and bottom.segment_tier is None  # only the called one re-ranked
        assert session.get(Callback, cb).status == "done"
        assert session.scalars(select(Callback).where(Callback.customer_id == ids[-1],
                                                      Callback.status == "open")).all()
    # the called customer's own record, by its id; never the team's customers one by one
    assert full_reads and all("WHERE customer.id = " in " ".join(q.split()) for q in full_reads), full_reads


def test_an_agent_logs_a_call_with_an_unassigned_customer_whose_open_task_is_the_admins(bot, team):
    """The tryout's U900: unassigned, no phone, its only open callback the admin's "complete the record" task. An
    agent's Log call from the customer (value cu:…) was refused as the admin's; agents work unassigned customers,
    so the call is logged, and the admin's task stays theirs, open. The agent's own callback on their customer is
    still the one a call closes, never a supervisor's churn-risk call beside it."""
    from bot.services.people import Role, add_staff

    add_staff(team, "U0ADMIN", Role.ADMIN)
    add_staff(team, "U0SUPER", Role.SUPERVISOR)
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "U900", "Una Wu", owner=None, phone=None)
    task = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=3), kind="complete_record", owner="U0ADMIN")
    reply = bot.sender.block_action(user_id="U0AGENT", action_id="log_call", value=f"cu:{cid}",
                                    trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("row"))
    assert reply.status == 200
    [call] = bot.slack.wait_for("views.open")
    view = call.args["view"]
    assert json.loads(view["private_metadata"]).get("cb") is None
    assert submit(bot, view, outcome="satisfied", rating=4, summary="called back from the shop") is None
    with team.db.unit_of_work() as session:
        [log] = session.scalars(select(CallLog).where(CallLog.customer_id == cid)).all()
        assert (log.staff_id, log.callback_id) == ("U0AGENT", None)
        assert session.get(Callback, task).status == "open"

    # the agent's own customers, each with a supervisor's churn intervention due first: the agent's call closes
    # their own callback, never the supervisor's; that one is cancelled by the care plan when the customer is no
    # longer at risk (silent for 200 days, reached now), and stays while a complaint spike keeps them at risk
    silent, spiking = seed.customer(team, "E100", "Eva Li"), seed.customer(team, "E200", "Ed Ma")
    with team.db.unit_of_work() as session:
        session.get(Customer, silent).last_contact_at = DEFAULT_NOW - dt.timedelta(days=200)
    for days in (5, 20, 40):
        seed.complaint(team, spiking, DEFAULT_NOW - dt.timedelta(days=days), DEFAULT_NOW - dt.timedelta(days=days - 1))
    churn, own = {}, {}
    for n, cid in enumerate((silent, spiking)):
        churn[cid] = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=5), kind="churn_intervention",
                                   owner="U0SUPER")
        own[cid] = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1))
        bot.sender.block_action(user_id="U0AGENT", action_id="log_call", value=f"cu:{cid}",
                                trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("row"))
        view = bot.slack.wait_for("views.open", count=2 + n)[-1].args["view"]
        assert submit(bot, view, outcome="satisfied", rating=5, summary="all good") is None
    with team.db.unit_of_work() as session:
        assert [session.get(Callback, own[c]).status for c in (silent, spiking)] == ["done", "done"]
        assert [session.get(Callback, churn[c]).status for c in (silent, spiking)] == ["cancelled", "open"]
