"""Queries of complaint SLA clocks and escalation, each named for the question it answers."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, bindparam, case, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from storage.models import Callback, Complaint
from storage.sla_models import ComplaintPause, ComplaintSla, EscalationAudit, EscalationNotice, TeamEscalation

SLA_RULES_SEEN = "carebot.team_sla_rules"  # session.info: team id -> the SLA rules text this unit of work read

# --- complaints ---------------------------------------------------------------------------------


def complaint_of_team(session: Session, team_id: str, complaint_id: int) -> Complaint | None:
    return session.scalars(
        select(Complaint).options(joinedload(Complaint.customer))
        .where(Complaint.id == complaint_id, Complaint.team_id == team_id)
    ).one_or_none()


def complaints_of_team(session: Session, team_id: str, complaint_ids: Sequence[int]) -> dict[int, Complaint]:
    """`complaint_of_team` for many complaints (with their customers), in one query per 500."""
    found: dict[int, Complaint] = {}
    for chunk in _chunks(list(complaint_ids)):
        found.update((c.id, c) for c in session.scalars(
            select(Complaint).options(joinedload(Complaint.customer))
            .where(Complaint.id.in_(chunk), Complaint.team_id == team_id)))
    return found


def slas_of(session: Session, complaint_ids: Sequence[int]) -> dict[int, ComplaintSla]:
    """`sla_of` for many complaints, in one query per 500."""
    found: dict[int, ComplaintSla] = {}
    for chunk in _chunks(list(complaint_ids)):
        found.update((s.complaint_id, s) for s in session.scalars(
            select(ComplaintSla).where(ComplaintSla.complaint_id.in_(chunk))))
    return found


def last_actions(session: Session, complaint_ids: Sequence[int], actions: Sequence[str]
                 ) -> dict[int, EscalationAudit]:
    """`last_action` of many complaints, in one query per 500 (a complaint's few audit rows are all read)."""
    found: dict[int, EscalationAudit] = {}
    for chunk in _chunks(list(complaint_ids)):
        for audit in session.scalars(select(EscalationAudit).where(
                EscalationAudit.complaint_id.in_(chunk), EscalationAudit.action.in_(actions))
                .order_by(EscalationAudit.at.desc(), EscalationAudit.id.desc())):
            found.setdefault(audit.complaint_id, audit)
    return found


def sla_of(session: Session, complaint_id: int) -> ComplaintSla | None:
    return session.get(ComplaintSla, complaint_id)


def ensure_sla(session: Session, complaint_id: int, tier: str) -> ComplaintSla:
    """The complaint's SLA row, given one first if it has none (a complaint written before SLA clocks): one
    INSERT … ON CONFLICT (complaint_id) DO NOTHING, so two requests giving it one at once never collide (on
    SQLite the loser waits for the write lock, on PostgreSQL for the winner's commit, then inserts nothing)."""
    row = session.get(ComplaintSla, complaint_id)
    if row is not None:
        return row
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    session.execute(insert(ComplaintSla).values(complaint_id=complaint_id, tier=tier, announce=False, source="legacy")
                    .on_conflict_do_nothing(index_elements=[ComplaintSla.complaint_id]))
    row = session.get(ComplaintSla, complaint_id)
    assert row is not None
    return row


def lock_complaint(session: Session, team_id: str, complaint_id: int) -> Complaint | None:
    """The complaint (with its customer), its row locked until the unit of work ends (PostgreSQL: SELECT … FOR
    UPDATE OF complaint; SQLite has one writer, taken by `unit_of_work(write=True)`): an action on it reads the
    state the previous action left, so two clicks at once act one after the other."""
    return session.scalars(
        select(Complaint).options(joinedload(Complaint.customer))
        .where(Complaint.id == complaint_id, Complaint.team_id == team_id)
        .with_for_update(of=Complaint).execution_options(populate_existing=True)
    ).one_or_none()


def pauses_of(session: Session, complaint_id: int) -> Sequence[ComplaintPause]:
    return session.scalars(select(ComplaintPause).where(ComplaintPause.complaint_id == complaint_id)
                           .order_by(ComplaintPause.paused_at, ComplaintPause.id)).all()


def open_pause_of(session: Session, complaint_id: int) -> ComplaintPause | None:
    return session.scalars(select(ComplaintPause).where(ComplaintPause.complaint_id == complaint_id,
                                                        ComplaintPause.resumed_at.is_(None))).first()


def unresolved_complaints(session: Session, team_id: str, owner_id: str | None = None) -> Sequence[Complaint]:
    """The team's complaints not yet resolved (of one owner if given), oldest first."""
    stmt = (select(Complaint).options(joinedload(Complaint.customer))
            .where(Complaint.team_id == team_id, Complaint.status != "resolved"))
    if owner_id is not None:
        stmt = stmt.where(Complaint.owner_id == owner_id)
    return session.scalars(stmt.order_by(Complaint.opened_at, Complaint.id)).all()


def complaints_needing_attention(session: Session, now: dt.datetime) -> Sequence[Row]:
    """The sweep's query (index ix_complaint_sla_attention_at): open complaints whose attention moment came, as
    rows of what the sweep reads of each complaint and of its SLA row (`_DUE_COLUMNS`: `id`, `team_id`,
    `owner_id`, `kind`, `severity`, `status`, `opened_at`, `first_response_at`, `resolved_at`, `withdrawn_at`,
    `tier`, `announce`, `acknowledged_at`, `acknowledged_by`, `snoozed_until`), in one query — not objects
    (issue 14: ~3 ms of a first catch-up on PostgreSQL), nor their customers or texts: the outbox reads those,
    and decrypts them, when it renders the posts.

    attention_at is NULL while a complaint waits on the customer, once it is resolved, and while nothing can
    fall due until someone acts (bot.care.escalation.next_look)."""
    return session.execute(_DUE, {"now": now}).all()


_DUE_COLUMNS = (Complaint.id, Complaint.team_id, Complaint.owner_id, Complaint.kind, Complaint.severity,
                Complaint.status, Complaint.opened_at, Complaint.first_response_at, Complaint.resolved_at,
                Complaint.withdrawn_at, ComplaintSla.tier, ComplaintSla.announce, ComplaintSla.acknowledged_at,
                ComplaintSla.acknowledged_by, ComplaintSla.snoozed_until)
_DUE = (select(*_DUE_COLUMNS).join(ComplaintSla, ComplaintSla.complaint_id == Complaint.id)
        .where(ComplaintSla.attention_at <= bindparam("now", type_=ComplaintSla.attention_at.type),
               Complaint.status == "open")
        .order_by(ComplaintSla.attention_at, Complaint.id))


@dataclass(frozen=True)
class SweepWork:
    """What the sweep's every-minute check found: a complaint whose attention moment came (`due`; also when it
    was not asked, beside a stale claim), a claim gone stale (`stale`)."""

    due: bool = False
    stale: bool = False

    def __bool__(self) -> bool:
        return self.due or self.stale


# The sweep's check, every minute: did a claim go stale (ix_escalation_notice_unqueued, see release_stale_claims)
# or an attention moment come (ix_complaint_sla_attention_at)? Usually not: so it goes to the driver directly.
# The stale claims' branch first: its row (-1) says a claim is stale, and whether a complaint is due is then
# read by the sweep itself; a complaint id says one is due and no claim is stale.
_SWEEP_CHECK = ("SELECT -1 WHERE EXISTS (SELECT 1 FROM escalation_notice n WHERE n.posted_at IS NULL "
                "AND n.channel IS NULL AND n.claimed_at < {mark}) "
                "UNION ALL SELECT s.complaint_id FROM complaint_sla s JOIN complaint c ON c.id = s.complaint_id "
                "WHERE s.attention_at <= {mark} AND c.status = 'open' LIMIT 1")
_sweep_check: dict[str, tuple[str, Any]] = {}


def sweep_has_work(engine: Engine, now: dt.datetime, claimed_before: dt.datetime) -> SweepWork:
    """Whether the sweep has anything to do: a complaint whose attention moment came, a stale claim (false
    when neither). One query over two index lookups, through the bare driver (no session, no statement
    building)."""
    dialect = engine.dialect
    if dialect.name not in _sweep_check:  # the SQL in the driver's style, and how it stores a moment
        _sweep_check[dialect.name] = (
            _SWEEP_CHECK.format(mark="?" if dialect.paramstyle == "qmark" else "%s"),
            ComplaintSla.__table__.c.attention_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v))
    sql, stored = _sweep_check[dialect.name]
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, (stored(claimed_before), stored(now)))
        row = cursor.fetchone()
        cursor.close()
    finally:
        connection.close()
    if row is None:
        return SweepWork()
    return SweepWork(due=True, stale=True) if row[0] == -1 else SweepWork(due=True)


def pauses_of_complaints(session: Session, complaint_ids: Sequence[int]
                         ) -> dict[int, list[tuple[dt.datetime, dt.datetime | None]]]:
    """(paused at, resumed at) of each complaint, oldest first, in one query per 500 complaints."""
    pauses: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = {cid: [] for cid in complaint_ids}
    for chunk in _chunks(complaint_ids):
        for cid, paused_at, resumed_at in session.execute(
                select(ComplaintPause.complaint_id, ComplaintPause.paused_at, ComplaintPause.resumed_at)
                .where(ComplaintPause.complaint_id.in_(chunk))
                .order_by(ComplaintPause.paused_at, ComplaintPause.id)):
            pauses[cid].append((paused_at, resumed_at))
    return pauses


def latest_steps_of_complaints(session: Session, complaint_ids: Sequence[int]
                               ) -> dict[int, list[tuple[str, str, int, dt.datetime]]]:
    """`latest_steps` of many complaints, in one query per 500 complaints."""
    again = case((EscalationNotice.round > 0, 1), else_=0)
    steps: dict[int, list[tuple[str, str, int, dt.datetime]]] = {cid: [] for cid in complaint_ids}
    for chunk in _chunks(complaint_ids):
        for cid, clock, level, round, claimed_at in session.execute(
                select(EscalationNotice.complaint_id, EscalationNotice.clock, EscalationNotice.level,
                       func.max(EscalationNotice.round), func.max(EscalationNotice.claimed_at))
                .where(EscalationNotice.complaint_id.in_(chunk))
                .group_by(EscalationNotice.complaint_id, EscalationNotice.clock, EscalationNotice.level, again)):
            steps[cid].append((clock, level, round, _aware(claimed_at)))
    return {cid: sorted(rows, key=lambda row: (row[3], row[2])) for cid, rows in steps.items()}


def tiers_of_complaints(session: Session, complaint_ids: Sequence[int]) -> dict[int, str]:
    """The tier each complaint's SLA row keeps (the customer's when it was opened), one query per 500."""
    tiers: dict[int, str] = {}
    for chunk in _chunks(complaint_ids):
        tiers.update(session.execute(select(ComplaintSla.complaint_id, ComplaintSla.tier)
                                     .where(ComplaintSla.complaint_id.in_(chunk))).all())
    return tiers


def set_attention(session: Session, moments: dict[int, dt.datetime | None]) -> None:
    """Store each complaint's next attention moment (None: none), in one statement: on PostgreSQL one UPDATE … FROM
    a JSON document of the moments (a catch-up's 100 complaints: 2.0 → 1.0 ms on the server, and no pipeline of
    100 statements through the driver; the ids given again as an array so the primary key finds the rows,
    not a scan of every SLA row), on SQLite an executemany (in-process, no round trips)."""
    if not moments:
        return
    if session.get_bind().dialect.name == "postgresql":
        document = json.dumps([{"cid": cid, "at": at.isoformat() if at is not None else None}
                               for cid, at in moments.items()])
        session.connection().execute(_SET_ATTENTION_PG, {"rows": document, "ids": list(moments)})
        return
    table = ComplaintSla.__table__
    session.connection().execute(
        update(table).where(table.c.complaint_id == bindparam("cid"))
        .values(attention_at=bindparam("at", type_=table.c.attention_at.type)),
        [{"cid": cid, "at": at} for cid, at in moments.items()])


_SET_ATTENTION_PG = text(
    "UPDATE complaint_sla AS s SET attention_at = m.at FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    "AS m(cid integer, at timestamptz) WHERE s.complaint_id = m.cid AND s.complaint_id = ANY(CAST(:ids AS integer[]))")


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def _aware(moment: dt.datetime | str) -> dt.datetime:
    # func.max() bypasses the column type on SQLite: the naive UTC text comes back as it is stored
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def callbacks_of_customer(session: Session, customer_id: int) -> Sequence[Callback]:
    return session.scalars(select(Callback).where(Callback.customer_id == customer_id)).all()


# --- notices: the chain's history -------------------------------------------------------------


def latest_steps(session: Session, complaint_id: int) -> list[tuple[str, str, int, dt.datetime]]:
    """What the escalation chain needs of a complaint's history (index ix_escalation_notice_complaint_id):
    per clock x level the first notice (round 0) and the latest re-raise, not every re-raise ever sent
    (rounds only grow, so the latest re-raise is the one with the highest round and the latest claim).
    Tuples of (clock, level, round, claimed_at), oldest first."""
    again = case((EscalationNotice.round > 0, 1), else_=0)
    rows = session.execute(
        select(EscalationNotice.clock, EscalationNotice.level, func.max(EscalationNotice.round),
               func.max(EscalationNotice.claimed_at))
        .where(EscalationNotice.complaint_id == complaint_id)
        .group_by(EscalationNotice.clock, EscalationNotice.level, again)).all()
    return sorted(((clock, level, round, claimed_at) for clock, level, round, claimed_at in rows),
                  key=lambda row: (row[3], row[2]))


def was_announced(session: Session, complaint_id: int) -> bool:
    """The complaint's opening was announced (a low-rated call): its 'opened' notice exists."""
    return session.scalar(select(EscalationNotice.id).where(EscalationNotice.complaint_id == complaint_id,
                                                            EscalationNotice.clock == "opened").limit(1)) is not None


# --- audit --------------------------------------------------------------------------------------


def add_audit(session: Session, complaint_id: int, actor_id: str | None, action: str, now: dt.datetime,
              note: str = "", **detail: Any) -> None:
    session.add(EscalationAudit(complaint_id=complaint_id, actor_id=actor_id, action=action, detail=detail,
                                note=note, at=now))


def audit_of(session: Session, complaint_id: int) -> Sequence[EscalationAudit]:
    return session.scalars(select(EscalationAudit).where(EscalationAudit.complaint_id == complaint_id)
                           .order_by(EscalationAudit.at, EscalationAudit.id)).all()


def last_action(session: Session, complaint_id: int, actions: Sequence[str]) -> EscalationAudit | None:
    return session.scalars(select(EscalationAudit).where(EscalationAudit.complaint_id == complaint_id,
                                                         EscalationAudit.action.in_(actions))
                           .order_by(EscalationAudit.at.desc(), EscalationAudit.id.desc()).limit(1)).first()


# --- team -----------------------------------------------------------------------------------------


def team_escalation(session: Session, team_id: str) -> TeamEscalation | None:
    return session.get(TeamEscalation, team_id)


def team_sla_rules_text(session: Session, team_id: str) -> str | None:
    """The team's SLA rules file (None: none is set), read once per unit of work: a logged call or a Home asks
    for the team's calendar more than once, and a team without a row would be asked for again each time.
    `ensure_team_escalation`, the way rules are written, forgets what was read."""
    seen = session.info.setdefault(SLA_RULES_SEEN, {})
    if team_id not in seen:  # the one column, not the row made an object (issue 14: every logged call, every Home)
        seen[team_id] = session.execute(_SLA_RULES_OF, {"team": team_id}).scalar_one_or_none()
    return seen[team_id]


_SLA_RULES_OF = select(TeamEscalation.sla_rules).where(TeamEscalation.team_id == bindparam("team"))


def ensure_team_escalation(session: Session, team_id: str) -> TeamEscalation:
    session.info.get(SLA_RULES_SEEN, {}).pop(team_id, None)
    row = session.get(TeamEscalation, team_id)
    if row is None:
        row = TeamEscalation(team_id=team_id)
        session.add(row)
        session.flush()
    return row


def complaint_opened_at(session: Session, customer_id: int, opened_at: dt.datetime) -> Complaint | None:
    return session.scalars(select(Complaint).where(Complaint.customer_id == customer_id,
                                                   Complaint.opened_at == opened_at).limit(1)).first()


def look_again(session: Session, complaint_id: int, at: dt.datetime) -> None:
    """Bring the sweep's attention moment forward to `at` (not later than it already is), after anything that
    changes what can fall due (an acknowledgement, a snooze, a claim given back)."""
    row = session.get(ComplaintSla, complaint_id)
    if row is not None and (row.attention_at is None or row.attention_at > at):
        row.attention_at = at


def look_again_at_team(session: Session, team_id: str, at: dt.datetime) -> None:
    """Every open complaint of the team is looked at from `at` (its calendar changed: every moment moves)."""
    open_ids = select(Complaint.id).where(Complaint.team_id == team_id, Complaint.status == "open")
    session.execute(update(ComplaintSla).where(ComplaintSla.complaint_id.in_(open_ids),
                                               or_(ComplaintSla.attention_at.is_(None), ComplaintSla.attention_at > at))
                    .values(attention_at=at).execution_options(synchronize_session=False))
