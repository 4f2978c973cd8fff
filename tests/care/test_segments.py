from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.care.rules import default_rules, load_rules
from bot.care.segments import (
    Activity,
    CustomerFacts,
    Lifecycle,
    Segments,
    Tier,
    add_months,
    segment,
    segment_book,
    spike_started_at,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 9, 1, 9, 0, tzinfo=SH)
RULES = default_rules()


def at(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=SH)


def facts(**kw) -> CustomerFacts:
    base = dict(customer_id=1, code="C1", owner_id="U1", consent=True)
    return CustomerFacts(**{**base, **kw})


@pytest.mark.parametrize(
    ("spend", "tier"),
    [
        (None, Tier.ORDINARY),
        (Decimal("0"), Tier.ORDINARY),
        (Decimal("49999.99"), Tier.ORDINARY),
        (Decimal("50000"), Tier.POTENTIAL),
        (Decimal("99999"), Tier.POTENTIAL),
        (Decimal("100000"), Tier.HIGH_VALUE),
        (Decimal("2500000"), Tier.HIGH_VALUE),
    ],
)
def test_tier_by_annual_spend_thresholds(spend, tier):
    assert segment(facts(annual_spend=spend), RULES, NOW).tier is tier


@pytest.mark.parametrize(
    ("last", "tickets", "activity"),
    [
        (at(2026, 8, 20), (), Activity.ACTIVE),
        (at(2026, 6, 1, 9), (), Activity.ACTIVE),  # exactly 3 months: still active
        (at(2026, 6, 1, 8), (), Activity.SILENT),
        (at(2026, 3, 1, 9), (), Activity.SILENT),  # exactly 6 months: still silent
        (at(2026, 3, 1, 8), (), Activity.CHURN_RISK),
        (at(2026, 8, 30), (at(2026, 7, 10), at(2026, 8, 1), at(2026, 8, 30)), Activity.CHURN_RISK),
        # 07-01 and 08-30 are 60 days apart: never three in one window
        (at(2026, 8, 30), (at(2026, 7, 1), at(2026, 8, 1), at(2026, 8, 30)), Activity.ACTIVE),
        (
            at(2026, 8, 30),
            (at(2026, 8, 1), at(2026, 8, 30), at(2026, 9, 2)),
            Activity.ACTIVE,
        ),  # one in the future
        (None, (), Activity.UNKNOWN),
    ],
)
def test_activity_by_last_interaction_and_complaint_spike(last, tickets, activity):
    assert segment(facts(last_interaction_at=last, tickets_at=tickets), RULES, NOW).activity is activity


def test_activity_counts_from_the_first_deal_without_interactions():
    assert segment(facts(first_purchase_on=dt.date(2026, 1, 2)), RULES, NOW).activity is Activity.CHURN_RISK
    assert segment(facts(first_purchase_on=dt.date(2026, 8, 2)), RULES, NOW).activity is Activity.ACTIVE


@pytest.mark.parametrize(
    ("first", "lifecycle"),
    [
        (None, Lifecycle.PROSPECT),
        (dt.date(2026, 9, 2), Lifecycle.PROSPECT),  # a deal dated tomorrow is not a deal yet
        (dt.date(2026, 9, 1), Lifecycle.NEW),
        (dt.date(2026, 6, 1), Lifecycle.NEW),  # exactly 3 months
        (dt.date(2026, 5, 31), Lifecycle.EXISTING),
    ],
)
def test_lifecycle_by_first_deal(first, lifecycle):
    assert segment(facts(first_purchase_on=first), RULES, NOW).lifecycle is lifecycle


def test_thresholds_come_from_the_rules():
    rules = load_rules(
        "segments: {high_value_min_spend: 20000, potential_min_spend: 10000,"
        " active_within_months: 1, spike_tickets: 2, new_within_months: 1}"
    )
    customer = facts(
        annual_spend=Decimal("25000"),
        first_purchase_on=dt.date(2026, 7, 15),
        last_interaction_at=at(2026, 7, 20),
        tickets_at=(),
    )
    assert segment(customer, rules, NOW) == Segments(Tier.HIGH_VALUE, Activity.SILENT, Lifecycle.EXISTING)
    spiky = facts(last_interaction_at=at(2026, 8, 31), tickets_at=(at(2026, 8, 1), at(2026, 8, 30)))
    assert segment(spiky, rules, NOW).activity is Activity.CHURN_RISK


def test_spike_start_is_the_ticket_that_reached_the_threshold():
    tickets = (at(2026, 6, 1), at(2026, 7, 20), at(2026, 8, 10), at(2026, 8, 20))
    # 06-01 expired on 07-31 before a third arrived; 07-20, 08-10, 08-20 make the spike from 08-20.
    assert spike_started_at(tickets, RULES, NOW) == at(2026, 8, 20)
    assert spike_started_at(tickets, RULES, at(2026, 8, 19)) is None
    assert spike_started_at(tickets, RULES, at(2026, 9, 18, 11)) is None  # 07-20 stopped counting 09-18 10:00


def test_top_percent_variant_ranks_the_book():
    rules = load_rules("segments: {tier_method: top_percent}")
    spends = [5000, 8000, 60000, 70000, 20000, 1000, 3000, 9000, 400000, 300000, None]
    book = [
        facts(customer_id=i, code=f"C{i}", annual_spend=None if s is None else Decimal(s))
        for i, s in enumerate(spends)
    ]
    tiers = {cid: s.tier for cid, s in segment_book(book, rules, NOW).items()}
    # 10 known spends: the top 10% is the single top spender; the rest go by the potential threshold.
    assert tiers[8] is Tier.HIGH_VALUE
    assert [tiers[9], tiers[2], tiers[3]] == [Tier.POTENTIAL] * 3
    assert [tiers[0], tiers[10]] == [Tier.ORDINARY] * 2
    with pytest.raises(ValueError, match="segment_book"):
        segment(book[0], rules, NOW)


def test_top_percent_rounds_up_and_ties_share_a_place():
    rules = load_rules("segments: {tier_method: top_percent}")
    small = [facts(customer_id=i, annual_spend=Decimal(s)) for i, s in enumerate([10, 20, 30])]
    assert [s.tier for s in segment_book(small, rules, NOW).values()] == [Tier.ORDINARY] * 2 + [
        Tier.HIGH_VALUE
    ]
    tied = [facts(customer_id=i, annual_spend=Decimal(s)) for i, s in enumerate([10] * 8 + [90, 90])]
    assert sum(s.tier is Tier.HIGH_VALUE for s in segment_book(tied, rules, NOW).values()) == 2


def test_segments_are_recomputed_not_frozen():
    customer = facts(last_interaction_at=at(2026, 5, 1))
    assert segment(customer, RULES, at(2026, 7, 1)).activity is Activity.ACTIVE
    assert segment(customer, RULES, at(2026, 9, 1)).activity is Activity.SILENT


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        facts(last_interaction_at=dt.datetime(2026, 8, 1, 10))
    with pytest.raises(ValueError, match="naive"):
        segment(facts(), RULES, dt.datetime(2026, 9, 1))


def test_add_months_clamps_to_month_end():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
