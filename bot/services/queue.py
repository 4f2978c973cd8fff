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
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, actor.team_id)
        calendar = svc.calendar_for(team)
        horizon = end_of_local_day(now, calendar)
        complaints = queries.open_complaints_of_owner(session, actor.user_id)
        if segment:
            field, value = segment
            complaints = [c for c in complaints if getattr(c.customer, f"segment_{field}") == value]
        late_complaints = _with_clock_lateness(
            svc, session, team, build_queue((), map(as_open_complaint, complaints), now, calendar), complaints, now)
        if limit is None:
            callbacks = queries.open_callbacks_of_owner_due_before(session, actor.user_id, horizon, segment)
            items = build_queue(map(as_open_callback, callbacks), (), now, calendar)
            return Queue(items=late_complaints + items, now=now, timezone=team.timezone)
        due, late = queries.count_open_callbacks_of_owner_due_before(session, actor.user_id, horizon, now, segment)
        total = len(late_complaints) + due
        first = max(0, min(first, total - 1))
        shown = late_complaints[first:first + limit]
        skip = max(0, first - len(late_complaints))
        callbacks = queries.open_callbacks_of_owner_due_before(session, actor.user_id, horizon, segment,
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


def morning_list(svc: Services, team: Team, now: dt.datetime, calendar: WorkCalendar,
                 shown: int = ROWS_PER_PERSON) -> MorningList:
    """Each person's due and overdue items (complaints past SLA first, then callbacks by due time): the first
    `shown` of them and the counts of all, people with the most overdue first. The database counts and cuts: a
    team with 75,000 due callbacks loads 15 rows a person."""
    horizon = end_of_local_day(now, calendar)
    with svc.db.unit_of_work() as session:
        rows = queries.first_due_callbacks_of_each_owner(session, team.id, horizon, now, shown)
        complaints = queries.complaints_of_team_past_a_due_time(session, team.id, now)
        # one pass of the queue rule over every row (it keeps the complaints past a due time, bot/care/due.py)
        items = build_queue(map(as_open_callback, rows), map(as_open_complaint, complaints), now, calendar)
        items = _with_clock_lateness(svc, session, team, items, complaints, now)
    totals = {row.owner_id: (row.owner_due, int(row.owner_late or 0)) for row in rows}
    mine: dict[str | None, list[QueueItem]] = defaultdict(list)
    for item in items:
        mine[item.item.owner_id].append(item)  # complaints first, then callbacks by due time, per person
    parts: dict[str | None, AgentQueue] = {}
    for owner, theirs in mine.items():
        late = sum(1 for item in theirs if item.is_complaint)
        due, overdue = totals.get(owner, (0, 0))
        parts[owner] = AgentQueue(owner or "", theirs[:shown], count=late + due, overdue=late + overdue,
                                  complaints=late)
    unassigned = parts.pop(None, None)
    agents = sorted(parts.values(), key=lambda a: (-a.overdue, -a.count, a.user_id))
    extra = {} if unassigned is None else dict(
        unassigned=unassigned.items, unassigned_count=unassigned.count, unassigned_overdue=unassigned.overdue,
        unassigned_complaints=unassigned.complaints)
    return MorningList(team_id=team.id, channel=team.digest_channel, local_date=calendar.local_date(now), now=now,
                       timezone=team.timezone, locale=team.locale, agents=agents, **extra)


def supervisors_list(svc: Services, whole: MorningList) -> MorningList:
    """The part of a morning list that supervisors own (churn-risk calls and the like), for their channel."""
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, whole.team_id)
        supervisors = {s.user_id for s in queries.staff_of_team(session, team.id) if s.role in ("supervisor", "admin")}
        channel = team.supervisor_channel
    return replace(whole, channel=channel, audience="supervisors", unassigned=[], unassigned_count=0,
                   unassigned_overdue=0, unassigned_complaints=0,
                   agents=[a for a in whole.agents if a.user_id in supervisors])
