"""The caller's queue (/care due) and each team's morning list."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property

from sqlalchemy import Row

from bot.care.calendar import WorkCalendar
from bot.care.due import CustomerRef, OpenCallback, OpenComplaint, QueueItem, build_queue, end_of_local_day
from bot.services.core import Services
from bot.services.errors import CareError
from bot.services.people import Actor
from storage import queries, sla_queries
from storage.models import Complaint, Customer, Team


@dataclass(frozen=True)
class Queue:
    """One window of a person's queue: `items` are the rows from position `first` on (all of them unless a
    limit was asked); the counts are of the whole queue."""

    items: list[QueueItem]
    now: dt.datetime
    timezone: str
    total: int = -1  # -1: the items are the whole queue
    overdue_count: int = -1
    complaint_count: int = -1
    first: int = 0

    def __post_init__(self) -> None:
        if self.total < 0:  # built from the whole queue: count it
            object.__setattr__(self, "total", len(self.items))
            object.__setattr__(self, "overdue_count", sum(1 for item in self.items if item.overdue))
            object.__setattr__(self, "complaint_count", sum(1 for item in self.items if item.is_complaint))


@dataclass(frozen=True)
class AgentQueue:
    """One person's part of a morning list: the first `items` and the counts of all of it."""

    user_id: str
    items: list[QueueItem]
    count: int = -1  # -1: the items are all of it
    overdue: int = -1
    complaints: int = -1

    def __post_init__(self) -> None:
        if self.count < 0:
            object.__setattr__(self, "count", len(self.items))
            object.__setattr__(self, "overdue", sum(1 for item in self.items if item.overdue))
            object.__setattr__(self, "complaints", sum(1 for item in self.items if item.is_complaint))


@dataclass(frozen=True)
class MorningList:
    """A team's morning list. `agents`: every person with something due, the most overdue first, each with the
    counts of all of it; the items of those a list shows (see morning_list), none for the others."""

    team_id: str
    channel: str | None
    local_date: dt.date
    now: dt.datetime
    timezone: str
    locale: str
    agents: list[AgentQueue] = field(default_factory=list)
    unassigned: list[QueueItem] = field(default_factory=list)  # the first ones shown
    audience: str = "team"  # "team": the whole team's list; "supervisors": only what supervisors own
    unassigned_count: int = -1  # -1: `unassigned` is all of it
    unassigned_overdue: int = -1
    unassigned_complaints: int = -1
    supervisors: frozenset[str] = frozenset()  # the team's supervisors and admins (their own list)
    supervisor_channel: str | None = None

    def __post_init__(self) -> None:
        if self.unassigned_count < 0:
            object.__setattr__(self, "unassigned_count", len(self.unassigned))
            object.__setattr__(self, "unassigned_overdue", sum(1 for i in self.unassigned if i.overdue))
            object.__setattr__(self, "unassigned_complaints", sum(1 for i in self.unassigned if i.is_complaint))

    # counted once per list (a template reads them several times), from the per-person counts
    @cached_property
    def total(self) -> int:
        return sum(a.count for a in self.agents) + self.unassigned_count

    @cached_property
    def overdue(self) -> int:
        return sum(a.overdue for a in self.agents) + self.unassigned_overdue

    @cached_property
    def complaints(self) -> int:
        return sum(a.complaints for a in self.agents) + self.unassigned_complaints


def _customer_ref(customer: Customer) -> CustomerRef:
    return CustomerRef(id=customer.id, code=customer.code, name=customer.name, phone=customer.phone)


def as_open_callback(row: Row) -> OpenCallback:
    """From a queue row of storage.queries (callback columns plus customer_id, code, name, phone)."""
    customer = CustomerRef(id=row.customer_id, code=row.code, name=row.name, phone=row.phone)
    return OpenCallback(id=row.id, customer=customer, owner_id=row.owner_id, kind=row.kind, due_at=row.due_at,
                        attempts=row.attempts, rule=row.rule, params=dict(row.params or {}))


def as_open_complaint(row: Complaint) -> OpenComplaint:
    return OpenComplaint(id=row.id, customer=_customer_ref(row.customer), owner_id=row.owner_id, kind=row.kind,
                         severity=row.severity, first_response_due_at=row.first_response_due_at,
                         first_response_at=row.first_response_at, resolution_due_at=row.resolution_due_at,
                         paused=row.status == "waiting")


# words a person may type after `/care due` -> (segment field, value)
SEGMENT_WORDS: dict[str, tuple[str, str]] = {
    **{w: ("tier", "high_value") for w in ("high_value", "vip", "高价值")},
    **{w: ("tier", "potential") for w in ("potential", "潜力")},
    **{w: ("tier", "ordinary") for w in ("ordinary", "普通")},
    **{w: ("activity", "active") for w in ("active", "活跃")},
    **{w: ("activity", "silent") for w in ("silent", "沉默", "沉睡")},
    **{w: ("activity", "churn_risk") for w in ("churn_risk", "churn", "流失风险", "流失")},
    **{w: ("lifecycle", "prospect") for w in ("prospect", "潜在")},
    **{w: ("lifecycle", "new") for w in ("new", "新成交", "新客户")},
    **{w: ("lifecycle", "existing") for w in ("existing", "老客户")},
}


def parse_segment(text: str) -> tuple[str, str] | None:
    """`vip`, `流失风险`, `new` … -> ("tier", "high_value") …; empty text -> no filter."""
    word = text.strip().lower()
    if not word:
        return None
    if word not in SEGMENT_WORDS:
        choices = ", ".join(w for w in SEGMENT_WORDS if w.isascii())
        raise CareError("segment.bad", value=text.strip(), choices=choices)
    return SEGMENT_WORDS[word]


def my_queue(svc: Services, actor: Actor, segment: tuple[str, str] | None = None, *, first: int = 0,
             limit: int | None = None) -> Queue:
    """The person's queue, most urgent first (overdue complaints, then callbacks by due time): the whole of it,
    or `limit` rows from position `first` (clamped to the last row) with the counts of the whole queue. A page
    loads only its own rows: an agent with thousands of items costs the same as one with twenty."""
    with svc.db.unit_of_work() as session:
        return queue_in(svc, session, queries.ensure_team(session, actor.team_id), actor, svc.clock.now(), segment,
                        first=first, limit=limit)


def queue_in(svc: Services, session, team: Team, actor: Actor, now: dt.datetime,
             segment: tuple[str, str] | None = None, *, first: int = 0, limit: int | None = None) -> Queue:
    """`my_queue` read in the caller's unit of work (the App Home reads my week in the same one)."""
    calendar = svc.calendar_for(team)
    horizon = end_of_local_day(now, calendar)
    complaints = queries.open_complaints_of_owner(session, team.id, actor.user_id)
    if segment:
        field, value = segment
        complaints = [c for c in complaints if getattr(c.customer, f"segment_{field}") == value]
    late_complaints = _with_clock_lateness(
        svc, session, team, build_queue((), map(as_open_complaint, complaints), now, calendar), complaints, now)
    if limit is None:
        callbacks = queries.open_callbacks_of_owner_due_before(session, team.id, actor.user_id, horizon, segment)
        items = build_queue(map(as_open_callback, callbacks), (), now, calendar)
        return Queue(items=late_complaints + items, now=now, timezone=team.timezone)
    due, late = queries.count_open_callbacks_of_owner_due_before(session, team.id, actor.user_id, horizon, now, segment)
    total = len(late_complaints) + due
    first = max(0, min(first, total - 1))
    shown = late_complaints[first:first + limit]
    skip = max(0, first - len(late_complaints))
    callbacks = queries.open_callbacks_of_owner_due_before(session, team.id, actor.user_id, horizon, segment,
                                                           offset=skip, limit=limit - len(shown)) \
        if len(shown) < limit else ()
    items = shown + build_queue(map(as_open_callback, callbacks), (), now, calendar)
    return Queue(items=items, now=now, timezone=team.timezone, total=total,
                 overdue_count=len(late_complaints) + late, complaint_count=len(late_complaints), first=first)


def _with_clock_lateness(svc: Services, session, team: Team, items: list[QueueItem], complaints, now: dt.datetime
                         ) -> list[QueueItem]:
    """Each overdue complaint's lateness in its clock's own time (working time for a business-hours clock),
    so the queue and the morning list say it as the escalation post does (issue 10 §4)."""
    from bot.services.sla_clocks import _tier, clocks_of

    by_id = {c.id: c for c in complaints}
    late = [item.item.id for item in items if item.is_complaint and item.clock]
    tiers = sla_queries.tiers_of_complaints(session, late)  # their SLA rows and pauses: one query each
    pauses = sla_queries.pauses_of_complaints(session, late)
    rules = svc.sla_rules_for(team) if late else None
    out = []
    for item in items:
        if item.is_complaint and item.clock:
            complaint = by_id[item.item.id]
            tier = tiers.get(complaint.id) or _tier(complaint.customer.tier)
            state = clocks_of(complaint, tier, tuple(pauses[complaint.id]), rules, now).get(item.clock)
            if state is not None:
                item = replace(item, clock_late=max(-state.remaining, dt.timedelta(0)),
                               business_hours=state.business_hours)
        out.append(item)
    return out


ROWS_PER_PERSON = 15  # what a morning list shows of each person (and of the unassigned): the rest is counted
PEOPLE_SHOWN = 43  # people a list shows a section of (50 blocks a Slack message, less header, counts, divider,
# unassigned, "more people", hint): the others are counted in the totals and named as "N more people"


def as_listed_callback(row: Row) -> OpenCallback:
    """From a morning-list row of storage.queries (callback columns plus customer_id, code, name; no phone: a
    channel post shows none, so the list does not read one)."""
    customer = CustomerRef(id=row.customer_id, code=row.code, name=row.name, phone=None)
    return OpenCallback(id=row.id, customer=customer, owner_id=row.owner_id, kind=row.kind, due_at=row.due_at,
                        attempts=row.attempts, rule=row.rule, params=dict(row.params or {}))


def morning_list(svc: Services, team: Team, now: dt.datetime, calendar: WorkCalendar,
                 shown: int = ROWS_PER_PERSON, people: int = PEOPLE_SHOWN) -> MorningList:
    """Each person's due and overdue items (complaints past SLA first, then callbacks by due time) with the
    counts of all of them, people with the most overdue first; the first `shown` items of each person a list
    shows (the first `people` of the team's list and of the supervisors', and the unassigned): the others have
    their counts and no items. The database counts (one index, no row read) and cuts: a team with 75,000 due
    callbacks loads 15 rows of each of 43 people, and decrypts only their names."""
    horizon = end_of_local_day(now, calendar)
    with svc.db.unit_of_work() as session:
        due = queries.due_callback_counts_of_each_owner(session, team.id, horizon, now)
        complaints = queries.complaints_of_team_past_a_due_time(session, team.id, now)
        # the queue rule keeps the complaints past a due time (bot/care/due.py); each is said in its clock's time
        late = _with_clock_lateness(svc, session, team, build_queue((), map(as_open_complaint, complaints), now,
                                                                    calendar), complaints, now)
        supervisors = frozenset(s.user_id for s in queries.staff_of_team(session, team.id)
                                if s.role in ("supervisor", "admin"))
        late_of: dict[str | None, list[QueueItem]] = defaultdict(list)
        for item in late:  # complaints come first in a person's part, the most overdue first
            late_of[item.item.owner_id].append(item)
        counts = {}
        for owner in dict.fromkeys([*due, *late_of]):
            theirs = len(late_of.get(owner, ()))
            count, overdue = due.get(owner, (0, 0))
            counts[owner] = (theirs + count, theirs + overdue, theirs)
        order = sorted((o for o in counts if o is not None), key=lambda o: (-counts[o][1], -counts[o][0], o))
        listed = [*order[:people], *[o for o in order if o in supervisors][:people], None]
        wanted = [o for o in listed if o in due and len(late_of.get(o, ())) < shown]
        rows = queries.first_due_callbacks_of_owners(session, team.id, wanted, horizon, shown)
    firsts: dict[str | None, list[QueueItem]] = defaultdict(list)
    for item in build_queue(map(as_listed_callback, rows), (), now, calendar):
        firsts[item.item.owner_id].append(item)
    parts = {owner: AgentQueue(owner or "", (late_of.get(owner, []) + firsts.get(owner, []))[:shown],
                               count=count, overdue=overdue, complaints=theirs)
             for owner, (count, overdue, theirs) in counts.items()}
    unassigned = parts.pop(None, None)
    extra = {} if unassigned is None else dict(
        unassigned=unassigned.items, unassigned_count=unassigned.count, unassigned_overdue=unassigned.overdue,
        unassigned_complaints=unassigned.complaints)
    return MorningList(team_id=team.id, channel=team.digest_channel, local_date=calendar.local_date(now), now=now,
                       timezone=team.timezone, locale=team.locale, agents=[parts[o] for o in order],
                       supervisors=supervisors, supervisor_channel=team.supervisor_channel, **extra)


def supervisors_list(whole: MorningList) -> MorningList:
    """The part of a morning list that supervisors own (churn-risk calls and the like), for their channel."""
    return replace(whole, channel=whole.supervisor_channel, audience="supervisors", unassigned=[],
                   unassigned_count=0, unassigned_overdue=0, unassigned_complaints=0,
                   agents=[a for a in whole.agents if a.user_id in whole.supervisors])
