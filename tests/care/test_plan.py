from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.care.calendar import WorkCalendar
from bot.care.etiquette import is_allowed, latest_allowed, next_allowed
from bot.care.plan import (
    OpenCallback,
    PlannedCallback,
    plan_after_complaint_resolved,
    plan_customer,
)
from bot.care.rules import CareRules, default_rules, load_rules
from bot.care.segments import CustomerFacts, Tier, segment

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = default_rules()
QUIET = load_rules("triggers: {periodic: {enabled: false}}")  # one trigger at a time in the table tests


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def customer(**kw) -> CustomerFacts:
    return CustomerFacts(**{"customer_id": 1, "code": "C1", "owner_id": "U1", "consent": True, **kw})


def plan(c: CustomerFacts, now: dt.datetime, rules: CareRules = QUIET, existing=(), contacts=0):
    return plan_customer(c, segment(c, rules, now), list(existing), contacts, rules, CAL, now)


def brief(planned: list[PlannedCallback]) -> list[tuple[str, str, str]]:
    return [(p.rule, p.due_at.astimezone(SH).strftime("%Y-%m-%d %H:%M"), p.owner_role) for p in planned]


def as_existing(planned: list[PlannedCallback], status: str = "open") -> list[OpenCallback]:
    return [OpenCallback(p.customer_id, p.kind, p.due_at, status, p.dedupe_key) for p in planned]


# --- triggers, one table per rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bought", "now", "expected"),
    [
        # welcome at once (Tue, default time 10:00)
        (dt.date(2026, 11, 3), at(2026, 11, 3, 8), [("first_purchase.welcome", "2026-11-03 10:00", "owner")]),
        # bought Friday, seen by the run on Saturday: welcome is overdue, so Monday at the first allowed slot
        (dt.date(2026, 11, 6), at(2026, 11, 7), [("first_purchase.welcome", "2026-11-09 13:30", "owner")]),
        # first use +7 d = Monday: Monday morning is avoided
        (dt.date(2026, 11, 2), at(2026, 11, 9), [("first_purchase.first_use", "2026-11-09 13:30", "owner")]),
        # survey +30 d = Saturday 10-31 -> Monday
        (dt.date(2026, 10, 1), at(2026, 11, 2), [("first_purchase.survey", "2026-11-02 13:30", "owner")]),
        # nothing due tonight
        (dt.date(2026, 11, 2), at(2026, 11, 5), []),
    ],
)
def test_first_purchase(bought, now, expected):
    assert brief(plan(customer(first_purchase_on=bought), now)) == expected


def test_first_purchase_params_and_dedupe_key():
    [first_use] = plan(customer(customer_id=7, first_purchase_on=dt.date(2026, 11, 2)), at(2026, 11, 9))
    assert first_use.kind == "first_use"
    assert first_use.params == (("days", "7"), ("anchor", "2026-11-02"))
    assert first_use.dedupe_key == "first_purchase.first_use:7:2026-11-02"


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        # Thu 10:00: callback by Fri 10:00; survey +72 h = Sun -> Mon 13:30;
        # one-to-one 12-05 (Sat) -> Mon 12-07
        (
            at(2026, 11, 5, 10),
            [
                ("complaint_resolved.callback", "2026-11-06 10:00", "owner"),
                ("complaint_resolved.survey", "2026-11-09 13:30", "owner"),
                ("complaint_resolved.one_to_one", "2026-12-07 13:30", "owner"),
            ],
        ),
        # Fri 16:00: no allowed slot within 24 h (Friday afternoon, weekend) -> Monday afternoon
        (
            at(2026, 11, 6, 16),
            [
                ("complaint_resolved.callback", "2026-11-09 13:30", "owner"),
                ("complaint_resolved.survey", "2026-11-09 16:00", "owner"),
                ("complaint_resolved.one_to_one", "2026-12-07 13:30", "owner"),
            ],
        ),
        # Fri 11:00: the only slot within 24 h is the rest of Friday morning
        (
            at(2026, 11, 6, 11),
            [
                ("complaint_resolved.callback", "2026-11-06 11:00", "owner"),
                ("complaint_resolved.survey", "2026-11-09 13:30", "owner"),
                ("complaint_resolved.one_to_one", "2026-12-07 13:30", "owner"),
            ],
        ),
    ],
)
def test_complaint_resolved(resolved, expected):
    c = customer(last_interaction_at=resolved)
    planned = plan_after_complaint_resolved(
        c, segment(c, RULES, resolved), "T-9", resolved, [], 0, RULES, CAL, resolved
    )
    assert brief(planned) == expected
    assert planned[0].params == (("hours", "24"), ("anchor", resolved.date().isoformat()), ("ticket", "T-9"))
    assert planned[0].dedupe_key == "complaint_resolved.callback:1:T-9"
    again = plan_after_complaint_resolved(
        c, segment(c, RULES, resolved), "T-9", resolved, as_existing(planned), 0, RULES, CAL, resolved
    )
    assert again == []


def test_complaint_callback_is_not_capped_but_the_rest_is():
    resolved = at(2026, 11, 5, 10)
    c = customer(last_interaction_at=resolved)
    cap = RULES.etiquette.monthly_cap[Tier.ORDINARY]
    planned = plan_after_complaint_resolved(
        c, segment(c, RULES, resolved), 9, resolved, [], cap, RULES, CAL, resolved
    )
    # survey (November) is over the cap; the one-to-one falls in December, a fresh month
    assert [p.rule for p in planned] == ["complaint_resolved.callback", "complaint_resolved.one_to_one"]


@pytest.mark.parametrize(
    ("birthday", "now", "expected"),
    [
        ((1990, 10, 13), at(2026, 10, 10), "2026-10-10 10:00"),  # Sat 10-10 is worked (调休)
        # Thu 11-19 - 3 = Mon 11-16 10:00, in the Monday-morning avoid slot: align earlier puts it on the last
        # allowed slot before, Fri 11-13 10:00 (issue 11), planned by Friday's run
        ((1990, 11, 19), at(2026, 11, 13), "2026-11-13 10:00"),
        ((1990, 11, 24), at(2026, 11, 20), "2026-11-20 10:00"),  # Sat 11-21 -> Friday before
        ((1990, 10, 4), at(2026, 9, 30), "2026-09-30 10:00"),  # 10-01 is 国庆 -> Wed 09-30
        ((2000, 2, 29), at(2027, 2, 25), "2027-02-25 10:00"),  # 02-28 in a common year, 3 days before
        # a run on Sunday that finds Friday's slot missed (within the 2-day lookback) catches up at once:
        # the first allowed slot, Mon 11-16 13:30, still before the birthday
        ((1990, 11, 19), at(2026, 11, 15), "2026-11-16 13:30"),
        ((1990, 11, 19), at(2026, 11, 12), None),  # Thursday's run: Friday 10:00 is past its horizon
    ],
)
def test_birthday_greeting(birthday, now, expected):
    planned = plan(customer(birthday=dt.date(*birthday), last_interaction_at=now - dt.timedelta(days=1)), now)
    assert brief(planned) == ([("birthday.greeting", expected, "owner")] if expected else [])
    if planned:
        assert planned[0].params[0] == ("days", "3")


def test_birthday_greeting_is_pointless_after_the_day():
    rules = load_rules("triggers: {periodic: {enabled: false}}\nplanning: {lookback_days: 10}")
    c = customer(birthday=dt.date(1990, 11, 19), last_interaction_at=at(2026, 9, 1))
    assert brief(plan(c, at(2026, 11, 18), rules)) == [("birthday.greeting", "2026-11-18 10:00", "owner")]
    assert plan(c, at(2026, 11, 20), rules) == []


def test_birthday_tiers_are_configurable():
    rules = load_rules("triggers: {periodic: {enabled: false}, birthday: {tiers: [high_value]}}")
    c = customer(birthday=dt.date(1990, 10, 13), last_interaction_at=at(2026, 9, 1))
    assert plan(c, at(2026, 10, 10), rules) == []
    vip = customer(
        birthday=dt.date(1990, 10, 13), last_interaction_at=at(2026, 9, 1), annual_spend=Decimal(10**6)
    )
    assert len(plan(vip, at(2026, 10, 10), rules)) == 1


VIP = dict(annual_spend=Decimal("150000"), first_purchase_on=dt.date(2024, 1, 1))


@pytest.mark.parametrize(
    ("now", "rules", "expected", "params"),
    [
        (
            at(2026, 9, 24),
            QUIET,
            "2026-09-24 10:00",
            (("holiday", "中秋节"), ("country", "CN"), ("days", "1"), ("anchor", "2026-09-25")),
        ),
        (
            at(2026, 9, 30),
            QUIET,
            "2026-09-30 10:00",
            (("holiday", "国庆节"), ("country", "CN"), ("days", "1"), ("anchor", "2026-10-01")),
        ),
        # 春节 2027 is Sat 02-06; its eve 02-05 is itself a day off (除夕) -> Thu 02-04
        (
            at(2027, 2, 4),
            QUIET,
            "2027-02-04 10:00",
            (("holiday", "春节"), ("country", "CN"), ("days", "1"), ("anchor", "2027-02-06")),
        ),
        (
            at(2026, 12, 31),
            load_rules("triggers: {periodic: {enabled: false}, holiday: {names: [元旦]}}"),
            "2026-12-31 10:00",
            (("holiday", "元旦"), ("country", "CN"), ("days", "1"), ("anchor", "2027-01-01")),
        ),
        (at(2026, 9, 23), QUIET, None, None),
    ],
)
def test_holiday_greeting(now, rules, expected, params):
    planned = plan(customer(last_interaction_at=now - dt.timedelta(days=1), **VIP), now, rules)
    assert brief(planned) == ([("holiday.greeting", expected, "owner")] if expected else [])
    if planned:
        assert planned[0].params == params


def test_holiday_greeting_only_for_opted_in_tiers():
    ordinary = customer(last_interaction_at=at(2026, 9, 20), first_purchase_on=dt.date(2024, 1, 1))
    assert plan(ordinary, at(2026, 9, 24)) == []


def test_silent_customer_gets_a_reactivation_once():
    c = customer(last_interaction_at=at(2026, 5, 6, 10), first_purchase_on=dt.date(2024, 1, 1))
    [planned] = plan(c, at(2026, 9, 1, 15), RULES)
    assert brief([planned]) == [("silent.reactivation", "2026-09-01 15:00", "owner")]
    assert planned.params == (("months", "3"), ("anchor", "2026-05-06"))
    done = as_existing([planned], "done")
    assert plan(c, at(2026, 9, 8), RULES, existing=done) == []  # same silence, same key


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 9, 1), "2026-09-01 09:00"),  # Tuesday: first slot of the day
        (at(2026, 9, 4), "2026-09-04 09:00"),  # Friday: the morning, before the avoided afternoon
        (at(2026, 9, 7), "2026-09-07 13:30"),  # Monday: the afternoon
        (at(2026, 9, 5), "2026-09-07 13:30"),  # Saturday: no slot within 24 h, first one after
    ],
)
def test_churn_risk_by_inactivity_goes_to_the_supervisor_within_24_h(now, expected):
    c = customer(last_interaction_at=at(2026, 2, 1, 10), first_purchase_on=dt.date(2024, 1, 1))
    [planned] = plan(c, now, RULES)
    assert brief([planned]) == [("churn_risk.intervention", expected, "supervisor")]
    assert planned.params == (
        ("hours", "24"),
        ("reason", "inactive"),
        ("months", "6"),
        ("anchor", "2026-02-01"),
    )
    assert planned.dedupe_key == "churn_risk.intervention:1:inactive:2026-02-01"


def test_churn_risk_by_complaint_spike_once_per_spike():
    tickets = (at(2026, 8, 10, 10), at(2026, 8, 20, 10), at(2026, 8, 28, 10))
    c = customer(
        last_interaction_at=at(2026, 8, 28, 10), first_purchase_on=dt.date(2024, 1, 1), tickets_at=tickets
    )
    [planned] = plan(c, at(2026, 9, 1), RULES)
    assert planned.params == (
        ("hours", "24"),
        ("reason", "complaints"),
        ("tickets", "3"),
        ("days", "60"),
        ("anchor", "2026-08-28"),
    )
    one_more = customer(
        last_interaction_at=at(2026, 9, 1, 9),
        first_purchase_on=dt.date(2024, 1, 1),
        tickets_at=(*tickets, at(2026, 9, 10, 10)),
    )
    assert plan(one_more, at(2026, 9, 11), RULES, existing=as_existing([planned], "done")) == []


@pytest.mark.parametrize(
    ("facts", "now", "rules", "expected", "params"),
    [
        # VIP: 14 days after the last touch
        (
            dict(last_interaction_at=at(2026, 11, 3, 15), **VIP),
            at(2026, 11, 17),
            RULES,
            ["2026-11-17 10:00"],
            (("days", "14"), ("anchor", "2026-11-03"), ("cadence", "high_value")),
        ),
        # existing ordinary: a month
        (
            dict(last_interaction_at=at(2026, 9, 30, 11), first_purchase_on=dt.date(2024, 1, 1)),
            at(2026, 10, 30),
            RULES,
            ["2026-10-30 10:00"],
            (("months", "1"), ("anchor", "2026-09-30"), ("cadence", "ordinary")),
        ),
        # potential: 2 months, Sunday 11-15 -> Monday afternoon
        (
            dict(
                last_interaction_at=at(2026, 9, 15, 11),
                first_purchase_on=dt.date(2024, 1, 1),
                annual_spend=Decimal("60000"),
            ),
            at(2026, 11, 16),
            RULES,
            ["2026-11-16 13:30"],
            (("months", "2"), ("anchor", "2026-09-15"), ("cadence", "potential")),
        ),
        # new customer: weekly from the purchase
        (
            dict(first_purchase_on=dt.date(2026, 10, 20)),
            at(2026, 10, 27),
            load_rules(
                "triggers: {first_purchase: {welcome: {enabled: false}, first_use: {enabled: false}}}"
            ),
            ["2026-10-27 10:00"],
            (("days", "7"), ("anchor", "2026-10-20"), ("cadence", "new")),
        ),
        # worksheet variant: ordinary quarterly
        (
            dict(last_interaction_at=at(2026, 8, 3, 11), first_purchase_on=dt.date(2024, 1, 1)),
            at(2026, 11, 3),
            load_rules("triggers: {periodic: {use: worksheet}}"),
            ["2026-11-03 10:00"],
            (("months", "3"), ("anchor", "2026-08-03"), ("cadence", "ordinary")),
        ),
        # overdue touch: due at once
        (
            dict(last_interaction_at=at(2026, 7, 20, 11), first_purchase_on=dt.date(2024, 1, 1)),
            at(2026, 10, 13, 8),
            RULES,
            ["2026-10-13 10:00"],
            (("months", "1"), ("anchor", "2026-07-20"), ("cadence", "ordinary")),
        ),
        # not yet
        (
            dict(last_interaction_at=at(2026, 10, 20, 11), first_purchase_on=dt.date(2024, 1, 1)),
            at(2026, 11, 1),
            RULES,
            [],
            None,
        ),
        # a prospect gets no periodic touch
        (dict(last_interaction_at=at(2026, 8, 1, 11)), at(2026, 10, 1), RULES, [], None),
        # a long horizon holds several touches, each counted from the one before
        (
            dict(last_interaction_at=at(2026, 11, 3, 15), **VIP),
            at(2026, 11, 17),
            load_rules("planning: {horizon_days: 21}\netiquette: {max_open_per_kind: 5}"),
            ["2026-11-17 10:00", "2026-12-01 10:00"],
            (("days", "14"), ("anchor", "2026-11-03"), ("cadence", "high_value")),
        ),
    ],
)
def test_periodic_touch(facts, now, rules, expected, params):
    planned = plan(customer(**facts), now, rules)
    assert [p.rule for p in planned] == ["periodic.touch"] * len(expected)
    assert [d for _, d, _ in brief(planned)] == expected
    if planned:
        assert planned[0].params == params


def test_a_cancelled_periodic_touch_does_not_block_the_next():
    vip = customer(last_interaction_at=at(2026, 11, 3, 15), **VIP)
    cancelled = OpenCallback(
        1, "periodic_touch", at(2026, 11, 17, 10), "cancelled", "periodic.touch:1:2026-11-17"
    )
    assert plan(vip, at(2026, 11, 17), RULES, existing=[cancelled]) == []
    [nxt] = plan(vip, at(2026, 12, 1), RULES, existing=[cancelled])
    assert (nxt.dedupe_key, nxt.params[1]) == ("periodic.touch:1:2026-12-01", ("anchor", "2026-11-17"))


# --- etiquette --------------------------------------------------------------------------------------------


def test_no_consent_no_callbacks():
    c = customer(
        consent=False,
        first_purchase_on=dt.date(2026, 11, 3),
        annual_spend=Decimal(10**6),
        last_interaction_at=at(2026, 2, 1),
        birthday=dt.date(1990, 11, 6),
    )
    assert plan(c, at(2026, 11, 3), RULES) == []
    assert (
        plan_after_complaint_resolved(
            c, segment(c, RULES, at(2026, 11, 3)), 1, at(2026, 11, 3), [], 0, RULES, CAL, at(2026, 11, 3)
        )
        == []
    )


def test_at_most_one_open_callback_of_a_kind():
    c = customer(first_purchase_on=dt.date(2026, 10, 1))
    other_survey = OpenCallback(
        1, "satisfaction_survey", at(2026, 10, 20, 10), "open", "complaint_resolved.survey:1:5"
    )
    assert plan(c, at(2026, 11, 2), existing=[other_survey]) == []
    closed = OpenCallback(
        1, "satisfaction_survey", at(2026, 10, 20, 10), "done", "complaint_resolved.survey:1:5"
    )
    assert len(plan(c, at(2026, 11, 2), existing=[closed])) == 1


def test_monthly_cap_per_tier_counts_contacts_and_open_callbacks():
    vip = customer(last_interaction_at=at(2026, 11, 3, 15), birthday=dt.date(1980, 11, 20), **VIP)
    cap = QUIET.etiquette.monthly_cap[Tier.HIGH_VALUE]
    now = at(2026, 11, 17)  # birthday greeting due today
    assert plan(vip, now, contacts=cap) == []
    assert [p.kind for p in plan(vip, now, contacts=cap - 1)] == ["birthday_greeting"]
    booked = [
        OpenCallback(1, f"k{i}", at(2026, 11, 20 + i % 5, 10), "open", f"x:{i}") for i in range(cap - 1)
    ]
    assert plan(vip, now, existing=booked, contacts=1) == []
    next_month = [OpenCallback(1, f"k{i}", at(2026, 12, 1 + i, 10), "open", f"x:{i}") for i in range(cap)]
    assert len(plan(vip, now, existing=next_month)) == 1


def test_churn_intervention_is_never_capped():
    c = customer(last_interaction_at=at(2026, 2, 1, 10), first_purchase_on=dt.date(2024, 1, 1))
    assert [p.kind for p in plan(c, at(2026, 9, 1), RULES, contacts=99)] == ["churn_intervention"]


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        plan_customer(
            customer(), segment(customer(), RULES, at(2026, 9, 1)), [], 0, RULES, CAL, dt.datetime(2026, 9, 1)
        )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 11, 9, 8), at(2026, 11, 9, 13, 30)),  # Monday morning
        (at(2026, 11, 6, 12, 30), at(2026, 11, 9, 13, 30)),  # Friday afternoon -> Monday afternoon
        (at(2026, 10, 10, 8), at(2026, 10, 10, 9)),  # worked Saturday (调休)
        (at(2026, 9, 30, 19), at(2026, 10, 8, 9)),  # 国庆 week
        (at(2026, 11, 4, 12, 15), at(2026, 11, 4, 13, 30)),  # lunch
        (at(2026, 11, 4, 15, 5), at(2026, 11, 4, 15, 5)),  # already allowed
    ],
)
def test_next_allowed(moment, expected):
    assert next_allowed(moment, RULES, CAL) == expected


def test_latest_allowed_keeps_the_time_of_day_or_the_nearest_slot():
    sat = at(2026, 11, 21, 10)
    assert latest_allowed(sat, at(2026, 11, 14), at(2026, 11, 21, 23), RULES, CAL) == at(2026, 11, 20, 10)
    assert latest_allowed(at(2026, 11, 23, 10), at(2026, 11, 16), at(2026, 11, 23, 23), RULES, CAL) == at(
        2026, 11, 23, 13, 30
    )
    assert latest_allowed(sat, at(2026, 11, 21), at(2026, 11, 22, 23), RULES, CAL) is None


# --- properties -------------------------------------------------------------------------------------------

RULE_SETS = [
    RULES,
    load_rules(
        "etiquette: {monthly_cap: {high_value: 2, potential: 1, ordinary: 1}}\n"
        "planning: {horizon_days: 10, lookback_days: 5}"
    ),
    load_rules(
        "triggers: {periodic: {use: worksheet}, birthday: {align: later}}\n"
        "etiquette: {max_open_per_kind: 2}\nplanning: {horizon_days: 40}"
    ),
]
KINDS = [
    "welcome",
    "first_use",
    "satisfaction_survey",
    "complaint_callback",
    "one_to_one",
    "birthday_greeting",
    "holiday_greeting",
    "reactivation",
    "churn_intervention",
    "periodic_touch",
]

nows = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 11, 30), timezones=st.just(SH)
) | st.datetimes(  # 中秋, 国庆 and the worked days around them (Sun 09-20, Sat 10-10)
    min_value=dt.datetime(2026, 9, 15), max_value=dt.datetime(2026, 10, 15), timezones=st.just(SH)
)


@st.composite
def situations(draw):
    now = draw(nows)
    before = lambda days: st.datetimes(  # noqa: E731
        min_value=(now - dt.timedelta(days=days)).replace(tzinfo=None),
        max_value=now.replace(tzinfo=None),
        timezones=st.just(SH),
    )
    recent_day = lambda days: st.dates(now.date() - dt.timedelta(days=days), now.date())  # noqa: E731
    c = CustomerFacts(
        customer_id=1,
        code="C1",
        owner_id="U1",
        annual_spend=draw(st.none() | st.sampled_from([Decimal(0), Decimal(60000), Decimal(150000)])),
        first_purchase_on=draw(st.none() | recent_day(40) | recent_day(400)),
        last_interaction_at=draw(st.none() | before(40) | before(300)),
        birthday=draw(st.none() | st.dates(dt.date(1960, 1, 1), dt.date(2004, 12, 31))),
        consent=draw(st.booleans()),
        tickets_at=tuple(draw(st.lists(before(90), max_size=3))),
    )
    existing = draw(
        st.lists(
            st.builds(
                OpenCallback,
                st.just(1),
                st.sampled_from(KINDS),
                st.datetimes(
                    min_value=(now - dt.timedelta(days=40)).replace(tzinfo=None),
                    max_value=(now + dt.timedelta(days=40)).replace(tzinfo=None),
                    timezones=st.just(SH),
                ),
                st.sampled_from(["open", "done", "cancelled"]),
                st.just(""),
            ),
            max_size=4,
        )
    )
    return c, now, existing, draw(st.integers(0, 8)), draw(st.sampled_from(RULE_SETS))


def _plan(c, now, existing, contacts, rules):
    return plan_customer(c, segment(c, rules, now), existing, contacts, rules, CAL, now)


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(situations())
def test_property_idempotent(s):
    c, now, existing, contacts, rules = s
    first = _plan(c, now, existing, contacts, rules)
    assert _plan(c, now, [*existing, *as_existing(first)], contacts, rules) == []
    assert len({p.dedupe_key for p in first}) == len(first)


@PROPS
@given(situations())
def test_property_slots_are_allowed_working_time_never_in_the_past(s):
    c, now, existing, contacts, rules = s
    for p in _plan(c, now, existing, contacts, rules):
        assert CAL.is_working_day(CAL.local_date(p.due_at))
        assert is_allowed(p.due_at, rules, CAL)
        assert p.due_at >= now


@PROPS
@given(situations())
def test_property_caps_and_one_open_per_kind(s):
    c, now, existing, contacts, rules = s
    planned = _plan(c, now, existing, contacts, rules)
    tier = segment(c, rules, now).tier
    month = lambda m: (CAL.local_date(m).year, CAL.local_date(m).month)  # noqa: E731
    load = Counter(month(e.due_at) for e in existing if e.is_open)
    load[month(now)] += contacts
    capped = Counter(month(p.due_at) for p in planned if p.kind not in rules.etiquette.cap_exempt_kinds)
    for m, n in capped.items():
        assert load[m] + n <= rules.etiquette.monthly_cap[tier]
    open_before = Counter(e.kind for e in existing if e.is_open)
    for kind, n in Counter(p.kind for p in planned).items():
        assert open_before[kind] + n <= rules.etiquette.max_open_per_kind
    if not c.consent:
        assert planned == []


@settings(max_examples=25, deadline=None)
@given(situations(), st.integers(20, 40))
def test_property_nightly_runs_never_duplicate(s, nights):
    """Night after night, callbacks done on their due day: no occurrence is ever planned twice."""
    c, now, existing, _, rules = s
    keys: list[str] = []
    for night in range(nights):
        run_at = CAL.start_of_day(CAL.local_date(now) + dt.timedelta(days=night))
        existing = [
            OpenCallback(e.customer_id, e.kind, e.due_at, "done", e.dedupe_key)
            if e.is_open and e.due_at < run_at
            else e
            for e in existing
        ]
        planned = _plan(c, run_at, existing, 0, rules)
        assert all(p.due_at >= run_at for p in planned)
        keys += [p.dedupe_key for p in planned]
        existing = [*existing, *as_existing(planned)]
    assert len(keys) == len(set(keys))


def test_national_day_week_and_worked_saturday():
    """Over 2026-09-28 .. 10-12 no slot falls in 10-01..10-07, and the worked Saturday 10-10 has slots."""
    days = [dt.date(2026, 9, 28) + dt.timedelta(days=i) for i in range(15)]
    usable = [d for d in days if next_allowed(CAL.at(d, dt.time(8)), RULES, CAL).date() == d]
    assert dt.date(2026, 10, 10) in usable
    assert dt.date(2026, 9, 30) in usable
    assert not any(dt.date(2026, 10, 1) <= d <= dt.date(2026, 10, 7) for d in usable)
