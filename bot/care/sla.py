"""SLA clocks: business-time arithmetic over a WorkCalendar, pauses, and the state of one clock.

Pure: every function takes its moments explicitly and refuses naive datetimes. Arithmetic is done
in UTC so a timezone with daylight saving cannot skew a duration; results come back in the
calendar's local time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.care.calendar import WorkCalendar
from bot.care.sla_rules import Target

UTC = dt.UTC
ZERO = dt.timedelta(0)
_MAX_DAYS_WITHOUT_WORK = 366  # guard against a calendar that never works

Pause = tuple[dt.datetime, dt.datetime | None]  # (paused_at, resumed_at or None while paused)


def _aware(moment: dt.datetime, what: str = "moment") -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime for {what}: every moment must carry a timezone")
    return moment


Span = tuple[dt.datetime, dt.datetime]


def _working_stretches(start: dt.datetime, calendar: WorkCalendar) -> Iterator[Span]:
    """Working intervals in UTC that end after `start`, clipped to begin no earlier than it."""
    start = _aware(start).astimezone(UTC)
    day = calendar.local_date(start) - dt.timedelta(days=1)  # yesterday's night shift may still run
    idle_days = 0
    while True:
        intervals = calendar.working_intervals_utc(day)
        idle_days = 0 if intervals else idle_days + 1
        if idle_days > _MAX_DAYS_WITHOUT_WORK:
            raise ValueError("the calendar has no working time within a year")
        for begin, end in intervals:
            if end > start:
                yield max(begin, start), end
        day += dt.timedelta(days=1)


def add_working_time(start: dt.datetime, duration: dt.timedelta, calendar: WorkCalendar) -> dt.datetime:
    """The moment when `duration` of working time has passed since `start`.

    When the time runs out exactly at the end of a window the answer is that end (e.g. 12:00),
    not the start of the next window.
    """
    _aware(start, "start")
    if duration < ZERO:
        raise ValueError("duration must not be negative")
    if duration == ZERO:
        return calendar.local(start)
    remaining = duration
    for begin, end in _working_stretches(start, calendar):
        if remaining <= end - begin:
            return calendar.local(begin + remaining)
        remaining -= end - begin
    raise AssertionError("unreachable")  # pragma: no cover


def working_time_between(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar) -> dt.timedelta:
    """Working time from `start` to `end`; negative when `end` is earlier."""
    _aware(start, "start")
    _aware(end, "end")
    if end < start:
        return -working_time_between(end, start, calendar)
    total = ZERO
    for begin, stop in _working_stretches(start, calendar):
        if begin >= end:
            break
        total += min(stop, end) - begin
    return total


def add_calendar_time(start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    return _aware(start, "start").astimezone(UTC) + duration


def calendar_time_between(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    return _aware(end, "end").astimezone(UTC) - _aware(start, "start").astimezone(UTC)


def add_clock_time(start: dt.datetime, duration: dt.timedelta, calendar: WorkCalendar,
                   business_hours: bool) -> dt.datetime:
    if business_hours:
        return add_working_time(start, duration, calendar)
    return calendar.local(add_calendar_time(start, duration))


def clock_time_between(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar,
                       business_hours: bool) -> dt.timedelta:
    if business_hours:
        return working_time_between(start, end, calendar)
    return calendar_time_between(start, end)


# --- one clock --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClockState:
    due_at: dt.datetime  # while paused: the due time if the clock resumed now
    elapsed: dt.timedelta  # clock time counted so far, pauses excluded
    remaining: dt.timedelta  # target minus elapsed; negative when over
    fraction_used: float
    breached: bool  # the due time has passed (or passed before the clock was stopped)
    paused: bool
    stopped: bool
    business_hours: bool = False  # the clock counts working time (its re-raises do too)


@dataclass(frozen=True)
class SlaClock:
    opened_at: dt.datetime
    target: Target
    pauses: tuple[Pause, ...] = ()
    stopped_at: dt.datetime | None = None

    def state(self, calendar: WorkCalendar, now: dt.datetime) -> ClockState:
        return clock_state(self.opened_at, self.target, self.pauses, self.stopped_at, calendar, now)


def _normalised_pauses(pauses: Sequence[Pause], opened_at: dt.datetime, end: dt.datetime
                       ) -> list[tuple[dt.datetime, dt.datetime]]:
    """Pauses clipped to [opened_at, end], an open pause closed at `end`, sorted and merged."""
    spans = []
    for paused_at, resumed_at in pauses:
        _aware(paused_at, "paused_at")
        if resumed_at is not None and _aware(resumed_at, "resumed_at") < paused_at:
            raise ValueError(f"pause resumed at {resumed_at} before it began at {paused_at}")
        begin = max(paused_at, opened_at)
        stop = min(resumed_at, end) if resumed_at is not None else end
        if begin < stop:
            spans.append((begin.astimezone(UTC), stop.astimezone(UTC)))
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for begin, stop in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((begin, stop))
    return merged


def clock_state(opened_at: dt.datetime, target: Target, pauses: Sequence[Pause],
                stopped_at: dt.datetime | None, calendar: WorkCalendar, now: dt.datetime) -> ClockState:
    _aware(opened_at, "opened_at")
    _aware(now, "now")
    if stopped_at is not None and _aware(stopped_at, "stopped_at") < opened_at:
        raise ValueError("the clock stopped before it was opened")
    end = max(opened_at, stopped_at if stopped_at is not None else now)
    spans = _normalised_pauses(pauses, opened_at, end)

    def between(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        return clock_time_between(a, b, calendar, target.business_hours)

    paused_time = sum((between(a, b) for a, b in spans), ZERO)
    elapsed = between(opened_at, end) - paused_time

    # Due time: run the target down from opened_at, jumping over each pause.
    cursor, left = opened_at, target.duration
    due_at = None
    for begin, stop in spans:
        candidate = add_clock_time(cursor, left, calendar, target.business_hours)
        if candidate <= begin:
            due_at = candidate
            break
        left -= between(cursor, begin)
        cursor = stop
    if due_at is None:
        due_at = add_clock_time(cursor, left, calendar, target.business_hours)

    paused = stopped_at is None and any(
        paused_at <= now and (resumed_at is None or resumed_at > now) for paused_at, resumed_at in pauses)
    return ClockState(
        due_at=due_at,
        elapsed=elapsed,
        remaining=target.duration - elapsed,
        fraction_used=elapsed / target.duration,
        breached=end > due_at,
        paused=paused,
        stopped=stopped_at is not None,
        business_hours=target.business_hours,
    )
