"""The issue's "done when": 90 simulated days of a seeded team, through the database, the nightly job and the
rendered morning list, against the due list worked out by hand in tests/care/test_simulation.py.

Each simulated day: 02:00 the nightly planning job runs (claimed once per team per day), 09:00 the morning
list is rendered as it would be posted, and every callback on it is done on its due time (closed with a
reached call logged at that moment, which is what the hand-worked plan assumes: a contact on that day and
no outcome follow-up; outcome follow-ups are covered in test_plan_service.py).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from bot.services.planning import run_nightly_plans
from bot.services.queue import morning_list
from bot.services.teams import set_setting
from handlers.jobs import render_morning_list
from messages.render import Renderer, catalog
from storage import queries
from storage.models import Callback, CallLog, Complaint, Customer
from tests.care.test_simulation import BOOK, EXPECTED, START, SUPERVISORS

OWNERS = {"U_LI": "U0LI", "U_WANG": "U0WANG", "U_ZHAO": "U0ZHAO", SUPERVISORS: "U0SUPER"}
LINE = re.compile(r"^• (?P<name>.+?) \((?P<code>[^)]+)\) · (?P<kind>.+?) — (?P<reason>.+)$")


def seed_book(svc) -> None:
    from bot.services.people import Role, add_staff

    for user_id in ("U0LI", "U0WANG", "U0ZHAO"):
        add_staff(svc, user_id, Role.AGENT)
    with svc.db.unit_of_work() as session:
        for facts in BOOK:
            customer = Customer(team_id="default", code=facts.code, name=f"Customer {facts.code}",
                                phone="+8613812345678", owner_id=OWNERS[facts.owner_id],
                                annual_spend=facts.annual_spend, first_purchase_on=facts.first_purchase_on,
                                last_contact_at=facts.last_interaction_at, birthday=facts.birthday,
                                consent=facts.consent, created_at=svc.clock.now())
            session.add(customer)
            session.flush()
            for opened in facts.tickets_at:  # resolved complaints: they count for the spike, not on the list
                session.add(Complaint(team_id="default", customer_id=customer.id, owner_id=customer.owner_id,
                                      kind="complaint", status="resolved", opened_at=opened, resolved_at=opened,
                                      first_response_at=opened))


def shown_on(message) -> tuple[set[tuple[str, str, str]], list[str]]:
    """(owner, customer code, kind label) of every callback line, and every reason, as a person reads them."""
    rows, reasons = set(), []
    for block in message.blocks:
        text = (block.get("text") or {}).get("text", "")
        owner = re.match(r"<@(\w+)>", text)
        for line in text.split("\n")[1:] if owner else ():
            match = LINE.match(line)
            assert match, f"not a callback line: {line!r}"
            rows.add((owner.group(1), match["code"], match["kind"]))
            reasons.append(match["reason"])
    return rows, reasons


def done_on_its_day(svc, day: dt.date) -> None:
    with svc.db.unit_of_work() as session:
        for cb in session.scalars(select(Callback).where(Callback.status == "open")):
            due = cb.due_at
            assert due.astimezone(svc.clock.now().tzinfo).date() == day, f"{cb.kind} left open past its day"
            cb.status, cb.closed_at, cb.attempts = "done", due, 1
            customer = session.get(Customer, cb.customer_id)
            customer.last_contact_at = due
            session.add(CallLog(team_id="default", customer_id=cb.customer_id, callback_id=cb.id,
                                staff_id=cb.owner_id, channel="phone", outcome="satisfied", rating=5, called_at=due))


def test_ninety_days_of_morning_lists_match_the_hand_worked_plan(team, clock):
    svc = team
    set_setting(svc, "locale", "en")
    seed_book(svc)
    renderer, labels = Renderer(), catalog("en")
    expected: dict[dt.date, set[tuple[str, str, str]]] = {}
    for m, d, (code, owner), kind, _rule in EXPECTED:
        expected.setdefault(dt.date(2026, m, d), set()).add((OWNERS[owner], code, labels[f"kind.{kind}"]))

    seen: dict[dt.date, set[tuple[str, str, str]]] = {}
    for offset in range(90):
        day = START + dt.timedelta(days=offset)
        clock.set(dt.datetime.combine(day, dt.time(2, 30), tzinfo=clock.now().tzinfo))
        run = run_nightly_plans(svc)
        assert [t for t, _ in run.planned] == ["default"]
        assert run_nightly_plans(svc).planned == [], "the night's run is claimed once"
        clock.set(dt.datetime.combine(day, dt.time(9, 0), tzinfo=clock.now().tzinfo))
        with svc.db.unit_of_work() as session:
            row = queries.ensure_team(session, "default")
        message = render_morning_list(renderer, morning_list(svc, row, clock.now(), svc.calendar_for(row)))
        rows, reasons = shown_on(message)
        assert all(not r.startswith("rule ") for r in reasons), reasons  # every reason is a real text
        if rows:
            seen[day] = rows
        else:
            assert "Nothing due today" in str(message.blocks)
        done_on_its_day(svc, day)

    assert seen == expected
    assert not any(code == "X001" for rows in seen.values() for _, code, _ in rows), "no consent, no callback"
