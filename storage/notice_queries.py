"""Escalation notices: each step of the chain claimed once (here or on another replica) with the channel its
post goes to, in the unit of work that queues that post in the outbox, then marked posted
(bot/services/sla_sweep.py, escalations.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import UTCDateTime
from storage.sla_models import EscalationNotice
from storage.sla_queries import look_again


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


def claim_notices(session: Session, claims: Sequence[dict[str, Any]], now: dt.datetime) -> dict[str, int]:
    """`claim_notice` for many steps ({complaint_id, step_key, clock, level, kind, round, channel}): INSERT … ON
    CONFLICT (step_key) DO NOTHING RETURNING, in one short statement written once, of one JSON array of rows
    (PostgreSQL's jsonb_array_elements — parsed once, where json's `->>` parses each row again for each column:
    1.1 → 0.24 ms for a catch-up's 360 claims — SQLite's json_each) — not 8 parameters a claim, each coerced by
    SQLAlchemy, nor a statement compiled by the first catch-up of a process (issue 14). `channel`: where the
    step's post goes, which the sweep queues in the outbox in the same unit of work (a claim without one is given
    back if never posted, `release_stale_claims`). step_key -> id of the steps claimed here."""
    if not claims:
        return {}
    rows = json.dumps([[claim.get(column) for column in _CLAIM_COLUMNS] for claim in claims], ensure_ascii=False)
    statement = _CLAIM_PG if session.get_bind().dialect.name == "postgresql" else _CLAIM_SQLITE
    return dict((key, nid) for nid, key in session.execute(statement, {"rows": rows, "now": now}))


_CLAIM_COLUMNS = ("complaint_id", "step_key", "clock", "level", "kind", "round", "channel")
# one JSON array of rows on both databases: a process's first catch-up on PostgreSQL took ~4 ms more with seven
# arrays to dump and plan than with one text parameter
_CLAIM_PG = text(
    "INSERT INTO escalation_notice (complaint_id, step_key, clock, level, kind, round, channel, claimed_at) "
    "SELECT (r->>0)::integer, r->>1, r->>2, r->>3, r->>4, (r->>5)::integer, r->>6, :now "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r "
    "ON CONFLICT (step_key) DO NOTHING RETURNING id, step_key").bindparams(bindparam("now", type_=UTCDateTime()))
# `WHERE true`: SQLite's grammar needs it to read ON CONFLICT as the upsert's, not a join's ON
_CLAIM_SQLITE = text(
    "INSERT INTO escalation_notice (complaint_id, step_key, clock, level, kind, round, channel, claimed_at) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
    "json_extract(value, '$[6]'), :now "
    "FROM json_each(:rows) WHERE true ON CONFLICT (step_key) DO NOTHING RETURNING id, step_key"
).bindparams(bindparam("now", type_=UTCDateTime()))  # stored as the column stores it


def record_notices_posted(session: Session, notice_ids: Sequence[int], channel: str, ts: str,
                          now: dt.datetime) -> None:
    session.execute(update(EscalationNotice).where(EscalationNotice.id.in_(notice_ids))
                    .values(channel=channel, message_ts=ts, posted_at=now))


def release_stale_claims(session: Session, claimed_before: dt.datetime, now: dt.datetime | None = None) -> int:
    """Claims never posted nor queued in the outbox (a claim without its channel: written by a version that
    claimed and queued in two units of work, whose process died in between) are given back after a while, and
    their complaints looked at again from `now` (default: `claimed_before`). A read first
    (index ix_escalation_notice_unqueued, usually empty): the DELETE, a write, only when there is one."""
    stale = (EscalationNotice.posted_at.is_(None), EscalationNotice.channel.is_(None),
             EscalationNotice.claimed_at < claimed_before)
    if session.scalar(select(EscalationNotice.id).where(*stale).limit(1)) is None:
        return 0
    complaints = set(session.scalars(select(EscalationNotice.complaint_id).where(*stale)))
    released = session.execute(delete(EscalationNotice).where(*stale)).rowcount or 0
    for complaint_id in sorted(complaints):  # their steps are due again: the next sweep looks at once
        look_again(session, complaint_id, now or claimed_before)
    return released


def notices_of_complaint(session: Session, complaint_id: int) -> Sequence[EscalationNotice]:
    return session.scalars(select(EscalationNotice).where(EscalationNotice.complaint_id == complaint_id)
                           .order_by(EscalationNotice.claimed_at, EscalationNotice.id)).all()


def notices_by_ids(session: Session, notice_ids: Sequence[int]) -> list[EscalationNotice]:
    """The notices with these ids, in the order given (the ones that no longer exist left out)."""
    found = {n.id: n for n in session.scalars(select(EscalationNotice).where(EscalationNotice.id.in_(notice_ids)))}
    return [found[i] for i in notice_ids if i in found]


def notices_in_post(session: Session, channel: str, ts: str) -> Sequence[EscalationNotice]:
    return session.scalars(select(EscalationNotice).where(EscalationNotice.channel == channel,
                                                          EscalationNotice.message_ts == ts)
                           .order_by(EscalationNotice.id)).all()


def notice_count(session: Session, complaint_id: int | None = None) -> int:
    stmt = select(EscalationNotice.id)
    if complaint_id is not None:
        stmt = stmt.where(EscalationNotice.complaint_id == complaint_id)
    return len(session.scalars(stmt).all())
