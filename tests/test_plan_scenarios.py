"""Issue 11, point by point: scenarios over simulated days through the real database, the nightly run (claimed
once a day), the calls logged through the service the modal uses, and the real queue (`/care due`).

Every expected date is worked out by hand in the comments, from the default rules: default time 10:00;
avoid Monday 00:00–12:00 and Friday 12:00–24:00; working windows 09:00–12:00 and 13:30–18:00; CN holidays
(2027-01-01 is 元旦, a Friday; 2027-01-02/03 a weekend, not worked); high-value cadence 14 days; satisfied
→ light touch +30 days, problem → follow-up +3 days, unreachable → retry the next working day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.care.call_form import CallForm
from bot.services import planning
from bot.services.calls import log_call
from bot.services.customers import import_customers
from bot.services.people import Actor, Role
from bot.services.queue import my_queue
from storage.models import Callback, Customer
from tests.conftest import SHANGHAI

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
ADMIN = Actor("U0ADMIN", "default", Role.ADMIN, "en", "Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def add_customer(svc, code: str, owner: str | None = "U0AGENT", **fields) -> int:
    fields = {"phone": "+8613812345678", "consent": True, **fields}
    with svc.db.unit_of_work() as session:
        row = Customer(team_id="default", code=code, name=f"Customer {code}", owner_id=owner,
                       created_at=svc.clock.now(), **fields)
        session.add(row)
        session.flush()
        return row.id


def night(svc, day: dt.date) -> None:
    """02:30 local: the nightly run, and a second tick that must change nothing."""
    svc.clock.set(dt.datetime.combine(day, dt.time(2, 30), tzinfo=SHANGHAI))
    run = planning.run_nightly_plans(svc)
    assert [team for team, _ in run.planned] == ["default"], run.skipped
    assert planning.run_nightly_plans(svc).planned == []


def queue(svc, actor: Actor, day: dt.date, hour: int = 11) -> list[tuple[str, str, dt.datetime]]:
    """(customer code, kind, local due time) of the callbacks in `actor`'s /care due at `hour` on `day`."""
    svc.clock.set(dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI))
    return [(i.item.customer.code, i.item.kind, i.due_at.astimezone(SHANGHAI))
            for i in my_queue(svc, actor).items if not i.is_complaint]


def log(svc, actor: Actor, customer_id: int, callback_id: int | None, outcome: str = "satisfied",
        rating: int | None = 5, next_on: dt.date | None = None):
    return log_call(svc, actor, CallForm(customer_id, callback_id, "phone", outcome, rating, "", "", next_on))


def open_callbacks(svc, customer_id: int) -> list[tuple[str, dt.datetime, str]]:
    with svc.db.unit_of_work() as session:
        rows = session.scalars(select(Callback).where(Callback.customer_id == customer_id,
                                                      Callback.status == "open").order_by(Callback.due_at))
        return [(c.kind, c.due_at.astimezone(SHANGHAI), c.rule) for c in rows]


def open_callback_ids(svc, customer_id: int) -> list[int]:
    with svc.db.unit_of_work() as session:
        return list(session.scalars(select(Callback.id).where(Callback.customer_id == customer_id,
                                                              Callback.status == "open")))


# --- 1. every 待跟进 customer is in someone's queue ---------------------------------------------------------


def test_a_record_without_a_phone_is_in_the_owners_or_an_admins_queue_until_the_phone_is_filled(team, tmp_path):
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone,owner\nR1,Rita,,U0AGENT\nR2,Ralf,,\nP1,Pia,13812345678,U0AGENT\n",
                     encoding="utf-8")
    team.clock.set(at(2026, 11, 24, 10, 30))  # Tuesday
    report = import_customers(team, sheet)
    assert report.needs_follow_up == 2

    # planned at once by the import: a state found now, due now (10:30 is allowed on a Tuesday)
    assert queue(team, AGENT, dt.date(2026, 11, 24)) == [("R1", "complete_record", at(2026, 11, 24, 10, 30))]
    assert queue(team, ADMIN, dt.date(2026, 11, 24)) == [("R2", "complete_record", at(2026, 11, 24, 10, 30))]

    for day in days(dt.date(2026, 11, 25), dt.date(2026, 11, 27)):  # still missing: still there, never doubled
        night(team, day)
        assert [code for code, kind, _ in queue(team, AGENT, day)] == ["R1"]
        assert [code for code, kind, _ in queue(team, ADMIN, day)] == ["R2"]

    # the admin closes R2's task without filling the phone: the next run puts it back
    [r2] = _ids(team, "R2")
    [task] = open_callback_ids(team, r2)
    log(team, ADMIN, r2, task, outcome="unreachable", rating=None)
    night(team, dt.date(2026, 11, 28))  # Saturday: the task is due the next allowed slot, Mon 11-30 13:30
    assert open_callbacks(team, r2)[0][:2] == ("complete_record", at(2026, 11, 30, 13, 30))

    # R1's phone comes in with the next import (Mon 11-30 14:00): the task closes at once
    sheet.write_text("code,name,phone,owner\nR1,Rita,13812345679,U0AGENT\n", encoding="utf-8")
    team.clock.set(at(2026, 11, 30, 14))
    import_customers(team, sheet)
    assert queue(team, AGENT, dt.date(2026, 11, 30), 15) == []
    night(team, dt.date(2026, 12, 1))
    assert [kind for kind, *_ in open_callbacks(team, _ids(team, "R1")[0])] == []


def test_a_customer_not_reached_after_the_last_retry_is_in_the_owners_queue_until_reached(team):
    cid = add_customer(team, "U1", first_purchase_on=dt.date(2024, 1, 1), last_contact_at=at(2026, 11, 2))
    team.clock.set(at(2026, 11, 24, 10, 30))  # Tue: three tries, each retry the next working day
    log(team, AGENT, cid, None, outcome="unreachable", rating=None)
    for day in (dt.date(2026, 11, 25), dt.date(2026, 11, 26)):
        [(code, kind, due)] = queue(team, AGENT, day, 14)
        assert (code, kind, due) == ("U1", "retry", at(day.year, day.month, day.day))
        [retry] = open_callback_ids(team, cid)
        logged = log(team, AGENT, cid, retry, outcome="unreachable", rating=None)
    assert logged.flagged  # 26th, third try: flagged 待跟进 ...
    # ... and at once in the owner's queue (now, 14:00), with why
    assert open_callbacks(team, cid) == [("complete_record", at(2026, 11, 26, 14), "record.check")]
    night(team, dt.date(2026, 11, 27))
    assert [kind for _, kind, _ in queue(team, AGENT, dt.date(2026, 11, 27))] == ["complete_record"]
    [task] = open_callback_ids(team, cid)
    log(team, AGENT, cid, task)  # reached: the flag ends, nothing comes back
    for day in days(dt.date(2026, 11, 28), dt.date(2026, 12, 2)):
        night(team, day)
        assert "complete_record" not in [kind for kind, *_ in open_callbacks(team, cid)]


def _ids(svc, code: str) -> list[int]:
    with svc.db.unit_of_work() as session:
        return list(session.scalars(select(Customer.id).where(Customer.code == code)))


def test_care_due_over_http_shows_the_record_task_and_why(bot, team, tmp_path):
    bot.slack.add_user("U0ADMIN", locale="en-US")
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone\nR2,Ralf Ohne,\n", encoding="utf-8")
    import_customers(team, sheet)
    bot.command("due", user_id="U0ADMIN")
    body = str(bot.responses("cmd")[0])
    assert "Ralf Ohne" in body and "Complete the record" in body and "phone missing" in body


# --- 2. the tier cadence is a ceiling on the gap --------------------------------------------------------------


@pytest.mark.slow
def test_a_satisfied_high_value_customer_is_still_touched_every_14_days(team):
    vip = add_customer(team, "V1", annual_spend=Decimal(200000), first_purchase_on=dt.date(2024, 1, 15),
                       last_contact_at=at(2026, 11, 5))
    team.clock.set(at(2026, 11, 19, 10, 30))  # Thursday: the call of the issue, satisfied
    logged = log(team, AGENT, vip, None)
    # light touch: 11-19 + 30 = Sat 12-19 -> Mon 12-21, whose morning is avoided -> 13:30
    assert open_callbacks(team, vip) == [("light_touch", at(2026, 12, 21, 13, 30), "outcome.satisfied")]
    assert logged.next_due_on == dt.date(2026, 12, 21)

    seen = []
    for day in days(dt.date(2026, 11, 20), dt.date(2027, 1, 21)):
        night(team, day)
        for code, kind, due in queue(team, AGENT, day):
            assert code == "V1"
            seen.append((due, kind))
            [callback_id] = [c for c in open_callback_ids(team, vip) if _kind(team, c) == kind]
            log(team, AGENT, vip, callback_id)  # reached and satisfied: each asks for a light touch +30 days

    assert seen == [
        # 11-19 + 14 = Thu 12-03: the light touch on 12-21 does not hold the cadence back
        (at(2026, 12, 3), "periodic_touch"),
        # 12-03 + 14 = Thu 12-17 (its light touch, 01-04, is later than the open one on 12-21: 12-21 stays)
        (at(2026, 12, 17), "periodic_touch"),
        (at(2026, 12, 21, 13, 30), "light_touch"),  # its own light touch: 12-21 + 30 = Wed 01-20
        # 12-21 + 14 = Mon 01-04 10:00, in the avoid slot; Sun, Sat and Fri 01-01 (元旦) are off ->
        # the last allowed slot before, Thu 12-31 10:00
        (at(2026, 12, 31), "periodic_touch"),
        (at(2027, 1, 14), "periodic_touch"),  # 12-31 + 14 = Thu 01-14 (the light touch is 01-20)
        (at(2027, 1, 20), "light_touch"),  # ... then 01-20 + 14 = 02-03, after the range
    ]
    contacts = [at(2026, 11, 19)] + [due for due, _ in seen]
    assert max(b.date() - a.date() for a, b in zip(contacts, contacts[1:], strict=False)) <= dt.timedelta(days=14)


def _kind(svc, callback_id: int) -> str:
    with svc.db.unit_of_work() as session:
        return session.get(Callback, callback_id).kind


# --- 3. etiquette moves in the rule's direction -----------------------------------------------------------


def test_a_birthday_greeting_in_an_avoid_slot_comes_before_it(team):
    # Thu 11-19 - 3 days = Mon 11-16 10:00, in the Monday-morning avoid slot -> Fri 11-13 10:00
    november = add_customer(team, "B1", birthday=dt.date(1990, 11, 19), last_contact_at=at(2026, 11, 1),
                            first_purchase_on=dt.date(2024, 3, 1))
    # Thu 2027-01-07 - 3 = Mon 01-04 10:00 (avoided); Fri 01-01 is 元旦 and the weekend is off ->
    # Thu 2026-12-31 10:00
    january = add_customer(team, "B2", birthday=dt.date(1988, 1, 7), last_contact_at=at(2026, 12, 1),
                           first_purchase_on=dt.date(2024, 3, 1))
    greetings = []
    for day in [*days(dt.date(2026, 11, 10), dt.date(2026, 11, 19)), *days(dt.date(2026, 12, 24), dt.date(2027, 1, 8))]:
        night(team, day)
        for code, kind, due in queue(team, AGENT, day):
            if kind == "birthday_greeting":
                greetings.append((code, day, due))
            cid = november if code == "B1" else january
            [callback_id] = [c for c in open_callback_ids(team, cid) if _kind(team, c) == kind]
            log(team, AGENT, cid, callback_id)
    assert greetings == [("B1", dt.date(2026, 11, 13), at(2026, 11, 13)),
                         ("B2", dt.date(2026, 12, 31), at(2026, 12, 31))]


# --- 4. every callback from an outcome or an agent's date passes the same etiquette --------------------------


def test_outcome_and_agent_dates_skip_avoid_slots_days_off_and_full_months(team):
    problem, light, picked, saturday, retry, capped = (
        add_customer(team, code, first_purchase_on=dt.date(2024, 1, 1), last_contact_at=at(2026, 11, 2))
        for code in ("P1", "L1", "M1", "M2", "U1", "C1"))

    team.clock.set(at(2026, 11, 27, 10, 30))  # Friday
    log(team, AGENT, problem, None, outcome="problem", rating=3)  # +3 = Mon 11-30 -> 13:30
    log(team, AGENT, retry, None, outcome="unreachable", rating=None)  # next working day Mon 11-30 -> 13:30
    team.clock.set(at(2026, 12, 3, 10, 30))  # Thursday
    log(team, AGENT, light, None)  # +30 = Sat 01-02 -> Mon 01-04 -> 13:30
    log(team, AGENT, picked, None, next_on=dt.date(2026, 12, 7))  # the agent picks Monday 12-07 -> 13:30
    log(team, AGENT, saturday, None, next_on=dt.date(2026, 12, 5))  # a Saturday -> Mon 12-07 13:30

    assert open_callbacks(team, problem) == [("problem_followup", at(2026, 11, 30, 13, 30), "outcome.problem")]
    assert open_callbacks(team, retry)[0][:2] == ("retry", at(2026, 11, 30, 13, 30))
    assert open_callbacks(team, light) == [("light_touch", at(2027, 1, 4, 13, 30), "outcome.satisfied")]
    assert open_callbacks(team, picked) == [("light_touch", at(2026, 12, 7, 13, 30), "outcome.requested")]
    assert open_callbacks(team, saturday) == [("light_touch", at(2026, 12, 7, 13, 30), "outcome.requested")]

    # a binding cap: one contact a month for ordinary customers; C1 is called on its callback of today
    # (11-24) and already has another one open in December
    planning.set_rules(team, "etiquette:\n  monthly_cap: {high_value: 8, potential: 6, ordinary: 1}\n", "U0ADMIN")
    today, december = (Callback(team_id="default", customer_id=capped, owner_id="U0AGENT", kind=kind, due_at=due,
                                status="open", rule="manual", params={}, created_at=team.clock.now())
                       for kind, due in (("first_use", at(2026, 11, 24)), ("survey", at(2026, 12, 10))))
    with team.db.unit_of_work() as session:
        session.add_all([today, december])
        session.flush()
        today_id = today.id
    team.clock.set(at(2026, 11, 24, 10, 30))
    log(team, AGENT, capped, today_id)  # +30 = Thu 12-24, December is full -> 01-01 is 元旦 ... Mon 01-04 13:30
    assert ("light_touch", at(2027, 1, 4, 13, 30), "outcome.satisfied") in open_callbacks(team, capped)

    # and the real queue shows them on their day, not before
    assert {code for code, *_ in queue(team, AGENT, dt.date(2026, 11, 27), 17)} == set()
    assert {(code, kind) for code, kind, _ in queue(team, AGENT, dt.date(2026, 11, 30), 14)} == {
        ("P1", "problem_followup"), ("U1", "retry")}


# --- 5. consent: no care callback, from any trigger -----------------------------------------------------------


def test_a_customer_without_consent_gets_no_care_callback_over_a_month_of_nights_and_calls(team):
    # a new high-value buyer with a birthday in range: every trigger would fire
    refused = add_customer(team, "X1", consent=False, annual_spend=Decimal(300000),
                           first_purchase_on=dt.date(2026, 11, 23), birthday=dt.date(1985, 12, 10))
    # the same without consent and without a phone: only the record task, which is no contact
    unreachable = add_customer(team, "X2", consent=False, phone=None, first_purchase_on=dt.date(2026, 11, 23))
    team.clock.set(at(2026, 11, 24, 10, 30))
    logged = log(team, AGENT, refused, None, outcome="problem", rating=3)
    assert (logged.next_kind, logged.next_due_on) == ("", None)
    log(team, AGENT, refused, None, next_on=dt.date(2026, 12, 1))
    # 20 nights: first use (11-30), survey, birthday greeting (12-07 -> Fri 12-04), weekly touches all fall in
    for day in days(dt.date(2026, 11, 25), dt.date(2026, 12, 14)):
        night(team, day)
        assert {code for code, *_ in queue(team, AGENT, day)} <= {"X2"}
    assert open_callbacks(team, refused) == []
    assert [kind for kind, *_ in open_callbacks(team, unreachable)] == ["complete_record"]
