"""The care plan in the product: the runs that turn each team's rules (bot.services.care_rules) into
callbacks, and the forecast of the load they make.

Planning reads the book from the database (care-domain §2–§4), asks the pure engine (bot.care.plan) what is
due, and inserts it idempotently: every planned callback carries a dedupe key unique per customer, and a
second open callback of a kind is refused by the database, so running twice (or on two replicas) changes
nothing. A team is planned in batches of a few thousand customers, each its own short unit of work
(bot/services/plan_batches.py); what planning knows of a customer is bot/services/plan_book.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.care.calendar import is_past_clock_time
from bot.care.forecast import SUPERVISORS, ForecastRow, forecast
from bot.care.plan import plan_after_complaint_resolved
from bot.care.rules import CareRules
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
from bot.services.plan_batches import FewCustomers, plan_customers_in, plan_team, read_few  # noqa: F401 - re-export
from bot.services.plan_book import (  # noqa: F401 - re-exported: callers import them from here
    PlanResult,
    _insert,
    _Owners,
    book_of,
    customer_facts,
    missing_fields,
)
from storage import plan_queries, queries
from storage.models import Team

log = logging.getLogger(__name__)

# --- planning ------------------------------------------------------------------------------------------


def plan_customers_now(svc: Services, team_id: str, customer_ids: Collection[int]) -> PlanResult:
    """Plan these customers now. The change that called it is already saved: a failure here is logged, not
    raised (the person would be told nothing was saved), and the nightly run catches up."""
    try:
        return plan_team(svc, team_id, customer_ids=set(customer_ids))
    except Exception:
        log.exception("care plan for customers %s of team %s failed; the nightly run retries",
                      sorted(customer_ids)[:10], team_id)
        return PlanResult()


def plan_customers_within(svc: Services, session: Session, team: Team, customer_ids: Collection[int],
                          now: dt.datetime, few: FewCustomers | None = None) -> PlanResult:
    """Plan these customers in the caller's unit of work, after its change (a logged call), under a SAVEPOINT:
    a failure of planning is rolled back alone and logged, the change is kept (the nightly run catches up),
    as `plan_customers_now` does in a unit of work of its own."""
    try:
        with session.begin_nested():
            return plan_customers_in(svc, session, team, customer_ids, now, few)
    except Exception:
        log.exception("care plan for customers %s of team %s failed; the nightly run retries",
                      sorted(customer_ids)[:10], team.id)
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
        few = read_few(svc, session, team, {complaint.customer_id}, now)  # a top-percent tier: the book's spends
        facts = few.facts(complaint.customer_id)
        if facts is None:
            return []
        planned = plan_after_complaint_resolved(
            facts, few.segments(facts), complaint.id, complaint.resolved_at, few.existing(facts.customer_id),
            few.contacts(facts.customer_id), few.rules, few.calendar, now)
        fallback = complaint.owner_id
        return _insert(session, team.id, facts, planned, _Owners(session, team.id, fallback), now)


# --- the nightly run -----------------------------------------------------------------------------------


@dataclass
class NightlyRun:
    planned: list[tuple[str, int]] = field(default_factory=list)  # team, callbacks created
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, reason
    changed_owners: dict[str, set[str]] = field(default_factory=dict)  # team -> whose queues changed (App Home)


STALE_PLAN_RUN = dt.timedelta(minutes=10)  # a run silent this long (no batch finished) has lost its process


def run_nightly_plans(svc: Services, *, team_id: str | None = None, ignore_time: bool = False) -> NightlyRun:
    """Plan each team once its local time passes `plan_time`, once per local day. Safe every minute, twice,
    or on several replicas: the day's run is claimed by a row unique per team and local day; a failed run
    releases its claim and is retried at the next tick. The run plans in batches and records in each batch's
    unit of work how far it got: a run whose process died (silent for STALE_PLAN_RUN) is taken over at the next
    tick and goes on after the last customer planned."""
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
            after = 0 if plan_queries.claim_plan_run(session, team.id, day, now) else \
                plan_queries.take_over_plan_run(session, team.id, day, now - STALE_PLAN_RUN, now)
        if after is None:
            run.skipped.append((team.id, f"already planned on {day}"))
            continue

        def progress(session, through: int, created: int, team_id: str = team.id, day: dt.date = day) -> None:
            plan_queries.plan_run_progress(session, team_id, day, through, created, svc.clock.now())

        try:
            result = plan_team(svc, team.id, now, after_id=after, progress=progress)
        except Exception as exc:
            log.exception("nightly care plan for team %s failed; releasing the claim so it is retried", team.id)
            with svc.db.unit_of_work() as session:
                plan_queries.release_plan_run(session, team.id, day)
            run.skipped.append((team.id, f"planning failed: {exc}"))
            continue
        with svc.db.unit_of_work() as session:
            plan_queries.finish_plan_run(session, team.id, day, svc.clock.now())
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
        book = book_of(session, team, rules, calendar, now)
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
           "effective_rules_yaml", "forecast_team", "on_complaint_resolved", "plan_team",
           "run_nightly_plans", "set_rules"]
