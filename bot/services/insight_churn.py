"""Churn risk for a whole book at given moments, counted by the database (issue 13).

The segment rule (care-domain §3, bot.care.segments.activity_of): a customer is at churn risk at `at` when a
ticket spike is on, or when `at` is later than `churn_after_months` after their last interaction (their first
deal when there was none), compared as local date and time of day in `at`'s timezone, months clamped to the
month's end. Without the spike, that is a set of instants the last reaching call must fall in — before one
instant, or inside up to three short stretches where month ends clamp — and a first-deal date bound; `moment`
works them out, and the database counts customers by owner and tier without sending a row per customer
(storage.insight_queries.churn_counts). Customers with tickets go through activity_of itself, a handful of rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from bot.care.segments import Activity, CustomerFacts, activity_of, add_months, spike_started_at
from storage import insight_queries as iq

_TICK = dt.timedelta(microseconds=1)


def cutoff_for(window_start: dt.datetime, churn_months: int) -> dt.datetime:
    """Before this, which reaching call was the last does not matter for moments after `window_start`: any
    such call leaves the customer at churn risk at all of them."""
    tz = window_start.tzinfo
    day = add_months(window_start.astimezone(tz).date(), -(churn_months + 1))
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


def moment(at: dt.datetime, churn_months: int) -> iq.ChurnMoment:
    """The instants of the rule at `at` (see the module's docstring)."""
    tz, now_day, now_time = at.tzinfo, at.date(), at.time()
    base = add_months(now_day, -churn_months)
    days = [base + dt.timedelta(days=k) for k in range(-5, 6)]
    first = min(d for d in days if add_months(d, churn_months) >= now_day)  # earlier days: at risk all day
    same = [d for d in days if add_months(d, churn_months) == now_day]  # at risk before now's time of day

    def local(day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=tz)

    before = local(first, now_time) if same else local(first, dt.time(0))
    also = tuple((local(d, dt.time(0)), local(d, now_time)) for d in same[1:] if now_time > dt.time(0))
    deal_before = same[-1] + dt.timedelta(days=1) if same and now_time > dt.time(0) else first
    return iq.ChurnMoment(at=at, before=before, also=also, first_deal_before=deal_before)


def churn_by_owner_and_tier(session, team_id: str, moments: Sequence[dt.datetime], rules,
                            window_start: dt.datetime, tickets: Iterable[tuple[int, dt.datetime]],
                            owner_id: str | None = None) -> dict[tuple[str, str], list[int]]:
    """(owner or "-", tier) -> how many customers are at churn risk at each of `moments` (of one owner's
    customers when `owner_id` is given). `tickets`: (customer, opened at) of the complaints and inquiries
    the report loaded (the spike window back from the window's start)."""
    months = rules.segments.churn_after_months
    cutoff = cutoff_for(window_start, months)
    shapes = [moment(at, months) for at in moments]
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(moments))
    for owner, tier, *numbers in iq.churn_counts(session, team_id, cutoff, shapes, owner_id):
        group = counts[(owner or "-", tier or "ordinary")]
        for k, n in enumerate(numbers):
            group[k] += int(n or 0)
    by_customer: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer, opened in tickets:
        by_customer[customer].append(opened)
    # without a spike, activity_of is the rule the database counted: only customers in a spike differ
    spiking = sorted(cid for cid, opened in by_customer.items()
                     if any(spike_started_at(opened, rules, at) is not None for at in moments))
    if not spiking:
        return dict(counts)
    for cid, row in iq.churn_of_customers(session, team_id, cutoff, shapes, spiking).items():
        owner, tier, first_deal, lasts, reached_long_ago = row
        if owner_id is not None and owner != owner_id:
            continue
        group = counts[(owner or "-", tier)]
        for k, at in enumerate(moments):
            tickets_then = tuple(t for t in by_customer[cid] if t <= at)
            if not tickets_then:
                continue  # the database's count is the rule without tickets
            last = lasts[k] if lasts[k] is not None else (cutoff - _TICK if reached_long_ago else None)
            facts = CustomerFacts(customer_id=cid, code="", owner_id=owner, first_purchase_on=first_deal,
                                  last_interaction_at=last, tickets_at=tickets_then)
            counted = iq.churn_flag(shapes[k], lasts[k], first_deal, reached_long_ago)  # what the count holds
            group[k] += int(activity_of(facts, rules, at) is Activity.CHURN_RISK) - int(counted)
    return dict(counts)
