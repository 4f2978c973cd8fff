"""The care plan of a whole team, in batches: a few thousand customers at a time (keyset pagination on the
customer id), each batch read as plain rows, planned by the pure engine and written in its own short unit of
work with set-based statements (one INSERT … ON CONFLICT DO NOTHING for its callbacks, one UPDATE for its
segments, one for the record tasks it completes). Nothing accumulates across batches, so memory stays flat
whatever the size of the book, and SQLite's write lock is held a moment per batch, not for the whole run.

Idempotent as before (dedupe keys and one open callback per kind are the database's to refuse), and resumable:
`after_id` starts after a customer already planned, `progress(through, created)` runs in each batch's unit of
work (the nightly run records how far it got there)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.care.calendar import WorkCalendar
from bot.care.plan import OpenCallback, PlannedCallback, plan_after_complaint_resolved, plan_customer
from bot.care.rules import CareRules
from bot.care.segments import CustomerFacts, Segments, segment
from bot.care.tiers import Activity
from bot.services.core import Services
from bot.services.plan_book import PlanResult, customer_facts, spend_of
from storage import plan_queries, queries
from storage.models import Team

BATCH = 2000  # customers per unit of work
Progress = Callable[[Session, int, int], None]  # (session, planned through customer id, created in the batch)


def plan_team(svc: Services, team_id: str | None = None, now: dt.datetime | None = None,
              customer_ids: Collection[int] | None = None, *, after_id: int = 0,
              progress: Progress | None = None, batch: int = BATCH) -> PlanResult:
    """Create every callback the team's rules make due now (or only for `customer_ids`). Idempotent.
    The result says which callbacks were created and whose queues changed."""
    now = now or svc.clock.now()
    team_id = team_id or svc.default_team
    result = PlanResult()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id)
        rules, calendar = svc.care_rules_for(team), svc.calendar_for(team)
        team_id = team.id
        ranks = _SpendRanks(plan_queries.spends_of_team(session, team_id), rules) \
            if rules.segments.tier_method == "top_percent" else None
        owners = _StaffOwners(team_id)
        resolved: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
        if customer_ids is None:  # the nightly run catches up on follow-ups a resolution failed to plan
            since = now - dt.timedelta(days=rules.planning.lookback_days + 1)
            for cid, complaint_id, resolved_at in plan_queries.complaints_resolved_since(session, team_id, since):
                resolved[cid].append((complaint_id, resolved_at))
    wanted = sorted(set(customer_ids)) if customer_ids is not None else None
    cursor, chunk = after_id, 0
    while True:
        # a few customers planned at once (a logged call, an import's chunk): reads then writes, so on SQLite the
        # write lock is taken as it begins (storage/db.py); the nightly run's big batches read without it
        with svc.db.unit_of_work(write=wanted is not None) as session:
            if wanted is None:
                rows = plan_queries.customers_after(session, team_id, cursor, batch)
            else:
                ids = wanted[chunk * batch:(chunk + 1) * batch]
                rows = plan_queries.customers_among(session, team_id, ids) if ids else []
                chunk += 1
            if not rows:
                return result
            created = _plan_batch(session, team_id, rows, rules, calendar, now, ranks, owners, resolved, result)
            cursor = rows[-1].id
            if progress is not None:
                progress(session, cursor, created)


@dataclass
class _Reads:
    """What planning reads of a batch besides the customers' rows (one query each)."""

    tickets: dict[int, list[dt.datetime]]
    last_calls: dict[int, dt.datetime]
    contacts: dict[int, int]  # reached calls this month
    existing: dict[int, list[OpenCallback]]


def _read(session: Session, ids: list[int], rules: CareRules, calendar: WorkCalendar, now: dt.datetime) -> _Reads:
    window = dt.timedelta(days=rules.segments.spike_window_days)
    tickets: dict[int, list[dt.datetime]] = defaultdict(list)
    for cid, opened in plan_queries.tickets_of(session, ids, now - window):
        tickets[cid].append(opened)
    month_start = calendar.start_of_day(calendar.local_date(now).replace(day=1))
    existing: dict[int, list[OpenCallback]] = defaultdict(list)
    for row in plan_queries.callbacks_of(session, ids):
        existing[row.customer_id].append(
            OpenCallback(row.customer_id, row.kind, row.due_at, row.status, row.dedupe_key or ""))
    last_calls, contacts = plan_queries.reached_calls_of(session, ids, month_start)
    return _Reads(tickets, last_calls, contacts, existing)


@dataclass
class FewCustomers:
    """What planning knows of a few customers, read in the caller's unit of work after its change: read once for
    a logged call's next callback (bot/services/next_callback.py) and the care plan after it (`plan_customers_in`),
    not twice. `add_callback` keeps it true when the caller creates or moves a callback meanwhile."""

    rules: CareRules
    calendar: WorkCalendar
    now: dt.datetime
    ranks: _SpendRanks | None
    rows: Sequence[Any]
    reads: _Reads

    def facts(self, customer_id: int) -> CustomerFacts | None:
        row = next((r for r in self.rows if r.id == customer_id), None)
        if row is None:
            return None
        return customer_facts(row, self.rules, self.reads.last_calls.get(customer_id),
                              self.reads.tickets.get(customer_id, ()))

    def segments(self, facts: CustomerFacts) -> Segments:
        rank = self.ranks.rank(facts.annual_spend) if self.ranks is not None else None
        return segment(facts, self.rules, self.now, rank)

    def existing(self, customer_id: int) -> list[OpenCallback]:
        return self.reads.existing.get(customer_id, [])

    def contacts(self, customer_id: int) -> int:
        return self.reads.contacts.get(customer_id, 0)

    def add_callback(self, callback: OpenCallback) -> None:
        """A callback created (or an open one of its kind moved) since the read."""
        mine = self.reads.existing.setdefault(callback.customer_id, [])
        mine[:] = [c for c in mine if not (c.kind == callback.kind and c.status == "open")] + [callback]


def read_few(svc: Services, session: Session, team: Team, customer_ids: Collection[int],
             now: dt.datetime, customers: Sequence[Any] | None = None) -> FewCustomers:
    """Read what planning needs of these customers (a handful: a logged call's one) in the caller's session.
    `customers`: the team's customers themselves (ORM objects with every column planning reads), when the caller
    holds them as this unit of work changed them (a logged call's one): not read again."""
    rules, calendar = svc.care_rules_for(team), svc.calendar_for(team)
    ranks = _SpendRanks(plan_queries.spends_of_team(session, team.id), rules) \
        if rules.segments.tier_method == "top_percent" else None
    rows = sorted(customers, key=lambda c: c.id) if customers is not None else \
        plan_queries.customers_among(session, team.id, sorted(set(customer_ids)))
    reads = _read(session, [row.id for row in rows], rules, calendar, now)
    return FewCustomers(rules, calendar, now, ranks, rows, reads)


def plan_customers_in(svc: Services, session: Session, team: Team, customer_ids: Collection[int],
                      now: dt.datetime, few: FewCustomers | None = None) -> PlanResult:
    """`plan_team` of these few customers inside the caller's unit of work (a logged call: planned in the call's
    own transaction, which has the write lock already), so they see its changes; `few`: what was read of them
    already (`read_few`). Raises what planning raises; the caller decides what a failure means
    (bot/services/planning.plan_customers_within)."""
    few = few or read_few(svc, session, team, customer_ids, now)
    result = PlanResult()
    if few.rows:
        _plan_batch(session, team.id, few.rows, few.rules, few.calendar, now, few.ranks, _StaffOwners(team.id), {},
                    result, few.reads)
    return result


def _plan_batch(session: Session, team_id: str, rows: Sequence[Any], rules: CareRules, calendar: WorkCalendar,
                now: dt.datetime, ranks: _SpendRanks | None, owners: _StaffOwners,
                resolved: dict[int, list[tuple[int, dt.datetime]]], result: PlanResult,
                reads: _Reads | None = None) -> int:
    reads = reads or _read(session, [row.id for row in rows], rules, calendar, now)
    tickets, last_calls, contacts, existing = reads.tickets, reads.last_calls, reads.contacts, reads.existing
    inserts: list[dict] = []
    remembered: list[dict] = []
    complete: list[int] = []
    calmed: list[int] = []  # no longer at risk of churn, with a churn intervention open
    record, churn = rules.triggers.record, rules.triggers.churn_risk
    for row in rows:
        facts = customer_facts(row, rules, last_calls.get(row.id), tickets.get(row.id, ()))
        segments = segment(facts, rules, now, ranks.rank(facts.annual_spend) if ranks is not None else None)
        remembered.append({"id": row.id, "tier": segments.tier.value, "activity": segments.activity.value,
                           "lifecycle": segments.lifecycle.value, "at": now})
        mine, reached = existing.get(row.id, []), contacts.get(row.id, 0)
        planned = plan_customer(facts, segments, mine, reached, rules, calendar, now)
        for complaint_id, resolved_at in resolved.get(row.id, ()):
            planned += plan_after_complaint_resolved(facts, segments, complaint_id, resolved_at, mine, reached,
                                                     rules, calendar, now)
        inserts += [_callback_row(team_id, p, owners.for_(session, facts.owner_id, p), now) for p in planned]
        if not facts.flagged and not any(f in facts.missing for f in record.key_fields):
            complete.append(row.id)  # a "complete the record" task is done (care-domain §2)
        if segments.activity is not Activity.CHURN_RISK and any(c.kind == churn.kind and c.is_open for c in mine):
            calmed.append(row.id)  # reached since (its silence is over) or its complaint spike has passed
        result.customers += 1
    plan_queries.remember_segments(session, remembered)
    created = plan_queries.insert_callbacks(session, inserts)
    # only those with an open record task, read above or inserted now: most customers have none to close
    with_task = {c.customer_id for cs in existing.values() for c in cs if c.kind == record.kind and c.status == "open"}
    with_task |= {row["customer_id"] for row in inserts if row["kind"] == record.kind}
    closed = plan_queries.close_open_callbacks_of_customers(session, [cid for cid in complete if cid in with_task],
                                                            record.kind, "done", now)
    # the supervisor's intervention is moot once the customer is no longer at risk (care-domain §3): cancelled,
    # so it is neither done nor late in anyone's on-time rate
    closed |= plan_queries.close_open_callbacks_of_customers(session, calmed, churn.kind, "cancelled", now)
    result.created += [cid for cid, _ in created]
    result.owners |= {owner for _, owner in created if owner} | {owner for owner in closed if owner}
    return len(created)


def _callback_row(team_id: str, planned: PlannedCallback, owner: str | None, now: dt.datetime) -> dict:
    return {"team_id": team_id, "customer_id": planned.customer_id, "owner_id": owner, "kind": planned.kind,
            "due_at": planned.due_at, "status": "open", "attempts": 0, "rule": planned.rule,
            "params": dict(planned.params), "dedupe_key": planned.dedupe_key, "created_at": now}


class _StaffOwners:
    """bot.services.plan_book._Owners for a whole run: the team's supervisor and admin are read once, when a
    planned callback first needs them."""

    def __init__(self, team_id: str):
        self.team_id = team_id
        self._staff: tuple[str | None, str | None] | None = None

    def for_(self, session: Session, owner_id: str | int | None, planned: PlannedCallback) -> str | None:
        if planned.owner_role != "supervisor" and owner_id:
            return str(owner_id)
        if planned.owner_role not in ("supervisor", "owner_or_admin"):
            return None
        if self._staff is None:
            supervisors = plan_queries.supervisors_of_team(session, self.team_id)
            admins = plan_queries.admins_of_team(session, self.team_id)
            self._staff = (supervisors[0] if supervisors else None, admins[0] if admins else None)
        return self._staff[0] if planned.owner_role == "supervisor" else self._staff[1]


class _SpendRanks:
    """bot.care.segments.spend_ranks over the whole book, from its spends alone: a customer's share of the
    customers with a known spend who spend strictly more."""

    def __init__(self, spends: Sequence[tuple[Any, str]], rules: CareRules):
        self._sorted = sorted(s for s in (spend_of(spend, tier, rules) for spend, tier in spends) if s is not None)

    def rank(self, spend) -> float | None:
        if spend is None or not self._sorted:
            return None
        return (len(self._sorted) - bisect_right(self._sorted, spend)) / len(self._sorted)


__all__ = ["BATCH", "FewCustomers", "Segments", "plan_customers_in", "plan_team", "read_few"]
