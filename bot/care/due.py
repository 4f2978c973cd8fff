"""What is on an agent's plate now: due and overdue callbacks and complaints, most urgent first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.care.calendar import WorkCalendar


@dataclass(frozen=True)
class CustomerRef:
    id: int
    code: str
    name: str
    phone: str | None


@dataclass(frozen=True)
class OpenCallback:
    id: int
    customer: CustomerRef
    owner_id: str | None
    kind: str
    due_at: dt.datetime
    attempts: int
    rule: str
    params: dict[str, Any]


@dataclass(frozen=True)
class OpenComplaint:
    id: int
    customer: CustomerRef
    owner_id: str | None
    kind: str
    severity: str
    first_response_due_at: dt.datetime | None
    first_response_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    paused: bool = False  # waiting on the customer: its SLA clocks stand still


@dataclass(frozen=True)
class QueueItem:
    item: OpenCallback | OpenComplaint
    due_at: dt.datetime
    late_by: dt.timedelta  # zero when due later today (calendar time)
    clock: str = ""  # for complaints: which SLA clock is over ("first_response" / "resolution")
    clock_late: dt.timedelta | None = None  # for complaints: how late in the clock's own time
    business_hours: bool = False  # that clock counts working time (its lateness is said in working time)

    @property
    def is_complaint(self) -> bool:
        return isinstance(self.item, OpenComplaint)

    @property
    def overdue(self) -> bool:
        return self.late_by > dt.timedelta(0)


def end_of_local_day(now: dt.datetime, calendar: WorkCalendar) -> dt.datetime:
    """The first moment of tomorrow in the team's timezone: callbacks due before it are due today."""
    return calendar.start_of_day(calendar.local_date(now) + dt.timedelta(days=1))


def overdue_clock(complaint: OpenComplaint, now: dt.datetime) -> tuple[str, dt.datetime] | None:
    """The SLA clock a complaint has broken, if any (first response before resolution). A complaint
    waiting on the customer is on nobody's plate until they reply."""
    if complaint.paused:
        return None
    if complaint.first_response_at is None and complaint.first_response_due_at is not None \
            and complaint.first_response_due_at < now:
        return "first_response", complaint.first_response_due_at
    if complaint.resolution_due_at is not None and complaint.resolution_due_at < now:
        return "resolution", complaint.resolution_due_at
    return None


def build_queue(
    callbacks: Iterable[OpenCallback],
    complaints: Iterable[OpenComplaint],
    now: dt.datetime,
    calendar: WorkCalendar,
) -> list[QueueItem]:
    """Overdue complaints first, then callbacks: the longest overdue first, then by due time."""
    horizon = end_of_local_day(now, calendar)
    items: list[QueueItem] = []
    for complaint in complaints:
        broken = overdue_clock(complaint, now)
        if broken:
            clock, due_at = broken
            items.append(QueueItem(complaint, due_at, now - due_at, clock))
    for callback in callbacks:
        if callback.due_at < horizon:
            items.append(QueueItem(callback, callback.due_at, max(now - callback.due_at, dt.timedelta(0))))
    items.sort(key=lambda q: (not q.is_complaint, q.due_at, q.item.id))
    return items


def days_late(item: QueueItem, now: dt.datetime, calendar: WorkCalendar) -> int:
    """Whole local calendar days between the due day and today."""
    return max((calendar.local_date(now) - calendar.local_date(item.due_at)).days, 0)
