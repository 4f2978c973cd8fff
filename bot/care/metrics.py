"""What supervisors measure (care-domain §7): CSAT, NPS, callbacks on time, complaint SLAs, customers.

Pure: plain facts in, numbers out. Every function is given its period (local calendar weeks or months in
the team's timezone) and the moment it judges for (`as_of`, never later than the period's end), so the same
book always gives the same numbers. Formulas (also in the README, "Insight"):

- CSAT: ratings 1–5 of calls logged in the period; mean, and the share rated 4 or 5.
- NPS: the optional 0–10 "would you recommend" of calls in the period; % promoters (9–10) minus % detractors
  (0–6), an integer from -100 to 100; fewer than `min_answers` answers is "too few answers".
- Callbacks: planned = due (local date) in the period, not cancelled. Done = a call was logged on it (reached
  or not). On time = done by the end of its due working day (local midnight after the due date), late =
  done after, missed = not done although its due day ended by `as_of`, pending = not done, due day not over.
  On-time rate = on time / (planned - pending).
- Complaints: those opened in the period. A clock is met when it stopped within its target (pauses excluded),
  breached when it went past its target by `as_of`, pending otherwise; within SLA % = met / (met + breached).
  Working time to first response / resolution (pauses excluded): median (middle value, the mean of the two
  middle ones for an even count) and p90 (nearest rank: the ceil(0.9·n)-th smallest). Resolution rate =
  resolved by `as_of` / opened. Reopened = a complaint whose customer had a complaint of the same category
  resolved within `reopen_days` before it was opened.
- Customers: repeat-contact rate = customers with a ticket in the period that came within `repeat_days` of an
  earlier ticket of theirs / customers with a ticket in the period. Churn-risk count = customers whose
  activity segment (care-domain §3) is churn risk at the period's end.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from statistics import median
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from bot.care.calendar import WorkCalendar
from bot.care.sla import Pause, clock_state
from bot.care.sla_rules import Target

CATEGORIES = ("quality", "service", "logistics", "price", "other")  # 产品质量, 服务响应, 物流配送, 价格, 其他
DONE_STATUSES = frozenset({"done", "rescheduled", "skipped", "gave_up"})  # a call was logged on it
NOT_PLANNED = frozenset({"cancelled"})
PROMOTER_MIN, DETRACTOR_MAX = 9, 6
SATISFIED_MIN = 4
T = TypeVar("T")


@dataclass(frozen=True)
class MetricSettings:
    """Team-configurable thresholds (defaults; `carebot report settings`)."""

    nps_min_answers: int = 10
    reopen_days: int = 30
    repeat_days: int = 30


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


# --- facts ----------------------------------------------------------------------------------------------


class CallFact(NamedTuple):  # tuples: a report builds hundreds of thousands of them
    called_at: dt.datetime
    staff_id: str
    customer_id: int
    tier: str
    outcome: str
    rating: int | None = None
    nps: int | None = None


class CallbackFact(NamedTuple):
    owner_id: str | None
    tier: str
    due_at: dt.datetime
    status: str
    closed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ComplaintFact:
    id: int
    customer_id: int
    owner_id: str | None
    tier: str
    kind: str
    severity: str
    category: str
    opened_at: dt.datetime
    first_response_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    pauses: tuple[Pause, ...] = ()
    first_response_target: Target | None = None
    resolution_target: Target | None = None


# --- CSAT and NPS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Csat:
    n: int
    mean: float | None  # 1–5, None without ratings
    satisfied_share: float | None  # % rated 4–5


def csat(ratings: Iterable[int | None]) -> Csat:
    given = [r for r in ratings if r is not None]
    if not given:
        return Csat(0, None, None)
    return Csat(len(given), sum(given) / len(given), 100 * sum(r >= SATISFIED_MIN for r in given) / len(given))


@dataclass(frozen=True)
class Nps:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: int | None  # -100..100; None without answers
    enough: bool  # at least the team's minimum number of answers


def nps(scores: Iterable[int | None], min_answers: int) -> Nps:
    given = [s for s in scores if s is not None]
    promoters = sum(s >= PROMOTER_MIN for s in given)
    detractors = sum(s <= DETRACTOR_MAX for s in given)
    score = round(100 * (promoters - detractors) / len(given)) if given else None
    return Nps(len(given), promoters, len(given) - promoters - detractors, detractors, score,
               len(given) >= max(min_answers, 1))


# --- callbacks ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackStats:
    planned: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0

    @property
    def on_time_rate(self) -> float | None:
        judged = self.planned - self.pending
        return 100 * self.on_time / judged if judged else None


def callback_stats(callbacks: Iterable[CallbackFact], period: Period, as_of: dt.datetime) -> CallbackStats:
    tz = ZoneInfo(period.timezone)
    counts = dict(planned=0, on_time=0, late=0, missed=0, pending=0)
    for cb in callbacks:
        due_day = cb.due_at.astimezone(tz).date()
        if cb.status in NOT_PLANNED or not period.first <= due_day <= period.last:
            continue
        counts["planned"] += 1
        deadline = dt.datetime.combine(due_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        done = cb.status in DONE_STATUSES and cb.closed_at is not None and cb.closed_at <= as_of
        if done:
            assert cb.closed_at is not None
            counts["on_time" if cb.closed_at < deadline else "late"] += 1
        else:
            counts["missed" if as_of >= deadline else "pending"] += 1
    return CallbackStats(**counts)


# --- complaints -----------------------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The ceil(share·n)-th smallest value (nearest-rank percentile); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class ClockStats:
    met: int = 0
    breached: int = 0
    pending: int = 0
    hours: tuple[float, ...] = ()  # working hours to the stop, pauses excluded, of stopped clocks

    @property
    def within_sla(self) -> float | None:
        judged = self.met + self.breached
        return 100 * self.met / judged if judged else None

    @property
    def median_hours(self) -> float | None:
        return median(self.hours) if self.hours else None

    @property
    def p90_hours(self) -> float | None:
        return nearest_rank(self.hours, 0.9)


@dataclass(frozen=True)
class ComplaintStats:
    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    first_response: ClockStats = field(default_factory=ClockStats)
    resolution: ClockStats = field(default_factory=ClockStats)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def resolution_rate(self) -> float | None:
        return 100 * self.resolved / self.opened if self.opened else None


_WORKING_HOURS = Target(duration=dt.timedelta(hours=1), business_hours=True)  # only `elapsed` is read


def _clock(complaint: ComplaintFact, target: Target | None, stopped_at: dt.datetime | None,
           calendar: WorkCalendar, as_of: dt.datetime, acc: dict[str, list]) -> None:
    if target is None:
        return
    stop = stopped_at if stopped_at is not None and stopped_at <= as_of else None
    if stop is not None and stop < complaint.opened_at:
        stop = complaint.opened_at
    state = clock_state(complaint.opened_at, target, complaint.pauses, stop, calendar, as_of)
    if stop is not None:
        acc["met" if not state.breached else "breached"].append(1)
        worked = state.elapsed if target.business_hours else clock_state(
            complaint.opened_at, _WORKING_HOURS, complaint.pauses, stop, calendar, as_of).elapsed
        acc["hours"].append(worked.total_seconds() / 3600)
    else:
        acc["breached" if state.breached else "pending"].append(1)


def _clock_stats(acc: dict[str, list]) -> ClockStats:
    return ClockStats(len(acc["met"]), len(acc["breached"]), len(acc["pending"]), tuple(acc["hours"]))


def reopened_ids(complaints: Iterable[ComplaintFact], reopen_days: int) -> set[int]:
    """Ids of the complaints whose customer had one of the same category resolved within `reopen_days`
    before they were opened."""
    complaints = list(complaints)
    resolved_before: dict[tuple[int, str], list[dt.datetime]] = defaultdict(list)
    for c in complaints:
        if c.resolved_at is not None:
            resolved_before[(c.customer_id, c.category)].append(c.resolved_at)
    window = dt.timedelta(days=reopen_days)
    return {c.id for c in complaints
            if any(c.opened_at - window <= r < c.opened_at for r in resolved_before.get((c.customer_id, c.category),
                                                                                         ()))}


def complaint_stats(complaints: Iterable[ComplaintFact], period: Period, calendar: WorkCalendar,
                    as_of: dt.datetime, settings: MetricSettings = MetricSettings(),
                    history: Iterable[ComplaintFact] = (), reopened: set[int] | None = None) -> ComplaintStats:
    """`complaints` may hold any complaints (those opened in the period are counted); `history` adds earlier
    ones of the same customers, for reopened (or pass `reopened`, from reopened_ids over the whole book)."""
    complaints = list(complaints)
    cohort = [c for c in complaints if period.contains(c.opened_at) and c.opened_at <= as_of]
    if reopened is None:
        reopened = reopened_ids([*history, *complaints], settings.reopen_days)
    fr: dict[str, list] = defaultdict(list)
    res: dict[str, list] = defaultdict(list)
    by_kind: dict[str, int] = defaultdict(int)
    by_severity: dict[str, int] = defaultdict(int)
    by_category: dict[str, int] = {c: 0 for c in CATEGORIES}
    resolved = reopened_count = 0
    for c in cohort:
        by_kind[c.kind] += 1
        by_severity[c.severity] += 1
        by_category[c.category if c.category in CATEGORIES else "other"] += 1
        if c.resolved_at is not None and c.resolved_at <= as_of:
            resolved += 1
        if c.id in reopened:
            reopened_count += 1
        _clock(c, c.first_response_target, c.first_response_at, calendar, as_of, fr)
        _clock(c, c.resolution_target, c.resolved_at, calendar, as_of, res)
    return ComplaintStats(opened=len(cohort), resolved=resolved, reopened=reopened_count,
                          first_response=_clock_stats(fr), resolution=_clock_stats(res),
                          by_kind=dict(by_kind), by_severity=dict(by_severity), by_category=by_category)


# --- customers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatStats:
    contacted: int
    repeated: int

    @property
    def rate(self) -> float | None:
        return 100 * self.repeated / self.contacted if self.contacted else None


def repeat_contacts(tickets: Iterable[tuple[int, dt.datetime]], period: Period, as_of: dt.datetime,
                    settings: MetricSettings = MetricSettings()) -> RepeatStats:
    """`tickets`: (customer id, opened at) of complaints and inquiries, including those before the period."""
    by_customer: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer, at in tickets:
        if at <= as_of:
            by_customer[customer].append(at)
    window = dt.timedelta(days=settings.repeat_days)
    contacted = repeated = 0
    for moments in by_customer.values():
        moments.sort()
        inside = [i for i, at in enumerate(moments) if period.start <= at < period.end]
        if not inside:
            continue
        contacted += 1
        if any(i > 0 and moments[i] - moments[i - 1] <= window for i in inside):
            repeated += 1
    return RepeatStats(contacted, repeated)


# --- grouping and comparing -----------------------------------------------------------------------------


def group_by(items: Iterable[T], key: Callable[[T], str | None]) -> dict[str, list[T]]:
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item) or "-"].append(item)
    return dict(groups)


@dataclass(frozen=True)
class Change:
    """One headline number this period against the one before."""

    key: str
    value: float | None
    previous: float | None
    unit: str  # "%" (percent, changes in points), "score" (NPS), "mean" (1–5), "hours", "count"
    n: int = 0

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def movement(self) -> float:
        """How far it moved, comparable across units: the change as a share of the metric's whole range
        (100 points for a %, 200 for NPS, 4 for a 1–5 mean) or, for hours and counts, of its previous value."""
        delta = self.delta
        if delta is None:
            return 0.0
        scale = {"%": 100.0, "score": 200.0, "mean": 4.0}.get(self.unit)
        if scale is None:
            scale = abs(self.previous) if self.previous else 1.0
        return abs(delta) / scale


def moved_most(changes: Iterable[Change], count: int = 3) -> list[Change]:
    """The `count` headline numbers that moved most (ties keep the headline order)."""
    moved = [c for c in changes if c.delta]
    return sorted(moved, key=lambda c: -round(c.movement, 9))[:count]  # 0.4/4 and 20/200 tie
