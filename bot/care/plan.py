"""The care plan (care-domain §4): which callbacks a customer's facts make due, within etiquette.

Pure and idempotent: every planned callback carries a dedupe key naming its trigger occurrence
("<rule>:<customer id>:<occurrence>"); planning again with the result among `existing` adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import holidays

from bot.care.calendar import WorkCalendar
from bot.care.rules import CareRules, Delay, Greeting, Params, Step
from bot.care.segments import (
    Activity,
    CustomerFacts,
    Segments,
    add_months,
    interaction_reference,
    require_aware,
    spike_started_at,
)

# Statuses that end a callback; any other status counts as open. "done" is also a contact made;
# "rescheduled" is an unreachable try closed for its retry (bot/services/calls.py).
DONE = "done"
CLOSED_STATUSES = frozenset({DONE, "cancelled", "skipped", "expired", "gave_up", "rescheduled"})

_PERIODIC = "periodic.touch"
_SEARCH_DAYS = 366  # bound on the search for an allowed slot: a year without one is a configuration error
_EARLIER_DAYS = 14  # how far back an "earlier" callback may move (covers the longest public holiday)


@dataclass(frozen=True)
class PlannedCallback:
    customer_id: int
    kind: str
    due_at: dt.datetime
    owner_role: str  # "owner" | "supervisor"
    rule: str  # e.g. "first_purchase.first_use"
    params: Params  # e.g. (("days", "7"), ("anchor", "2026-11-02")) for the message catalog
    dedupe_key: str


@dataclass(frozen=True)
class OpenCallback:
    """A callback that already exists (open or closed); closed ones still block their dedupe key."""

    customer_id: int
    kind: str
    due_at: dt.datetime
    status: str = "open"
    dedupe_key: str = ""

    def __post_init__(self) -> None:
        require_aware(self.due_at, "due_at")

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def is_contact(self) -> bool:
        return self.is_open or self.status == DONE


def rule_of(dedupe_key: str) -> str:
    return dedupe_key.split(":", 1)[0]


# --- etiquette: allowed slots -------------------------------------------------------------------------

Stretch = tuple[dt.datetime, dt.datetime]


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
    """`moment` if allowed, else the start of the next allowed stretch."""
    local = calendar.local(moment)
    day = local.date()
    for _ in range(_SEARCH_DAYS):
        for start, end in allowed_stretches(day, rules, calendar):
            if local < end:
                return max(start, local)
        day += dt.timedelta(days=1)
    raise ValueError("no allowed slot within a year: check working hours and etiquette.avoid")


def latest_allowed(
    want: dt.datetime, floor: dt.datetime, until: dt.datetime, rules: CareRules, calendar: WorkCalendar
) -> dt.datetime | None:
    """The latest day in [floor, until] with an allowed slot; on it, `want`'s time of day when allowed,
    else the nearest allowed start after it, else the day's last allowed start. None when there is none."""
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


# --- trigger occurrences --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Occurrence:
    rule: str
    step: Step
    occurrence: str  # names the trigger occurrence inside the dedupe key
    target: dt.datetime  # preferred moment, before etiquette
    params: Params
    dated: bool  # an event on a date: missed for good after the lookback; else a state that holds now
    floor: dt.datetime | None = None  # align=earlier: not before this
    until: dt.datetime | None = None  # align=earlier: not after this
    expires: dt.datetime | None = None  # pointless from this moment on (a greeting after its day)
    fires: dt.datetime | None = None  # a state found now: plan it now, even when its slot is past the horizon


def _offset(
    anchor: dt.date | dt.datetime, delay: Delay, rules: CareRules, calendar: WorkCalendar
) -> dt.datetime:
    """`anchor` + `delay`. Whole-day delays land on the default time of day; hour delays keep the clock."""
    if isinstance(anchor, dt.datetime) and delay.hours:
        return add_months(calendar.local(anchor), delay.months) + dt.timedelta(
            days=delay.days, hours=delay.hours
        )
    day = calendar.local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
    day = add_months(day, delay.months) + dt.timedelta(days=delay.days)
    return calendar.at(day, rules.planning.default_time) + dt.timedelta(hours=delay.hours)


def _state_target(now: dt.datetime, rules: CareRules, calendar: WorkCalendar) -> dt.datetime:
    """For something due now: today's default time, or now if that has passed."""
    return max(now, calendar.at(calendar.local_date(now), rules.planning.default_time))


def _after(
    rule: str,
    step: Step,
    anchor: dt.date | dt.datetime,
    occurrence: str,
    rules: CareRules,
    calendar: WorkCalendar,
    extra: Params = (),
) -> _Occurrence:
    target = _offset(anchor, step.after, rules, calendar)
    floor = anchor if isinstance(anchor, dt.datetime) else calendar.start_of_day(anchor)
    shown = calendar.local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
    return _Occurrence(
        rule,
        step,
        occurrence,
        target,
        (*step.after.params(), ("anchor", shown.isoformat()), *extra),
        dated=True,
        floor=floor,
        until=target,
    )


def _first_purchase(
    customer: CustomerFacts, rules: CareRules, calendar: WorkCalendar
) -> Iterator[_Occurrence]:
    bought = customer.first_purchase_on
    if bought is None:
        return
    steps = rules.triggers.first_purchase
    for name, step in (("welcome", steps.welcome), ("first_use", steps.first_use), ("survey", steps.survey)):
        yield _after(f"first_purchase.{name}", step, bought, bought.isoformat(), rules, calendar)


def _greeting(
    rule: str,
    step: Greeting,
    day: dt.date,
    occurrence: str,
    rules: CareRules,
    calendar: WorkCalendar,
    extra: Params = (),
) -> _Occurrence:
    """A greeting `days_before` the day; pointless once the day is over."""
    target_day = day - dt.timedelta(days=step.days_before)
    target = calendar.at(target_day, rules.planning.default_time)
    return _Occurrence(
        rule,
        step,
        occurrence,
        target,
        (*extra, ("days", str(step.days_before)), ("anchor", day.isoformat())),
        dated=True,
        floor=calendar.start_of_day(target_day - dt.timedelta(days=_EARLIER_DAYS)),
        until=calendar.at(target_day, dt.time.max),
        expires=calendar.start_of_day(day + dt.timedelta(days=1)),
    )


def _years(now: dt.datetime, calendar: WorkCalendar) -> tuple[int, int]:
    year = calendar.local_date(now).year
    return year, year + 1  # a greeting early next year (元旦, 春节) is planned late this year


def _birthday(
    customer: CustomerFacts, segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[_Occurrence]:
    step = rules.triggers.birthday
    if customer.birthday is None or (step.tiers and segments.tier not in step.tiers):
        return
    for year in _years(now, calendar):
        day = _birthday_in(customer.birthday, year)
        yield _greeting("birthday.greeting", step, day, day.isoformat(), rules, calendar)


def _birthday_in(born: dt.date, year: int) -> dt.date:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February outside a leap year
        return born.replace(year=year, day=28)


@lru_cache(maxsize=64)
def _named_holidays(country: str, year: int) -> tuple[tuple[dt.date, str], ...]:
    # Names in the country's own language (CN: 中秋节), whatever the process locale says.
    language = holidays.country_holidays(country).default_language
    table = holidays.country_holidays(country, years=year, language=language)
    return tuple(sorted(table.items()))


def _holiday(
    segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[_Occurrence]:
    step = rules.triggers.holiday
    if calendar.holiday_country is None or (step.tiers and segments.tier not in step.tiers):
        return
    for year in _years(now, calendar):
        table = _named_holidays(calendar.holiday_country, year)
        for name in step.names:
            first = next((day for day, full in table if name in full), None)
            if first is not None:
                yield _greeting(
                    "holiday.greeting",
                    step,
                    first,
                    first.isoformat(),
                    rules,
                    calendar,
                    extra=(("holiday", name),),
                )


def _silent(
    customer: CustomerFacts, segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[_Occurrence]:
    since = interaction_reference(customer, now)
    if segments.activity is not Activity.SILENT or since is None:
        return
    anchor = calendar.local_date(since).isoformat()
    yield _Occurrence(
        "silent.reactivation",
        rules.triggers.silent,
        anchor,
        _state_target(now, rules, calendar),
        (("months", str(rules.segments.active_within_months)), ("anchor", anchor)),
        dated=False,
        fires=now,
    )


def _churn_risk(
    customer: CustomerFacts, segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[_Occurrence]:
    """One supervisor call per churn episode: the complaint spike in progress, else the silence."""
    if segments.activity is not Activity.CHURN_RISK:
        return
    seg, step = rules.segments, rules.triggers.churn_risk
    spike = spike_started_at(customer.tickets_at, rules, now)
    since = interaction_reference(customer, now)
    if spike is not None:
        anchor = calendar.local_date(spike).isoformat()
        occurrence = f"complaints:{anchor}"
        why: Params = (
            ("reason", "complaints"),
            ("tickets", str(seg.spike_tickets)),
            ("days", str(seg.spike_window_days)),
            ("anchor", anchor),
        )
    elif since is not None:
        anchor = calendar.local_date(since).isoformat()
        occurrence = f"inactive:{anchor}"
        why = (("reason", "inactive"), ("months", str(seg.churn_after_months)), ("anchor", anchor))
    else:
        return
    deadline = max(now, _offset(now, step.after, rules, calendar))
    yield _Occurrence(
        "churn_risk.intervention",
        step,
        occurrence,
        deadline,
        (*step.after.params(), *why),
        dated=False,
        floor=now,
        until=deadline,
        fires=now,
    )


def _periodic(
    customer: CustomerFacts,
    segments: Segments,
    touches: Iterable[dt.datetime],
    rules: CareRules,
    calendar: WorkCalendar,
) -> _Occurrence | None:
    """A touch once nobody has contacted the customer for the cadence's interval."""
    step = rules.triggers.periodic
    if segments.activity not in step.activities or segments.lifecycle not in step.lifecycles:
        return None
    cadence = next(
        (
            c
            for c in step.cadence
            if (not c.tier or segments.tier in c.tier)
            and (not c.lifecycle or segments.lifecycle in c.lifecycle)
        ),
        None,
    )
    moments = [*touches]
    if customer.last_interaction_at is not None:
        moments.append(customer.last_interaction_at)
    if customer.first_purchase_on is not None:
        moments.append(calendar.start_of_day(customer.first_purchase_on))
    if cadence is None or not moments:
        return None
    last = calendar.local_date(max(moments))
    target = _offset(last, cadence.every, rules, calendar)
    return _Occurrence(
        _PERIODIC,
        step,
        calendar.local_date(target).isoformat(),
        target,
        (*cadence.every.params(), ("anchor", last.isoformat()), ("cadence", cadence.name)),
        dated=False,
    )


# --- admission: dedupe and etiquette --------------------------------------------------------------------


class _Ledger:
    """What one customer already has, and what this run adds, for the dedupe and etiquette checks."""

    def __init__(
        self,
        customer: CustomerFacts,
        segments: Segments,
        existing: Sequence[OpenCallback],
        contacts_this_month: int,
        rules: CareRules,
        calendar: WorkCalendar,
        now: dt.datetime,
    ):
        self.customer, self.rules, self.calendar, self.now = customer, rules, calendar, now
        mine = [c for c in existing if c.customer_id == customer.customer_id]
        self.keys = {c.dedupe_key for c in mine if c.dedupe_key}
        self.open_kinds = Counter(c.kind for c in mine if c.is_open)
        self.load = Counter(self._month(c.due_at) for c in mine if c.is_open)
        self.load[self._month(now)] += contacts_this_month
        self.cap = rules.etiquette.monthly_cap[segments.tier]
        # A cancelled periodic touch still moves the next one on; else its key would block that forever.
        self.touches = [c.due_at for c in mine if c.is_contact or rule_of(c.dedupe_key) == _PERIODIC]
        self.planned: list[PlannedCallback] = []

    def _month(self, moment: dt.datetime) -> tuple[int, int]:
        day = self.calendar.local_date(moment)
        return day.year, day.month

    def consider(self, occ: _Occurrence, horizon_end: dt.datetime | None) -> bool:
        """Plan `occ` unless it exists, falls outside the horizon or breaks etiquette; True when planned."""
        step, etiquette = occ.step, self.rules.etiquette
        key = f"{occ.rule}:{self.customer.customer_id}:{occ.occurrence}"
        if not step.enabled or key in self.keys or self.open_kinds[step.kind] >= etiquette.max_open_per_kind:
            return False
        due = self._due(occ, horizon_end)
        if due is None:
            return False
        month = self._month(due)
        if step.kind not in etiquette.cap_exempt_kinds and self.load[month] >= self.cap:
            return False
        self.keys.add(key)
        self.open_kinds[step.kind] += 1
        self.load[month] += 1
        self.touches.append(due)
        self.planned.append(
            PlannedCallback(
                self.customer.customer_id, step.kind, due, step.owner_role, occ.rule, occ.params, key
            )
        )
        return True

    def _due(self, occ: _Occurrence, horizon_end: dt.datetime | None) -> dt.datetime | None:
        """Its slot under etiquette, if that falls before the horizon. A slot already past is moved to the
        next allowed one from now (even past the horizon: it is overdue, not early); a dated occurrence
        further back than the lookback is missed for good."""
        rules, calendar, now = self.rules, self.calendar, self.now
        slot = None
        if occ.step.align == "earlier" and occ.floor is not None and occ.until is not None:
            slot = latest_allowed(occ.target, occ.floor, occ.until, rules, calendar)
        if slot is None:
            slot = next_allowed(occ.target, rules, calendar)
        if horizon_end is not None and (occ.fires or slot) >= horizon_end:
            return None
        if slot < now:
            if occ.dated and slot < now - dt.timedelta(days=rules.planning.lookback_days):
                return None
            slot = next_allowed(_state_target(now, rules, calendar), rules, calendar)
        if occ.expires is not None and slot >= occ.expires:
            return None
        return slot


# --- public entry points --------------------------------------------------------------------------------


def plan_customer(
    customer: CustomerFacts,
    segments: Segments,
    existing: Sequence[OpenCallback],
    contacts_this_month: int,
    rules: CareRules,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> list[PlannedCallback]:
    """The callbacks the nightly run creates for one customer: every trigger occurrence due before
    now + planning.horizon_days that does not exist yet, within etiquette.

    `existing`: the customer's callbacks in the store, open or closed (closed ones keep their dedupe key).
    `contacts_this_month`: contacts already made this calendar month (done calls, not planned ones).
    """
    require_aware(now, "now")
    if not customer.consent:  # PIPL: no consent, no contact; not a team setting
        return []
    ledger = _Ledger(customer, segments, existing, contacts_this_month, rules, calendar, now)
    horizon_end = now + dt.timedelta(days=rules.planning.horizon_days)
    # Order is priority when the monthly cap runs short: service first, the periodic touch last.
    for occ in (
        *_churn_risk(customer, segments, rules, calendar, now),
        *_first_purchase(customer, rules, calendar),
        *_birthday(customer, segments, rules, calendar, now),
        *_holiday(segments, rules, calendar, now),
        *_silent(customer, segments, rules, calendar, now),
    ):
        ledger.consider(occ, horizon_end)
    # Each planned touch moves the next one on; a long horizon can hold several.
    while (periodic := _periodic(customer, segments, ledger.touches, rules, calendar)) is not None:
        if not ledger.consider(periodic, horizon_end):
            break
    return ledger.planned


def plan_after_complaint_resolved(
    customer: CustomerFacts,
    segments: Segments,
    ticket_id: str | int,
    resolved_at: dt.datetime,
    existing: Sequence[OpenCallback],
    contacts_this_month: int,
    rules: CareRules,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> list[PlannedCallback]:
    """The whole follow-up of a resolved complaint, created at once: callback within 24 h, survey at
    +72 h, one-to-one at +1 month (by default). Keyed on the ticket, so resolving twice adds nothing."""
    require_aware(now, "now")
    require_aware(resolved_at, "resolved_at")
    if not customer.consent:
        return []
    ledger = _Ledger(customer, segments, existing, contacts_this_month, rules, calendar, now)
    steps = rules.triggers.complaint_resolved
    for name, step in (
        ("callback", steps.callback),
        ("survey", steps.survey),
        ("one_to_one", steps.one_to_one),
    ):
        ledger.consider(
            _after(
                f"complaint_resolved.{name}",
                step,
                resolved_at,
                str(ticket_id),
                rules,
                calendar,
                extra=(("ticket", str(ticket_id)),),
            ),
            horizon_end=None,
        )
    return ledger.planned
