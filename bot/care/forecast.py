"""Workload forecast: the callbacks the nightly run would create over the coming days.

Simulates day by day as if the run happened at the start of each day and every callback were done on its
due day (a done callback is a contact, so it counts as the customer's latest interaction).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.care.calendar import WorkCalendar
from bot.care.plan import DONE, OpenCallback, PlannedCallback, plan_customer, rule_of
from bot.care.rules import CareRules
from bot.care.segments import CustomerFacts, Segments, activity_of, lifecycle_of

SUPERVISORS = "supervisors"  # owner_id of rows for callbacks the supervisors own rather than the agent


@dataclass(frozen=True)
class ForecastRow:
    date: dt.date
    owner_id: str | int | None
    customer_code: str
    kind: str
    rule: str


def forecast(
    customers_with_segments: Sequence[tuple[CustomerFacts, Segments]],
    existing: Sequence[OpenCallback],
    rules: CareRules,
    calendar: WorkCalendar,
    start: dt.date,
    days: int,
) -> list[ForecastRow]:
    """Rows for every callback due in [start, start + days): the existing open ones and the planned ones.

    Tiers come from the given segments (spend does not move in a forecast); activity and lifecycle are
    recomputed each day, since they move with time and with the simulated contacts.
    """
    end = start + dt.timedelta(days=days)
    customers = {c.customer_id: c for c, _ in customers_with_segments}
    tiers = {c.customer_id: s.tier for c, s in customers_with_segments}
    known = list(existing)
    rows = [
        _row(
            customers[c.customer_id],
            c.kind,
            rule_of(c.dedupe_key) or "existing",
            "owner",
            calendar.local_date(c.due_at),
        )
        for c in existing
        if c.is_open and c.customer_id in customers and start <= calendar.local_date(c.due_at) < end
    ]
    for offset in range(days):
        today = start + dt.timedelta(days=offset)
        now = calendar.start_of_day(today)
        known = [_done_before(c, today, customers, calendar, rules.triggers.record.kind) for c in known]
        for cid, customer in customers.items():
            segments = Segments(
                tiers[cid], activity_of(customer, rules, now), lifecycle_of(customer, rules, now)
            )
            mine = [c for c in known if c.customer_id == cid]
            contacts = sum(1 for c in mine if c.status == DONE and c.kind != rules.triggers.record.kind
                           and _same_month(c.due_at, today, calendar))
            for planned in plan_customer(customer, segments, mine, contacts, rules, calendar, now):
                known.append(_as_existing(planned))
                due_on = calendar.local_date(planned.due_at)
                if due_on < end:
                    rows.append(_row(customer, planned.kind, planned.rule, planned.owner_role, due_on))
    return sorted(rows, key=lambda r: (r.date, str(r.owner_id), r.customer_code, r.kind))


def load_by_agent_and_day(rows: Sequence[ForecastRow]) -> dict[tuple[str | int | None, dt.date], int]:
    return dict(Counter((r.owner_id, r.date) for r in rows))


def _row(customer: CustomerFacts, kind: str, rule: str, owner_role: str, day: dt.date) -> ForecastRow:
    owner = SUPERVISORS if owner_role == "supervisor" else customer.owner_id
    return ForecastRow(day, owner, customer.code, kind, rule)


def _as_existing(planned: PlannedCallback) -> OpenCallback:
    return OpenCallback(planned.customer_id, planned.kind, planned.due_at, "open", planned.dedupe_key)


def _done_before(
    callback: OpenCallback,
    today: dt.date,
    customers: dict[int, CustomerFacts],
    calendar: WorkCalendar,
    record_kind: str,
) -> OpenCallback:
    """Close an open callback whose due day has passed, and record the contact on its customer. A record
    task stays open: the forecast does not fill in the record, so it is one item until someone does."""
    if not callback.is_open or callback.kind == record_kind or calendar.local_date(callback.due_at) >= today:
        return callback
    customer = customers.get(callback.customer_id)
    if customer is not None:
        last = customer.last_interaction_at
        if last is None or last < callback.due_at:
            customers[callback.customer_id] = dataclasses.replace(
                customer, last_interaction_at=callback.due_at
            )
    return dataclasses.replace(callback, status=DONE)


def _same_month(moment: dt.datetime, day: dt.date, calendar: WorkCalendar) -> bool:
    local = calendar.local_date(moment)
    return (local.year, local.month) == (day.year, day.month)
