"""Segments (tier, activity, lifecycle) are kept on the customer by each planning run, shown in the
log-call modal, and usable as a filter: `/care due vip`, `/care due 流失风险`."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from bot.services.planning import plan_team
from storage.models import Customer
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_due_over_http import texts


def set_facts(services, customer_id: int, **values) -> None:
    with services.db.unit_of_work() as session:
        customer = session.get(Customer, customer_id)
        for key, value in values.items():
            setattr(customer, key, value)


def seeded_book(services) -> dict[str, int]:
    ids = {
        "vip": seed.customer(services, "A001", "A公司 陈总"),
        "ordinary": seed.customer(services, "B002", "B科技 刘经理"),
        "churn": seed.customer(services, "C003", "Chen Silent"),
    }
    year_ago = DEFAULT_NOW.date() - dt.timedelta(days=400)
    set_facts(services, ids["vip"], annual_spend=Decimal("380000"), first_purchase_on=year_ago,
              last_contact_at=DEFAULT_NOW - dt.timedelta(days=10))
    set_facts(services, ids["ordinary"], annual_spend=Decimal("20000"), first_purchase_on=year_ago,
              last_contact_at=DEFAULT_NOW - dt.timedelta(days=20))
    set_facts(services, ids["churn"], annual_spend=Decimal("20000"), first_purchase_on=year_ago,
              last_contact_at=DEFAULT_NOW - dt.timedelta(days=200))
    for customer_id in ids.values():
        seed.callback(services, customer_id, DEFAULT_NOW - dt.timedelta(hours=2), kind="followup")
    plan_team(services, "default", DEFAULT_NOW)
    return ids


def test_planning_keeps_segments_on_the_customer_and_recomputes_them(team):
    ids = seeded_book(team)
    with team.db.unit_of_work() as session:
        vip, churn = session.get(Customer, ids["vip"]), session.get(Customer, ids["churn"])
        assert (vip.segment_tier, vip.segment_activity, vip.segment_lifecycle) == ("high_value", "active", "existing")
        assert churn.segment_activity == "churn_risk"
    set_facts(team, ids["churn"], last_contact_at=DEFAULT_NOW - dt.timedelta(days=1))
    plan_team(team, "default", DEFAULT_NOW)
    with team.db.unit_of_work() as session:
        assert session.get(Customer, ids["churn"]).segment_activity == "active", "never frozen"


def test_the_modal_shows_the_customers_segments(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    seeded_book(team)
    bot.command("log A001", user_id="U0AGENT")
    [call] = bot.slack.wait_for("views.open")
    assert "Segments: High value · Active · Existing" in json.dumps(call.args["view"], ensure_ascii=False)


def test_due_filtered_by_segment_in_either_language(bot, team):
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    seeded_book(team)
    bot.command("due vip", user_id="U0AGENT")
    bot.responses("cmd", 1)
    bot.command("due 流失风险", user_id="U0AGENT")
    bot.responses("cmd", 2)
    bot.command("due gold", user_id="U0AGENT")
    vip, churn, unknown = (texts(r) for r in bot.responses("cmd", 3))
    assert "A公司" in vip and "B科技" not in vip and "Chen Silent" not in vip and "仅显示 *高价值* 客户" in vip
    assert "Chen Silent" in churn and "A公司" not in churn
    assert "`gold` 不是客户分层" in unknown and "vip" in unknown


def test_show_more_keeps_the_filter(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    for n in range(25):
        cid = seed.customer(team, f"V{n:03d}", f"VIP {n:03d}")
        set_facts(team, cid, annual_spend=Decimal("200000"), last_contact_at=DEFAULT_NOW - dt.timedelta(days=5))
        seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(minutes=n + 1))
    ordinary = seed.customer(team, "O001", "Plain Customer")
    seed.callback(team, ordinary, DEFAULT_NOW - dt.timedelta(days=3))
    plan_team(team, "default", DEFAULT_NOW)
    bot.command("due vip", user_id="U0AGENT")
    [first] = bot.responses("cmd")
    [more] = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]]
    bot.sender.block_action(user_id="U0AGENT", action_id="due_show_more", value=more["value"],
                            trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("more"))
    [second] = bot.responses("more")
    assert "Showing 21–25 of 25" in texts(second)
    assert "Plain Customer" not in texts(first) + texts(second)
