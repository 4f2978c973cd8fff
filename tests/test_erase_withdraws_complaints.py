"""Erasing a customer (PIPL) closes their open complaints as withdrawn, not resolved (tryout: an unanswered
complaint erased 30 minutes after it was opened read resolution rate 100 %, resolution within SLA 100 %, while its
first response read breached for ever). A withdrawn complaint is closed for every queue, list and the sweep; the
reports leave it out of the resolution rate and judge each clock still running as it stood when it was withdrawn."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, select, text

from bot.care import metrics as m
from bot.care.calendar import WorkCalendar
from bot.care.sla_rules import Target
from bot.services import escalations
from bot.services.complaints import ComplaintForm, open_complaint, record_first_response, resolve_complaint
from bot.services.insight import build_insight
from bot.services.people import Actor, Role
from bot.services.privacy import erase_customer
from storage import queries, sla_queries
from storage.models import Complaint
from storage.sla_models import ComplaintSla
from tests import seed
from tests.conftest import SHANGHAI

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def opened(team, code: str, when: dt.datetime) -> int:
    team.clock.set(when)
    cid = seed.customer(team, code, f"Customer {code}")
    return open_complaint(team, AGENT, ComplaintForm(customer_id=cid, description="漏水")).id


def test_an_unanswered_complaint_erased_after_30_minutes_is_neither_resolved_nor_late(team):
    ticket = opened(team, "Z001", at(24, 10))  # Tuesday: first response due 11:00, resolution 10:00 next day
    team.clock.set(at(24, 10, 30))
    erase_customer(team, "Z001", "cli:test")

    team.clock.set(at(27, 12))  # three days later, the week still running
    complaints = build_insight(team, kind="week").team.current.complaints
    assert (complaints.opened, complaints.resolved) == (1, 0), "an erasure is not a resolution"
    assert complaints.resolution_rate is None, "no complaint left to be resolved"
    fr, res = complaints.first_response, complaints.resolution
    assert (res.met, res.breached, res.pending, res.within_sla) == (0, 0, 0, None)
    assert (fr.met, fr.breached, fr.pending, fr.within_sla) == (0, 0, 0, None), "not late when it was withdrawn"
    assert fr.hours == () and res.hours == () and complaints.withdrawn == 1
    with team.db.unit_of_work() as session:
        row = session.get(Complaint, ticket)
        assert (row.status, row.resolved_at, row.withdrawn_at) == ("resolved", None, at(24, 10, 30))
        assert session.get(ComplaintSla, ticket).attention_at is None


def test_a_breach_that_happened_before_the_erasure_stays_and_the_rest_count_as_before(team):
    late = opened(team, "Z001", at(24, 10))  # first response due 11:00; erased at 14:00 unanswered: late then
    answered = opened(team, "Z002", at(24, 10))
    kept = opened(team, "K001", at(24, 10))
    team.clock.set(at(24, 10, 20))
    record_first_response(team, AGENT, answered)
    record_first_response(team, AGENT, kept)
    team.clock.set(at(24, 12))
    resolve_complaint(team, AGENT, kept, "Replaced the kettle")
    team.clock.set(at(24, 14))
    erase_customer(team, "Z001", "cli:test")
    erase_customer(team, "Z002", "cli:test")

    team.clock.set(at(27, 12))
    complaints = build_insight(team, kind="week").team.current.complaints
    assert (complaints.opened, complaints.resolved) == (3, 1)
    assert complaints.resolution_rate == 100.0  # 1 resolved of the 1 not withdrawn
    fr, res = complaints.first_response, complaints.resolution
    assert (fr.met, fr.breached, fr.pending) == (2, 1, 0)  # answered in 20 min twice; Z001's was late at 14:00
    assert (res.met, res.breached, res.pending) == (1, 0, 0)  # only the resolved one: the others were not late
    assert len(fr.hours) == 2 and len(res.hours) == 1 and complaints.withdrawn == 2
    # the report of the moment before the erasures saw them open, as they were
    before = build_insight(team, kind="week", now=at(24, 13)).team.current.complaints
    assert (before.withdrawn, before.resolved, before.resolution.pending) == (0, 1, 2)
    assert before.first_response.breached == 1
    with team.db.unit_of_work() as session:
        assert [session.get(Complaint, c).withdrawn_at for c in (late, answered, kept)] == [at(24, 14)] * 2 + [None]


def test_a_withdrawn_complaint_is_closed_for_the_queues_the_lists_and_the_sweep(team):
    from bot.services.teams import set_setting

    set_setting(team, "supervisor_channel", "C0SUPER")
    ticket = opened(team, "Z001", at(24, 10))
    other = opened(team, "K001", at(24, 10))
    team.clock.set(at(24, 10, 30))
    erase_customer(team, "Z001", "cli:test")
    with team.db.unit_of_work() as session:
        assert [c.id for c in sla_queries.unresolved_complaints(session, "default")] == [other]
        assert [c.id for c in queries.open_complaints_of_owner(session, "default", "U0AGENT")] == [other]
        assert [c.id for c in queries.open_complaints_of_team(session, "default")] == [other]
        assert [c.id for c in queries.complaints_of_team_past_a_due_time(session, "default", at(26, 9))] == [other]
    swept = escalations.run_sweep(team, at(26, 9))  # two days on: only the other complaint is paged about
    assert ticket not in {n.complaint_id for n in _notices(team)}
    assert other in {n.complaint_id for n in _notices(team)} and swept.queued


def _notices(team):
    from storage.sla_models import EscalationNotice

    with team.db.unit_of_work() as session:
        return session.scalars(select(EscalationNotice)).all()


CAL = WorkCalendar(timezone="Asia/Shanghai")
HOUR_WORKING = Target(duration=dt.timedelta(hours=1), business_hours=True)
DAY = Target(duration=dt.timedelta(hours=24), business_hours=False)


def fact(withdrawn_at=None, first=None, resolved=None) -> m.ComplaintFact:
    return m.ComplaintFact(id=1, customer_id=1, owner_id="U0AGENT", tier="ordinary", kind="complaint",
                           severity="normal", category="quality", opened_at=at(24, 10), first_response_at=first,
                           resolved_at=resolved, first_response_target=HOUR_WORKING, resolution_target=DAY,
                           withdrawn_at=withdrawn_at)


def test_the_pure_rule_judges_a_withdrawn_complaint_as_it_stood():
    week = m.Period.parse("2026-W48", "Asia/Shanghai")
    stats = m.complaint_stats([fact(withdrawn_at=at(24, 10, 30))], week, CAL, at(27, 12))
    assert (stats.withdrawn, stats.resolved, stats.resolution_rate) == (1, 0, None)
    assert (stats.first_response.breached, stats.first_response.pending, stats.resolution.breached) == (0, 0, 0)
    # withdrawn after both clocks ran out: both breaches stand (they happened), still no resolution
    stats = m.complaint_stats([fact(withdrawn_at=at(26, 10))], week, CAL, at(27, 12))
    assert (stats.first_response.breached, stats.resolution.breached, stats.resolved) == (1, 1, 0)
    # a first response given before the withdrawal is judged as any
    stats = m.complaint_stats([fact(withdrawn_at=at(24, 15), first=at(24, 10, 40))], week, CAL, at(27, 12))
    assert (stats.first_response.met, stats.first_response.hours, stats.resolution.pending) == (1, (40 / 60,), 0)
    # judged before the withdrawal: open, as it was then
    stats = m.complaint_stats([fact(withdrawn_at=at(26, 10))], week, CAL, at(24, 12))
    assert (stats.withdrawn, stats.first_response.breached, stats.resolution.pending) == (0, 1, 1)


def _insert(connection, table, **values) -> None:
    """A row of a table as it is at this revision (reflected): the given values, and something of the column's
    type in every other required column."""
    from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Text

    filler = [(Boolean, False), (Integer, 0), (DateTime, dt.datetime(2026, 11, 1)), (Date, dt.date(2026, 11, 1)),
              (JSON, []), (String, "x"), (Text, "")]
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None \
                or column.autoincrement is True:
            continue
        values[column.name] = next((v for kind, v in filler if isinstance(column.type, kind)), "")
    connection.execute(table.insert().values(**values))


def test_the_migration_moves_complaints_an_erasure_closed_before_it(tmp_path):
    """0018: a complaint whose resolved_at is its customer's erased_at was closed by the erasure: withdrawn."""
    import os

    from sqlalchemy import MetaData

    from storage.migrate import downgrade, upgrade
    from tests.conftest import scratch_postgres_database

    def check(url: str) -> None:
        upgrade(url, "0017")
        engine = create_engine(url)
        postgres = engine.dialect.name == "postgresql"

        def ts(hour: int, minute: int = 0) -> dt.datetime:  # as storage.models.UTCDateTime writes it
            moment = dt.datetime(2026, 11, 24, hour, minute, tzinfo=dt.UTC)
            return moment if postgres else moment.replace(tzinfo=None)

        tables = MetaData()
        tables.reflect(engine)
        with engine.begin() as c:
            _insert(c, tables.tables["team"], id="t")
            _insert(c, tables.tables["customer"], id=1, team_id="t", code="E1", erased_at=ts(2, 30))
            _insert(c, tables.tables["customer"], id=2, team_id="t", code="K1")
            for kid, cid, resolved_at in ((1, 1, ts(2, 30)), (2, 1, ts(1)), (3, 2, ts(1)), (4, 2, None)):
                _insert(c, tables.tables["complaint"], id=kid, team_id="t", customer_id=cid,
                        status="resolved" if resolved_at else "open", opened_at=ts(0), resolved_at=resolved_at)
        upgrade(url)
        with engine.connect() as c:
            rows = c.execute(text("SELECT id, resolved_at IS NULL, withdrawn_at IS NULL FROM complaint ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, True, False), (2, False, True), (3, False, True),
                                                (4, True, True)]
            assert c.execute(text("SELECT k.id FROM complaint k JOIN customer c ON c.id = k.customer_id "
                                  "WHERE k.withdrawn_at = c.erased_at")).scalars().all() == [1]
        downgrade(url, "0017")
        with engine.connect() as c:
            rows = c.execute(text("SELECT id FROM complaint WHERE resolved_at IS NULL ORDER BY id"))
            assert [r[0] for r in rows] == [4], "the erasure's complaint has its resolved_at back"
        engine.dispose()

    url = os.environ.get("CAREBOT_DATABASE_URL")
    if url:
        with scratch_postgres_database(url) as scratch:
            check(scratch)
    else:
        check(f"sqlite:///{tmp_path / 'migrate.db'}")
