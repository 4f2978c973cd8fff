"""A change is saved, then what follows it (re-reading the list to show it, refreshing a Home) fails: the person
is told it was saved and that what they see may be out of date, in their language — never "nothing was saved",
which would have them do it again. The database fails from outside our code: its driver raises on the first read
after the change is committed (an SQLAlchemy engine event, as a dropped connection or an I/O error would)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.people import Actor, Role
from storage.sla_models import ComplaintPause
from tests import seed
from tests.test_due_over_http import texts

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")


@contextmanager
def reads_fail_once_after(engine, written: str) -> Iterator[dict]:
    """The driver refuses the first SELECT after a transaction that ran `written` (an SQL prefix) commits."""
    state = {"written": False, "committed": False, "failed": 0}
    dbapi = engine.dialect.loaded_dbapi

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(written):
            state["written"] = True
        elif state["committed"] and not state["failed"] and statement.lstrip().upper().startswith("SELECT"):
            state["failed"] += 1
            raise dbapi.OperationalError("the connection to the database was lost")

    def on_commit(conn):
        state["committed"] = state["committed"] or state["written"]

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", on_commit)
    try:
        yield state
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", on_commit)


def pauses(svc, complaint_id: int) -> int:
    with svc.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(ComplaintPause)
                              .where(ComplaintPause.complaint_id == complaint_id))


@pytest.mark.parametrize("locale, said, not_said", [("en-US", "Saved.", "nothing was saved"),
                                                    ("zh-CN", "已保存", "未保存")])
def test_a_failure_after_the_change_is_saved_says_saved_not_nothing_saved(bot, team, locale, said, not_said):
    bot.slack.add_user("U0AGENT", locale=locale)
    customer = seed.customer(team, "A001", "Alice Wang")
    complaint = open_complaint(team, AGENT, ComplaintForm(customer_id=customer, description="Leaks")).id
    url = bot.slack.response_url("list")
    with reads_fail_once_after(team.db.engine, "INSERT INTO COMPLAINT_PAUSE") as fault:
        assert bot.sender.block_action(user_id="U0AGENT", action_id="complaint_wait", value=str(complaint),
                                       trigger_id=bot.slack.new_trigger_id(), response_url=url).status == 200
        [told] = bot.responses("list")
    assert fault["failed"] == 1  # the list's re-read failed, after the pause was committed
    assert pauses(team, complaint) == 1
    assert said in texts(told) and not_said not in texts(told), texts(told)
    assert told.get("replace_original") is False  # the list stays; the notice comes beside it


def test_what_one_delivery_saved_does_not_colour_the_next_ones_failure(services, renderer, slack, team):
    """A worker process runs its jobs one after another on one thread (bot/offload.py), as the listener pool
    reuses its threads: a job that fails before saving anything is told "nothing was saved", whatever the job
    before it saved."""
    from slack_sdk import WebClient

    from handlers.commands import run_care
    from handlers.deps import Deps
    from handlers.errors import SAVED, saved
    from tests.conftest import BOT_TOKEN

    deps = Deps(services=services, renderer=renderer)
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    dbapi = services.db.engine.dialect.loaded_dbapi

    def fail(conn, cursor, statement, parameters, context, executemany):
        raise dbapi.OperationalError("the connection to the database was lost")

    token = SAVED.set(False)
    saved()  # as the job before, in this worker, had saved its change
    event.listen(services.db.engine, "before_cursor_execute", fail)
    try:
        run_care(deps, client, AGENT, "due", "", {"response_url": slack.response_url("w"), "user_id": "U0AGENT"})
    finally:
        event.remove(services.db.engine, "before_cursor_execute", fail)
        SAVED.reset(token)
    [told] = slack.responses("w")
    assert "nothing was saved" in texts(told) and "Saved." not in texts(told), texts(told)
