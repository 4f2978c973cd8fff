"""Queries of the care plan (issue 3): team rules overrides, nightly run claims, what planning reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Row, bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Callback, CallLog, Complaint, Customer, PlanRun, Staff, TeamRules

# --- the team's rules ----------------------------------------------------------------------------


def team_rules(session: Session, team_id: str) -> TeamRules | None:
    return session.get(TeamRules, team_id)


RULES_VERSION_SEEN = "carebot.team_rules_version"  # session.info: team id -> the version this unit of work read


# The request path's statements are built once (module level, bound parameters): SQLAlchemy then neither builds
# the statement nor computes its cache key at each execution — about half of what one costs (issue 14).
_RULES_VERSION = select(TeamRules.version).where(TeamRules.team_id == bindparam("team"))


def team_rules_version(session: Session, team_id: str) -> int:
    """0 when the team runs on the shipped defaults."""
    return session.scalar(_RULES_VERSION, {"team": team_id}) or 0


def store_team_rules(session: Session, team_id: str, yaml_text: str, set_by: str | None,
                     now: dt.datetime) -> TeamRules:
    row = session.get(TeamRules, team_id)
    if row is None:
        row = TeamRules(team_id=team_id, yaml_text=yaml_text, set_by=set_by, set_at=now, version=1)
        session.add(row)
    else:
        row.yaml_text, row.set_by, row.set_at, row.version = yaml_text, set_by, now, row.version + 1
    session.flush()
    session.info.get(RULES_VERSION_SEEN, {}).pop(team_id, None)
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


def finish_plan_run(session: Session, team_id: str, local_date: dt.date, now: dt.datetime) -> None:
    """The run is done (`created` was counted batch by batch, `plan_run_progress`)."""
    session.execute(update(PlanRun).where(PlanRun.team_id == team_id, PlanRun.local_date == local_date)
                    .values(finished_at=now))


def release_plan_run(session: Session, team_id: str, local_date: dt.date) -> None:
    session.execute(delete(PlanRun).where(PlanRun.team_id == team_id, PlanRun.local_date == local_date,
                                          PlanRun.finished_at.is_(None)))


def plan_runs_count(session: Session, team_id: str, local_date: dt.date) -> int:
    return session.scalar(select(func.count()).select_from(PlanRun)
                          .where(PlanRun.team_id == team_id, PlanRun.local_date == local_date)) or 0


# --- what planning reads -------------------------------------------------------------------------


def customers_of_team(session: Session, team_id: str) -> Sequence[Customer]:
    return session.scalars(select(Customer).where(Customer.team_id == team_id).order_by(Customer.id)).all()


def callbacks_of_team(session: Session, team_id: str) -> Sequence[Callback]:
    """Every callback, open or closed: closed ones still hold their dedupe key."""
    return session.scalars(select(Callback).where(Callback.team_id == team_id)
                           .order_by(Callback.customer_id, Callback.id)).all()


def tickets_since(session: Session, team_id: str, since: dt.datetime) -> Sequence[tuple[int, dt.datetime]]:
    """(customer id, opened at) of complaints and inquiries opened since `since`."""
    stmt = select(Complaint.customer_id, Complaint.opened_at).where(
        Complaint.team_id == team_id, Complaint.opened_at >= since, Complaint.kind.in_(("complaint", "inquiry")))
    return [(cid, at) for cid, at in session.execute(stmt)]


def complaints_resolved_since(session: Session, team_id: str, since: dt.datetime
                              ) -> Sequence[tuple[int, int, dt.datetime]]:
    """(customer id, complaint id, resolved at) of the team's complaints resolved since `since`."""
    stmt = select(Complaint.customer_id, Complaint.id, Complaint.resolved_at).where(
        Complaint.team_id == team_id, Complaint.resolved_at >= since)
    return [(cid, complaint_id, at) for cid, complaint_id, at in session.execute(stmt)]


def last_calls(session: Session, team_id: str) -> dict[int, dt.datetime]:
    """Each customer's latest call where the customer was reached."""
    stmt = select(CallLog.customer_id, func.max(CallLog.called_at)).where(
        CallLog.team_id == team_id, CallLog.outcome != "unreachable").group_by(CallLog.customer_id)
    return {cid: _aware(at) for cid, at in session.execute(stmt) if at is not None}


def reached_calls_since(session: Session, team_id: str, since: dt.datetime) -> dict[int, int]:
    """Contacts made (reached calls) per customer since `since`."""
    stmt = select(CallLog.customer_id, func.count()).where(
        CallLog.team_id == team_id, CallLog.called_at >= since, CallLog.outcome != "unreachable"
    ).group_by(CallLog.customer_id)
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


# --- planning in batches (bot/services/plan_batches.py): plain rows of a few thousand customers at a time ---

_PLANNED_COLUMNS = (Customer.id, Customer.code, Customer.owner_id, Customer.annual_spend, Customer.tier,
                    Customer.first_purchase_on, Customer.last_contact_at, Customer.birthday, Customer.consent,
                    Customer.tags, Customer.needs_follow_up, Customer.phone, Customer.email, Customer.company)


# SQLite keeps each distinct statement text it ran prepared, 128 per connection (Python's sqlite3 cache): an
# IN list of 1,500 ids is ~0.2 MB prepared, an INSERT of 450 rows ~0.4 MB. Lists whose length changes with each
# batch made the nightly plan of 100,000 customers grow the bot by ~35 MB (issue 14); padded to a power of two
# (the last id repeated, which an IN ignores), and inserted in chunks of few sizes, they take ~12 shapes.
def _few_shapes(ids: Sequence[int]) -> list[int]:
    ids = list(ids)
    if not ids:
        return ids
    return ids + [ids[-1]] * ((1 << (len(ids) - 1).bit_length()) - len(ids))


def _chunk_sizes(count: int, largest: int = 500) -> list[int]:
    """`count` rows as chunks of `largest`, then of the powers of two that make up the rest (900 -> 500, 256,
    128, 16)."""
    sizes = [largest] * (count // largest)
    rest = count % largest
    sizes += [1 << bit for bit in reversed(range(rest.bit_length())) if rest & (1 << bit)]
    return sizes


def customers_after(session: Session, team_id: str, after_id: int, limit: int) -> Sequence[Row]:
    """The next `limit` customers of the team by id after `after_id` (keyset pagination on the primary key),
    as rows of what planning reads, not ORM objects."""
    return session.execute(select(*_PLANNED_COLUMNS).where(Customer.team_id == team_id, Customer.id > after_id)
                           .order_by(Customer.id).limit(limit)).all()


_IDS = bindparam("ids", expanding=True)
_CUSTOMERS_AMONG = select(*_PLANNED_COLUMNS).where(Customer.team_id == bindparam("team"), Customer.id.in_(_IDS)) \
    .order_by(Customer.id)


def customers_among(session: Session, team_id: str, customer_ids: Sequence[int]) -> Sequence[Row]:
    return session.execute(_CUSTOMERS_AMONG, {"team": team_id, "ids": _few_shapes(customer_ids)}).all()


def spends_of_team(session: Session, team_id: str) -> Sequence[tuple[Decimal | None, str]]:
    """(annual spend, stated tier) of every customer: what a top-percent tier ranks."""
    return session.execute(select(Customer.annual_spend, Customer.tier).where(Customer.team_id == team_id)).all()


_TICKETS_OF = select(Complaint.customer_id, Complaint.opened_at).where(
    Complaint.customer_id.in_(_IDS), Complaint.opened_at >= bindparam("since"),
    Complaint.kind.in_(("complaint", "inquiry")))
_REACHED_CALLS_OF = select(CallLog.customer_id, func.max(CallLog.called_at),
                           func.count(case((CallLog.called_at >= bindparam("since"), 1)))).where(
    CallLog.customer_id.in_(_IDS), CallLog.outcome != "unreachable").group_by(CallLog.customer_id)
_CALLBACKS_OF = select(Callback.customer_id, Callback.kind, Callback.due_at, Callback.status, Callback.dedupe_key) \
    .where(Callback.customer_id.in_(_IDS)).order_by(Callback.customer_id, Callback.id)


def tickets_of(session: Session, customer_ids: Sequence[int], since: dt.datetime) -> Sequence[tuple[int, dt.datetime]]:
    """`tickets_since` for these customers (index ix_complaint_customer_opened)."""
    return session.execute(_TICKETS_OF, {"ids": _few_shapes(customer_ids), "since": since}).all()


def reached_calls_of(session: Session, customer_ids: Sequence[int], since: dt.datetime
                     ) -> tuple[dict[int, dt.datetime], dict[int, int]]:
    """`last_calls` and `reached_calls_since` for these customers, in one pass over their reached calls (index
    ix_call_log_customer_called): (customer id -> latest reached call, customer id -> reached calls since)."""
    last: dict[int, dt.datetime] = {}
    since_count: dict[int, int] = {}
    for cid, at, recent in session.execute(_REACHED_CALLS_OF, {"ids": _few_shapes(customer_ids), "since": since}):
        if at is not None:
            last[cid] = _aware(at)
        if recent:
            since_count[cid] = recent
    return last, since_count


def callbacks_of(session: Session, customer_ids: Sequence[int]) -> Sequence[Row]:
    """Every callback of these customers, open or closed (customer_id, kind, due_at, status, dedupe_key)."""
    return session.execute(_CALLBACKS_OF, {"ids": _few_shapes(customer_ids)}).all()


def insert_callbacks(session: Session, rows: Sequence[dict]) -> list[tuple[int, str | None]]:
    """Insert planned callbacks in one statement per 500, the rest in chunks of 256, 128 … 1 (few statement
    shapes: see _few_shapes); one that exists already (its dedupe key, or an open one of its kind) is skipped by
    the database (ON CONFLICT DO NOTHING). (id, owner) of those inserted."""
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    created: list[tuple[int, str | None]] = []
    start = 0
    for size in _chunk_sizes(len(rows)):
        created += session.execute(insert(Callback).values(list(rows[start:start + size])).on_conflict_do_nothing()
                                   .returning(Callback.id, Callback.owner_id)).all()
        start += size
    return sorted(created)


def close_open_callbacks_of_customers(session: Session, customer_ids: Sequence[int], kind: str, status: str,
                                      now: dt.datetime) -> set[str | None]:
    """`close_open_callbacks_of_kind` for many customers in one statement; the owners of those closed. On the
    table: callback objects this unit of work holds are not refreshed (planning reads plain rows, not them)."""
    if not customer_ids:
        return set()
    session.flush()  # what the unit of work changed is in the database before the UPDATE looks
    return set(session.connection().scalars(_CLOSE_OPEN_OF_KIND, {"ids": _few_shapes(customer_ids), "of_kind": kind,
                                                     "new_status": status, "closed": now}))


_CALLBACKS = Callback.__table__
_CLOSE_OPEN_OF_KIND = update(_CALLBACKS).where(
    _CALLBACKS.c.customer_id.in_(_IDS), _CALLBACKS.c.kind == bindparam("of_kind"), _CALLBACKS.c.status == "open") \
    .values(status=bindparam("new_status"), closed_at=bindparam("closed", type_=_CALLBACKS.c.closed_at.type)) \
    .returning(_CALLBACKS.c.owner_id)


_CUSTOMERS = Customer.__table__
_REMEMBER_SEGMENTS = update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("cid")).values(
    segment_tier=bindparam("s_tier"), segment_activity=bindparam("s_activity"),
    segment_lifecycle=bindparam("s_lifecycle"), segmented_at=bindparam("s_at", type_=_CUSTOMERS.c.segmented_at.type))


def remember_segments(session: Session, rows: Sequence[dict]) -> None:
    """Store each customer's segments ({id, tier, activity, lifecycle, at}): one statement (executemany), built
    once (a logged call runs it for its customer)."""
    if rows:
        session.connection().execute(_REMEMBER_SEGMENTS, [
            {"cid": r["id"], "s_tier": r["tier"], "s_activity": r["activity"], "s_lifecycle": r["lifecycle"],
             "s_at": r["at"]} for r in rows])


def plan_run_progress(session: Session, team_id: str, local_date: dt.date, through: int, created: int,
                      now: dt.datetime) -> None:
    """The run planned every customer up to id `through`; `claimed_at` is its heartbeat."""
    session.execute(update(PlanRun).where(PlanRun.team_id == team_id, PlanRun.local_date == local_date)
                    .values(planned_through=through, created=PlanRun.created + created, claimed_at=now))


def take_over_plan_run(session: Session, team_id: str, local_date: dt.date, stale_before: dt.datetime,
                       now: dt.datetime) -> int | None:
    """A run claimed but unfinished and silent since `stale_before` (its process died) is taken over: the id
    it planned through, to go on after; None when there is none to take."""
    taken = session.execute(update(PlanRun).where(
        PlanRun.team_id == team_id, PlanRun.local_date == local_date, PlanRun.finished_at.is_(None),
        PlanRun.claimed_at < stale_before).values(claimed_at=now)).rowcount
    if taken != 1:
        return None
    return session.scalar(select(PlanRun.planned_through).where(PlanRun.team_id == team_id,
                                                                PlanRun.local_date == local_date)) or 0


def customer_of_complaint(session: Session, complaint_id: int) -> Complaint | None:
    return session.get(Complaint, complaint_id)


def _aware(moment: dt.datetime) -> dt.datetime:
    # func.max() bypasses the column type on SQLite: the naive UTC value comes back as it is stored.
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
