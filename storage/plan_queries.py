"""Queries of the care plan (issue 3): team rules overrides, nightly run claims, what planning reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Callback, CallLog, Complaint, Customer, PlanRun, Staff, TeamRules

# --- the team's rules ----------------------------------------------------------------------------


def team_rules(session: Session, team_id: str) -> TeamRules | None:
    return session.get(TeamRules, team_id)


def team_rules_version(session: Session, team_id: str) -> int:
    """0 when the team runs on the shipped defaults."""
    return session.scalar(select(TeamRules.version).where(TeamRules.team_id == team_id)) or 0


def store_team_rules(session: Session, team_id: str, yaml_text: str, set_by: str | None,
                     now: dt.datetime) -> TeamRules:
    row = session.get(TeamRules, team_id)
    if row is None:
        row = TeamRules(team_id=team_id, yaml_text=yaml_text, set_by=set_by, set_at=now, version=1)
        session.add(row)
    else:
        row.yaml_text, row.set_by, row.set_at, row.version = yaml_text, set_by, now, row.version + 1
    session.flush()
    return row


# --- the nightly run -----------------------------------------------------------------------------


def claim_plan_run(session: Session, team_id: str, local_date: dt.date, now: dt.datetime) -> bool:
    """Take the one right to run this team's nightly plan for this day; False if someone already has it."""
    try:
        with session.begin_nested():
            session.add(PlanRun(team_id=team_id, local_date=local_date, claimed_at=now, created=0))
    except IntegrityError:
        return False
    return True


def finish_plan_run(session: Session, team_id: str, local_date: dt.date, now: dt.datetime, created: int) -> None:
    session.execute(update(PlanRun).where(PlanRun.team_id == team_id, PlanRun.local_date == local_date)
                    .values(finished_at=now, created=created))


def release_plan_run(session: Session, team_id: str, local_date: dt.date) -> None:
    session.execute(delete(PlanRun).where(PlanRun.team_id == team_id, PlanRun.local_date == local_date,
                                          PlanRun.finished_at.is_(None)))


def plan_runs_count(session: Session, team_id: str, local_date: dt.date) -> int:
    return session.scalar(select(func.count()).select_from(PlanRun)
                          .where(PlanRun.team_id == team_id, PlanRun.local_date == local_date)) or 0


# --- what planning reads -------------------------------------------------------------------------


def customers_of_team(session: Session, team_id: str, customer_id: int | None = None) -> Sequence[Customer]:
    stmt = select(Customer).where(Customer.team_id == team_id)
    if customer_id is not None:
        stmt = stmt.where(Customer.id == customer_id)
    return session.scalars(stmt.order_by(Customer.id)).all()


def callbacks_of_team(session: Session, team_id: str, customer_id: int | None = None) -> Sequence[Callback]:
    """Every callback, open or closed: closed ones still hold their dedupe key."""
    stmt = select(Callback).where(Callback.team_id == team_id)
    if customer_id is not None:
        stmt = stmt.where(Callback.customer_id == customer_id)
    return session.scalars(stmt.order_by(Callback.customer_id, Callback.id)).all()


def tickets_since(session: Session, team_id: str, since: dt.datetime,
                  customer_id: int | None = None) -> Sequence[tuple[int, dt.datetime]]:
    """(customer id, opened at) of complaints and inquiries opened since `since`."""
    stmt = select(Complaint.customer_id, Complaint.opened_at).where(
        Complaint.team_id == team_id, Complaint.opened_at >= since, Complaint.kind.in_(("complaint", "inquiry")))
    if customer_id is not None:
        stmt = stmt.where(Complaint.customer_id == customer_id)
    return [(cid, at) for cid, at in session.execute(stmt)]


def complaints_resolved_since(session: Session, team_id: str, since: dt.datetime
                              ) -> Sequence[tuple[int, int, dt.datetime]]:
    """(customer id, complaint id, resolved at) of the team's complaints resolved since `since`."""
    stmt = select(Complaint.customer_id, Complaint.id, Complaint.resolved_at).where(
        Complaint.team_id == team_id, Complaint.resolved_at >= since)
    return [(cid, complaint_id, at) for cid, complaint_id, at in session.execute(stmt)]


def last_calls(session: Session, team_id: str, customer_id: int | None = None) -> dict[int, dt.datetime]:
    """Each customer's latest call where the customer was reached."""
    stmt = select(CallLog.customer_id, func.max(CallLog.called_at)).where(
        CallLog.team_id == team_id, CallLog.outcome != "unreachable").group_by(CallLog.customer_id)
    if customer_id is not None:
        stmt = stmt.where(CallLog.customer_id == customer_id)
    return {cid: _aware(at) for cid, at in session.execute(stmt) if at is not None}


def reached_calls_since(session: Session, team_id: str, since: dt.datetime,
                        customer_id: int | None = None) -> dict[int, int]:
    """Contacts made (reached calls) per customer since `since`."""
    stmt = select(CallLog.customer_id, func.count()).where(
        CallLog.team_id == team_id, CallLog.called_at >= since, CallLog.outcome != "unreachable"
    ).group_by(CallLog.customer_id)
    if customer_id is not None:
        stmt = stmt.where(CallLog.customer_id == customer_id)
    return dict(session.execute(stmt).all())


def supervisors_of_team(session: Session, team_id: str) -> Sequence[str]:
    """Supervisors first, then admins, by id: who owns the callbacks a supervisor must make."""
    rows = session.execute(select(Staff.user_id, Staff.role).where(
        Staff.team_id == team_id, Staff.role.in_(("supervisor", "admin")))).all()
    return [uid for uid, role in sorted(rows, key=lambda r: (r[1] != "supervisor", r[0]))]


def admins_of_team(session: Session, team_id: str) -> Sequence[str]:
    """The team's admins by id: who completes a record that has no owner (care-domain §2)."""
    return session.scalars(select(Staff.user_id).where(Staff.team_id == team_id, Staff.role == "admin")
                           .order_by(Staff.user_id)).all()


def close_open_callbacks_of_kind(session: Session, customer_id: int, kind: str, status: str,
                                 now: dt.datetime) -> int:
    """Close the customer's open callbacks of `kind` (e.g. a record task once the record is complete)."""
    result = session.execute(update(Callback).where(Callback.customer_id == customer_id, Callback.kind == kind,
                                                    Callback.status == "open")
                             .values(status=status, closed_at=now))
    return result.rowcount or 0


def owners_of_callbacks(session: Session, callback_ids: Sequence[int]) -> set[str]:
    """Who owns these callbacks (by primary key, 500 ids a query)."""
    ids, owners = list(callback_ids), set()
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        owners.update(session.scalars(select(Callback.owner_id).distinct().where(Callback.id.in_(chunk))))
    owners.discard(None)
    return owners


def customer_of_complaint(session: Session, complaint_id: int) -> Complaint | None:
    return session.get(Complaint, complaint_id)


def _aware(moment: dt.datetime) -> dt.datetime:
    # func.max() bypasses the column type on SQLite: the naive UTC value comes back as it is stored.
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
