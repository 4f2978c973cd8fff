"""Two people add a customer with the same code at the same moment: one is saved, the other is told in the form
that the code is taken — on PostgreSQL too, where both checks can pass before either insert commits (the second
insert then waits on the first's key and fails when it commits; it was told the database could not be reached)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from bot.services.customer_card import CustomerForm, save_customer
from bot.services.errors import FormErrors
from bot.services.people import Actor, Role
from storage.db import waiting_at_most
from storage.models import Customer

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
AGENT2 = Actor("U0AGENT2", "default", Role.AGENT, "en", "Asia/Shanghai")


def form(phone: str) -> CustomerForm:
    return CustomerForm(code="N001", name="Nina", phone=phone, email="", owner_id=None, tags="", consent=True)


def test_the_same_code_saved_twice_at_once_is_one_customer_and_one_form_error(team):
    inside, release, results = threading.Event(), threading.Event(), {}

    def hold(session, saved):  # the first save has written its row and not committed yet
        inside.set()
        release.wait(5)

    def first():
        results["first"] = save_customer(team, AGENT, form("+85291234567"), then=hold)

    def second():
        try:
            with waiting_at_most(1.5):  # the form's SAVE_WAIT
                results["second"] = save_customer(team, AGENT2, form("+85291234568"))
        except Exception as exc:  # noqa: BLE001 - asserted below
            results["second"] = exc

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(5)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.5)  # the second has checked the code (free) and waits on the first's row, or on SQLite's writer
    release.set()
    one.join(5)
    two.join(5)
    assert isinstance(results["second"], FormErrors), results["second"]
    assert results["second"].errors == {"code": ("customer.errors.code_taken", {"code": "N001"})}
    with team.db.unit_of_work() as session:
        assert [c.code for c in session.scalars(select(Customer))] == ["N001"]
