"""A customer saved through the Slack form while `carebot import customers` saves a sheet with the same phone,
email or code: the team ends with one customer for it, the import goes through, and the form is either saved
(the import then merges its row into that customer, or refuses it) or told the database is busy.

On PostgreSQL the import read the book's codes, phones and emails at its start and wrote for up to ~37 s: a form
save in that window was never seen (two customers for one phone), and one of a code the import also wrote made
the import fail as a whole at its end. The form saves here run while the import reports its saving progress
(`progress`, the CLI's progress bar): before its write lock and, in a long file, while it holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.services.customer_card import CustomerForm, save_customer
from bot.services.customer_import import import_customers
from bot.services.errors import CareError, FormErrors
from bot.services.people import Actor, Role
from messages.render import translate
from storage import book_locks, crypto
from storage.db import waiting_at_most
from storage.models import Customer

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
FILLER = 2_500  # rows before the contested one: more than one batch of the import's writes (FLUSH_EVERY)
PHONE, EMAIL = "+85291234567", "nina@example.com"
CONTESTED = {  # what the form saves, and the sheet's last row, which claims the same phone, email or code
    "phone": (CustomerForm("N001", "Nina Li", PHONE, "", None, "", True), f"I001,Nina Li,{PHONE},"),
    "email": (CustomerForm("N001", "Nina Li", "", EMAIL, None, "", True), f"I001,Nina Li,,{EMAIL}"),
    "code": (CustomerForm("I001", "Nina Li", "+85291234568", "", None, "", True), f"I001,Nina Li,{PHONE},"),
}


def sheet_with(tmp_path, last_row: str):
    sheet = tmp_path / "customers.csv"
    sheet.write_text("编号,姓名,手机,邮箱\n" + "".join(f"F{i},f{i},139{i:08},\n" for i in range(FILLER))
                     + last_row + "\n", encoding="utf-8")
    return sheet


def holders(team, what: str) -> list[str]:
    """Codes of the team's customers with the contested phone, email or code."""
    column, value = {"phone": (Customer.phone_hash, crypto.keyring().token("phone", PHONE)),
                     "email": (Customer.email_hash, crypto.keyring().token("email", EMAIL)),
                     "code": (Customer.code, "I001")}[what]
    with team.db.unit_of_work() as session:
        return sorted(session.scalars(select(Customer.code).where(Customer.team_id == "default", column == value)))


@pytest.mark.parametrize("when", ["saving starts", "saving ends"])
@pytest.mark.parametrize("what", sorted(CONTESTED))
def test_a_form_save_during_an_import_never_makes_two_customers_of_one_person(team, tmp_path, what, when):
    form, last_row = CONTESTED[what]
    sheet = sheet_with(tmp_path, last_row)
    told: dict[str, object] = {}

    def form_save() -> None:
        try:
            with waiting_at_most(1.5):  # the form's SAVE_WAIT
                told["form"] = save_customer(team, AGENT, form)
        except Exception as exc:  # noqa: BLE001 - asserted below
            told["form"] = exc

    def progress(phase: str, fraction: float | None, _rows: int) -> None:
        if phase != "save" or "form" in told:
            return
        if when == "saving starts" or fraction == 1.0:
            saving = threading.Thread(target=form_save)
            saving.start()
            saving.join(10)
            assert "form" in told

    report = import_customers(team, sheet, progress=progress)  # never fails as a whole
    assert "form" in told, "the import reported no saving progress"
    form_saved = not isinstance(told["form"], Exception)
    assert form_saved or when == "saving ends", told["form"]  # before the import holds the book, saves go on
    assert holders(team, what) == ["N001" if form_saved and what != "code" else "I001"], told["form"]
    saved = told["form"]
    if isinstance(saved, Exception):  # told the database is busy, as the form says it
        assert "database is locked" in str(saved) or "lock timeout" in str(saved), repr(saved)
    else:
        assert not isinstance(saved, FormErrors)
        if what != "code":  # the sheet's row is that customer (same name): merged into it
            assert [why for _, why in report.merged] == [f"I001 merged into N001, already in the book: same {what}"]
    with team.db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == FILLER + 1


def test_an_import_that_cannot_have_the_book_says_so_in_one_line(team, tmp_path):
    """A colleague's transaction holds the customer book past the import's wait: the import fails, saves
    nothing, and says why in one line."""
    sheet = sheet_with(tmp_path, "I001,Ivy,13800000001,")
    with team.db.engine.connect() as holder, Session(bind=holder) as colleague:
        if holder.dialect.name == "postgresql":
            book_locks.hold_for_save(colleague, "default", PHONE)  # as a form save under way holds it
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            with pytest.raises(CareError) as failed, waiting_at_most(0.5):
                import_customers(team, sheet)
        finally:
            colleague.rollback()
            holder.rollback()
    said = str(translate("en", failed.value.key, **failed.value.params))
    assert said == ("The import of customers.csv failed and nothing was saved (the customer book was busy with "
                    "other saves for over 0.5 s). Please try again."), said
    with team.db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_call_logged_while_an_import_holds_the_book_is_saved_at_once(team, database_url):
    """PostgreSQL: an import holding its team's book keeps out form saves only (book_locks) — an agent logging a
    call to a customer meanwhile (which updates the customer's last contact) is saved within the form's wait,
    not told the database is busy for as long as a big import writes. (SQLite has one writer: its import holds
    it ~1-2 s, storage/customer_stage.py.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time; its import stages its rows to hold it briefly")
    from bot.services.calls import CallForm, log_call
    from tests import seed

    customer = seed.customer(team, "A001", "Alice Wang", owner="U0AGENT")
    with team.db.engine.connect() as holder, Session(bind=holder) as importing:
        book_locks.hold_book_from_saves(importing, "default", 5)
        try:
            with waiting_at_most(1.5):
                logged = log_call(team, AGENT, CallForm(customer, None, "phone", "satisfied", 5, "ok", "", None))
            with pytest.raises(OperationalError), waiting_at_most(0.5):  # a form save waits for the import
                save_customer(team, AGENT, CONTESTED["phone"][0])
        finally:
            importing.rollback()
    assert logged.call_id is not None
    with team.db.unit_of_work() as session:
        assert session.get(Customer, customer).last_contact_at is not None


def test_the_cli_says_an_import_failure_in_one_line_without_a_traceback(team, database_url, tmp_path):
    """`carebot import customers` whose transaction the database refuses (here a trigger; a form save that took
    a code first was the same): one line on stderr, exit status 1, nothing saved."""
    sheet = sheet_with(tmp_path, "I001,Ivy,13800000001,")
    postgres = database_url.startswith("postgresql")
    with team.db.unit_of_work() as session:
        if postgres:
            session.execute(text("CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.code = 'I001' "
                                 "THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            session.execute(text("CREATE TRIGGER boom BEFORE INSERT ON customer FOR EACH ROW EXECUTE FUNCTION boom()"))
        else:
            session.execute(text("CREATE TRIGGER boom BEFORE INSERT ON customer WHEN NEW.code = 'I001' "
                                 "BEGIN SELECT RAISE(ABORT, 'boom'); END"))
    try:
        done = subprocess.run([sys.executable, "-m", "bot.cli", "import", "customers", "--no-progress", str(sheet)],
                              env={**os.environ, "CAREBOT_DATABASE_URL": database_url}, capture_output=True,
                              text=True, timeout=120)
    finally:
        with team.db.unit_of_work() as session:
            session.execute(text("DROP TRIGGER boom" + (" ON customer" if postgres else "")))
            if postgres:
                session.execute(text("DROP FUNCTION boom()"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: The import of customers.csv failed and nothing was "
                                                   "saved ("), done.stderr
    assert "Traceback" not in done.stderr and "boom" in lines[0]
    with team.db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
