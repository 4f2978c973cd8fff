"""Queries of insight (issue 13): the facts of a period window, as plain rows, read by time-range indexes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.insight_models import ReportPost, TeamInsight
from storage.models import Callback, CallLog, Complaint, Customer, Staff
from storage.sla_models import ComplaintPause, ComplaintSla

UNREACHABLE = "unreachable"


def _tier():
    return func.coalesce(Customer.segment_tier, Customer.tier)


def call_tallies(session: Session, team_id: str, bounds: Sequence[dt.datetime], satisfied_min: int,
                 promoter_min: int, detractor_max: int, staff_id: str | None = None) -> Sequence[Row]:
    """The team's calls in [bounds[0], bounds[-1]) counted in the database, by person, tier and bucket (bucket i
    is [bounds[i], bounds[i+1])): (staff_id, tier, bucket, calls, rated, rating_sum, satisfied, nps_n,
    promoters, detractors) — a few hundred rows however many calls. One range of the team/time index. Ratings and
    NPS answers of unreachable calls are not counted."""
    edges = list(bounds)
    return session.connection().execute(_call_tallies_statement(len(edges), staff_id is not None), {
        "team": team_id, "staff": staff_id, "satisfied_min": satisfied_min, "promoter_min": promoter_min,
        "detractor_max": detractor_max, **{f"edge{i}": edge for i, edge in enumerate(edges)}}).all()


@lru_cache(maxsize=16)
def _call_tallies_statement(edge_count: int, of_one_person: bool) -> Select:
    """`call_tallies`' statement for this many bucket edges, built once (the App Home asks it at every refresh)."""
    def edge(i: int):
        return bindparam(f"edge{i}", type_=CallLog.called_at.type)

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    whens = [(CallLog.called_at < edge(i + 1), i) for i in range(edge_count - 2)]
    bucket = (case(*whens, else_=edge_count - 2) if whens else literal(0)).label("bucket")
    tier = _tier().label("tier")
    # a rating or NPS answer stored on an unreachable call is nobody's (bot.care.metrics.tally): not counted
    rating = case((CallLog.outcome != UNREACHABLE, CallLog.rating))
    nps = case((CallLog.outcome != UNREACHABLE, CallLog.nps))
    query = (select(CallLog.staff_id, tier, bucket, func.count(), func.count(rating),
                    func.coalesce(func.sum(rating), 0),
                    count_if(rating >= bindparam("satisfied_min", type_=Integer)),
                    func.count(nps), count_if(nps >= bindparam("promoter_min", type_=Integer)),
                    count_if(nps <= bindparam("detractor_max", type_=Integer)))
             .join(Customer, Customer.id == CallLog.customer_id)
             .where(CallLog.team_id == bindparam("team"), CallLog.called_at >= edge(0),
                    CallLog.called_at < edge(edge_count - 1))
             .group_by(CallLog.staff_id, tier, bucket))
    if of_one_person:
        query = query.where(CallLog.staff_id == bindparam("staff"))
    return query


@dataclass(frozen=True)
class ChurnMoment:
    """Churn risk at `at`, as instants: a customer whose last reaching call is before `before` or inside one of
    `also` ([start, end) pairs), or who has none and a first deal before `first_deal_before`, is at risk
    (bot.services.insight_churn works these out from the segment rule)."""

    at: dt.datetime
    before: dt.datetime
    also: tuple[tuple[dt.datetime, dt.datetime], ...]
    first_deal_before: dt.date


def _last_before(cutoff: dt.datetime, at: dt.datetime):
    """The customer's last reaching call in [cutoff, at), per customer (the customer/time index)."""
    return type_coerce(select(func.max(CallLog.called_at)).where(
        CallLog.customer_id == Customer.id, CallLog.called_at >= cutoff, CallLog.called_at < at,
        CallLog.outcome != UNREACHABLE).correlate(Customer).scalar_subquery(), CallLog.called_at.type)


def _customers_with_last_calls(team_id: str, cutoff: dt.datetime, moments: Sequence[ChurnMoment],
                               owner_id: str | None):
    """(id, owner_id, tier, first_purchase_on, l0, l1, …): each customer with their last reaching call before
    each moment since `cutoff`. For the whole team, one range of the covering index (team, called_at, customer,
    outcome) grouped by customer; for one owner's customers, per customer through the customer/time index."""
    columns = [Customer.id.label("id"), Customer.owner_id.label("owner_id"), _tier().label("tier"),
               Customer.first_purchase_on.label("first_purchase_on")]
    if owner_id is not None:
        return (select(*columns, *[_last_before(cutoff, m.at).label(f"l{k}") for k, m in enumerate(moments)])
                .where(Customer.team_id == team_id, Customer.owner_id == owner_id).subquery())
    last = select(CallLog.customer_id, *[
        type_coerce(func.max(case((CallLog.called_at < m.at, CallLog.called_at))), CallLog.called_at.type)
        .label(f"l{k}") for k, m in enumerate(moments)]).where(
        CallLog.team_id == team_id, CallLog.outcome != UNREACHABLE, CallLog.called_at >= cutoff,
        CallLog.called_at < max(m.at for m in moments)).group_by(CallLog.customer_id).subquery()
    return (select(*columns, *[last.c[f"l{k}"] for k in range(len(moments))])
            .outerjoin(last, last.c.customer_id == Customer.id).where(Customer.team_id == team_id).subquery())


def churn_counts(session: Session, team_id: str, cutoff: dt.datetime, moments: Sequence[ChurnMoment],
                 owner_id: str | None = None) -> Sequence[Row]:
    """(owner_id, tier, how many at churn risk at each moment) over every customer of the team (of one owner),
    by the rule `churn_flag` states. A customer reached only before `cutoff` is at risk at every moment (the
    caller picks `cutoff` so): one index probe tells, made only for customers without a recent call."""
    lasts = _customers_with_last_calls(team_id, cutoff, moments, owner_id)
    # "reached before the cutoff", asked once per customer and only of those without a recent call at some
    # moment, as a probe of the customer/time index (LIMIT 1): an EXISTS in each moment's CASE was planned by
    # PostgreSQL as a hash of every older call, built once per moment (seconds at 1M calls)
    old_call = (select(literal(1)).where(CallLog.customer_id == lasts.c.id, CallLog.called_at < cutoff,
                                         CallLog.outcome != UNREACHABLE).limit(1).scalar_subquery())
    no_recent_call = or_(*[lasts.c[f"l{k}"].is_(None) for k in range(len(moments))])
    book = select(*lasts.c, case((no_recent_call, old_call), else_=None).label("old")).subquery()
    flags = []
    for k, m in enumerate(moments):
        last = book.c[f"l{k}"]
        inside = or_(last < m.before, *[and_(last >= start, last < end) for start, end in m.also])
        flags.append(func.sum(case((last.isnot(None), case((inside, 1), else_=0)),
                                   (book.c.first_purchase_on < m.first_deal_before, 1),
                                   (book.c.old.isnot(None), 1), else_=0)))
    return session.connection().execute(
        select(book.c.owner_id, book.c.tier, *flags).group_by(book.c.owner_id, book.c.tier)).all()


def churn_of_customers(session: Session, team_id: str, cutoff: dt.datetime, moments: Sequence[ChurnMoment],
                       customer_ids: Sequence[int]) -> dict[int, tuple]:
    """Per customer (a few: those with tickets): (owner_id, tier, first_purchase_on, last reaching call before
    each moment since `cutoff` or None, reached before `cutoff`) — per customer through the customer/time index."""
    old = exists().where(CallLog.customer_id == Customer.id, CallLog.called_at < cutoff,
                         CallLog.outcome != UNREACHABLE)
    out: dict[int, tuple] = {}
    ids = list(customer_ids)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        rows = session.connection().execute(
            select(Customer.id, Customer.owner_id, _tier(), Customer.first_purchase_on,
                   *[_last_before(cutoff, m.at) for m in moments],
                   case((old, literal(1)), else_=0))
            .where(Customer.team_id == team_id, Customer.id.in_(chunk))).all()
        for row in rows:
            n = len(moments)
            out[row[0]] = (row[1], row[2] or "ordinary", row[3], tuple(row[4:4 + n]), bool(row[4 + n]))
    return out


def churn_flag(moment: ChurnMoment, last: dt.datetime | None, first_deal: dt.date | None,
               reached_long_ago: bool) -> bool:
    """What churn_counts counts for one customer at `moment`, from churn_of_customers' row."""
    if last is not None:
        return last < moment.before or any(start <= last < end for start, end in moment.also)
    return (first_deal is not None and first_deal < moment.first_deal_before) or reached_long_ago


def callbacks_due_between(session: Session, team_id: str, start: dt.datetime, end: dt.datetime,
                          owner_id: str | None = None) -> Sequence[Row]:
    """(owner_id, tier, due_at, status, closed_at) of the team's callbacks due in [start, end), of one owner when
    `owner_id` is given."""
    return session.connection().execute(  # Core rows: no ORM loading for plain columns
        _CALLBACKS_DUE_OF_OWNER if owner_id is not None else _CALLBACKS_DUE,
        {"team": team_id, "start": start, "end": end, "owner": owner_id}).all()


_CALLBACKS_DUE = select(Callback.owner_id, _tier(), Callback.due_at, Callback.status, Callback.closed_at) \
    .join(Customer, Customer.id == Callback.customer_id) \
    .where(Callback.team_id == bindparam("team"), Callback.due_at >= bindparam("start"),
           Callback.due_at < bindparam("end"))
_CALLBACKS_DUE_OF_OWNER = _CALLBACKS_DUE.where(Callback.owner_id == bindparam("owner"))


def complaints_touching(session: Session, team_id: str, since: dt.datetime, end: dt.datetime) -> Sequence[Row]:
    """Complaints opened before `end` and opened or resolved since `since`, with the tier their SLA used:
    (id, customer_id, owner_id, tier, kind, severity, category, opened_at, first_response_at, resolved_at,
    withdrawn_at)."""
    return session.execute(
        select(Complaint.id, Complaint.customer_id, Complaint.owner_id,
               func.coalesce(ComplaintSla.tier, _tier()), Complaint.kind, Complaint.severity, Complaint.category,
               Complaint.opened_at, Complaint.first_response_at, Complaint.resolved_at, Complaint.withdrawn_at)
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


def save_team_insight(session: Session, team_id: str, thresholds: Mapping[str, int]) -> None:
    """The team's metric thresholds (bot.care.metric_periods.MetricSettings: name -> value)."""
    row = session.get(TeamInsight, team_id)
    if row is None:
        session.add(TeamInsight(team_id=team_id, **thresholds))
    else:
        for name, value in thresholds.items():
            setattr(row, name, value)


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
