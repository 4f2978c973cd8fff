"""The care plan in the product: the runs that turn each team's rules (bot.services.care_rules) into
callbacks, and the forecast of the load they make.

Planning reads the book from the database (care-domain §2–§4), asks the pure engine (bot.care.plan) what is
due, and inserts it idempotently: every planned callback carries a dedupe key unique per customer, and a
second open callback of a kind is refused by the database, so running twice (or on two replicas) changes
nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.care.calendar import WorkCalendar, is_past_clock_time
from bot.care.forecast import SUPERVISORS, ForecastRow, forecast
from bot.care.plan import OpenCallback, PlannedCallback, plan_after_complaint_resolved, plan_customer
from bot.care.rules import CareRules
from bot.care.segments import CustomerFacts, Segments, segment, segment_book
from bot.services.care_rules import (  # re-exported: planning is where callers look for the rules in effect
    HOW_RULES_COMBINE,
    RulesOverview,
    check_rules,
    describe_rules_error,
    effective_rules,
    effective_rules_yaml,
    read_rules_file,
    rules_overview,
    set_rules,
)
from bot.services.core import Services
from storage import plan_queries, queries
from storage.models import Callback, Customer, Team

log = logging.getLogger(__name__)

# --- planning ------------------------------------------------------------------------------------------


@dataclass
class PlanResult:
    customers: int = 0
    created: list[int] = field(default_factory=list)  # ids of the callbacks created
    owners: set[str] = field(default_factory=set)  # whose queue changed: owners of callbacks created or closed


@dataclass(frozen=True)
class _Book:
    """What planning knows about a team's customers at `now`."""

    customers: dict[int, Customer]
    facts: dict[int, CustomerFacts]
    segments: dict[int, Segments]
    existing: dict[int, list[OpenCallback]]
    contacts: dict[int, int]


def plan_team(svc: Services, team_id: str | None = None, now: dt.datetime | None = None,
              customer_ids: Collection[int] | None = None) -> PlanResult:
    """Create every callback the team's rules make due now (or only for `customer_ids`). Idempotent."""
    now = now or svc.clock.now()
    team_id = team_id or svc.default_team
    result = PlanResult()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id)
        rules, calendar = svc.care_rules_for(team), svc.calendar_for(team)
        book = book_of(session, team, rules, calendar, now, customer_ids)
        owners = _Owners(session, team.id)
        resolved: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
        if customer_ids is None:  # the nightly run catches up on follow-ups a resolution failed to plan
            since = now - dt.timedelta(days=rules.planning.lookback_days + 1)
            for cid, complaint_id, resolved_at in plan_queries.complaints_resolved_since(session, team.id, since):
                resolved[cid].append((complaint_id, resolved_at))
        for cid, facts in book.facts.items():
            if customer_ids is not None and cid not in customer_ids:
                continue
            result.customers += 1
            _remember_segments(book.customers[cid], book.segments[cid], now)
            existing, contacts = book.existing.get(cid, []), book.contacts.get(cid, 0)
            planned = plan_customer(facts, book.segments[cid], existing, contacts, rules, calendar, now)
            for complaint_id, resolved_at in resolved.get(cid, ()):
                planned += plan_after_complaint_resolved(facts, book.segments[cid], complaint_id, resolved_at,
                                                         existing, contacts, rules, calendar, now)
            result.created += _insert(session, team.id, facts, planned, owners, now)
            if _close_completed_record_tasks(session, facts, rules, now) and facts.owner_id:
                result.owners.add(str(facts.owner_id))
        result.owners |= plan_queries.owners_of_callbacks(session, result.created)
    if result.created:
        log.info("care plan for %s: %d callback(s) created", team_id, len(result.created))
    return result


def plan_customer_now(svc: Services, customer_id: int, team_id: str | None = None) -> PlanResult:
    """Right after a change that matters (import, purchase, logged call): plan this customer at once."""
    if team_id is None:
        with svc.db.unit_of_work() as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                return PlanResult()
            team_id = customer.team_id
    return plan_customers_now(svc, team_id, {customer_id})


def plan_customers_now(svc: Services, team_id: str, customer_ids: Collection[int]) -> PlanResult:
    """Plan these customers now. The change that called it is already saved: a failure here is logged, not
    raised (the person would be told nothing was saved), and the nightly run catches up."""
    try:
        return plan_team(svc, team_id, customer_ids=set(customer_ids))
    except Exception:
        log.exception("care plan for customers %s of team %s failed; the nightly run retries",
                      sorted(customer_ids)[:10], team_id)
        return PlanResult()


def on_complaint_resolved(svc: Services, complaint_id: int) -> list[int]:
    """The follow-up of a resolved complaint (callback within 24 h, survey +72 h, one-to-one +1 month by
    default), created at once; keyed on the complaint, so resolving twice adds nothing. Call it after the
    resolution is committed. Returns the ids of the callbacks created."""
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        complaint = plan_queries.customer_of_complaint(session, complaint_id)
        if complaint is None or complaint.resolved_at is None:
            return []
        team = queries.ensure_team(session, complaint.team_id)
        rules, calendar = svc.care_rules_for(team), svc.calendar_for(team)
        book = book_of(session, team, rules, calendar, now, {complaint.customer_id})
        facts = book.facts.get(complaint.customer_id)
        if facts is None:
            return []
        planned = plan_after_complaint_resolved(
            facts, book.segments[facts.customer_id], complaint.id, complaint.resolved_at,
            book.existing.get(facts.customer_id, []), book.contacts.get(facts.customer_id, 0), rules, calendar, now)
        fallback = complaint.owner_id
        return _insert(session, team.id, facts, planned, _Owners(session, team.id, fallback), now)


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


def _close_completed_record_tasks(session: Session, facts: CustomerFacts, rules: CareRules,
                                  now: dt.datetime) -> int:
    """A "complete the record" task is done once no key field is missing any more and the customer is no
    longer flagged 待跟进 (care-domain §2). Returns how many were closed."""
    step = rules.triggers.record
    if facts.flagged or any(f in facts.missing for f in step.key_fields):
        return 0
    return plan_queries.close_open_callbacks_of_kind(session, facts.customer_id, step.kind, "done", now)


def _remember_segments(customer: Customer, segments: Segments, now: dt.datetime) -> None:
    """Keep the latest segments on the customer, so they can be shown and filtered on."""
    customer.segment_tier, customer.segment_activity = segments.tier.value, segments.activity.value
    customer.segment_lifecycle, customer.segmented_at = segments.lifecycle.value, now


def book_of(session: Session, team: Team, rules: CareRules, calendar: WorkCalendar, now: dt.datetime,
          customer_ids: Collection[int] | None) -> _Book:
    # A top-percent tier ranks the whole book; thresholds only need the customers planned.
    whole = customer_ids is None or rules.segments.tier_method == "top_percent"
    only = None if whole or customer_ids is None or len(customer_ids) != 1 else next(iter(customer_ids))
    customers = plan_queries.customers_of_team(session, team.id, only)
    if not whole and customer_ids is not None:
        customers = [c for c in customers if c.id in customer_ids]
    window = dt.timedelta(days=rules.segments.spike_window_days)
    tickets: dict[int, list[dt.datetime]] = defaultdict(list)
    for cid, opened in plan_queries.tickets_since(session, team.id, now - window, only):
        tickets[cid].append(opened)
    last_calls = plan_queries.last_calls(session, team.id, only)
    today = calendar.local_date(now)
    month_start = calendar.start_of_day(today.replace(day=1))
    contacts = plan_queries.reached_calls_since(session, team.id, month_start, only)
    existing: dict[int, list[OpenCallback]] = defaultdict(list)
    for row in plan_queries.callbacks_of_team(session, team.id, only):
        existing[row.customer_id].append(
            OpenCallback(row.customer_id, row.kind, row.due_at, row.status, row.dedupe_key or ""))
    facts = {c.id: customer_facts(c, rules, last_calls.get(c.id), tickets.get(c.id, ())) for c in customers}
    if rules.segments.tier_method == "top_percent":
        segments = segment_book(facts.values(), rules, now)
    else:
        segments = {cid: segment(f, rules, now) for cid, f in facts.items()}
    return _Book({c.id: c for c in customers}, facts, segments, existing, contacts)


def customer_facts(customer: Customer, rules: CareRules, last_call: dt.datetime | None = None,
                   tickets: Sequence[dt.datetime] = ()) -> CustomerFacts:
    """A customer row as the engine sees it. Without a recorded annual spend, the tier the team stated
    (import column `tier`) stands in: it counts as the lowest spend of that tier."""
    moments = [m for m in (customer.last_contact_at, last_call) if m is not None]
    spend = customer.annual_spend
    if spend is None:
        spend = {"high_value": Decimal(rules.segments.high_value_min_spend),
                 "potential": Decimal(rules.segments.potential_min_spend)}.get(customer.tier)
    return CustomerFacts(customer_id=customer.id, code=customer.code, owner_id=customer.owner_id,
                         annual_spend=spend, first_purchase_on=customer.first_purchase_on,
                         last_interaction_at=max(moments) if moments else None, birthday=customer.birthday,
                         consent=bool(customer.consent), tickets_at=tuple(sorted(tickets)),
                         tags=tuple(customer.tags or ()), missing=missing_fields(customer),
                         flagged=bool(customer.needs_follow_up))


def missing_fields(customer: Customer) -> tuple[str, ...]:
    """The fields a rule may call key (bot.care.rules.KeyField) that this record leaves empty."""
    values = {"phone": customer.phone, "email": customer.email, "company": customer.company,
              "owner": customer.owner_id, "birthday": customer.birthday,
              "first_purchase": customer.first_purchase_on}
    return tuple(name for name, value in values.items() if value in (None, ""))


# --- the nightly run -----------------------------------------------------------------------------------


@dataclass
class NightlyRun:
    planned: list[tuple[str, int]] = field(default_factory=list)  # team, callbacks created
    changed_owners: dict[str, set[str]] = field(default_factory=dict)  # team -> people whose queue changed
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, reason


def run_nightly_plans(svc: Services, *, team_id: str | None = None, ignore_time: bool = False) -> NightlyRun:
    """Plan each team once its local time passes `plan_time`, once per local day. Safe every minute, twice,
    or on several replicas: the day's run is claimed by a row unique per team and local day; a failed run
    releases its claim and is retried at the next tick."""
    now = svc.clock.now()
    run = NightlyRun()
    with svc.db.unit_of_work() as session:
        teams = queries.teams_to_run(session, team_id)
    for team in teams:
        calendar = svc.calendar_for(team)
        if not ignore_time and not is_past_clock_time(calendar.local(now), team.plan_time):
            run.skipped.append((team.id, f"before {team.plan_time}"))
            continue
        day = calendar.local_date(now)
        with svc.db.unit_of_work() as session:
            claimed = plan_queries.claim_plan_run(session, team.id, day, now)
        if not claimed:
            run.skipped.append((team.id, f"already planned on {day}"))
            continue
        try:
            result = plan_team(svc, team.id, now)
        except Exception as exc:
            log.exception("nightly care plan for team %s failed; releasing the claim so it is retried", team.id)
            with svc.db.unit_of_work() as session:
                plan_queries.release_plan_run(session, team.id, day)
            run.skipped.append((team.id, f"planning failed: {exc}"))
            continue
        with svc.db.unit_of_work() as session:
            plan_queries.finish_plan_run(session, team.id, day, svc.clock.now(), len(result.created))
        run.planned.append((team.id, len(result.created)))
        run.changed_owners[team.id] = set(result.owners)
    return run


# --- forecast ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    start: dt.date
    days: int
    rows: list[ForecastRow]

    def load(self) -> dict[str, dict[dt.date, int]]:
        """owner -> day -> callbacks ("supervisors" for what a supervisor must make, "" unassigned)."""
        table: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
        for row in self.rows:
            table[str(row.owner_id or "")][row.date] += 1
        return {owner: dict(days) for owner, days in sorted(table.items())}


def forecast_team(svc: Services, team_id: str | None = None, days: int = 30, rules: CareRules | None = None,
                  now: dt.datetime | None = None) -> Forecast:
    """The callbacks each agent will have per day over the next `days` days, under the team's rules or the
    candidate `rules`: today's open ones plus what the nightly runs would create (each done on its day)."""
    now = now or svc.clock.now()
    team_id = team_id or svc.default_team
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id)
        rules = rules or svc.care_rules_for(team)
        calendar = svc.calendar_for(team)
        book = book_of(session, team, rules, calendar, now, None)
        supervisors = plan_queries.supervisors_of_team(session, team.id)
        admin = next(iter(plan_queries.admins_of_team(session, team.id)), None)  # record tasks without owner
        # the real owner of each open callback (the engine assumes the customer's owner)
        owner_of = {(c.customer_id, c.kind, calendar.local_date(c.due_at)): c.owner_id
                    for c in plan_queries.callbacks_of_team(session, team.id) if c.status == "open"}
    start = calendar.local_date(now)
    existing = [c for cs in book.existing.values() for c in cs]
    rows = forecast([(f, book.segments[cid]) for cid, f in book.facts.items()], existing, rules, calendar,
                    start, days)
    ids = {f.code: cid for cid, f in book.facts.items()}
    supervisor = supervisors[0] if supervisors else SUPERVISORS

    def owner(row: ForecastRow) -> str | int | None:
        key = (ids.get(row.customer_code), row.kind, row.date)
        if key in owner_of:
            return owner_of[key]
        if row.owner_id is None and row.kind == rules.triggers.record.kind:
            return admin
        return supervisor if row.owner_id == SUPERVISORS else row.owner_id

    rows = sorted((dataclasses.replace(r, owner_id=owner(r)) for r in rows),
                  key=lambda r: (r.date, str(r.owner_id), r.customer_code, r.kind))
    return Forecast(start, days, rows)


__all__ = ["HOW_RULES_COMBINE", "SUPERVISORS", "RulesOverview", "describe_rules_error", "read_rules_file",
           "rules_overview", "Forecast", "NightlyRun", "PlanResult", "check_rules", "effective_rules",
           "effective_rules_yaml", "forecast_team", "on_complaint_resolved", "plan_customer_now", "plan_team",
           "run_nightly_plans", "set_rules"]
