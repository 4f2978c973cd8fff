"""The `calendar:` section of a team's SLA rules: working windows, weekly days off, holidays, quiet hours.

Pure pydantic models over plain YAML values. Times are local wall clock in the team's timezone. A range
whose end is at or before its start ends on the next day: `21:00-02:00` is a night shift that belongs to
the day it starts on, and `24:00` is accepted wherever a range ends (`21:00-24:00`).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from bot.care.calendar import WorkCalendar, WorkWindow

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _AtPath(ValueError):
    """Raised inside validators to point the error at a sub-path of the validated value."""

    def __init__(self, subpath: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.subpath = subpath


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_time_range(value: Any) -> Any:
    """"HH:MM-HH:MM" -> {start, end}; the end may be "24:00" (midnight at the end of the day)."""
    if not isinstance(value, str):
        return value
    match = _TIME_RANGE.match(value)
    if not match:
        raise ValueError(f"not a time range: {value!r} (use 'HH:MM-HH:MM', e.g. '09:00-18:00' or '21:00-02:00')")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h2, m2) == (24, 0):
        h2 = 0
    try:
        return {"start": dt.time(h1, m1), "end": dt.time(h2, m2)}
    except ValueError as exc:
        raise ValueError(f"not a time range: {value!r} ({exc}; the end may be 24:00)") from None


class TimeRange(_Model):
    """Local wall-clock stretch; an `end` at or before `start` is on the next day (`00:00-24:00`: all day)."""

    start: dt.time
    end: dt.time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def contains(self, time: dt.time) -> bool:
        if not self.crosses_midnight:
            return self.start <= time < self.end
        return time >= self.start or time < self.end

    def minutes(self) -> int:
        start, end = self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute
        return end - start if end > start else end + 1440 - start

    def __str__(self) -> str:
        end = "24:00" if self.end == dt.time(0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


TimeRangeField = Annotated[TimeRange, BeforeValidator(_parse_time_range)]


def _weekday(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        for name in WEEKDAYS:
            if text in (name, name[:3]):
                return name
    return value


class CalendarRules(_Model):
    timezone: str
    holiday_country: str | None
    working_windows: tuple[TimeRangeField, ...]
    weekly_days_off: tuple[Annotated[Weekday, BeforeValidator(_weekday)], ...]
    extra_days_off: tuple[dt.date, ...]
    extra_working_days: tuple[dt.date, ...]
    quiet_hours: TimeRangeField
    quiet_on_days_off: bool

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("holiday_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and value not in holidays.list_supported_countries():
            raise ValueError(f"holidays has no calendar for country {value!r}")
        return value

    @field_validator("working_windows")
    @classmethod
    def _ordered_windows(cls, windows: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
        if not windows:
            raise ValueError("at least one working window is needed")
        previous_end = 0
        for i, window in enumerate(windows):
            start = window.start.hour * 60 + window.start.minute
            if start < previous_end:
                raise _AtPath((i,), "working windows must be in order by start and must not overlap")
            if window.crosses_midnight and i != len(windows) - 1:
                raise _AtPath((i,), "only the last working window may run past midnight")
            previous_end = start + window.minutes()
        first = windows[0].start.hour * 60 + windows[0].start.minute
        if previous_end > 1440 + first:
            raise _AtPath((len(windows) - 1,), "the night window runs into the next day's first window")
        return windows

    @field_validator("weekly_days_off")
    @classmethod
    def _distinct_days(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(days)) != len(days):
            raise ValueError("a weekday is listed twice")
        return days

    def work_calendar(self) -> WorkCalendar:
        """The WorkCalendar of these rules, shared by equal rules (its holiday tables are built once)."""
        known = _calendar_of_instance.get(id(self))
        if known is not None and known[0] is self:
            return known[1]
        calendar = _work_calendar(self)
        if len(_calendar_of_instance) >= 64:
            _calendar_of_instance.clear()
        _calendar_of_instance[id(self)] = (self, calendar)  # the entry keeps its rules alive: its id is theirs
        return calendar

    def in_quiet_hours(self, moment: dt.datetime) -> bool:
        """Quiet: inside `quiet_hours`, or (with `quiet_on_days_off`) on a day off outside any working window."""
        if moment.tzinfo is None:
            raise ValueError("naive datetime: every moment must carry a timezone")
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.quiet_hours.contains(local.time()):
            return True
        calendar = self.work_calendar()
        return self.quiet_on_days_off and not calendar.is_working_day(local.date()) \
            and not calendar.is_working_time(moment)

    def quiet_ends(self, moment: dt.datetime, days: int = 400) -> dt.datetime | None:
        """The first moment at or after `moment` that is not quiet (None: quiet all the next `days` days).
        Quiet time only starts or ends at a quiet-hours boundary, a working window's start or end, or midnight."""
        if not self.in_quiet_hours(moment):
            return moment
        tz = ZoneInfo(self.timezone)
        times = {self.quiet_hours.start, self.quiet_hours.end, dt.time(0)}
        times |= {w.start for w in self.working_windows} | {w.end for w in self.working_windows}
        day = moment.astimezone(tz).date()
        for _ in range(days):
            for time in sorted(times):
                candidate = dt.datetime.combine(day, time, tzinfo=tz)
                if candidate > moment and not self.in_quiet_hours(candidate):
                    return candidate
            day += dt.timedelta(days=1)
        return None


# rules instance -> its calendar, before `_work_calendar`'s cache, whose key is a hash of the whole model computed
# anew on each call: the SLA sweep asks ~3 times a complaint (issue 14). Not a cached_property: model_copy
# would carry it into a copy with other fields (core._sla_rules copies the rules with the team's timezone).
_calendar_of_instance: dict[int, tuple[CalendarRules, WorkCalendar]] = {}


@lru_cache(maxsize=8)
def _work_calendar(rules: CalendarRules) -> WorkCalendar:
    # Cached so the holiday tables a WorkCalendar builds lazily are built once per rules version.
    return WorkCalendar(
        timezone=rules.timezone,
        holiday_country=rules.holiday_country,
        windows=tuple(WorkWindow(w.start, w.end) for w in rules.working_windows),
        weekend=frozenset(WEEKDAYS.index(day) for day in rules.weekly_days_off),
        extra_days_off=frozenset(rules.extra_days_off),
        extra_working_days=frozenset(rules.extra_working_days),
    )
