"""The periods insight measures over (local calendar weeks and months in the team's timezone) and the team's
metric thresholds; see bot/care/metrics.py."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class MetricSettings:
    """Team-configurable thresholds, with care-domain §7's numbers as defaults (`carebot report settings`)."""

    nps_min_answers: int = 10
    reopen_days: int = 30
    repeat_days: int = 30
    csat_satisfied_min: int = 4  # CSAT's satisfied share: ratings (1–5) at or above this ("share of 4–5")
    nps_promoter_min: int = 9  # NPS: answers (0–10) at or above this are promoters (9–10) ...
    nps_detractor_max: int = 6  # ... and at or below this detractors (0–6)

    def problem(self) -> tuple[str, dict[str, int]] | None:
        """Why these thresholds cannot be a team's (a catalog key and its values), or None: each within its
        range (SETTING_RANGES), and a promoter's line above a detractor's."""
        for name, (low, high) in SETTING_RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                return "insight.errors.bad_number", {"setting": name, "value": value, "low": low, "high": high}
        if self.nps_detractor_max >= self.nps_promoter_min:
            return "insight.errors.nps_lines", {"promoter": self.nps_promoter_min,
                                                "detractor": self.nps_detractor_max}
        return None


# what each threshold may be set to (whole numbers): the answer scales are 1–5 and 0–10
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "nps_min_answers": (1, 10_000), "reopen_days": (1, 10_000), "repeat_days": (1, 10_000),
    "csat_satisfied_min": (1, 5), "nps_promoter_min": (1, 10), "nps_detractor_max": (0, 9)}


DEFAULTS = MetricSettings()

# --- periods --------------------------------------------------------------------------------------------

_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Period:
    """A local calendar week (Monday to Sunday, ISO numbering) or month in `timezone`; [start, end)."""

    kind: str  # "week" | "month"
    first: dt.date
    timezone: str

    @classmethod
    def week_of(cls, day: dt.date, timezone: str) -> Period:
        return cls("week", day - dt.timedelta(days=day.weekday()), timezone)

    @classmethod
    def month_of(cls, day: dt.date, timezone: str) -> Period:
        return cls("month", day.replace(day=1), timezone)

    @classmethod
    def containing(cls, kind: str, moment: dt.datetime, timezone: str) -> Period:
        day = moment.astimezone(ZoneInfo(timezone)).date()
        return cls.week_of(day, timezone) if kind == "week" else cls.month_of(day, timezone)

    @classmethod
    def parse(cls, text: str, timezone: str) -> Period:
        """"2026-W48" or "2026-11"; ValueError otherwise."""
        text = text.strip()
        if match := _WEEK.fullmatch(text):
            return cls("week", dt.date.fromisocalendar(int(match[1]), int(match[2]), 1), timezone)
        if (match := _MONTH.fullmatch(text)) and 1 <= int(match[2]) <= 12:
            return cls("month", dt.date(int(match[1]), int(match[2]), 1), timezone)
        raise ValueError(f"not a week (2026-W48) or a month (2026-11): {text!r}")

    @cached_property
    def last(self) -> dt.date:
        """The last local day of the period."""
        return self.next().first - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first.year}-{self.first.month:02d}"

    @cached_property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(0), tzinfo=ZoneInfo(self.timezone))

    @cached_property
    def end(self) -> dt.datetime:
        return self.next().start

    def next(self) -> Period:
        if self.kind == "week":
            return Period("week", self.first + dt.timedelta(days=7), self.timezone)
        year, month = divmod(self.first.month, 12)
        return Period("month", dt.date(self.first.year + year, month + 1, 1), self.timezone)

    def previous(self) -> Period:
        if self.kind == "week":
            return Period("week", self.first - dt.timedelta(days=7), self.timezone)
        return Period.month_of(self.first - dt.timedelta(days=1), self.timezone)

    def back(self, count: int) -> list[Period]:
        """The `count` periods ending with this one, oldest first."""
        periods = [self]
        while len(periods) < count:
            periods.append(periods[-1].previous())
        return periods[::-1]

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    def as_of(self, now: dt.datetime) -> dt.datetime:
        """The moment the period is judged at: its end, or now while it runs."""
        return min(self.end, max(now, self.start))
