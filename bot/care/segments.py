"""Customer segments (care-domain §3): value tier, activity and lifecycle, recomputed from facts each time.

Pure: every function takes the moment it judges for (`now`, timezone-aware); nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from calendar import monthrange
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from bot.care.rules import CareRules
from bot.care.tiers import Activity, Lifecycle, Tier


def require_aware(moment: dt.datetime, what: str = "datetime") -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive {what}: every moment must carry a timezone")
    return moment


@dataclass(frozen=True)
class CustomerFacts:
    """What the care plan needs to know about one customer, as plain values."""

    customer_id: int
    code: str
    owner_id: str | int | None
    annual_spend: Decimal | None = None
    first_purchase_on: dt.date | None = None
    last_interaction_at: dt.datetime | None = None
    birthday: dt.date | None = None
    consent: bool = False
    tickets_at: tuple[dt.datetime, ...] = ()  # complaints and inquiries
    tags: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # key fields the record lacks (care-domain §2), e.g. ("phone",)
    flagged: bool = False  # marked 待跟进 by a person or a rule (e.g. not reached after the last retry)

    def __post_init__(self) -> None:
        if self.last_interaction_at is not None:
            require_aware(self.last_interaction_at, "last_interaction_at")
        for moment in self.tickets_at:
            require_aware(moment, "tickets_at")


@dataclass(frozen=True)
class Segments:
    tier: Tier
    activity: Activity
    lifecycle: Lifecycle


D = TypeVar("D", dt.date, dt.datetime)


def add_months(value: D, months: int) -> D:
    """Same day `months` later, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    years, month0 = divmod(value.month - 1 + months, 12)
    year, month = value.year + years, month0 + 1
    return value.replace(year=year, month=month, day=min(value.day, monthrange(year, month)[1]))


def interaction_reference(customer: CustomerFacts, now: dt.datetime) -> dt.datetime | None:
    """Last interaction; a customer with none on record counts from their first deal."""
    if customer.last_interaction_at is not None:
        return customer.last_interaction_at.astimezone(now.tzinfo)
    if customer.first_purchase_on is not None:
        return dt.datetime.combine(customer.first_purchase_on, dt.time(0), tzinfo=now.tzinfo)
    return None


def spike_started_at(
    tickets: Iterable[dt.datetime], rules: CareRules, now: dt.datetime
) -> dt.datetime | None:
    """When the complaint/inquiry spike in progress at `now` began; None when there is none.

    A ticket counts during [t, t + window). The spike is on while at least `spike_tickets` count.
    """
    seg = rules.segments
    window = dt.timedelta(days=seg.spike_window_days)
    arrivals = sorted(t for t in tickets if t <= now)
    # Expiries sort before arrivals at the same instant: a ticket stops counting exactly at t + window.
    events = sorted([(t + window, 0) for t in arrivals if t + window <= now] + [(t, 1) for t in arrivals])
    count, started = 0, None
    for moment, arrival in events:
        count += 1 if arrival else -1
        if count >= seg.spike_tickets and started is None:
            started = moment
        elif count < seg.spike_tickets:
            started = None
    return started


def activity_of(customer: CustomerFacts, rules: CareRules, now: dt.datetime) -> Activity:
    require_aware(now, "now")
    if spike_started_at(customer.tickets_at, rules, now) is not None:
        return Activity.CHURN_RISK
    since = interaction_reference(customer, now)
    if since is None:
        return Activity.UNKNOWN
    if now <= add_months(since, rules.segments.active_within_months):
        return Activity.ACTIVE
    if now <= add_months(since, rules.segments.churn_after_months):
        return Activity.SILENT
    return Activity.CHURN_RISK


def lifecycle_of(customer: CustomerFacts, rules: CareRules, now: dt.datetime) -> Lifecycle:
    today = require_aware(now, "now").date()
    first = customer.first_purchase_on
    if first is None or first > today:
        return Lifecycle.PROSPECT
    if today <= add_months(first, rules.segments.new_within_months):
        return Lifecycle.NEW
    return Lifecycle.EXISTING


def tier_of(customer: CustomerFacts, rules: CareRules, spend_rank: float | None = None) -> Tier:
    """`spend_rank`: share of the book with a strictly higher annual spend (0.0 = the top spender).

    With top_percent p, high value is the top ceil(n * p%) places of a book of n; ties share a place.
    """
    seg = rules.segments
    spend = customer.annual_spend
    if spend is None:
        return Tier.ORDINARY
    if seg.tier_method == "top_percent":
        if spend_rank is None:
            raise ValueError("tier_method top_percent ranks the whole book: use segment_book()")
        high = spend_rank < seg.top_percent / 100
    else:
        high = spend >= seg.high_value_min_spend
    if high:
        return Tier.HIGH_VALUE
    return Tier.POTENTIAL if spend >= seg.potential_min_spend else Tier.ORDINARY


def segment(
    customer: CustomerFacts, rules: CareRules, now: dt.datetime, spend_rank: float | None = None
) -> Segments:
    return Segments(
        tier=tier_of(customer, rules, spend_rank),
        activity=activity_of(customer, rules, now),
        lifecycle=lifecycle_of(customer, rules, now),
    )


def spend_ranks(customers: Iterable[CustomerFacts]) -> Mapping[int, float]:
    """Each customer's share of the book (customers with a known spend) that spends strictly more."""
    spends = sorted(c.annual_spend for c in customers if c.annual_spend is not None)
    total = len(spends)
    return {
        c.customer_id: (total - bisect_right(spends, c.annual_spend)) / total
        for c in customers
        if c.annual_spend is not None
    }


def segment_book(
    customers: Iterable[CustomerFacts], rules: CareRules, now: dt.datetime
) -> dict[int, Segments]:
    customers = list(customers)
    ranks = spend_ranks(customers)
    return {c.customer_id: segment(c, rules, now, ranks.get(c.customer_id)) for c in customers}
