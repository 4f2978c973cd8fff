"""Which SLA notifications are due now for one complaint. Pure: the caller supplies every fact.

Per clock (first_response, resolution) the chain is: a warning to the owner at `warn_at` of the
target; at the breach the first breach level (supervisors); when that level has not acknowledged
within the next level's `after`, the next level (manager). An acknowledgement covers a clock once
a breach of that clock has been announced before it: the chain stops there and the acknowledged
level is reminded every `retrigger` while the clock runs on. `after` and `retrigger` count in the
clock's own time, so a working-time clock re-raises only in working time. In quiet hours a level that
respects them holds what it has about a non-urgent complaint until they end (care-domain §5; the
team's `urgent` rule by severity or tier breaks through). A stopped or paused clock, a resolved
complaint and an active snooze produce nothing. Each notification carries a `step_key`, unique per
complaint x clock x level x round, for the storage layer's UNIQUE constraint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.care.calendar import WorkCalendar
from bot.care.sla import ClockState, add_clock_time
from bot.care.sla_rules import EscalationRules, Level, SlaRules

NotificationKind = Literal["warning", "breach", "retrigger", "alert"]  # alert: announced at once (low rating)
Routing = Mapping[str, str] | Callable[["Notification"], str]
_Step = tuple[Level, NotificationKind, int]


@dataclass(frozen=True)
class SentStep:
    """A notification already sent; `round` 0 is the first notice, n >= 1 the n-th retrigger."""

    clock: str
    level: str
    round: int
    sent_at: dt.datetime


@dataclass(frozen=True)
class Notification:
    complaint_id: str
    clock: str
    level: str
    kind: NotificationKind
    step_key: str
    round: int = 0

    def sent(self, sent_at: dt.datetime) -> SentStep:
        return SentStep(self.clock, self.level, self.round, sent_at)


@dataclass(frozen=True)
class ComplaintSla:
    complaint_id: str | int
    owner: str | None
    clocks: Mapping[str, ClockState | None]  # "first_response" / "resolution" -> state (None: no clock)
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    snoozed_until: dt.datetime | None = None
    sent: Collection[SentStep] = field(default_factory=tuple)
    resolved: bool = False  # resolved or closed
    urgent: bool = False  # the team's rules mark it urgent: it breaks through quiet hours


def step_key(complaint_id: str | int, clock: str, level: str, round: int = 0) -> str:
    key = f"sla:{complaint_id}:{clock}:{level}"
    return f"{key}:r{round}" if round else key


def snooze_until(now: dt.datetime, rules: SlaRules | EscalationRules) -> dt.datetime:
    _aware(now, "now")
    return now + _escalation(rules).snooze


def due_notifications(complaint: ComplaintSla, rules: SlaRules | EscalationRules, now: dt.datetime,
                      *, quiet: bool = False, owner_dnd: bool = False,
                      calendar: WorkCalendar | None = None) -> list[Notification]:
    """Notifications due at `now`, not yet in `complaint.sent`.

    `quiet`: it is the team's quiet time; levels that respect quiet hours hold their notifications about a
    non-urgent complaint (deferred, not dropped). `owner_dnd`: the owner is in Slack do-not-disturb; their
    warning waits. `calendar`: the working time of business-hours clocks (taken from `rules` when those
    are the whole SlaRules).
    """
    _aware(now, "now")
    for moment, what in ((complaint.acknowledged_at, "acknowledged_at"),
                         (complaint.snoozed_until, "snoozed_until")):
        if moment is not None:
            _aware(moment, what)
    if complaint.resolved:
        return []
    if complaint.snoozed_until is not None and now < complaint.snoozed_until:
        return []
    escalation = _escalation(rules)
    if calendar is None:
        calendar = rules.work_calendar() if isinstance(rules, SlaRules) else WorkCalendar()
    due: list[Notification] = []
    for clock, state in complaint.clocks.items():
        if state is None or state.stopped or state.paused:
            continue
        sent = {(s.level, s.round): s.sent_at for s in complaint.sent if s.clock == clock}
        steps = _clock_steps(clock, state, escalation, sent, complaint.acknowledged_at, now, calendar)
        for level, kind, round in steps:
            if level.respects_quiet_hours and quiet and not complaint.urgent:
                continue
            if level.name == "owner" and owner_dnd:
                continue
            key = step_key(complaint.complaint_id, clock, level.name, round)
            due.append(Notification(str(complaint.complaint_id), clock, level.name, kind, key, round))
    return due


def _clock_steps(clock: str, state: ClockState, rules: EscalationRules,
                 sent: Mapping[tuple[str, int], dt.datetime], acknowledged_at: dt.datetime | None,
                 now: dt.datetime, calendar: WorkCalendar) -> Iterable[_Step]:
    def later(moment: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        return add_clock_time(moment, duration, calendar, state.business_hours)

    owner = rules.level("owner")
    if owner is not None and ("owner", 0) not in sent and state.fraction_used >= owner.warn_at:
        yield owner, "warning", 0

    breach_levels = [level for level in rules.levels if level.is_breach_level]
    acknowledged = _acknowledged_level(breach_levels, sent, acknowledged_at)
    if acknowledged is not None:
        yield from _retrigger(acknowledged, state, sent, acknowledged_at, now, later)
        return
    previous_sent_at = None
    for level in breach_levels:
        if (level.name, 0) in sent:
            previous_sent_at = sent[(level.name, 0)]
            continue
        start = state.due_at if previous_sent_at is None else previous_sent_at
        if state.breached and now >= later(start, level.after):
            yield level, "breach", 0
        return  # the next level waits until this one has been sent


def _acknowledged_level(breach_levels: list[Level], sent: Mapping[tuple[str, int], dt.datetime],
                        acknowledged_at: dt.datetime | None) -> Level | None:
    """The highest breach level announced no later than the acknowledgement."""
    if acknowledged_at is None:
        return None
    announced = [level for level in breach_levels
                 if (level.name, 0) in sent and sent[(level.name, 0)] <= acknowledged_at]
    return announced[-1] if announced else None


def _retrigger(level: Level, state: ClockState, sent: Mapping[tuple[str, int], dt.datetime],
               acknowledged_at: dt.datetime, now: dt.datetime,
               later: Callable[[dt.datetime, dt.timedelta], dt.datetime]) -> Iterable[_Step]:
    rounds = [round for name, round in sent if name == level.name and round > 0]
    last_round = max(rounds, default=0)
    # Rounds only grow, so a re-acknowledgement after round n leads to round n+1, never a reused key.
    last = max([acknowledged_at] + [sent[(level.name, r)] for r in rounds])
    if state.breached and now >= later(last, level.retrigger):
        yield level, "retrigger", last_round + 1


def group_by_channel(notifications: Iterable[Notification],
                     routing: Routing) -> dict[str, list[Notification]]:
    """One list per channel, channels and notifications in first-seen order.

    `routing` maps a level name to a channel, or is a function of the notification (e.g. to send
    owner warnings to the owner's DM).
    """
    groups: dict[str, list[Notification]] = {}
    for notification in notifications:
        if callable(routing):
            channel = routing(notification)
        elif notification.level in routing:
            channel = routing[notification.level]
        else:
            raise KeyError(f"no channel routed for level {notification.level!r}")
        groups.setdefault(channel, []).append(notification)
    return groups


def _escalation(rules: SlaRules | EscalationRules) -> EscalationRules:
    return rules.escalation if isinstance(rules, SlaRules) else rules


def _aware(moment: dt.datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime for {what}: every moment must carry a timezone")
