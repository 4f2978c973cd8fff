"""What supervisors measure (care-domain §7): CSAT, NPS, callbacks on time, complaint SLAs, customers.

Pure: plain facts in, numbers out. Every function is given its period (local calendar weeks or months in
the team's timezone) and the moment it judges for (`as_of`, never later than the period's end), so the same
book always gives the same numbers. Formulas (also in the README, "Insight"):

- CSAT: ratings 1–5 of calls logged in the period; mean, and the share rated `csat_satisfied_min` (4) or more.
  Only reached customers' ratings and NPS answers count: one stored on an unreachable call is nobody's.
- NPS: the optional 0–10 "would you recommend" of calls in the period; % promoters (`nps_promoter_min`, 9–10)
  minus % detractors (`nps_detractor_max`, 0–6), an integer from -100 to 100 (a half rounds away from zero: 12.5
  is 13, -12.5 is -13); fewer than `min_answers` answers is "too few answers". The thresholds are the team's
  (MetricSettings; care-domain §7's numbers by default).
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

Calls are counted where they are stored (a `Tally` per person, tier and stretch of time, summed by the database;
`tally` counts the same from CallFacts), so a report reads a few hundred numbers, not every call. Periods and
thresholds live in bot/care/metric_periods.py, complaint metrics in bot/care/metrics_complaints.py; both are
re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from bot.care.metric_periods import DEFAULTS, MetricSettings, Period
from bot.care.metrics_complaints import (
    CATEGORIES,
    ClockStats,
    ComplaintFact,
    ComplaintStats,
    complaint_stats,
    nearest_rank,
    reopened_ids,
)
from bot.care.outcomes import Outcome

__all__ = ["CATEGORIES", "ClockStats", "ComplaintFact", "ComplaintStats", "MetricSettings", "Period",
           "complaint_stats", "nearest_rank", "reopened_ids"]  # re-exported: one module to import

UNREACHABLE = Outcome.UNREACHABLE.value  # nobody was reached: no rating, no NPS answer (care-domain §6)
DONE_STATUSES = frozenset({"done", "rescheduled", "skipped", "gave_up"})  # a call was logged on it
NOT_PLANNED = frozenset({"cancelled"})
T = TypeVar("T")


# --- rounding -------------------------------------------------------------------------------------------


def half_away(value: float | int | Decimal, digits: int = 0) -> Decimal:
    """`value` to `digits` decimals, a half rounded away from zero as a spreadsheet does (12.5 -> 13, -12.5 -> -13,
    6.25 -> 6.3); Python's round() and format() round a half to even (12, 6.2). A float is read as it prints
    (2.675, not the binary 2.67499…), so the number a person would type is the one rounded."""
    number = value if isinstance(value, Decimal) else exact(value)
    return number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def exact(value: float | int) -> Decimal:
    """A number as it prints, for sums and differences a spreadsheet would make of the numbers it was given
    (12.35 - 10.0 is 2.35, not the binary 2.3499999999999996)."""
    return Decimal(repr(value) if isinstance(value, float) else value)


def _share_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, a half away from zero; exact (whole numbers only)."""
    whole, rest = divmod(abs(numerator), denominator)
    whole += 2 * rest >= denominator
    return whole if numerator >= 0 else -whole


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


# --- CSAT and NPS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Csat:
    n: int
    mean: float | None  # 1–5, None without ratings
    satisfied_share: float | None  # % rated 4–5


def csat(ratings: Iterable[int | None], satisfied_min: int = DEFAULTS.csat_satisfied_min) -> Csat:
    given = [r for r in ratings if r is not None]
    return csat_of(len(given), sum(given), sum(r >= satisfied_min for r in given))


def csat_of(n: int, total: int, satisfied: int) -> Csat:
    """CSAT from counts: `n` ratings summing to `total`, `satisfied` of them at or above the team's line."""
    if not n:
        return Csat(0, None, None)
    return Csat(n, total / n, 100 * satisfied / n)


@dataclass(frozen=True)
class Nps:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: int | None  # -100..100; None without answers
    enough: bool  # at least the team's minimum number of answers


def nps(scores: Iterable[int | None], min_answers: int, promoter_min: int = DEFAULTS.nps_promoter_min,
        detractor_max: int = DEFAULTS.nps_detractor_max) -> Nps:
    given = [s for s in scores if s is not None]
    return nps_of(len(given), sum(s >= promoter_min for s in given), sum(s <= detractor_max for s in given),
                  min_answers)


def nps_of(n: int, promoters: int, detractors: int, min_answers: int) -> Nps:
    """NPS from counts: `n` answers, `promoters` at or above the team's promoter line, `detractors` at or below
    its detractor line."""
    score = _share_half_away(100 * (promoters - detractors), n) if n else None
    return Nps(n, promoters, n - promoters - detractors, detractors, score, n >= max(min_answers, 1))


class Tally(NamedTuple):
    """What CSAT, NPS and calls done need from a set of calls: counts, addable."""

    calls: int = 0
    rated: int = 0
    rating_sum: int = 0
    satisfied: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0

    def __add__(self, other) -> Tally:  # type: ignore[override]
        return Tally(*(a + b for a, b in zip(self, other, strict=True)))

    def csat(self) -> Csat:
        return csat_of(self.rated, self.rating_sum, self.satisfied)

    def nps(self, min_answers: int) -> Nps:
        return nps_of(self.nps_n, self.promoters, self.detractors, min_answers)


def tally(calls: Iterable[CallFact], settings: MetricSettings = DEFAULTS) -> Tally:
    """The Tally of these calls (the database sums the same: storage.insight_queries.call_tallies). A rating or an
    NPS answer stored on an unreachable call (before the form refused one) is nobody's: not counted."""
    out = Tally()
    for c in calls:
        rating, answer = (None, None) if c.outcome == UNREACHABLE else (c.rating, c.nps)
        out += Tally(1, rating is not None, rating or 0,
                     rating is not None and rating >= settings.csat_satisfied_min, answer is not None,
                     answer is not None and answer >= settings.nps_promoter_min,
                     answer is not None and answer <= settings.nps_detractor_max)
    return out


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


# --- customers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatStats:
    contacted: int
    repeated: int

    @property
    def rate(self) -> float | None:
        return 100 * self.repeated / self.contacted if self.contacted else None


def repeat_contacts(tickets: Iterable[tuple[int, dt.datetime]], period: Period, as_of: dt.datetime,
                    settings: MetricSettings = DEFAULTS) -> RepeatStats:
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
