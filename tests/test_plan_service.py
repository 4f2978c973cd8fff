"""The care plan against the real database: idempotent runs, owners, consent, team rules and their cache,
the complaint follow-up, the outcome rules of a logged call, the nightly claim."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.care.call_form import CallForm
from bot.care.rules import RulesError
from bot.services import planning
from bot.services.calls import log_call
from bot.services.people import Actor, Role
from storage.models import Callback, Complaint, Customer
from tests import seed
from tests.conftest import DEFAULT_NOW, SHANGHAI


def add_customer(svc, code: str, owner: str | None = "U0AGENT", **fields) -> int:
    with svc.db.unit_of_work() as session:
        row = Customer(team_id="default", code=code, name=f"Customer {code}", phone="+8613812345678",
                       owner_id=owner, created_at=svc.clock.now(), **fields)
        session.add(row)
        session.flush()
        return row.id


def callbacks(svc) -> list[tuple]:
    with svc.db.unit_of_work() as session:
        return [(c.customer_id, c.kind, c.due_at.astimezone(SHANGHAI), c.owner_id, c.status, c.rule, c.params,
                 c.dedupe_key)
                for c in session.scalars(select(Callback).order_by(Callback.customer_id, Callback.kind))]


def test_plan_team_twice_creates_the_same_rows_once(team):
    # bought yesterday (welcome now, first use +7 d later), silent since June, churn risk since March
    new = add_customer(team, "N1", first_purchase_on=dt.date(2026, 11, 23), annual_spend=Decimal(3000))
    silent = add_customer(team, "S1", first_purchase_on=dt.date(2024, 1, 1),
                          last_contact_at=dt.datetime(2026, 7, 1, 10, tzinfo=SHANGHAI))
    churn = add_customer(team, "C1", first_purchase_on=dt.date(2024, 1, 1),
                         last_contact_at=dt.datetime(2026, 3, 1, 10, tzinfo=SHANGHAI))
    add_customer(team, "X1", first_purchase_on=dt.date(2026, 11, 23), consent=False)

    first = planning.plan_team(team)
    rows = callbacks(team)
    second = planning.plan_team(team)

    assert len(first.created) == 3 and second.created == []
    assert callbacks(team) == rows
    assert [(cid, kind, owner) for cid, kind, _, owner, *_ in rows] == [
        (new, "welcome", "U0AGENT"), (silent, "reactivation", "U0AGENT"),
        (churn, "churn_intervention", "U0SUPER"),  # a supervisor owns the churn-risk call
    ]
    welcome = rows[0]
    assert welcome[2] == DEFAULT_NOW and welcome[5] == "first_purchase.welcome"
    assert welcome[6] == {"anchor": "2026-11-23"} and welcome[7] == f"first_purchase.welcome:{new}:2026-11-23"


def test_a_closed_callback_keeps_its_key_and_an_open_kind_is_never_doubled(team):
    cid = add_customer(team, "N1", first_purchase_on=dt.date(2026, 11, 23))
    planning.plan_team(team)
    with team.db.unit_of_work() as session:
        session.scalars(select(Callback)).one().status = "done"
    assert planning.plan_team(team).created == [], "done is done: the same welcome is not planned again"
    with team.db.unit_of_work() as session:  # an older open welcome of another origin blocks a new one
        session.add(Callback(team_id="default", customer_id=cid, owner_id="U0AGENT", kind="first_use",
                             due_at=DEFAULT_NOW, status="open", rule="manual", params={}, created_at=DEFAULT_NOW))
    team.clock.set(dt.datetime(2026, 11, 30, 9, tzinfo=SHANGHAI))
    assert planning.plan_team(team).created == []
    assert [k for _, k, *_ in callbacks(team)].count("first_use") == 1


def test_team_rules_override_check_and_cache(team, tmp_path):
    assert "first_use: {kind: first_use" not in planning.effective_rules_yaml(team)
    with pytest.raises(RulesError) as bad:
        planning.set_rules(team, "triggers:\n  first_purchase:\n    first_use:\n      after: {dayz: 7}\n", "U0ADMIN")
    assert bad.value.line == 4 and "dayz" in str(bad.value)
    assert planning.effective_rules(team).triggers.first_purchase.first_use.after.days == 7, "nothing applied"

    planning.set_rules(team, "triggers:\n  first_purchase:\n    first_use:\n      after: {days: 3}\n", "U0ADMIN")
    assert planning.effective_rules(team).triggers.first_purchase.first_use.after.days == 3
    assert "days: 3" in planning.effective_rules_yaml(team)
    overview = planning.rules_overview(team)
    assert overview.set_by == "U0ADMIN" and overview.set_at == DEFAULT_NOW

    add_customer(team, "N1", first_purchase_on=dt.date(2026, 11, 24))
    team.clock.set(dt.datetime(2026, 11, 27, 2, tzinfo=SHANGHAI))
    planning.plan_team(team)
    first_use = [r for r in callbacks(team) if r[1] == "first_use"]
    assert first_use and first_use[0][2] == dt.datetime(2026, 11, 27, 10, tzinfo=SHANGHAI)
    assert first_use[0][6] == {"days": "3", "anchor": "2026-11-24"}


def test_a_resolved_complaint_creates_its_follow_up_once(team):
    cid = add_customer(team, "B002", first_purchase_on=dt.date(2024, 1, 1),
                       last_contact_at=DEFAULT_NOW - dt.timedelta(days=3))
    with team.db.unit_of_work() as session:
        complaint = Complaint(team_id="default", customer_id=cid, owner_id="U0AGENT", kind="complaint",
                              status="resolved", opened_at=DEFAULT_NOW - dt.timedelta(days=1),
                              resolved_at=DEFAULT_NOW)
        session.add(complaint)
        session.flush()
        complaint_id = complaint.id
    created = planning.on_complaint_resolved(team, complaint_id)
    assert planning.on_complaint_resolved(team, complaint_id) == []
    rows = {kind: (due, rule, params) for _, kind, due, _, _, rule, params, _ in callbacks(team)}
    assert len(created) == 3 and set(rows) == {"complaint_callback", "satisfaction_survey", "one_to_one"}
    assert rows["complaint_callback"][0] <= DEFAULT_NOW + dt.timedelta(hours=24)
    assert rows["one_to_one"][2] == {"months": "1", "anchor": "2026-11-24", "ticket": str(complaint_id)}


def test_log_call_plans_its_next_step_by_the_team_outcome_rules(team):
    planning.set_rules(team, "outcomes:\n  satisfied_after_days: 10\n", "U0ADMIN")
    cid = add_customer(team, "A001", first_purchase_on=dt.date(2024, 1, 1))
    actor = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
    logged = log_call(team, actor, CallForm(cid, None, "phone", "satisfied", 5, "ok", "", None))
    assert logged.next_kind == "light_touch" and logged.next_due_on == dt.date(2026, 12, 4)  # 11-24 + 10 days


def test_the_nightly_run_waits_for_plan_time_and_runs_once_a_day(team):
    add_customer(team, "N1", first_purchase_on=dt.date(2026, 11, 24))
    team.clock.set(dt.datetime(2026, 11, 24, 1, 59, tzinfo=SHANGHAI))
    early = planning.run_nightly_plans(team)
    assert early.planned == [] and "before 02:00" in early.skipped[0][1]
    team.clock.set(dt.datetime(2026, 11, 24, 2, 0, tzinfo=SHANGHAI))
    assert planning.run_nightly_plans(team).planned == [("default", 1)]
    again = planning.run_nightly_plans(team)
    assert again.planned == [] and "already planned on 2026-11-24" in again.skipped[0][1]


def test_the_nightly_run_plans_the_follow_up_a_resolution_missed(team):
    """A resolution whose follow-up was never planned (the planner failed at the time) is caught up."""
    cid = seed.customer(team, "R001", "Resolved Customer")
    complaint_id = seed.complaint(team, cid, DEFAULT_NOW - dt.timedelta(days=1), DEFAULT_NOW + dt.timedelta(hours=1))
    with team.db.unit_of_work() as session:
        complaint = session.get(Complaint, complaint_id)
        complaint.status, complaint.resolved_at = "resolved", DEFAULT_NOW - dt.timedelta(hours=3)
    first = planning.plan_team(team, "default", DEFAULT_NOW)
    again = planning.plan_team(team, "default", DEFAULT_NOW)
    with team.db.unit_of_work() as session:
        rules = sorted(session.scalars(select(Callback.rule).where(Callback.customer_id == cid)).all())
    assert [r for r in rules if r.startswith("complaint_resolved.")] == [
        "complaint_resolved.callback", "complaint_resolved.one_to_one", "complaint_resolved.survey"]
    assert len(first.created) >= 3 and again.created == []


class Killed(Exception):
    """The process running the nightly plan dies between two batches."""


def test_a_nightly_run_killed_half_way_is_taken_over_and_plans_what_one_run_plans(team):
    from sqlalchemy import delete

    from bot.services.plan_batches import plan_team
    from storage import plan_queries
    from storage.models import PlanRun

    for n in range(7):  # bought yesterday, silent since June, churn risk since March: several kinds and owners
        add_customer(team, f"N{n}", first_purchase_on=dt.date(2026, 11, 23), annual_spend=Decimal(3000))
        add_customer(team, f"S{n}", owner=None if n % 3 == 0 else "U0AGENT", first_purchase_on=dt.date(2024, 1, 1),
                     last_contact_at=dt.datetime(2026, 7 if n % 2 else 3, 1, 10, tzinfo=SHANGHAI))
    whole = planning.plan_team(team, "default", DEFAULT_NOW)
    expected = callbacks(team)
    assert len(expected) == len(whole.created) > 10
    with team.db.unit_of_work() as session:  # the same book, not planned yet
        session.execute(delete(Callback))

    day = DEFAULT_NOW.date()
    with team.db.unit_of_work() as session:
        assert plan_queries.claim_plan_run(session, "default", day, DEFAULT_NOW)
    batches: list[int] = []

    def dies_in_the_third_batch(session, through, created):
        plan_queries.plan_run_progress(session, "default", day, through, created, DEFAULT_NOW)
        batches.append(through)
        if len(batches) == 3:
            raise Killed  # this batch's unit of work never commits

    with pytest.raises(Killed):
        plan_team(team, "default", DEFAULT_NOW, progress=dies_in_the_third_batch, batch=2)
    before = callbacks(team)
    assert 0 < len(before) < len(expected) and before == expected[:len(before)]

    assert planning.run_nightly_plans(team).skipped == [("default", f"already planned on {day}")]  # still alive?
    team.clock.set(DEFAULT_NOW + planning.STALE_PLAN_RUN + dt.timedelta(minutes=1))  # silent: taken over
    run = planning.run_nightly_plans(team)

    def but_when(rows):  # the run taken over plans at its own now: what is due "now" is due 11 minutes later
        return [(cid, kind, *rest) for cid, kind, _due, *rest in rows]

    assert but_when(callbacks(team)) == but_when(expected), "nobody planned twice, nobody skipped"
    with team.db.unit_of_work() as session:
        done = session.scalars(select(PlanRun)).one()
    assert done.finished_at is not None and done.created == len(expected) and done.planned_through > batches[1]
    assert run.planned == [("default", len(expected) - len(before))]
    changed = run.changed_owners["default"]
    assert changed <= {"U0AGENT", "U0SUPER", "U0ADMIN"} and "U0AGENT" in changed
    assert planning.run_nightly_plans(team).skipped == [("default", f"already planned on {day}")]
