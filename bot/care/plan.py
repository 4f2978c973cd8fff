"""The care plan (care-domain §2, §4): which callbacks a customer's facts make due, within etiquette.

Pure and idempotent: every planned callback carries a dedupe key naming its trigger occurrence
("<rule>:<customer id>:<occurrence>"); planning again with the result among `existing` adds nothing.
Triggers are in bot.care.triggers; every callback, from a trigger or a call's outcome, is placed by
bot.care.etiquette.place.

How rules combine (README "The care plan"): each trigger plans its own callbacks; when several fall on a
customer, the customer is touched at the earliest date any of them gives. The tier cadence is a ceiling on
the gap between two touches: a callback planned sooner (an outcome's problem follow-up, a greeting) counts
as a touch and the cadence counts on from it; one planned later (a light touch in 30 days) never holds the
periodic touch back.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.care.calendar import WorkCalendar
from bot.care.etiquette import MonthLoad, Request, place
from bot.care.rules import CareRules, Params
from bot.care.segments import CustomerFacts, Segments, require_aware
from bot.care.triggers import (
    PERIODIC,
    Occurrence,
    birthday,
    churn_risk,
    complaint_resolved,
    first_purchase,
    holiday,
    periodic,
    record,
    silent,
)

# Statuses that end a callback; any other status counts as open. "done" is also a contact made;
# "rescheduled" is an unreachable try closed for its retry (bot/services/calls.py).
DONE = "done"
CLOSED_STATUSES = frozenset({DONE, "cancelled", "skipped", "expired", "gave_up", "rescheduled"})


@dataclass(frozen=True)
class PlannedCallback:
    customer_id: int
    kind: str
    due_at: dt.datetime
    owner_role: str  # "owner" | "supervisor" | "owner_or_admin"
    rule: str  # e.g. "first_purchase.first_use"
    params: Params  # e.g. (("days", "7"), ("anchor", "2026-11-02")) for the message catalog
    dedupe_key: str


@dataclass(frozen=True)
class OpenCallback:
    """A callback that already exists (open or closed); closed ones still block their dedupe key."""

    customer_id: int
    kind: str
    due_at: dt.datetime
    status: str = "open"
    dedupe_key: str = ""

    def __post_init__(self) -> None:
        require_aware(self.due_at, "due_at")

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def is_contact(self) -> bool:
        return self.is_open or self.status == DONE


def rule_of(dedupe_key: str) -> str:
    return dedupe_key.split(":", 1)[0]


@dataclass(frozen=True)
class OutcomeStep:
    """The next callback a logged call asks for (bot.care.outcomes.next_step), before etiquette."""

    kind: str
    due_on: dt.date
    rule: str
    params: Params
    call_id: int | str  # names the occurrence: one next step per logged call
    retry: bool = False  # an unreachable customer's retry replaces the try it follows: not capped again


class _Ledger:
    """What one customer already has, and what this run adds, for the dedupe and etiquette checks."""

    def __init__(
        self,
        customer: CustomerFacts,
        segments: Segments,
        existing: Sequence[OpenCallback],
        contacts_this_month: int,
        rules: CareRules,
        calendar: WorkCalendar,
        now: dt.datetime,
    ):
        self.customer, self.rules, self.calendar, self.now = customer, rules, calendar, now
        etiquette = rules.etiquette
        self.record_kind = rules.triggers.record.kind  # a task on our data, not a contact with the customer
        mine = [c for c in existing if c.customer_id == customer.customer_id]
        self.keys = {c.dedupe_key for c in mine if c.dedupe_key}
        self.open_kinds = Counter(c.kind for c in mine if c.is_open)
        self.load = MonthLoad(etiquette.monthly_cap[segments.tier], calendar, frozenset(etiquette.cap_exempt_kinds))
        for c in mine:
            if c.is_open and c.kind != self.record_kind:
                self.load.add(c.due_at)
        self.load.add(now, contacts_this_month)
        # An open callback counts as a touch at its due time (as now when overdue). A cancelled periodic
        # touch still moves the next one on; else its key would block that forever.
        self.touches = [
            max(c.due_at, now) if c.is_open else c.due_at
            for c in mine
            if c.kind != self.record_kind and (c.is_contact or rule_of(c.dedupe_key) == PERIODIC)
        ]
        self.planned: list[PlannedCallback] = []

    def consider(self, occ: Occurrence, horizon_end: dt.datetime | None) -> bool:
        """Plan `occ` unless it exists, falls outside the horizon or breaks etiquette; True when planned."""
        step, rules = occ.step, self.rules
        key = f"{occ.rule}:{self.customer.customer_id}:{occ.occurrence}"
        if not step.enabled or key in self.keys or self.open_kinds[step.kind] >= rules.etiquette.max_open_per_kind:
            return False
        request = Request(
            step.kind,
            occ.target,
            step.align,
            floor=occ.floor,
            horizon_end=horizon_end,
            fires=occ.fires,
            lookback=dt.timedelta(days=rules.planning.lookback_days) if occ.dated else None,
            expires=occ.expires,
        )
        due = place(request, rules, self.calendar, self.now, self.load)
        if due is None:
            return False
        self.keys.add(key)
        self.open_kinds[step.kind] += 1
        self._keep(PlannedCallback(self.customer.customer_id, step.kind, due, step.owner_role, occ.rule,
                                   occ.params, key))
        return True

    def _keep(self, planned: PlannedCallback) -> None:
        if planned.kind != self.record_kind:
            self.load.add(planned.due_at)
            self.touches.append(planned.due_at)
        self.planned.append(planned)


# --- public entry points --------------------------------------------------------------------------------


def plan_customer(
    customer: CustomerFacts,
    segments: Segments,
    existing: Sequence[OpenCallback],
    contacts_this_month: int,
    rules: CareRules,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> list[PlannedCallback]:
    """The callbacks the nightly run creates for one customer: every trigger occurrence due before
    now + planning.horizon_days that does not exist yet, within etiquette.

    `existing`: the customer's callbacks in the store, open or closed (closed ones keep their dedupe key).
    `contacts_this_month`: contacts already made this calendar month (done calls, not planned ones).
    A customer without consent gets no care callback (PIPL, care-domain §8); a record missing a key field
    still gets its "complete the record" task, which is work on our data, not a contact.
    """
    require_aware(now, "now")
    ledger = _Ledger(customer, segments, existing, contacts_this_month, rules, calendar, now)
    horizon_end = now + dt.timedelta(days=rules.planning.horizon_days)
    for occ in record(customer, rules, calendar, now):
        ledger.consider(occ, horizon_end)
    if not customer.consent:  # PIPL: no consent, no contact; not a team setting
        return ledger.planned
    # Order is priority when the monthly cap runs short: service first, the periodic touch last.
    for occ in (
        *churn_risk(customer, segments, rules, calendar, now),
        *first_purchase(customer, rules, calendar),
        *birthday(customer, segments, rules, calendar, now),
        *holiday(segments, rules, calendar, now),
        *silent(customer, segments, rules, calendar, now),
    ):
        ledger.consider(occ, horizon_end)
    # Each planned touch moves the next one on; a long horizon can hold several.
    while (touch := periodic(customer, segments, ledger.touches, rules, calendar, now)) is not None:
        if not ledger.consider(touch, horizon_end):
            break
    return ledger.planned


def plan_after_complaint_resolved(
    customer: CustomerFacts,
    segments: Segments,
    ticket_id: str | int,
    resolved_at: dt.datetime,
    existing: Sequence[OpenCallback],
    contacts_this_month: int,
    rules: CareRules,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> list[PlannedCallback]:
    """The whole follow-up of a resolved complaint, created at once: callback within 24 h, survey at
    +72 h, one-to-one at +1 month (by default). Keyed on the ticket, so resolving twice adds nothing."""
    require_aware(now, "now")
    require_aware(resolved_at, "resolved_at")
    if not customer.consent:
        return []
    ledger = _Ledger(customer, segments, existing, contacts_this_month, rules, calendar, now)
    for occ in complaint_resolved(ticket_id, resolved_at, rules, calendar):
        ledger.consider(occ, horizon_end=None)
    return ledger.planned


def plan_outcome(
    customer: CustomerFacts,
    segments: Segments,
    step: OutcomeStep,
    existing: Sequence[OpenCallback],
    contacts_this_month: int,
    rules: CareRules,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> PlannedCallback | None:
    """The next callback of a logged call (its outcome's rule, or the date the agent picked), through the
    same etiquette as every planned callback: at the default time on its day, or the next allowed moment
    (days off, avoid slots); in a month already at the tier's cap it moves to the first month with room
    (an unreachable retry is not capped again). None without consent (care-domain §8)."""
    require_aware(now, "now")
    if not customer.consent:
        return None
    ledger = _Ledger(customer, segments, existing, contacts_this_month, rules, calendar, now)
    exempt = ledger.load.exempt | {step.kind} if step.retry else ledger.load.exempt
    ledger.load.exempt = exempt
    request = Request(step.kind, calendar.at(step.due_on, rules.planning.default_time), "later",
                      when_capped="defer")
    due = place(request, rules, calendar, now, ledger.load)
    if due is None:
        return None
    return PlannedCallback(customer.customer_id, step.kind, due, "owner", step.rule, step.params,
                           f"{step.rule}:{customer.customer_id}:call-{step.call_id}")
