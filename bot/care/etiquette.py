"""Etiquette (care-domain §4, "worksheet" §3, §4.2): when a callback may be made, and the one function every
callback the bot creates passes through, whatever made it (a trigger, a call's outcome, a date the agent
picked): `place`.

Pure: plain data in and out, an explicit `now`; every moment is timezone-aware and read in the team's
calendar. Rules applied, in order:

1. days off (weekends, public holidays, 调休, the team's own days) and the avoid slots (Monday morning,
   Friday afternoon by default) are never used;
2. `align: later` takes the next allowed moment at or after the target; `align: earlier` the latest allowed
   moment not after it (a greeting comes before its day: Monday 10:00 in the Monday-morning avoid slot
   becomes Friday 10:00, or the working day before when Friday is off), and when nothing is allowed
   between its floor and the target, the next allowed moment after it;
3. a slot already past is made as soon as allowed from now (it is overdue, not dropped);
4. the monthly cap of the customer's tier: a capped kind in a full month is skipped, or, for a callback that
   must not be lost (an outcome's next step), moved to the first allowed moment of the first month with room.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from bot.care.calendar import WorkCalendar
from bot.care.rules import CareRules

SEARCH_DAYS = 366  # bound on the search for an allowed slot: a year without one is a configuration error
MAX_DEFER_MONTHS = 24  # bound on moving a capped callback on, month by month

Stretch = tuple[dt.datetime, dt.datetime]
Month = tuple[int, int]


def allowed_stretches(day: dt.date, rules: CareRules, calendar: WorkCalendar) -> list[Stretch]:
    """The working intervals of `day` minus the avoid slots (e.g. Monday morning)."""
    stretches = calendar.working_intervals(day)
    for slot in rules.etiquette.avoid:
        if slot.weekday.index != day.weekday():
            continue
        cut_end = (
            calendar.start_of_day(day + dt.timedelta(days=1))
            if slot.end == dt.time.max
            else calendar.at(day, slot.end)
        )
        stretches = _subtract(stretches, (calendar.at(day, slot.start), cut_end))
    return stretches


def _subtract(stretches: list[Stretch], cut: Stretch) -> list[Stretch]:
    kept: list[Stretch] = []
    for start, end in stretches:
        if end <= cut[0] or start >= cut[1]:
            kept.append((start, end))
            continue
        if start < cut[0]:
            kept.append((start, cut[0]))
        if cut[1] < end:
            kept.append((cut[1], end))
    return kept


def is_allowed(moment: dt.datetime, rules: CareRules, calendar: WorkCalendar) -> bool:
    local = calendar.local(moment)
    return any(s <= local < e for s, e in allowed_stretches(local.date(), rules, calendar))


def next_allowed(moment: dt.datetime, rules: CareRules, calendar: WorkCalendar) -> dt.datetime:
    """`moment` if allowed, else the start of the next allowed stretch. ValueError when a year has none."""
    local = calendar.local(moment)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        for start, end in allowed_stretches(day, rules, calendar):
            if local < end:
                return max(start, local)
        day += dt.timedelta(days=1)
    raise ValueError("no allowed slot within a year: check working hours and etiquette.avoid")


def latest_allowed(
    want: dt.datetime, floor: dt.datetime, until: dt.datetime, rules: CareRules, calendar: WorkCalendar
) -> dt.datetime | None:
    """The latest day in [floor, until] with an allowed slot; on it, `want`'s time of day when allowed
    (and within the bounds), else the nearest allowed start after it, else the day's last allowed start.
    None when there is none."""
    wall = calendar.local(want).time()
    day, first = calendar.local_date(until), calendar.local_date(floor)
    while day >= first:
        starts = [
            max(s, floor)
            for s, e in allowed_stretches(day, rules, calendar)
            if max(s, floor) < e and max(s, floor) <= until
        ]
        if starts:
            wanted = calendar.at(day, wall)
            if floor <= wanted <= until and is_allowed(wanted, rules, calendar):
                return wanted
            return next((s for s in starts if s > wanted), starts[-1])
        day -= dt.timedelta(days=1)
    return None


def state_target(now: dt.datetime, rules: CareRules, calendar: WorkCalendar) -> dt.datetime:
    """For something due now: today's default time, or now if that has passed."""
    return max(now, calendar.at(calendar.local_date(now), rules.planning.default_time))


@dataclass(frozen=True)
class Request:
    """What a trigger or an outcome asks for. `floor` bounds how far `align: earlier` may move it back (None:
    `earlier_days` before the target); `horizon_end`: a slot at or after it is not planned yet (a state
    found now, `fires`, is judged by that moment instead); `lookback`: a dated request whose slot is further
    in the past than this is missed for good (None: never missed); `expires`: pointless from then on (a
    greeting after its day); `when_capped`: "skip" drops it in a full month, "defer" moves it to the first
    month with room."""

    kind: str
    target: dt.datetime
    align: Literal["later", "earlier"] = "later"
    floor: dt.datetime | None = None
    horizon_end: dt.datetime | None = None
    fires: dt.datetime | None = None
    lookback: dt.timedelta | None = None
    expires: dt.datetime | None = None
    when_capped: Literal["skip", "defer"] = "skip"


class MonthLoad:
    """Contacts per calendar month (the team's calendar) of one customer, against the cap of their tier."""

    def __init__(self, cap: int, calendar: WorkCalendar, exempt: frozenset[str] = frozenset()):
        self.cap, self.calendar, self.exempt = cap, calendar, exempt
        self.counts: Counter[Month] = Counter()

    def month(self, moment: dt.datetime) -> Month:
        day = self.calendar.local_date(moment)
        return day.year, day.month

    def add(self, moment: dt.datetime, n: int = 1) -> None:
        self.counts[self.month(moment)] += n

    def full(self, kind: str, moment: dt.datetime) -> bool:
        return kind not in self.exempt and self.counts[self.month(moment)] >= self.cap


def place(
    request: Request, rules: CareRules, calendar: WorkCalendar, now: dt.datetime, load: MonthLoad
) -> dt.datetime | None:
    """The moment etiquette gives `request`, or None when it is not to be made (yet): past the horizon,
    missed beyond the lookback, expired, or capped with `when_capped="skip"`. The one etiquette of every
    callback the bot creates (see the module docstring for the order of the rules). Does not record the
    result in `load`: the caller does when it keeps it."""
    slot = None
    if request.align == "earlier":
        floor = request.floor or request.target - dt.timedelta(days=rules.etiquette.earlier_days)
        slot = latest_allowed(request.target, floor, request.target, rules, calendar)
    if slot is None:
        slot = next_allowed(request.target, rules, calendar)
    if request.horizon_end is not None and (request.fires or slot) >= request.horizon_end:
        return None
    if slot < now:
        if request.lookback is not None and slot < now - request.lookback:
            return None
        slot = next_allowed(state_target(now, rules, calendar), rules, calendar)
    if request.expires is not None and slot >= request.expires:
        return None
    if load.full(request.kind, slot):
        if request.when_capped == "skip":
            return None
        for _ in range(MAX_DEFER_MONTHS):
            year, month = load.month(slot)
            first = dt.date(year + month // 12, month % 12 + 1, 1)
            slot = next_allowed(calendar.at(first, rules.planning.default_time), rules, calendar)
            if not load.full(request.kind, slot):
                break
        else:
            return None
        if request.expires is not None and slot >= request.expires:
            return None
    return slot
