"""Claims of escalation steps: one statement each (no SAVEPOINT), a step claimed twice is refused, and claims
never posted are given back after STALE_CLAIM — with no write at all when there are none."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from bot.services.escalations import STALE_CLAIM
from storage import notice_queries, sla_queries
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_query_plans import plan_db, planned  # noqa: F401 - the fixture


def _complaint(services) -> int:
    customer = seed.customer(services, "A001", "Alice Wang")
    return seed.complaint(services, customer, DEFAULT_NOW - dt.timedelta(hours=30), DEFAULT_NOW)


def _statements(db, run) -> list[str]:
    sent: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.unit_of_work() as session:
            run(session)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return sent


def test_a_step_is_claimed_once_without_a_savepoint(team):
    complaint = _complaint(team)
    claim = dict(complaint_id=complaint, step_key=f"sla:{complaint}:resolution:supervisors:0", clock="resolution",
                 level="supervisors", kind="breach", round=0, now=DEFAULT_NOW)
    ids: list = []
    sent = _statements(team.db, lambda s: ids.append(notice_queries.claim_notice(s, **claim)))
    again = _statements(team.db, lambda s: ids.append(notice_queries.claim_notice(s, **claim)))
    assert isinstance(ids[0], int) and ids[1] is None
    assert "SAVEPOINT" not in sent + again and sent.count("INSERT") == 1
    with team.db.unit_of_work() as session:
        assert notice_queries.notice_count(session, complaint) == 1


def test_stale_claims_are_given_back_and_none_costs_no_write(team):
    complaint = _complaint(team)
    with team.db.unit_of_work() as session:
        notice_queries.claim_notice(session, complaint_id=complaint, step_key="old", clock="resolution",
                                 level="supervisors", kind="breach", round=0, now=DEFAULT_NOW - 2 * STALE_CLAIM)
        posted = notice_queries.claim_notice(session, complaint_id=complaint, step_key="posted", clock="resolution",
                                          level="owner", kind="warning", round=0, now=DEFAULT_NOW - 2 * STALE_CLAIM)
        notice_queries.record_notices_posted(session, [posted], "C0SUPER", "1.2", DEFAULT_NOW)
        notice_queries.claim_notice(session, complaint_id=complaint, step_key="fresh", clock="resolution",
                                 level="manager", kind="breach", round=0, now=DEFAULT_NOW)
    released: list[int] = []

    def release(session):
        released.append(notice_queries.release_stale_claims(session, DEFAULT_NOW - STALE_CLAIM))

    _statements(team.db, release)
    assert released == [1]
    sent = _statements(team.db, release)
    assert released == [1, 0] and "DELETE" not in sent
    with team.db.unit_of_work() as session:
        kept = notice_queries.notices_of_complaint(session, complaint)
        assert sorted(n.step_key for n in kept) == ["fresh", "posted"]


def test_the_stale_claim_check_reads_the_unposted_index(plan_db):  # noqa: F811
    plan = planned(plan_db, lambda s: notice_queries.release_stale_claims(s, DEFAULT_NOW))
    # claims neither posted nor queued (usually none; channel IS NULL): a lookup, not a walk over the queued ones
    assert "ix_escalation_notice_unqueued" in plan or "ix_escalation_notice_post" in plan, plan


def test_the_sweeps_every_minute_check_reads_two_indexes(plan_db):  # noqa: F811
    from sqlalchemy import text

    sqlite = plan_db.engine.dialect.name == "sqlite"
    with plan_db.engine.connect() as connection:
        if not sqlite:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ")
                                       + sla_queries._SWEEP_CHECK.format(mark=":now")), {"now": DEFAULT_NOW})
        plan = "\n".join(str(row[-1]) for row in rows)
    assert "ix_complaint_sla_attention_at" in plan, plan
    assert "ix_escalation_notice_unqueued" in plan or "ix_escalation_notice_post" in plan, plan


def _open_breached_complaint(team) -> int:
    from bot.services.complaints import ComplaintForm, open_complaint
    from bot.services.people import Actor, Role
    from bot.services.teams import set_setting

    set_setting(team, "supervisor_channel", "C0SUPER")
    team.clock.set(DEFAULT_NOW - dt.timedelta(hours=30))  # breached long ago: owner, supervisors, manager due
    customer = seed.customer(team, "A002", "Bo Li")
    complaint = open_complaint(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                               ComplaintForm(customer_id=customer, description="broken")).id
    team.clock.set(DEFAULT_NOW)
    return complaint


def test_a_sweep_with_nothing_due_is_one_bare_query_and_writes_nothing(team):
    from bot.services.escalations import run_sweep

    complaint = _open_breached_complaint(team)
    run_sweep(team, DEFAULT_NOW)  # what is due now
    with team.db.unit_of_work() as session:
        before = (sla_queries.sla_of(session, complaint).attention_at, notice_queries.notice_count(session))
    checkouts: list[int] = []

    def count(*_):
        checkouts.append(1)

    event.listen(team.db.engine, "checkout", count)
    try:
        sent = _statements(team.db, lambda session: run_sweep(team, DEFAULT_NOW + dt.timedelta(minutes=1)))
    finally:
        event.remove(team.db.engine, "checkout", count)
    assert before[0] > DEFAULT_NOW + dt.timedelta(minutes=1), "the breached complaint is not looked at every minute"
    assert sent == [] and len(checkouts) == 1, (sent, checkouts)  # the check goes to the driver
    with team.db.unit_of_work() as session:
        assert (sla_queries.sla_of(session, complaint).attention_at, notice_queries.notice_count(session)) == before


def test_claims_queued_in_the_outbox_keep_their_channels_and_are_not_given_back(team):
    """Each claim records the channel its post goes to (the sweep queues the post in the same unit of work; one
    statement for any number: SQLite and PostgreSQL differ), and only claims neither posted nor queued (an earlier
    version's, which queued them apart) are given back as stale."""
    complaint = _complaint(team)
    steps = [("q-super", "supervisors", "C0SUPER"), ("q-owner", "owner", "U0AGENT"), ("q-mgr", "manager", "U0SUPER"),
             ("lost", "supervisors", None)]
    with team.db.unit_of_work() as session:
        notice_queries.claim_notices(session, [
            dict(complaint_id=complaint, step_key=key, clock="resolution", level=level, kind="breach", round=0,
                 channel=channel) for key, level, channel in steps], DEFAULT_NOW - 2 * STALE_CLAIM)
    with team.db.unit_of_work() as session:
        assert notice_queries.release_stale_claims(session, DEFAULT_NOW - STALE_CLAIM) == 1
    with team.db.unit_of_work() as session:
        kept = {n.step_key: n.channel for n in notice_queries.notices_of_complaint(session, complaint)}
    assert kept == {"q-super": "C0SUPER", "q-owner": "U0AGENT", "q-mgr": "U0SUPER"}


def test_many_steps_are_claimed_in_one_statement_and_each_only_once(team):
    complaint = _complaint(team)

    def steps(*keys):
        return [dict(complaint_id=complaint, step_key=key, clock="resolution", level="supervisors", kind="breach",
                     round=n) for n, key in enumerate(keys)]

    first: list = []
    sent = _statements(team.db,
                       lambda s: first.append(notice_queries.claim_notices(s, steps("a", "b", "c"), DEFAULT_NOW)))
    again: list = []
    _statements(team.db, lambda s: again.append(notice_queries.claim_notices(s, steps("b", "d", "a"), DEFAULT_NOW)))
    assert sorted(first[0]) == ["a", "b", "c"] and len(set(first[0].values())) == 3
    assert list(again[0]) == ["d"] and again[0]["d"] not in first[0].values()
    assert sent.count("INSERT") == 1 and "SAVEPOINT" not in sent
    with team.db.unit_of_work() as session:
        assert notice_queries.notice_count(session, complaint) == 4
        kept = notice_queries.notices_of_complaint(session, complaint)
    assert {(n.step_key, n.round, n.level, n.claimed_at) for n in kept if n.step_key in "abc"} == {
        (key, n, "supervisors", DEFAULT_NOW) for n, key in enumerate("abc")}  # a claim's moment: the stale check's


def test_warming_the_sweeps_statements_at_start_up_leaves_nothing_behind(team):
    """`carebot serve` runs the sweep's statements once at start-up (bot/services/sla_sweep.warm_statements):
    no post queued, no claim, no complaint's next look moved."""
    from sqlalchemy import func, select

    from bot.services.sla_sweep import warm_statements
    from storage.outbox_models import OutboxMessage
    from storage.sla_models import ComplaintSla

    _complaint(team)
    _open_breached_complaint(team)

    def state():
        with team.db.unit_of_work() as session:
            return (session.execute(select(ComplaintSla.complaint_id, ComplaintSla.attention_at)).all(),
                    notice_queries.notice_count(session),
                    session.scalar(select(func.count()).select_from(OutboxMessage)))

    before = state()
    warm_statements(team)
    assert state() == before


def test_a_lock_held_elsewhere_costs_the_start_up_warm_up_a_moment_and_one_line(team, caplog):
    """Another process holds SQLite's write lock (an import, a shell), or on PostgreSQL the SLA table: `carebot
    serve` starts at once, saying in one line that the sweep's statements were not run ahead, not after the
    30 s a lock is waited for (bot/app.warm_statements)."""
    import logging
    import threading

    from sqlalchemy import text

    from bot.app import warm_statements

    _open_breached_complaint(team)
    with team.db.engine.connect() as holder:
        if holder.dialect.name == "postgresql":
            holder.execute(text("LOCK TABLE complaint_sla IN EXCLUSIVE MODE"))  # reads go on, writes wait
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        done = threading.Event()
        try:
            with caplog.at_level(logging.WARNING, logger="bot.app"):
                warming = threading.Thread(target=lambda: (warm_statements(team), done.set()), daemon=True)
                warming.start()
                assert done.wait(5), "start-up waited for the lock"
        finally:
            holder.rollback()
    said = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    assert len(said) == 1 and said[0].startswith("could not run the SLA sweep's statements ahead"), said


def test_one_sweep_gives_back_a_stale_claim_and_posts_what_is_due_beside_it(team):
    """The every-minute check reads stale claims first: a stale claim beside a complaint that is due is given back
    by the same sweep that posts, and its step is claimed again at once with its channel and posted."""
    from sqlalchemy import select

    from bot.services.escalations import run_sweep
    from storage.outbox_models import OutboxMessage

    complaint = _open_breached_complaint(team)  # breached long ago: owner, supervisors, manager due now
    key = f"sla:{complaint}:resolution:supervisors"
    with team.db.unit_of_work() as session:  # an earlier version's claim of one of its steps, never posted nor queued
        notice_queries.claim_notice(session, complaint_id=complaint, step_key=key, clock="resolution",
                                    level="supervisors", kind="breach", round=0, now=DEFAULT_NOW - 2 * STALE_CLAIM)
    assert sla_queries.sweep_has_work(team.db.engine, DEFAULT_NOW, DEFAULT_NOW - STALE_CLAIM).stale

    run = run_sweep(team, DEFAULT_NOW)
    with team.db.unit_of_work() as session:
        notices = {n.step_key: (n.channel, n.claimed_at)
                   for n in notice_queries.notices_of_complaint(session, complaint)}
        queued = [i for post in session.scalars(select(OutboxMessage)) for i in post.payload["notices"]]
    assert notices[key] == ("C0SUPER", DEFAULT_NOW), notices  # given back, claimed again, its post queued
    assert len(queued) == len(notices) == sum(count for _, _, count in run.queued) >= 3
    assert not sla_queries.sweep_has_work(team.db.engine, DEFAULT_NOW, DEFAULT_NOW - STALE_CLAIM)


def test_the_next_looks_of_a_catch_up_find_their_rows_by_the_primary_key(plan_db):  # noqa: F811
    """A sweep stores the next attention moments of the complaints it looked at in one statement: on PostgreSQL
    one UPDATE … FROM a JSON document, whose rows the primary key finds (not a scan of every complaint's SLA row
    — 10,000 open in the bench's book — nor a walk of its whole index), on SQLite one executemany of a
    primary-key UPDATE."""
    from sqlalchemy import select

    from storage.sla_models import ComplaintSla

    later = DEFAULT_NOW + dt.timedelta(hours=1)
    with plan_db.unit_of_work() as session:
        ids = session.scalars(select(ComplaintSla.complaint_id).limit(3)).all()
    if plan_db.engine.dialect.name == "sqlite":  # an executemany: its statement, planned as SQLite plans it
        with plan_db.engine.connect() as connection:
            plan = "\n".join(str(row[-1]) for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN UPDATE complaint_sla SET attention_at = ? WHERE complaint_id = ?", ("", 1)))
        assert "PRIMARY KEY" in plan or "pk_complaint_sla" in plan, plan
        return
    assert ids, "the bench's tiny book has complaints"
    plan = planned(plan_db, lambda s: sla_queries.set_attention(s, {cid: later for cid in ids}))
    # the key looked up (an Index Cond), not every entry of the index walked in order (a merge join)
    looked_up = plan.split("pk_complaint_sla", 1)[-1].split("->", 1)[0]
    assert "pk_complaint_sla" in plan and "Index Cond" in looked_up, plan
    with plan_db.unit_of_work() as session:
        stored = session.execute(select(ComplaintSla.attention_at).where(ComplaintSla.complaint_id.in_(ids))).all()
    assert [at for (at,) in stored] == [later] * len(ids)
