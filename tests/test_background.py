"""Work after the ack (issue 14): App Home refreshes queued off the request threads, one per person however
many changes arrive while it waits; the person behind a request remembered a few seconds."""

from __future__ import annotations

import datetime as dt
import json
import threading

from bot.background import Background
from bot.services.people import Role, actor_for, add_staff
from messages.render import pick_locale
from storage.models import Staff
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.signed import form_values


def test_jobs_of_one_key_waiting_together_run_once_and_a_failure_stops_nothing():
    later = Background(workers=1)
    started, release, ran = threading.Event(), threading.Event(), []

    def blocker():
        started.set()
        release.wait(10)

    later.submit("block", blocker)
    assert started.wait(10)  # the one worker is busy: what follows waits in the queue
    assert later.submit(("home", "U1"), lambda: ran.append("first"))
    assert not later.submit(("home", "U1"), lambda: ran.append("second"))  # one refresh of U1 waiting: enough
    assert later.submit(("home", "U2"), lambda: 1 / 0)  # logged; the worker goes on
    assert later.submit(("home", "U3"), lambda: ran.append("U3"))
    release.set()
    assert later.drain(10)
    assert ran == ["first", "U3"]
    assert later.submit(("home", "U1"), lambda: ran.append("again"))  # no longer waiting: queued anew
    assert later.stop(10)
    assert ran == ["first", "U3", "again"]
    assert not later.submit(("home", "U1"), lambda: ran.append("late"))


def log_call_view(customer_id: int, callback_id: int, view_id: str) -> dict:
    return {"id": view_id, "hash": "h1", "type": "modal", "callback_id": "log_call_modal", "blocks": [],
            "private_metadata": json.dumps({"cb": callback_id, "cu": customer_id, "ch": "C0CARE"})}


def test_a_burst_of_calls_refreshes_the_home_less_often_and_the_last_refresh_shows_them_all(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    due = [(cid, seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1)))
           for cid in (seed.customer(team, f"A00{n}", f"Customer {n}") for n in range(6))]
    bot.slack.slow("views.publish", 1.5)  # Slack slow to take the Home: refreshes queue up behind it
    for n, (cid, cb) in enumerate(due):
        reply = bot.sender.view_submission(user_id="U0AGENT", view=log_call_view(cid, cb, f"VBURST{n}"),
                                           values=form_values(outcome="satisfied", rating=5, summary="done"))
        assert reply.status == 200 and reply.body == ""  # saved and closed; the Home follows later
    bot.slack.wait_for("views.publish", timeout=30)  # the listeners queue it after their ack
    assert bot.app.listener_runner.listener_executor.background.drain(30)
    published = bot.slack.ok_calls_to("views.publish")
    assert 1 <= len(published) < len(due)  # a refresh per person waiting, not one per call
    last = json.dumps(published[-1].args["view"], ensure_ascii=False)
    assert not any(f"Customer {n}" in last for n in range(6))  # each call logged: none is still due there


def test_the_person_is_read_once_a_few_seconds_and_a_new_role_counts_at_once(services):
    add_staff(services, "U0CACHED", Role.AGENT)
    first = actor_for(services, "U0CACHED", lambda _user: None)
    with services.db.unit_of_work() as session:  # another process changes the language
        session.get(Staff, "U0CACHED").locale = "en-US"
    assert actor_for(services, "U0CACHED", lambda _user: None) is first  # remembered: no query
    services.clock.advance(dt.timedelta(minutes=1))  # past the few seconds: read again
    assert actor_for(services, "U0CACHED", lambda _user: None).locale == pick_locale("en-US", "zh-CN") != first.locale
    add_staff(services, "U0CACHED", Role.SUPERVISOR)  # a change made here counts from the next request on
    assert actor_for(services, "U0CACHED", lambda _user: None).role is Role.SUPERVISOR
