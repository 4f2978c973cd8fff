"""What planning knows about a team's customers: the book (customers as the engine sees them, their segments,
callbacks and contacts), who makes a planned callback, and the insert of one customer's plan. Split out of
bot/services/planning.py (which re-exports these names); the nightly run plans in batches
(bot/services/plan_batches.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.care.calendar import WorkCalendar
from bot.care.plan import OpenCallback, PlannedCallback
from bot.care.rules import CareRules
from bot.care.segments import CustomerFacts, Segments, segment, segment_book, tier_of
from bot.care.tiers import Tier
from storage import plan_queries
from storage.models import Callback, Customer, Team


@dataclass
class PlanResult:
    customers: int = 0
    created: list[int] = field(default_factory=list)  # ids of the callbacks created
    owners: set[str] = field(default_factory=set)  # whose queue changed: callbacks created or closed for them


@dataclass(frozen=True)
class _Book:
    """What planning knows about a team's customers at `now`."""

    customers: dict[int, Customer]
    facts: dict[int, CustomerFacts]
    segments: dict[int, Segments]
    existing: dict[int, list[OpenCallback]]
    contacts: dict[int, int]


class _Owners:
    """Who makes a planned callback: the customer's owner, or for owner_role supervisor a supervisor of the
    team (supervisors before admins), for owner_or_admin an admin when the customer has no owner; with
    nobody to give it to, it is unassigned (the morning list says so)."""

    def __init__(self, session: Session, team_id: str, fallback: str | None = None):
        self._session, self._team_id, self._fallback = session, team_id, fallback
        self._supervisor: str | None | bool = False
        self._admin: str | None | bool = False

    def for_(self, facts: CustomerFacts, planned: PlannedCallback) -> str | None:
        if planned.owner_role == "supervisor":
            if self._supervisor is False:
                found = plan_queries.supervisors_of_team(self._session, self._team_id)
                self._supervisor = found[0] if found else None
            return self._supervisor or None  # type: ignore[return-value]
        if facts.owner_id:
            return str(facts.owner_id)
        if planned.owner_role == "owner_or_admin" and self._fallback is None:
            if self._admin is False:
                self._admin = next(iter(plan_queries.admins_of_team(self._session, self._team_id)), None)
            return self._admin or None  # type: ignore[return-value]
        return self._fallback


def _insert(session: Session, team_id: str, facts: CustomerFacts, planned: Sequence[PlannedCallback],
            owners: _Owners, now: dt.datetime) -> list[int]:
    created = []
    for p in planned:
        try:
            with session.begin_nested():
                row = Callback(team_id=team_id, customer_id=p.customer_id, owner_id=owners.for_(facts, p),
                               kind=p.kind, due_at=p.due_at, status="open", attempts=0, rule=p.rule,
                               params=dict(p.params), dedupe_key=p.dedupe_key, created_at=now)
                session.add(row)
                session.flush()
        except IntegrityError:
            # planned already (another replica, a concurrent change) or one of that kind is open: keep it
            continue
        created.append(row.id)
    return created


def book_of(session: Session, team: Team, rules: CareRules, calendar: WorkCalendar, now: dt.datetime) -> _Book:
    """The whole book as planning sees it (the forecast); a few customers: plan_batches.read_few."""
    customers = plan_queries.customers_of_team(session, team.id)
    window = dt.timedelta(days=rules.segments.spike_window_days)
    tickets: dict[int, list[dt.datetime]] = defaultdict(list)
    for cid, opened in plan_queries.tickets_since(session, team.id, now - window):
        tickets[cid].append(opened)
    last_calls = plan_queries.last_calls(session, team.id)
    today = calendar.local_date(now)
    month_start = calendar.start_of_day(today.replace(day=1))
    contacts = plan_queries.reached_calls_since(session, team.id, month_start)
    existing: dict[int, list[OpenCallback]] = defaultdict(list)
    for row in plan_queries.callbacks_of_team(session, team.id):
        existing[row.customer_id].append(
            OpenCallback(row.customer_id, row.kind, row.due_at, row.status, row.dedupe_key or ""))
    facts = {c.id: customer_facts(c, rules, last_calls.get(c.id), tickets.get(c.id, ())) for c in customers}
    if rules.segments.tier_method == "top_percent":
        segments = segment_book(facts.values(), rules, now)
    else:
        segments = {cid: segment(f, rules, now) for cid, f in facts.items()}
    return _Book({c.id: c for c in customers}, facts, segments, existing, contacts)


def customer_facts(customer: Customer | Any, rules: CareRules, last_call: dt.datetime | None = None,
                   tickets: Sequence[dt.datetime] = ()) -> CustomerFacts:
    """A customer row as the engine sees it. Without a recorded annual spend, the tier the team stated
    (import column `tier`) stands in: it counts as the lowest spend of that tier."""
    moments = [m for m in (customer.last_contact_at, last_call) if m is not None]
    return CustomerFacts(customer_id=customer.id, code=customer.code, owner_id=customer.owner_id,
                         annual_spend=spend_of(customer.annual_spend, customer.tier, rules),
                         first_purchase_on=customer.first_purchase_on,
                         last_interaction_at=max(moments) if moments else None, birthday=customer.birthday,
                         consent=bool(customer.consent), tickets_at=tuple(sorted(tickets)),
                         tags=tuple(customer.tags or ()), missing=missing_fields(customer),
                         flagged=bool(customer.needs_follow_up))


def value_tier(customer: Customer | Any, rules: CareRules) -> str:
    """The customer's value tier as the care plan and the reports see it (care-domain §3): the tier the last plan
    computed (`segment_tier`), else the one its annual spend — or the tier the team stated, `spend_of` — gives by
    the team's thresholds; a top-percent tier needs the whole book, so until the plan ranks it the stated tier.
    A complaint's SLA clocks and urgency take this tier (issue 14 tryout: a high-value customer's complaint ran on
    the ordinary targets)."""
    if customer.segment_tier:
        return customer.segment_tier
    if rules.segments.tier_method == "top_percent":
        return customer.tier if customer.tier in {t.value for t in Tier} else Tier.ORDINARY.value
    return tier_of(customer_facts(customer, rules), rules).value


def spend_of(annual_spend: Decimal | None, tier: str | None, rules: CareRules) -> Decimal | None:
    """The spend the engine ranks: the recorded annual spend, else the lowest spend of the tier the team stated."""
    if annual_spend is not None:
        return annual_spend
    return {"high_value": Decimal(rules.segments.high_value_min_spend),
            "potential": Decimal(rules.segments.potential_min_spend)}.get(tier or "")


def missing_fields(customer: Customer | Any) -> tuple[str, ...]:
    """The fields a rule may call key (bot.care.rules.KeyField) that this record leaves empty."""
    values = {"phone": customer.phone, "email": customer.email, "company": customer.company,
              "owner": customer.owner_id, "birthday": customer.birthday,
              "first_purchase": customer.first_purchase_on}
    return tuple(name for name, value in values.items() if value in (None, ""))
