"""The queue rule: what is on an agent's plate now, in which order."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.care.calendar import WorkCalendar
from bot.care.due import CustomerRef, OpenCallback, OpenComplaint, build_queue, days_late

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
CAL = WorkCalendar()
REF = CustomerRef(1, "A001", "Alice", None)


def callback(id_: int, due: dt.datetime) -> OpenCallback:
    return OpenCallback(id_, REF, "U1", "survey", due, 0, "manual", {})


def complaint(id_: int, resolution_due: dt.datetime, paused: bool = False, responded: bool = True) -> OpenComplaint:
    return OpenComplaint(id_, REF, "U1", "complaint", "normal", NOW - dt.timedelta(hours=30),
                         NOW - dt.timedelta(hours=29) if responded else None, resolution_due, paused)


def test_order_overdue_complaints_then_callbacks_by_due_time():
    items = build_queue(
        [callback(1, NOW + dt.timedelta(hours=5)), callback(2, NOW - dt.timedelta(days=3)),
         callback(3, NOW + dt.timedelta(days=1))],
        [complaint(9, NOW - dt.timedelta(hours=2)), complaint(8, NOW + dt.timedelta(hours=2))],
        NOW, CAL)
    assert [(type(i.item).__name__, i.item.id) for i in items] == [
        ("OpenComplaint", 9), ("OpenCallback", 2), ("OpenCallback", 1)]
    assert items[0].clock == "resolution" and items[0].late_by == dt.timedelta(hours=2)
    assert days_late(items[1], NOW, CAL) == 3 and not items[2].overdue


def test_a_missed_first_response_is_the_clock_named():
    [item] = build_queue([], [complaint(5, NOW + dt.timedelta(hours=20), responded=False)], NOW, CAL)
    assert item.clock == "first_response"


def test_a_complaint_waiting_on_the_customer_is_not_overdue():
    assert build_queue([], [complaint(7, NOW - dt.timedelta(hours=5), paused=True)], NOW, CAL) == []


def test_due_today_means_the_teams_local_day():
    late_evening = dt.datetime(2026, 11, 24, 23, 30, tzinfo=TZ)  # 15:30 UTC: still "today" in Shanghai
    assert len(build_queue([callback(1, late_evening)], [], NOW, CAL)) == 1
    after_midnight = dt.datetime(2026, 11, 25, 0, 30, tzinfo=TZ)
    assert build_queue([callback(1, after_midnight)], [], NOW, CAL) == []
