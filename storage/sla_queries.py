"""Queries of complaint SLA clocks and escalation, each named for the question it answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from storage.models import Callback, Complaint
from storage.sla_models import ComplaintPause, ComplaintSla, EscalationAudit, EscalationNotice, TeamEscalation

# --- complaints ---------------------------------------------------------------------------------


def complaint_of_team(session: Session, team_id: str, complaint_id: int) -> Complaint | None:
    return session.scalars(
        select(Complaint).options(joinedload(Complaint.customer))
        .where(Complaint.id == complaint_id, Complaint.team_id == team_id)
    ).one_or_none()


def sla_of(session: Session, complaint_id: int) -> ComplaintSla | None:
    return session.get(ComplaintSla, complaint_id)


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


def complaints_needing_attention(session: Session, now: dt.datetime) -> Sequence[Complaint]:
    """The sweep's query (index ix_complaint_sla_attention_at): open complaints whose attention moment came.
    Their SLA rows are loaded with them (one more query), so `sla_of` finds them in the session.

    attention_at is NULL while a complaint waits on the customer and once it is resolved."""
    complaints = session.scalars(
        select(Complaint).join(ComplaintSla, ComplaintSla.complaint_id == Complaint.id)
        .options(joinedload(Complaint.customer))
        .where(ComplaintSla.attention_at <= now, Complaint.status == "open")
        .order_by(ComplaintSla.attention_at, Complaint.id)
    ).all()
    held = session.info.setdefault("sla_rows", [])  # the session's identity map holds rows weakly: keep them
    for start in range(0, len(complaints), 500):
        ids = [c.id for c in complaints[start:start + 500]]
        held.extend(session.scalars(select(ComplaintSla).where(ComplaintSla.complaint_id.in_(ids))).all())
    return complaints


def callbacks_of_customer(session: Session, customer_id: int) -> Sequence[Callback]:
    return session.scalars(select(Callback).where(Callback.customer_id == customer_id)).all()


# --- notices: claim before posting ---------------------------------------------------------------


def claim_notice(session: Session, *, complaint_id: int, step_key: str, clock: str, level: str, kind: str,
                 round: int, now: dt.datetime) -> int | None:
    """Insert the step's row; its id, or None when the step was already claimed (here or on another replica).
    One statement, INSERT … ON CONFLICT (step_key) DO NOTHING RETURNING id: no SAVEPOINT per notice."""
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    return session.scalar(
        insert(EscalationNotice).values(complaint_id=complaint_id, step_key=step_key, clock=clock, level=level,
                                        kind=kind, round=round, claimed_at=now)
        .on_conflict_do_nothing(index_elements=[EscalationNotice.step_key]).returning(EscalationNotice.id))


def record_notices_posted(session: Session, notice_ids: Sequence[int], channel: str, ts: str,
                          now: dt.datetime) -> None:
    session.execute(update(EscalationNotice).where(EscalationNotice.id.in_(notice_ids))
                    .values(channel=channel, message_ts=ts, posted_at=now))


def release_notices(session: Session, notice_ids: Sequence[int]) -> None:
    """Give unposted claims back, so the next sweep tries again."""
    session.execute(delete(EscalationNotice).where(EscalationNotice.id.in_(notice_ids),
                                                   EscalationNotice.posted_at.is_(None)))


def mark_notices_queued(session: Session, notice_ids: Sequence[int], channel: str) -> None:
    """The notices are in the outbox (bot/services/outbox.py): their post is on its way to `channel`."""
    session.execute(update(EscalationNotice).where(EscalationNotice.id.in_(notice_ids)).values(channel=channel))


def release_stale_claims(session: Session, claimed_before: dt.datetime) -> int:
    """Claims never posted nor queued in the outbox (the process died between claim and queue) are given
    back after a while. A read first (index ix_escalation_notice_unposted, usually empty): the DELETE, a write,
    only when there is one."""
    stale = (EscalationNotice.posted_at.is_(None), EscalationNotice.channel.is_(None),
             EscalationNotice.claimed_at < claimed_before)
    if session.scalar(select(EscalationNotice.id).where(*stale).limit(1)) is None:
        return 0
    return session.execute(delete(EscalationNotice).where(*stale)).rowcount or 0


def notices_of_complaint(session: Session, complaint_id: int) -> Sequence[EscalationNotice]:
    return session.scalars(select(EscalationNotice).where(EscalationNotice.complaint_id == complaint_id)
                           .order_by(EscalationNotice.claimed_at, EscalationNotice.id)).all()


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


def notices_in_post(session: Session, channel: str, ts: str) -> Sequence[EscalationNotice]:
    return session.scalars(select(EscalationNotice).where(EscalationNotice.channel == channel,
                                                          EscalationNotice.message_ts == ts)
                           .order_by(EscalationNotice.id)).all()


def notice_count(session: Session, complaint_id: int | None = None) -> int:
    stmt = select(EscalationNotice.id)
    if complaint_id is not None:
        stmt = stmt.where(EscalationNotice.complaint_id == complaint_id)
    return len(session.scalars(stmt).all())


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


def ensure_team_escalation(session: Session, team_id: str) -> TeamEscalation:
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
    """Bring the sweep's attention moment forward to `at` (not later than it already is)."""
    row = session.get(ComplaintSla, complaint_id)
    if row is not None and (row.attention_at is None or row.attention_at > at):
        row.attention_at = at
