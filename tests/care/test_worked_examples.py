"""The worked examples of care-domain §6, replayed through segments and outcomes.next_step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.care.calendar import WorkCalendar
from bot.care.outcomes import NextStep, Outcome, effective_outcome, next_step
from bot.care.plan import plan_customer
from bot.care.rules import default_rules
from bot.care.segments import Activity, CustomerFacts, Lifecycle, Segments, Tier, segment

SH = ZoneInfo("Asia/Shanghai")
RULES = default_rules()
CAL = WorkCalendar()


def after_call(outcome: Outcome, rating: int | None, called_on: dt.date, requested_on: dt.date | None = None):
    return next_step(
        effective_outcome(outcome, rating, RULES.outcomes),
        called_on=called_on,
        attempts=1,
        requested_on=requested_on,
        rules=RULES.outcomes,
        calendar=CAL,
    )


def test_2024001_ms_zhang_ordinary_birthday_care_rated_5():
    zhang = CustomerFacts(
        2024001,
        "2024001",
        "U_AGENT",
        annual_spend=Decimal("8000"),
        first_purchase_on=dt.date(2023, 6, 1),
        last_interaction_at=dt.datetime(2024, 1, 20, 15, tzinfo=SH),
        birthday=dt.date(1988, 2, 18),
        consent=True,
        tags=("喜欢促销",),
    )
    done_at = dt.datetime(2024, 2, 15, 10, tzinfo=SH)
    assert segment(zhang, RULES, done_at) == Segments(Tier.ORDINARY, Activity.ACTIVE, Lifecycle.EXISTING)

    # The template planned the greeting on 02-15, a 春节 day off in 2024 (02-10..02-17). For a birthday on
    # 02-18 the engine keeps it before the day and off the holiday: Friday 02-09, the last working day.
    run = dt.datetime(2024, 2, 9, tzinfo=SH)
    [greeting] = plan_customer(zhang, segment(zhang, RULES, run), [], 0, RULES, CAL, run)
    assert (greeting.rule, greeting.kind, greeting.due_at) == (
        "birthday.greeting",
        "birthday_greeting",
        dt.datetime(2024, 2, 9, 10, tzinfo=SH),
    )
    assert greeting.params == (("days", "3"), ("anchor", "2024-02-18"))

    # Done 02-15 10:00 by SMS with a coupon, rated 5: satisfied, light touch a month on
    # (+30 d = Sat 03-16 -> Mon 03-18).
    assert after_call(Outcome.SATISFIED, 5, done_at.date()) == NextStep(
        "light_touch",
        dt.date(2024, 3, 18),
        "outcome.satisfied",
        params=(("days", "30"), ("anchor", "2024-02-15")),
    )


def test_a001_vip_phone_callback_next_2023_12_05():
    a_corp = CustomerFacts(
        1,
        "A001",
        "U_AGENT",
        annual_spend=Decimal("800000"),
        first_purchase_on=dt.date(2022, 5, 10),
        last_interaction_at=dt.datetime(2023, 11, 5, 10, tzinfo=SH),
        consent=True,
        tags=("制造业",),
    )
    called = dt.datetime(2023, 11, 5, 11, tzinfo=SH)
    assert segment(a_corp, RULES, called).tier is Tier.HIGH_VALUE  # VIP = high value

    # Rated 5, agreed the next callback for 12-05 (maintenance training, may refer peers).
    assert after_call(Outcome.SATISFIED, 5, called.date(), requested_on=dt.date(2023, 12, 5)) == NextStep(
        "light_touch", dt.date(2023, 12, 5), "outcome.requested", params=(("outcome", "satisfied"),)
    )
    # The satisfied rule alone gives the same date: 11-05 + 30 days = Tue 12-05.
    assert after_call(Outcome.SATISFIED, 5, called.date()).due_on == dt.date(2023, 12, 5)


def test_b002_problem_leads_to_follow_up():
    b002 = CustomerFacts(
        2,
        "B002",
        "U_AGENT",
        annual_spend=Decimal("30000"),
        first_purchase_on=dt.date(2023, 3, 1),
        last_interaction_at=dt.datetime(2023, 11, 6, 14, tzinfo=SH),
        consent=True,
        tags=("价格敏感",),
    )
    called_on = dt.date(2023, 11, 6)
    assert segment(b002, RULES, dt.datetime(2023, 11, 6, 15, tzinfo=SH)) == Segments(
        Tier.ORDINARY, Activity.ACTIVE, Lifecycle.EXISTING
    )

    # Module too complex, slow responses: a problem. By rule the follow-up is 3 days on (Thu 11-09) ...
    assert after_call(Outcome.PROBLEM, None, called_on) == NextStep(
        "problem_followup",
        dt.date(2023, 11, 9),
        "outcome.problem",
        params=(("days", "3"), ("anchor", "2023-11-06")),
    )
    # ... and the agent's agreed date (after the tech team's remote session by 11-10) wins: 11-20.
    step = after_call(Outcome.PROBLEM, None, called_on, requested_on=dt.date(2023, 11, 20))
    assert (step.kind, step.due_on, step.rule) == (
        "problem_followup",
        dt.date(2023, 11, 20),
        "outcome.requested",
    )
    # A reached customer who rates the call low counts as a problem too.
    assert after_call(Outcome.SATISFIED, 2, called_on).kind == "problem_followup"
