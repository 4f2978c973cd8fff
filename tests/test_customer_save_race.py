"""Two people add a customer with the same code at the same moment: one is saved, the other is told in the form
that the code is taken — on PostgreSQL too, where both checks can pass before either insert commits (the second
insert then waits on the first's key and fails when it commits; it was told the database could not be reached).
The same for a phone, which no key guards (it is stored sealed, found by its keyed hash): on PostgreSQL both saves
went through and the team had two customers with one phone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text

from bot.services.customer_card import CustomerForm, save_customer
from bot.services.errors import FormErrors
from bot.services.people import Actor, Role
from storage.db import waiting_at_most
from storage.models import Customer
from tests import seed
from tests.test_customer_card_over_http import customer_values

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


@contextmanager
def new_customers_held(team) -> Iterator[None]:
    """A colleague's transaction holds new customers back, reads go on: SQLite's write lock (an import writing);
    on PostgreSQL the customer table in SHARE mode (an INSERT waits, a SELECT does not)."""
    with team.db.engine.connect() as holder:
        if holder.dialect.name == "postgresql":
            holder.execute(text("LOCK TABLE customer IN SHARE MODE"))
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()


def saves_waiting(team, count: int, timeout: float = 1.0) -> None:
    """Until `count` of the bot's transactions wait on a lock (PostgreSQL shows it; on SQLite, a moment)."""
    if not team.db.url.startswith("postgresql"):
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout
    with team.db.engine.connect() as look:
        while look.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock'")) < count and time.monotonic() < deadline:
            look.rollback()
            time.sleep(0.02)


@pytest.mark.parametrize("second", ["adds", "edits"])
def test_one_phone_saved_twice_at_once_is_one_customer_and_the_other_is_told_in_their_language(bot, team, second):
    """U0AGENT adds N001 with a phone while U0AGENT2 adds N002 with it, or gives it to their customer E002."""
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.add_user("U0AGENT2", locale="zh-CN")
    bot.command("customer add", user_id="U0AGENT")
    [first] = bot.slack.wait_for("views.open")
    if second == "adds":
        bot.command("customer add", user_id="U0AGENT2")
    else:
        edited = seed.customer(team, "E002", "Eva Wu", owner="U0AGENT2", phone=None)
        bot.sender.block_action(user_id="U0AGENT2", action_id="customer_edit", value=str(edited),
                                trigger_id=bot.slack.new_trigger_id(), response_url=bot.slack.response_url("card"))
    views = {"U0AGENT": first.args["view"], "U0AGENT2": bot.slack.wait_for("views.open", 2)[1].args["view"]}
    codes = {"U0AGENT": "N001", "U0AGENT2": "N002" if second == "adds" else "E002"}
    phones = {"U0AGENT": "+852 9123 4567", "U0AGENT2": "+85291234567"}  # one number, written two ways
    replies = {}

    def submit(user: str) -> None:
        replies[user] = bot.sender.view_submission(user_id=user, view=views[user], values=customer_values(
            code=codes[user] if second == "adds" or user == "U0AGENT" else None, name="Nina Li",
            phone=phones[user], owner=user))

    with new_customers_held(team):
        threads = [threading.Thread(target=submit, args=(user,)) for user in views]
        for thread in threads:
            thread.start()
        saves_waiting(team, 2)  # both have looked for the phone and found none, or one waits to look
    for thread in threads:
        thread.join(5)
    with team.db.unit_of_work() as session:
        holders = [c.code for c in session.scalars(select(Customer).where(Customer.phone_hash.is_not(None)))]
    assert len(holders) == 1, f"customers {holders} have one phone"
    [winner] = [user for user in codes if codes[user] == holders[0]]
    [loser] = [user for user in codes if user != winner]
    assert replies[winner].status == 200 and replies[winner].body == ""  # the modal closed: saved
    told = {"U0AGENT": f"This phone is already customer {holders[0]}'s.",
            "U0AGENT2": f"该电话已属于客户 {holders[0]}。"}
    assert replies[loser].json() == {"response_action": "errors", "errors": {"phone": told[loser]}}


def test_an_email_another_customer_has_is_refused_in_the_form_in_the_persons_language(bot, team):
    """One email is one person, as an import reads a sheet (README "Duplicates"): the form refuses an address
    another customer of the team has (any case), naming whose; an edit that keeps a customer's own address, even
    one an older record shares, is saved."""
    bot.slack.add_user("U0AGENT2", locale="zh-CN")
    first = save_customer(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                          CustomerForm("N001", "Nina Li", "", "nina@example.com", None, "", True))
    bot.command("customer add", user_id="U0AGENT2")
    [opened] = bot.slack.wait_for("views.open")
    reply = bot.sender.view_submission(user_id="U0AGENT2", view=opened.args["view"], values=customer_values(
        code="N002", name="Nora Wu", email=" NINA@example.com ", owner="U0AGENT2"))
    assert reply.json() == {"response_action": "errors", "errors": {"email": "该邮箱已属于客户 N001。"}}
    with team.db.unit_of_work() as session:
        assert [c.code for c in session.scalars(select(Customer))] == ["N001"]
    twin = seed.customer(team, "T001", "Nina L.", phone=None)  # an older duplicate, stored before this rule
    with team.db.unit_of_work() as session:
        session.get(Customer, twin).email = "nina@example.com"
    saved = save_customer(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                          CustomerForm(None, "Nina Lee", "", "nina@example.com", None, "vip", True), customer_id=twin)
    assert saved.id == twin and first.id != twin and "name" in saved.changed and "email" not in saved.changed


@pytest.mark.parametrize("typed,told", [
    ("ｎｉｎａ＠example.com", {"email": "该邮箱已属于客户 N001。"}),  # full width, as a Chinese input method types it
    ("nina\u200b@example.com", {"email": None}),  # a zero-width space pasted in: not an address
])
def test_an_email_that_looks_like_another_customers_is_not_a_second_person(bot, team, typed, told):
    """The same address typed in full-width letters is the same person (refused, naming whose); one with an invisible
    character inside is not an address at all — neither is saved as a new customer beside N001."""
    bot.slack.add_user("U0AGENT2", locale="zh-CN")
    save_customer(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                  CustomerForm("N001", "Nina Li", "", "nina@example.com", None, "", True))
    bot.command("customer add", user_id="U0AGENT2")
    [opened] = bot.slack.wait_for("views.open")
    reply = bot.sender.view_submission(user_id="U0AGENT2", view=opened.args["view"], values=customer_values(
        code="N002", name="Nora Wu", email=typed, owner="U0AGENT2"))
    errors = reply.json()["errors"]
    assert set(errors) == {"email"}
    assert errors["email"] == told["email"] or (told["email"] is None and "邮箱" in errors["email"])
    with team.db.unit_of_work() as session:
        assert [c.code for c in session.scalars(select(Customer))] == ["N001"]
