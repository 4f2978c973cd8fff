"""Complaint metrics (care-domain §7): SLA compliance, working time to first response and resolution,
resolution rate, reopened, by kind, severity and category. Pure; formulas in bot/care/metrics.py.

A withdrawn complaint (closed unresolved: its customer was erased, PIPL) is no resolution: from the moment it was
withdrawn it leaves the resolution rate, and each of its clocks still running then is judged as it stood — a
breach that had happened stays a breach, a clock not yet late leaves the measure (neither met nor pending for
ever)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median

from bot.care.calendar import WorkCalendar
from bot.care.metric_periods import DEFAULTS, MetricSettings, Period
from bot.care.sla import Pause, clock_state
from bot.care.sla_rules import Target

CATEGORIES = ("quality", "service", "logistics", "price", "other")  # 产品质量, 服务响应, 物流配送, 价格, 其他


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
    withdrawn_at: dt.datetime | None = None  # closed unresolved (its customer erased); resolved_at is then None

    def withdrawn_by(self, as_of: dt.datetime) -> bool:
        return self.withdrawn_at is not None and self.withdrawn_at <= as_of


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
    withdrawn: int = 0  # of the opened, closed unresolved because the customer was erased: not in the rate
    first_response: ClockStats = field(default_factory=ClockStats)
    resolution: ClockStats = field(default_factory=ClockStats)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def resolution_rate(self) -> float | None:
        """Resolved / opened, withdrawn complaints left out of both."""
        judged = self.opened - self.withdrawn
        return 100 * self.resolved / judged if judged else None


_WORKING_HOURS = Target(duration=dt.timedelta(hours=1), business_hours=True)  # only `elapsed` is read


def _clock(complaint: ComplaintFact, target: Target | None, stopped_at: dt.datetime | None,
           calendar: WorkCalendar, as_of: dt.datetime, acc: dict[str, list], judged: dict | None = None,
           name: str = "") -> None:
    if target is None:
        return
    key = (complaint.id, name, as_of)
    verdict = judged.get(key) if judged is not None else None
    if verdict is None:
        verdict = _judge(complaint, target, stopped_at, calendar, as_of)
        if judged is not None:
            judged[key] = verdict
    outcome, hours = verdict
    acc[outcome].append(1)
    if hours is not None:
        acc["hours"].append(hours)


def _judge(complaint: ComplaintFact, target: Target, stopped_at: dt.datetime | None, calendar: WorkCalendar,
           as_of: dt.datetime) -> tuple[str, float | None]:
    """One clock of one complaint at `as_of`: met, breached, pending or withdrawn (left out), and the working hours
    it took."""
    withdrawn_at = complaint.withdrawn_at if complaint.withdrawn_by(as_of) else None
    if withdrawn_at is not None and (stopped_at is None or stopped_at > withdrawn_at):
        # still running when the complaint was withdrawn: as it stood then; not late yet, it leaves the measure
        state = clock_state(complaint.opened_at, target, complaint.pauses, None, calendar, withdrawn_at)
        return ("breached" if state.breached else "withdrawn"), None
    stop = stopped_at if stopped_at is not None and stopped_at <= as_of else None
    if stop is not None and stop < complaint.opened_at:
        stop = complaint.opened_at
    state = clock_state(complaint.opened_at, target, complaint.pauses, stop, calendar, as_of)
    if stop is None:
        return ("breached" if state.breached else "pending"), None
    worked = state.elapsed if target.business_hours else clock_state(
        complaint.opened_at, _WORKING_HOURS, complaint.pauses, stop, calendar, as_of).elapsed
    return ("met" if not state.breached else "breached"), worked.total_seconds() / 3600


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
                    as_of: dt.datetime, settings: MetricSettings = DEFAULTS,
                    history: Iterable[ComplaintFact] = (), reopened: set[int] | None = None,
                    judged: dict | None = None) -> ComplaintStats:
    """`complaints` may hold any complaints (those opened in the period are counted); `history` adds earlier
    ones of the same customers, for reopened (or pass `reopened`, from reopened_ids over the whole book).
    `judged`: a dict kept across calls of one report, so each complaint's clocks are judged once per moment
    (the team, its agent and its tier count the same complaint)."""
    complaints = list(complaints)
    cohort = [c for c in complaints if period.contains(c.opened_at) and c.opened_at <= as_of]
    if reopened is None:
        reopened = reopened_ids([*history, *complaints], settings.reopen_days)
    fr: dict[str, list] = defaultdict(list)
    res: dict[str, list] = defaultdict(list)
    by_kind: dict[str, int] = defaultdict(int)
    by_severity: dict[str, int] = defaultdict(int)
    by_category: dict[str, int] = {c: 0 for c in CATEGORIES}
    resolved = reopened_count = withdrawn = 0
    for c in cohort:
        by_kind[c.kind] += 1
        by_severity[c.severity] += 1
        by_category[c.category if c.category in CATEGORIES else "other"] += 1
        if c.withdrawn_by(as_of):
            withdrawn += 1
        elif c.resolved_at is not None and c.resolved_at <= as_of:
            resolved += 1
        if c.id in reopened:
            reopened_count += 1
        _clock(c, c.first_response_target, c.first_response_at, calendar, as_of, fr, judged, "fr")
        _clock(c, c.resolution_target, c.resolved_at, calendar, as_of, res, judged, "res")
    return ComplaintStats(opened=len(cohort), resolved=resolved, reopened=reopened_count, withdrawn=withdrawn,
                          first_response=_clock_stats(fr), resolution=_clock_stats(res),
                          by_kind=dict(by_kind), by_severity=dict(by_severity), by_category=by_category)
