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
_TICK = dt.timedelta(microseconds=1)  # the smallest step of a stored moment


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
    for level, due in _next_breach_level(breach_levels, state, sent, later):
        if state.breached and now >= due:
            yield level, "breach", 0


def next_look(complaint: ComplaintSla, rules: SlaRules | EscalationRules, now: dt.datetime, *,
              quiet_until: dt.datetime | None = None, announce_pending: bool = False,
              calendar: WorkCalendar | None = None) -> dt.datetime | None:
    """The next moment `due_notifications` can give something new for this complaint, once what it gave at
    `now` is in `complaint.sent`: the owner's warning point, the next breach level, the next re-raise, the end
    of a snooze. What fell due and was not sent comes back at the end of the quiet time (`quiet_until`, given
    while the team is in it) when quiet hours held it, else at `now` (do-not-disturb, no channel, a claim
    another sweep took: the next sweep looks again). `announce_pending`: a low rating's announcement is still
    to be sent. None: nothing can fall due until someone acts (resolved; every clock stopped, paused or at the
    end of its chain) — whatever acts stores an earlier moment again. Never later than the truth: the sweep
    reads a complaint only once its moment has come (ix_complaint_sla_attention_at)."""
    _aware(now, "now")
    if complaint.resolved:
        return None
    escalation = _escalation(rules)
    if calendar is None:
        calendar = rules.work_calendar() if isinstance(rules, SlaRules) else WorkCalendar()
    held = quiet_until is not None and not complaint.urgent

    def when(level: Level | None, moment: dt.datetime) -> dt.datetime:
        if moment > now:
            return moment
        if held and quiet_until is not None and (level is None or level.respects_quiet_hours):
            return max(quiet_until, now)
        return now

    moments = []
    for clock, state in complaint.clocks.items():
        if state is None or state.stopped or state.paused:
            continue
        sent = {(s.level, s.round): s.sent_at for s in complaint.sent if s.clock == clock}
        moments += [when(level, moment) for level, moment in
                    _clock_next(state, escalation, sent, complaint.acknowledged_at, now, calendar)]
    if announce_pending:
        moments.append(when(escalation.level("supervisors"), now))
    if not moments:
        return None
    first = min(moments)
    if complaint.snoozed_until is not None and first < complaint.snoozed_until:
        return complaint.snoozed_until
    return first


def _clock_next(state: ClockState, rules: EscalationRules, sent: Mapping[tuple[str, int], dt.datetime],
                acknowledged_at: dt.datetime | None, now: dt.datetime,
                calendar: WorkCalendar) -> Iterable[tuple[Level, dt.datetime]]:
    """Each chain's next step of one running clock and the first moment `_clock_steps` gives it."""
    def later(moment: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        return add_clock_time(moment, duration, calendar, state.business_hours)

    breached_from = state.due_at + _TICK  # `breached` is strict: the due time itself is not over
    owner = rules.level("owner")
    if owner is not None and ("owner", 0) not in sent:
        assert owner.warn_at is not None
        # whole seconds, rounded down: never later than the moment the fraction reaches warn_at
        need = dt.timedelta(seconds=int((state.elapsed + state.remaining).total_seconds() * owner.warn_at))
        yield owner, later(now, need - state.elapsed) if need > state.elapsed else now
    breach_levels = [level for level in rules.levels if level.is_breach_level]
    acknowledged = _acknowledged_level(breach_levels, sent, acknowledged_at)
    if acknowledged is not None:
        assert acknowledged_at is not None and acknowledged.retrigger is not None
        last = max([acknowledged_at] + [at for (name, round), at in sent.items()
                                        if name == acknowledged.name and round > 0])
        yield acknowledged, max(breached_from, later(last, acknowledged.retrigger))
        return
    for level, due in _next_breach_level(breach_levels, state, sent, later):
        yield level, max(breached_from, due)


def _next_breach_level(breach_levels: list[Level], state: ClockState, sent: Mapping[tuple[str, int], dt.datetime],
                       later: Callable[[dt.datetime, dt.timedelta], dt.datetime]
                       ) -> Iterable[tuple[Level, dt.datetime]]:
    """The breach chain's walk, shared by what is due now (`_clock_steps`) and when to look next (`_clock_next`):
    the first level not yet sent, with the moment its wait ends (its `after` from the clock's due time, or from
    when the level before it was sent, in the clock's own time). Nothing once every level was sent; the next
    level waits until this one has been sent, so at most one."""
    previous_sent_at = None
    for level in breach_levels:
        if (level.name, 0) in sent:
            previous_sent_at = sent[(level.name, 0)]
            continue
        assert level.after is not None
        yield level, later(state.due_at if previous_sent_at is None else previous_sent_at, level.after)
        return


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
