"""Queries of insight (issue 13): the facts of a period window, as plain rows, read by time-range indexes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.insight_models import ReportPost, TeamInsight
from storage.models import Callback, CallLog, Complaint, Customer, Staff
from storage.sla_models import ComplaintPause, ComplaintSla

UNREACHABLE = "unreachable"


def _tier():
    return func.coalesce(Customer.segment_tier, Customer.tier)


def calls_between(session: Session, team_id: str, start: dt.datetime, end: dt.datetime,
                  staff_id: str | None = None) -> Sequence[Row]:
    """(called_at, staff_id, customer_id, tier, outcome, rating, nps) of the team's calls in [start, end), of one
    person when `staff_id` is given."""
    query = (select(CallLog.called_at, CallLog.staff_id, CallLog.customer_id, _tier(), CallLog.outcome,
                    CallLog.rating, CallLog.nps)
             .join(Customer, Customer.id == CallLog.customer_id)
             .where(CallLog.team_id == team_id, CallLog.called_at >= start, CallLog.called_at < end))
    if staff_id is not None:
        query = query.where(CallLog.staff_id == staff_id)
    return session.connection().execute(query).all()  # Core rows: no ORM loading for plain columns


def last_reached_between(session: Session, team_id: str, since: dt.datetime,
                         before: dt.datetime) -> dict[int, dt.datetime]:
    """Each customer's last call that reached them in [since, before) (a range of the team/time index)."""
    rows = session.connection().execute(
        select(CallLog.customer_id, func.max(CallLog.called_at))
        .where(CallLog.team_id == team_id, CallLog.called_at >= since, CallLog.called_at < before,
               CallLog.outcome != UNREACHABLE)
        .group_by(CallLog.customer_id)).all()
    return {cid: at for cid, at in rows}  # func.max keeps the column's type: aware UTC datetimes


def reached_before(session: Session, customer_ids: Sequence[int], before: dt.datetime) -> set[int]:
    """Which of these customers were reached by a call before `before` (the customer/time index, per customer)."""
    found: set[int] = set()
    ids = list(customer_ids)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        found.update(session.scalars(
            select(CallLog.customer_id).distinct()
            .where(CallLog.customer_id.in_(chunk), CallLog.called_at < before, CallLog.outcome != UNREACHABLE)))
    return found


def customers_of_team(session: Session, team_id: str) -> Sequence[Row]:
    """(id, tier, first_purchase_on, owner_id) of every customer of the team."""
    return session.connection().execute(
        select(Customer.id, _tier(), Customer.first_purchase_on, Customer.owner_id)
        .where(Customer.team_id == team_id)).all()


def callbacks_due_between(session: Session, team_id: str, start: dt.datetime, end: dt.datetime,
                          owner_id: str | None = None) -> Sequence[Row]:
    """(owner_id, tier, due_at, status, closed_at) of the team's callbacks due in [start, end), of one owner when
    `owner_id` is given."""
    query = (select(Callback.owner_id, _tier(), Callback.due_at, Callback.status, Callback.closed_at)
             .join(Customer, Customer.id == Callback.customer_id)
             .where(Callback.team_id == team_id, Callback.due_at >= start, Callback.due_at < end))
    if owner_id is not None:
        query = query.where(Callback.owner_id == owner_id)
    return session.connection().execute(query).all()  # Core rows: no ORM loading for plain columns


def complaints_touching(session: Session, team_id: str, since: dt.datetime, end: dt.datetime) -> Sequence[Row]:
    """Complaints opened before `end` and opened or resolved since `since`, with the tier their SLA used:
    (id, customer_id, owner_id, tier, kind, severity, category, opened_at, first_response_at, resolved_at)."""
    return session.execute(
        select(Complaint.id, Complaint.customer_id, Complaint.owner_id,
               func.coalesce(ComplaintSla.tier, _tier()), Complaint.kind, Complaint.severity, Complaint.category,
               Complaint.opened_at, Complaint.first_response_at, Complaint.resolved_at)
        .join(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(ComplaintSla, ComplaintSla.complaint_id == Complaint.id)
        .where(Complaint.team_id == team_id, Complaint.opened_at < end,
               or_(Complaint.opened_at >= since, Complaint.resolved_at >= since))).all()


def pauses_of_complaints(session: Session, complaint_ids: Sequence[int]) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    ids = list(complaint_ids)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for cid, paused, resumed in session.execute(
                select(ComplaintPause.complaint_id, ComplaintPause.paused_at, ComplaintPause.resumed_at)
                .where(ComplaintPause.complaint_id.in_(chunk))):
            out.setdefault(cid, []).append((paused, resumed))
    return out


def staff_names(session: Session, team_id: str) -> dict[str, str]:
    return dict(session.execute(select(Staff.user_id, Staff.display_name).where(Staff.team_id == team_id)).all())


# --- thresholds -----------------------------------------------------------------------------------------


def team_insight(session: Session, team_id: str) -> TeamInsight | None:
    return session.get(TeamInsight, team_id)


def save_team_insight(session: Session, team_id: str, nps_min_answers: int, reopen_days: int,
                      repeat_days: int) -> None:
    row = session.get(TeamInsight, team_id)
    if row is None:
        session.add(TeamInsight(team_id=team_id, nps_min_answers=nps_min_answers, reopen_days=reopen_days,
                                repeat_days=repeat_days))
    else:
        row.nps_min_answers, row.reopen_days, row.repeat_days = nps_min_answers, reopen_days, repeat_days


# --- report claims --------------------------------------------------------------------------------------


def claim_report(session: Session, team_id: str, kind: str, period: str, channel: str, now: dt.datetime) -> bool:
    """Insert the claim; False when another run (or replica) already holds it."""
    try:
        with session.begin_nested():
            session.add(ReportPost(team_id=team_id, kind=kind, period=period, channel=channel, claimed_at=now))
    except IntegrityError:
        return False
    return True


def report_claimed(session: Session, team_id: str, kind: str, period: str) -> bool:
    return session.scalar(select(func.count()).select_from(ReportPost).where(
        ReportPost.team_id == team_id, ReportPost.kind == kind, ReportPost.period == period)) > 0


def record_report_ts(session: Session, team_id: str, kind: str, period: str, ts: str) -> None:
    session.execute(update(ReportPost).where(ReportPost.team_id == team_id, ReportPost.kind == kind,
                                             ReportPost.period == period).values(message_ts=ts))


def release_report_claim(session: Session, team_id: str, kind: str, period: str) -> None:
    session.execute(delete(ReportPost).where(ReportPost.team_id == team_id, ReportPost.kind == kind,
                                             ReportPost.period == period))
