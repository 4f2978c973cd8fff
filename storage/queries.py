"""Queries, each named for the question it answers. The only module (with migrations) that writes SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from functools import lru_cache

from sqlalchemy import Integer, Row, Select, and_, bindparam, case, delete, func, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.orm.base import instance_state
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.functions import FunctionElement

from storage import crypto
from storage.models import Callback, CallLog, Complaint, Customer, DigestPost, Staff, Team
from storage.privacy_models import CustomerSearchToken

# --- by primary key ----------------------------------------------------------------------------

# What session.get does, with statements built once: the object this unit of work holds already, else one query.
# session.get builds its SELECT and cache key at each call (~0.1 ms more); a request looks up its team and person,
# a logged call its customer too (issue 14).
_TEAM = select(Team).where(Team.id == bindparam("key"))
_STAFF = select(Staff).where(Staff.user_id == bindparam("key"))
_CUSTOMER = select(Customer).where(Customer.id == bindparam("key"))


def _by_key(session: Session, entity: type, key: object, statement: Select):
    """As session.get: an object held and loaded is returned as is; one expired (after a rollback) is read again,
    so a row deleted meanwhile gives None, not an object that fails when its attributes are read."""
    held = session.identity_map.get(identity_key(entity, key))
    if held is not None and not instance_state(held).expired:
        return held
    return session.scalars(statement, {"key": key}).one_or_none()


# --- teams -------------------------------------------------------------------------------------


def team_by_id(session: Session, team_id: str) -> Team | None:
    return _by_key(session, Team, team_id, _TEAM)


def ensure_team(session: Session, team_id: str) -> Team:
    team = _by_key(session, Team, team_id, _TEAM)
    if team is None:
        team = Team(id=team_id, name=team_id)
        session.add(team)
        session.flush()
    return team


def all_teams(session: Session) -> Sequence[Team]:
    return session.scalars(select(Team).order_by(Team.id)).all()


def teams_to_run(session: Session, team_id: str | None) -> Sequence[Team]:
    """The one team named (none if it does not exist), or every team: what a once-a-day job goes over."""
    if team_id is None:
        return all_teams(session)
    team = session.get(Team, team_id)
    return [team] if team is not None else []


# --- staff -------------------------------------------------------------------------------------


def staff_by_user(session: Session, user_id: str) -> Staff | None:
    return _by_key(session, Staff, user_id, _STAFF)


def staff_by_users(session: Session, user_ids: Collection[str]) -> Sequence[Staff]:
    """The registered people among `user_ids` (primary key lookups, one query)."""
    return session.scalars(select(Staff).where(Staff.user_id.in_(sorted(user_ids)))).all() if user_ids else []


def work_owned_in_team(session: Session, team_id: str, user_id: str) -> tuple[int, int, int]:
    """(customers, open callbacks, unresolved complaints) `user_id` owns in `team_id`'s book: what a person moved
    to another team leaves behind there."""
    customers = session.scalar(select(func.count()).select_from(Customer).where(
        Customer.team_id == team_id, Customer.owner_id == user_id, Customer.erased_at.is_(None)))
    callbacks = session.scalar(select(func.count()).select_from(Callback).where(
        Callback.team_id == team_id, Callback.owner_id == user_id, Callback.status == "open"))
    complaints = session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.team_id == team_id, Complaint.owner_id == user_id, Complaint.status != "resolved"))
    return int(customers or 0), int(callbacks or 0), int(complaints or 0)


def staff_of_team(session: Session, team_id: str) -> Sequence[Staff]:
    return session.scalars(select(Staff).where(Staff.team_id == team_id).order_by(Staff.user_id)).all()


# --- customers ---------------------------------------------------------------------------------


def customer_by_id(session: Session, team_id: str, customer_id: int) -> Customer | None:
    customer = _by_key(session, Customer, customer_id, _CUSTOMER)
    return customer if customer is not None and customer.team_id == team_id else None


def customer_by_code(session: Session, team_id: str, code: str) -> Customer | None:
    return session.scalars(
        select(Customer).where(Customer.team_id == team_id, Customer.code == code)
    ).one_or_none()


def customer_by_phone(session: Session, team_id: str, e164: str) -> Customer | None:
    """The team's customer with this phone (E.164), through its keyed hash; the oldest if several."""
    hashes = crypto.keyring().tokens("phone", e164)
    return session.scalars(select(Customer).where(Customer.team_id == team_id, Customer.phone_hash.in_(hashes))
                           .order_by(Customer.id).limit(1)).first()


def customer_by_email(session: Session, team_id: str, email: str) -> Customer | None:
    """The team's customer with this email (case-insensitive), through its keyed hash; the oldest if several."""
    hashes = crypto.keyring().tokens("email", crypto.normal_email(email))
    return session.scalars(select(Customer).where(Customer.team_id == team_id, Customer.email_hash.in_(hashes))
                           .order_by(Customer.id).limit(1)).first()


def customers_matching(session: Session, team_id: str, query: str, limit: int,
                       owners: Sequence[str] | None = None) -> Sequence[Customer]:
    """Customers whose code starts with the query (codes are kept in clear), then those whose name contains
    it (through the blind index of name pieces, confirmed on the decrypted name); erased ones never.
    `owners`: only customers owned by one of them or by nobody (None: any owner)."""
    query = query.strip()
    live = select(Customer).where(Customer.team_id == team_id, Customer.erased_at.is_(None))
    if owners is not None:
        live = live.where(or_(Customer.owner_id.in_(list(owners)), Customer.owner_id.is_(None)))
    if not query:
        return session.scalars(live.order_by(Customer.code).limit(limit)).all()
    found: dict[int, Customer] = {}
    for prefix in dict.fromkeys((query, query.upper())):  # the unique (team, code) index serves a range
        for customer in session.scalars(live.where(Customer.code >= prefix, Customer.code < prefix + "\U0010ffff")
                                        .order_by(Customer.code).limit(limit)):
            found.setdefault(customer.id, customer)
    grams, wanted = crypto.query_grams(query), crypto.normal_name(query)
    for key in crypto.keyring().keys:  # the current key, and earlier ones while a rotation runs
        if len(found) >= limit or not grams:
            break
        tokens = [key.token(f"name:{team_id}", gram) for gram in grams]
        ids = (select(CustomerSearchToken.customer_id)
               .where(CustomerSearchToken.team_id == team_id, CustomerSearchToken.token.in_(tokens))
               .group_by(CustomerSearchToken.customer_id)
               .having(func.count(CustomerSearchToken.token) == len(tokens)))
        offset, page = 0, max(limit * 2, 20)
        while len(found) < limit:
            batch = session.scalars(live.where(Customer.id.in_(ids)).order_by(Customer.code)
                                    .offset(offset).limit(page)).all()
            for customer in batch:
                if customer.id not in found and wanted in crypto.normal_name(customer.name):
                    found[customer.id] = customer
                    if len(found) >= limit:
                        break
            if len(batch) < page:
                break
            offset += page
    return list(found.values())[:limit]


def customer_codes_of_team(session: Session, team_id: str) -> set[str]:
    return set(session.scalars(select(Customer.code).where(Customer.team_id == team_id)))


# --- callbacks ---------------------------------------------------------------------------------


# Plain rows (not entities) for the queue and the morning list: a busy agent has thousands of open callbacks
# and building ORM objects for them costs most of the request (see bench/bench_due.py).
_QUEUE_COLUMNS = (Callback.id, Callback.owner_id, Callback.kind, Callback.due_at, Callback.attempts, Callback.rule,
                  Callback.params, Customer.id.label("customer_id"), Customer.code, Customer.name, Customer.phone)


def open_callbacks_of_owner_due_before(session: Session, team_id: str, owner_id: str,
                                       before: dt.datetime, segment: tuple[str, str] | None = None, offset: int = 0,
                                       limit: int | None = None) -> Sequence[Row]:
    """The owner's open callbacks in `team_id`'s book due before `before`, by due time: all of them, or the
    `limit` rows after `offset` (a page). `segment` = ("tier" | "activity" | "lifecycle", value) keeps only
    customers in it. Only the team's: a person moved to another team never sees their old team's book."""
    stmt = _queue_statement(segment[0] if segment else None, bool(offset), limit is not None)
    return session.execute(stmt, {"team": team_id, "owner": owner_id, "before": before,
                                  "segment": segment[1] if segment else None, "skip": offset, "rows": limit}).all()


@lru_cache(maxsize=16)
def _queue_statement(segment_field: str | None, paged_from: bool, limited: bool) -> Select:
    """A queue's page, built once per shape (the App Home, /care due: issue 14)."""
    stmt = (select(*_QUEUE_COLUMNS).join(Customer, Customer.id == Callback.customer_id)
            .where(Callback.owner_id == bindparam("owner"), Callback.status == "open",
                   Callback.due_at < bindparam("before"), Callback.team_id == bindparam("team")))
    if segment_field:
        stmt = stmt.where(getattr(Customer, f"segment_{segment_field}") == bindparam("segment"))
    stmt = stmt.order_by(Callback.due_at, Callback.id)
    if paged_from:
        stmt = stmt.offset(bindparam("skip", type_=Integer))
    if limited:
        stmt = stmt.limit(bindparam("rows", type_=Integer))
    return stmt


def count_open_callbacks_of_owner_due_before(session: Session, team_id: str, owner_id: str,
                                             before: dt.datetime, late_before: dt.datetime,
                                             segment: tuple[str, str] | None = None) -> tuple[int, int]:
    """(how many of the owner's open callbacks are due before `before`, how many of them before `late_before`):
    the counts of a queue without loading its rows (index ix_callback_owner_open_due covers it)."""
    stmt = _queue_count_statement(segment[0] if segment else None)
    total, overdue = session.execute(stmt, {"team": team_id, "owner": owner_id, "before": before,
                                            "late_before": late_before,
                                            "segment": segment[1] if segment else None}).one()
    return int(total or 0), int(overdue or 0)


@lru_cache(maxsize=4)
def _queue_count_statement(segment_field: str | None) -> Select:
    late = func.coalesce(func.sum(case((Callback.due_at < bindparam("late_before", type_=Callback.due_at.type), 1),
                                       else_=0)), 0)
    stmt = select(func.count(), late).select_from(Callback).where(
        Callback.owner_id == bindparam("owner"), Callback.status == "open", Callback.due_at < bindparam("before"),
        Callback.team_id == bindparam("team"))
    if segment_field:
        stmt = stmt.join(Customer, Customer.id == Callback.customer_id) \
            .where(getattr(Customer, f"segment_{segment_field}") == bindparam("segment"))
    return stmt


def open_callbacks_of_team_due_before(session: Session, team_id: str, before: dt.datetime) -> Sequence[Row]:
    return session.execute(
        select(*_QUEUE_COLUMNS).join(Customer, Customer.id == Callback.customer_id)
        .where(Callback.team_id == team_id, Callback.status == "open", Callback.due_at < before)
        .order_by(Callback.owner_id, Callback.due_at, Callback.id)
    ).all()


class unindexed(FunctionElement):
    """The column itself, but on SQLite as `+column`, which SQLite's planner never serves from an index (its
    documented way to steer a plan): a range on it then filters the rows of the index the query should read."""

    inherit_cache = True

    def __init__(self, column) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw) -> str:
    return "+" + compiler.process(element.clauses, **kw)


def due_callback_counts_of_each_owner(session: Session, team_id: str, before: dt.datetime,
                                      late_before: dt.datetime) -> dict[str | None, tuple[int, int]]:
    """Of the team's open callbacks due before `before`: owner (None: unassigned) -> (how many, how many of them
    due before `late_before`). The morning list's counts, read from index ix_callback_team_owner_open_due alone
    (it holds every column asked: no table row is read, 75,000 due rows of 200 owners take ~20 ms on SQLite).
    On SQLite the due range filters that index (`unindexed`): with the table's statistics its planner would
    otherwise skip-scan the owner index and read every due row from the table (3-4× slower)."""
    late = func.sum(case((Callback.due_at < late_before, 1), else_=0))
    rows = session.execute(
        select(Callback.owner_id, func.count(), late)
        .where(Callback.team_id == team_id, Callback.status == "open", unindexed(Callback.due_at) < before)
        .group_by(Callback.owner_id)
    ).all()
    return {owner: (int(due), int(overdue or 0)) for owner, due, overdue in rows}


def first_due_callbacks_of_owners(session: Session, team_id: str, owners: Sequence[str | None],
                                  before: dt.datetime, per_owner: int) -> Sequence[Row]:
    """The morning list's rows: of each of `owners` (None: the unassigned) the first `per_owner` open callbacks
    due before `before`, by due time; ordered by owner, due time, id. Each row has the callback's columns and
    its customer's id, code and name, not the phone (a morning list is a channel post and shows none). One
    statement of one short probe per owner of index ix_callback_team_owner_open_due: the 43 people a list
    shows read 645 rows, whatever the team's due rows number."""
    if not owners:
        return []
    owners = list(dict.fromkeys(owners))
    values = {f"owner_{n}": owner for n, owner in enumerate(owners) if owner is not None}
    statement = _first_due_of_owners(len(owners), owners.index(None) if None in owners else -1)
    return session.execute(statement, {"team_id": team_id, "before": before, "per_owner": per_owner, **values}).all()


@lru_cache(maxsize=64)
def _first_due_of_owners(count: int, unassigned_at: int):
    """The statement of first_due_callbacks_of_owners for `count` owners, the one at `unassigned_at` (if any)
    None, values bound by name: built once per shape (a union of 45 parts takes SQLAlchemy ~20 ms to build)."""
    firsts = []
    for n in range(count):
        whose = Callback.owner_id.is_(None) if n == unassigned_at else Callback.owner_id == bindparam(f"owner_{n}")
        first = (select(Callback.id)
                 .where(Callback.team_id == bindparam("team_id"), Callback.status == "open", whose,
                        Callback.due_at < bindparam("before", type_=Callback.due_at.type))
                 .order_by(Callback.due_at, Callback.id).limit(bindparam("per_owner")).subquery())
        firsts.append(select(first.c.id))  # SQLite takes no LIMIT inside a UNION's part: each is a subquery
    chosen = union_all(*firsts).subquery() if count > 1 else firsts[0].subquery()
    return (select(Callback.id, Callback.owner_id, Callback.kind, Callback.due_at, Callback.attempts, Callback.rule,
                   Callback.params, Customer.id.label("customer_id"), Customer.code, Customer.name)
            .join(Customer, Customer.id == Callback.customer_id)
            .where(Callback.id.in_(select(chosen.c.id)))
            .order_by(Callback.owner_id, Callback.due_at, Callback.id))


# A logged call's statements are built once (bound parameters): neither built nor given a cache key again at each
# execution, about half of what one costs (issue 14; storage/plan_queries.py does the same).
_CALLBACK = select(Callback).where(Callback.id == bindparam("cb"), Callback.team_id == bindparam("team"))
_CALLBACK_WITH_CUSTOMER = _CALLBACK.options(joinedload(Callback.customer))
_OPEN_CALLBACKS_OF_CUSTOMER = select(Callback) \
    .where(Callback.customer_id == bindparam("cu"), Callback.status == "open").order_by(Callback.due_at, Callback.id)
_OPEN_CALLBACK_OF_KIND = select(Callback).where(Callback.customer_id == bindparam("cu"),
                                                Callback.kind == bindparam("kind"), Callback.status == "open")


def callback_by_id(session: Session, team_id: str, callback_id: int, with_customer: bool = True) -> Callback | None:
    """The team's callback; `with_customer`: its customer read along (one query)."""
    return session.scalars(_CALLBACK_WITH_CUSTOMER if with_customer else _CALLBACK,
                           {"cb": callback_id, "team": team_id}).one_or_none()


def open_callback_of_kind(session: Session, customer_id: int, kind: str) -> Callback | None:
    return session.scalars(_OPEN_CALLBACK_OF_KIND, {"cu": customer_id, "kind": kind}).one_or_none()


def open_callbacks_of_customer(session: Session, customer_id: int) -> Sequence[Callback]:
    """The customer's open callbacks, soonest first (the customer card; which one a call closes)."""
    return session.scalars(_OPEN_CALLBACKS_OF_CUSTOMER, {"cu": customer_id}).all()


def open_complaints_of_customer(session: Session, customer_id: int) -> Sequence[Complaint]:
    """The customer's complaints not yet resolved, oldest first (the customer card)."""
    return session.scalars(select(Complaint).where(Complaint.customer_id == customer_id,
                                                   Complaint.status != "resolved")
                           .order_by(Complaint.opened_at, Complaint.id)).all()


def call_logs_of_customer(session: Session, customer_id: int) -> Sequence[CallLog]:
    return session.scalars(
        select(CallLog).where(CallLog.customer_id == customer_id).order_by(CallLog.called_at)
    ).all()


# --- complaints --------------------------------------------------------------------------------


def open_complaints_of_owner(session: Session, team_id: str, owner_id: str) -> Sequence[Complaint]:
    """The person's queue's complaints in `team_id`'s book with their customers, without the texts a queue row
    never shows (they are sealed: each would be decrypted for nothing; reading one raises)."""
    return session.scalars(_OPEN_COMPLAINTS_OF_OWNER, {"team": team_id, "owner": owner_id}).all()


_OPEN_COMPLAINTS_OF_OWNER = select(Complaint).options(
    joinedload(Complaint.customer).options(*(defer(column, raiseload=True)
                                             for column in (Customer.email, Customer.birthday))),
    *(defer(column, raiseload=True) for column in (Complaint.description, Complaint.resolution))) \
    .where(Complaint.owner_id == bindparam("owner"), Complaint.status != "resolved",
           Complaint.team_id == bindparam("team"))


def open_complaints_of_team(session: Session, team_id: str) -> Sequence[Complaint]:
    return session.scalars(
        select(Complaint).options(joinedload(Complaint.customer))
        .where(Complaint.team_id == team_id, Complaint.status != "resolved")
    ).all()


def complaints_of_team_past_a_due_time(session: Session, team_id: str, now: dt.datetime) -> Sequence[Complaint]:
    """Unresolved complaints with a due time (first response not yet given, or resolution) before `now`: the few
    of the team's open complaints the past-SLA rule (bot/care/due.py overdue_clock) has to look at."""
    return session.scalars(
        select(Complaint).options(joinedload(Complaint.customer))
        .where(Complaint.team_id == team_id, Complaint.status != "resolved",
               or_(and_(Complaint.first_response_at.is_(None), Complaint.first_response_due_at < now),
                   Complaint.resolution_due_at < now))
    ).all()


# --- the morning list --------------------------------------------------------------------------


def claim_digest(session: Session, team_id: str, channel: str, local_date: dt.date, now: dt.datetime) -> bool:
    """Take the one right to post this channel's list for this day; False if someone already has it."""
    try:
        with session.begin_nested():
            session.add(DigestPost(team_id=team_id, channel=channel, local_date=local_date, claimed_at=now))
    except IntegrityError:
        return False
    return True


def record_digest_ts(session: Session, channel: str, local_date: dt.date, ts: str) -> None:
    session.execute(update(DigestPost).where(DigestPost.channel == channel, DigestPost.local_date == local_date)
                    .values(message_ts=ts))


def release_digest_claim(session: Session, channel: str, local_date: dt.date) -> None:
    session.execute(delete(DigestPost).where(DigestPost.channel == channel, DigestPost.local_date == local_date,
                                             DigestPost.message_ts.is_(None)))


def digest_posts_count(session: Session, channel: str, local_date: dt.date) -> int:
    return session.scalar(select(func.count()).select_from(DigestPost)
                          .where(DigestPost.channel == channel, DigestPost.local_date == local_date)) or 0
