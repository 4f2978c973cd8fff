"""The team's working calendar: which days are working days, in which local hours.

Pure: built from plain settings, answers for explicit dates/datetimes. Chinese public holidays and
adjusted working days (调休) come from the `holidays` package; a team adds its own exception days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays


@dataclass(frozen=True)
class WorkWindow:
    """One stretch of working time, local wall clock, start inclusive, end exclusive.

    An `end` at or before `start` is on the next day: `21:00-02:00` (a night shift; `24:00` is written
    `end=00:00`) belongs to the day it starts on, so it works only when that day is a working day."""

    start: dt.time
    end: dt.time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


DEFAULT_WINDOWS: tuple[WorkWindow, ...] = (
    WorkWindow(dt.time(9, 0), dt.time(12, 0)),
    WorkWindow(dt.time(13, 30), dt.time(18, 0)),
)


def is_past_clock_time(local_now: dt.datetime, clock_time: str) -> bool:
    """True once the local wall clock reaches "HH:MM" today: when a once-a-day job may run."""
    hour, minute = (int(part) for part in clock_time.split(":"))
    return local_now.time() >= dt.time(hour, minute)


@lru_cache(maxsize=16)
def holiday_table(country: str) -> holidays.HolidayBase:
    """The `holidays` library's table of `country`, one for the process (every team's calendar shares it): the
    library fills a year in ~0.1 s the first time a day of it is asked. `carebot serve` fills this year's and
    next year's before it forks its worker processes (`warm_holidays`)."""
    return holidays.country_holidays(country)


def warm_holidays(country: str, today: dt.date) -> None:
    """Fill `country`'s table for today's year and the next (see `holiday_table`)."""
    table = holiday_table(country)
    for year in (today.year, today.year + 1):
        _ = dt.date(year, 1, 1) in table


@dataclass(frozen=True)
class WorkCalendar:
    timezone: str = "Asia/Shanghai"
    holiday_country: str | None = "CN"
    windows: tuple[WorkWindow, ...] = DEFAULT_WINDOWS
    weekend: frozenset[int] = frozenset({5, 6})  # weekly days off, Monday is 0; empty: works every day
    extra_days_off: frozenset[dt.date] = field(default_factory=frozenset)
    extra_working_days: frozenset[dt.date] = field(default_factory=frozenset)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase | None:
        if not self.holiday_country:
            return None
        return holiday_table(self.holiday_country)

    def holiday_name(self, day: dt.date) -> str | None:
        if self._holidays is None:
            return None
        return self._holidays.get(day)

    @cached_property
    def _known_days(self) -> dict[dt.date, bool]:
        return {}  # day -> working? (the holidays library takes ~0.1 ms a lookup; a sweep asks ~1,200 times)

    def is_working_day(self, day: dt.date) -> bool:
        known = self._known_days.get(day)
        if known is None:
            known = self._known_days[day] = self._is_working_day(day)
        return known

    def _is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        if self._holidays is not None:
            if day in self._holidays:
                return False
            if day in self._holidays.weekend_workdays:  # 调休: a Saturday or Sunday worked
                return True
        return day.weekday() not in self.weekend

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def on_or_after_working_day(self, day: dt.date) -> dt.date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def local(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: every moment must carry a timezone")
        return moment.astimezone(self.tz)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return self.local(moment).date()

    def at(self, day: dt.date, time: dt.time) -> dt.datetime:
        """The aware moment at local wall-clock `time` on `day`."""
        return dt.datetime.combine(day, time, tzinfo=self.tz)

    def start_of_day(self, day: dt.date) -> dt.datetime:
        return self.at(day, dt.time(0, 0))

    def working_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working stretches of `day` as aware datetimes; empty on a day off."""
        if not self.is_working_day(day):
            return []
        next_day = day + dt.timedelta(days=1)
        return [(self.at(day, w.start), self.at(next_day if w.crosses_midnight else day, w.end))
                for w in self.windows]

    @cached_property
    def _known_utc(self) -> dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]]:
        return {}

    def working_intervals_utc(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """`working_intervals` of `day` in UTC, remembered per day (the SLA clocks of every complaint a sweep
        looks at walk the same few days)."""
        known = self._known_utc.get(day)
        if known is None:
            known = self._known_utc[day] = tuple((begin.astimezone(dt.UTC), end.astimezone(dt.UTC))
                                                 for begin, end in self.working_intervals(day))
        return known

    def is_working_time(self, moment: dt.datetime) -> bool:
        """Inside a working window (of its own day, or of yesterday's night shift)."""
        day = self.local_date(moment)
        return any(begin <= moment < end for d in (day - dt.timedelta(days=1), day)
                   for begin, end in self.working_intervals(d))

    def first_working_moment(self, day: dt.date) -> dt.datetime:
        """Start of the first working window on the first working day on or after `day`."""
        day = self.on_or_after_working_day(day)
        return self.at(day, self.windows[0].start)
