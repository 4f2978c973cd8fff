"""A page of the queue (/care due, the App Home) is the same rows as the whole queue cut at that place, with
the counts of the whole queue — also for an agent with 1,000 items and complaints before the callbacks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from bot.services.people import Actor, Role
from bot.services.queue import my_queue
from storage.models import Callback, Complaint, Customer
from tests import seed
from tests.conftest import DEFAULT_NOW


def _book(services, callbacks: int, complaints: int, other_segment_every: int = 7) -> None:
    now = DEFAULT_NOW
    with services.db.unit_of_work() as session:
        ids = session.scalars(insert(Customer).returning(Customer.id, sort_by_parameter_order=True), [dict(
            team_id="default", code=f"P{n:05d}", name=f"客户{n}", phone="+8613812345678", tier="ordinary",
            tags=[], owner_id="U0AGENT", consent=True, needs_follow_up=False, created_at=now,
            segment_tier="high_value" if n % other_segment_every == 0 else "ordinary") for n in range(callbacks)]).all()
        # due times spread over the last 30 days and the rest of today and tomorrow (not due yet), some equal
        session.execute(insert(Callback), [dict(
            team_id="default", customer_id=ids[n], owner_id="U0AGENT", kind="periodic_touch",
            due_at=now + dt.timedelta(hours=(n * 37) % (24 * 31) - 24 * 30), status="open", attempts=0,
            rule="manual", params={"n": n}, created_at=now) for n in range(callbacks)])
        session.execute(insert(Complaint), [dict(
            team_id="default", customer_id=ids[n], owner_id="U0AGENT", kind="complaint", status="open",
            opened_at=now - dt.timedelta(days=2), first_response_at=now - dt.timedelta(days=2),
            first_response_due_at=now - dt.timedelta(days=2) + dt.timedelta(hours=1),
            resolution_due_at=now - dt.timedelta(hours=n + 1)) for n in range(complaints)])


def _key(item) -> tuple:
    return (item.is_complaint, item.item.id, item.due_at, item.late_by)


def test_every_page_is_the_whole_queue_cut_there_with_its_counts(team):
    _book(team, callbacks=1000, complaints=3)
    seed.callback(team, seed.customer(team, "X1", "Someone else's", owner="U0AGENT2"), DEFAULT_NOW)
    agent = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
    whole = my_queue(team, agent)
    assert whole.total > 700 and whole.complaint_count == 3 and 0 < whole.overdue_count < whole.total
    for first in (0, 1, 2, 3, 4, 19, 20, 500, whole.total - 20, whole.total - 1):
        page = my_queue(team, agent, first=first, limit=20)
        assert [_key(i) for i in page.items] == [_key(i) for i in whole.items[first:first + 20]], first
        assert page.first == first
        assert (page.total, page.overdue_count, page.complaint_count) == \
            (whole.total, whole.overdue_count, whole.complaint_count)
    beyond = my_queue(team, agent, first=whole.total + 50, limit=20)
    assert beyond.first == whole.total - 1 and [_key(i) for i in beyond.items] == [_key(whole.items[-1])]


def test_a_segment_page_counts_only_that_segment(team):
    _book(team, callbacks=300, complaints=2)
    agent = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
    whole = my_queue(team, agent, ("tier", "high_value"))
    page = my_queue(team, agent, ("tier", "high_value"), first=5, limit=10)
    assert 0 < whole.total < 300 / 5
    assert [_key(i) for i in page.items] == [_key(i) for i in whole.items[5:15]]
    assert (page.total, page.overdue_count) == (whole.total, whole.overdue_count)


def test_an_empty_queue_is_an_empty_page(team):
    page = my_queue(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"), first=40, limit=20)
    assert (page.items, page.total, page.overdue_count, page.first) == ([], 0, 0, 0)


def test_the_morning_list_shows_each_persons_first_rows_and_counts_all_of_them(team):
    from bot.services.queue import ROWS_PER_PERSON, morning_list, supervisors_list
    from handlers.jobs import render_morning_list
    from messages.render import Renderer
    from storage import queries

    _book(team, callbacks=1000, complaints=3)
    other = seed.customer(team, "X1", "Someone else's", owner="U0AGENT2")
    seed.callback(team, other, DEFAULT_NOW - dt.timedelta(days=1), owner="U0AGENT2")
    seed.callback(team, seed.customer(team, "N1", "Nobody's", owner=None), DEFAULT_NOW, owner=None)
    with team.db.unit_of_work() as session:
        row = queries.ensure_team(session, "default")
    digest = morning_list(team, row, DEFAULT_NOW, team.calendar_for(row))
    whole = my_queue(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"))
    busy, quiet = digest.agents
    assert (busy.user_id, busy.count, busy.overdue, busy.complaints) == \
        ("U0AGENT", whole.total, whole.overdue_count, 3)
    assert [_key(i) for i in busy.items] == [_key(i) for i in whole.items[:ROWS_PER_PERSON]]
    assert (quiet.user_id, quiet.count, quiet.overdue) == ("U0AGENT2", 1, 1)
    assert digest.unassigned_count == 1 and len(digest.unassigned) == 1
    assert (digest.total, digest.overdue, digest.complaints) == (whole.total + 2, whole.overdue_count + 1, 3)
    text = str(render_morning_list(Renderer(), digest).blocks)
    assert f"*{whole.total}*" in text or str(whole.total) in text
    assert str(whole.total - ROWS_PER_PERSON) in text, "the rest of the busy person's items is counted"
    supervisors = supervisors_list(digest)
    assert supervisors.total == 0 and supervisors.unassigned == []
