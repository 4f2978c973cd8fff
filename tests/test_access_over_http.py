"""The access policy over signed HTTP: an agent cannot open, log or resolve a colleague's work, nor find a
colleague's customer in the search; supervisors can (issue 8 §5)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from storage.models import Callback, CallLog, Customer
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.signed import form_values
from tests.test_due_over_http import texts


def count(svc, model) -> int:
    with svc.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


def colleague_customer(team):
    cid = seed.customer(team, "B001", "Bob Colleague", owner="U0AGENT2")
    cb = seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1), owner="U0AGENT2")
    return cid, cb


def test_an_agent_cannot_open_a_colleagues_customer_by_button_or_command(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid, cb = colleague_customer(team)
    for value in (f"cb:{cb}", f"cu:{cid}"):
        url = bot.slack.response_url(value)
        reply = bot.sender.block_action(user_id="U0AGENT", action_id="log_call", value=value,
                                        trigger_id=bot.slack.new_trigger_id(), response_url=url)
        assert reply.status == 200
        [refusal] = bot.responses(value)
        assert "belongs to a colleague" in texts(refusal) and "<@U0AGENT2>" in texts(refusal)
        assert "Bob" not in json.dumps(refusal)
    bot.command("log B001", user_id="U0AGENT")
    [refusal] = bot.responses("cmd")
    assert "belongs to a colleague" in texts(refusal)
    assert not bot.slack.calls_to("views.open")


def test_a_crafted_submission_on_a_colleagues_customer_saves_nothing(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid, cb = colleague_customer(team)
    view = {"id": "V0CRAFT", "callback_id": "log_call_modal", "type": "modal", "blocks": [],
            "private_metadata": json.dumps({"cb": cb, "cu": cid, "ch": "C0CARE"})}
    reply = bot.sender.view_submission(user_id="U0AGENT", view=view, values=form_values(summary="hi"))
    assert reply.status == 200
    assert "belongs to a colleague" in json.dumps(reply.json())
    assert count(team, CallLog) == 0
    with team.db.unit_of_work() as session:
        assert session.get(Callback, cb).status == "open"


def test_the_search_shows_an_agent_only_their_own_and_unassigned_customers(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    seed.customer(team, "A001", "Alice Mine")
    seed.customer(team, "B001", "Bob Colleague", owner="U0AGENT2")
    seed.customer(team, "C001", "Carol Nobody", owner=None)
    agent = bot.sender.options(user_id="U0AGENT", action_id="customer_select", value="")
    names = json.dumps(agent.json(), ensure_ascii=False)
    assert "Alice" in names and "Carol" in names and "Bob" not in names
    lead = bot.sender.options(user_id="U0SUPER", action_id="customer_select", value="")
    assert "Bob" in json.dumps(lead.json(), ensure_ascii=False)


def test_resolve_on_a_colleagues_complaint_shows_nothing_of_it(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "B001", "Bob Colleague", owner="U0AGENT2")
    complaint = seed.complaint(team, cid, DEFAULT_NOW - dt.timedelta(hours=1), DEFAULT_NOW + dt.timedelta(hours=5),
                               owner="U0AGENT2")
    url = bot.slack.response_url("x")
    bot.sender.block_action(user_id="U0AGENT", action_id="complaint_resolve", value=str(complaint),
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    [refusal] = bot.responses("x")
    assert "belongs to a colleague" in texts(refusal)
    assert "Bob" not in json.dumps(refusal) and "B001" not in json.dumps(refusal)
    assert not bot.slack.calls_to("views.open")


def test_a_supervisor_logs_a_call_on_an_agents_customer(bot, team):
    bot.slack.add_user("U0SUPER", locale="en-US")
    cid, cb = colleague_customer(team)
    bot.sender.block_action(user_id="U0SUPER", action_id="log_call", value=f"cb:{cb}",
                            trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("row"))
    [call] = bot.slack.wait_for("views.open")
    reply = bot.sender.view_submission(user_id="U0SUPER", view=call.args["view"], values=form_values(summary="ok"))
    assert reply.status == 200 and not reply.body
    with team.db.unit_of_work() as session:
        [log] = session.scalars(select(CallLog)).all()
        assert log.staff_id == "U0SUPER" and session.get(Customer, log.customer_id).owner_id == "U0AGENT2"
