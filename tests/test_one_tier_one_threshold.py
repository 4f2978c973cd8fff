"""A customer has one value tier and a team one low-rating line, wherever they are read (issue 14's tryout and
the care-domain review): a complaint's SLA clocks take the tier the care plan and the reports take (care-domain
§3: the annual spend by the team's thresholds, else the tier the team stated), and a call opens a follow-up
complaint at the team's `outcomes.low_rating_max`, not at a number of its own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.care.call_form import CallForm
from bot.services import planning
from bot.services.calls import log_call
from bot.services.complaints import ComplaintForm, open_complaint, set_sla_rules
from bot.services.people import Actor, Role
from storage.models import Complaint, Customer
from storage.sla_models import ComplaintSla
from tests.conftest import DEFAULT_NOW

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
HIGH_VALUE_FAST = """
targets:
  complaint:
    overrides:
      - tier: high_value
        first_response: {duration: 10m, business_hours: false}
"""


def _customer(svc, code: str, **fields) -> int:
    with svc.db.unit_of_work() as session:
        row = Customer(team_id="default", code=code, name=f"Customer {code}", phone="+8613812345678",
                       owner_id="U0AGENT", created_at=svc.clock.now(), **fields)
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.parametrize("fields, planned", [
    ({"annual_spend": Decimal(150_000)}, False),  # by spend, before any plan ran (segment_tier not yet set)
    ({"annual_spend": Decimal(150_000)}, True),  # by spend, as the plan stored it
    ({"tier": "high_value"}, False),  # stated by the team's sheet, no spend recorded
])
def test_a_high_value_customers_complaint_runs_on_the_high_value_targets(team, fields, planned):
    set_sla_rules(team, HIGH_VALUE_FAST, "U0ADMIN")
    cid = _customer(team, "V001", **fields)
    if planned:
        planning.plan_customers_now(team, "default", {cid})
    opened = open_complaint(team, AGENT, ComplaintForm(customer_id=cid, description="the machine stopped"))
    with team.db.unit_of_work() as session:
        complaint = session.get(Complaint, opened.id)
        tier = session.scalar(select(ComplaintSla.tier).where(ComplaintSla.complaint_id == opened.id))
    assert tier == "high_value"
    assert complaint.first_response_due_at - DEFAULT_NOW == dt.timedelta(minutes=10)


def test_an_ordinary_customers_complaint_keeps_the_ordinary_targets(team):
    set_sla_rules(team, HIGH_VALUE_FAST, "U0ADMIN")
    cid = _customer(team, "O001", annual_spend=Decimal(3_000))
    opened = open_complaint(team, AGENT, ComplaintForm(customer_id=cid, description="late parcel"))
    with team.db.unit_of_work() as session:
        complaint = session.get(Complaint, opened.id)
    assert complaint.first_response_due_at - DEFAULT_NOW > dt.timedelta(minutes=10)


def _follow_ups(svc) -> int:
    with svc.db.unit_of_work() as session:
        return len(session.scalars(select(ComplaintSla).where(ComplaintSla.source == "low_rating")).all())


@pytest.mark.parametrize("rules, rating, opened", [
    ("", 2, 1), ("", 3, 0),  # the default line: 2
    ("outcomes:\n  low_rating_max: 3\n", 3, 1), ("outcomes:\n  low_rating_max: 3\n", 4, 0),
    ("outcomes:\n  low_rating_max: 1\n", 2, 0),
])
def test_a_low_rating_opens_a_follow_up_at_the_teams_line(team, rules, rating, opened):
    if rules:
        planning.set_rules(team, rules, "U0ADMIN")
    cid = _customer(team, "R001", first_purchase_on=dt.date(2024, 1, 1))
    log_call(team, AGENT, CallForm(cid, None, "phone", "satisfied", rating, "talked", "not happy", None))
    assert _follow_ups(team) == opened


@pytest.mark.parametrize("value, refused", [
    ("0", None), ("4", None),  # 0: no rating opens a follow-up; 4: every rating under 5 does
    ("5", "less than or equal to 4"), ("-1", "greater than or equal to 0"),  # 5: a 5-star call a problem
    ("true", "valid integer"), ("'3'", "valid integer"), ("2.5", "valid integer"),
])
def test_the_low_rating_line_is_a_whole_number_a_rating_can_fall_under(value, refused):
    from bot.care.rules import RulesError, load_rules

    text = f"outcomes:\n  low_rating_max: {value}\n"
    if refused is None:
        assert load_rules(text).outcomes.low_rating_max == int(value)
        return
    with pytest.raises(RulesError) as error:
        load_rules(text)
    assert (error.value.path, error.value.line) == ("outcomes.low_rating_max", 2) and refused in str(error.value)


@pytest.mark.parametrize("key, value", [("satisfied_after_days", "0"), ("problem_after_days", "-3"),
                                        ("potential_after_days", "9999"), ("unreachable_max_tries", "0"),
                                        ("unreachable_max_tries", "yes")])
def test_the_outcome_days_and_tries_are_checked_too(key, value):
    from bot.care.rules import RulesError, load_rules

    with pytest.raises(RulesError) as error:
        load_rules(f"outcomes:\n  {key}: {value}\n")
    assert error.value.path == f"outcomes.{key}"
