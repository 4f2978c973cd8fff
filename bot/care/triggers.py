"""Trigger occurrences of the care plan (care-domain §2, §4): what a customer's facts ask for, before
etiquette. Each occurrence names itself (inside the callback's dedupe key), a preferred moment and how far
etiquette may move it; bot.care.plan admits them through bot.care.etiquette.place.

Pure: plain data in and out, an explicit `now`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import holidays

from bot.care.calendar import WorkCalendar
from bot.care.etiquette import state_target
from bot.care.rules import CareRules, Delay, Greeting, Params, Step
from bot.care.segments import (
    Activity,
    CustomerFacts,
    Segments,
    add_months,
    interaction_reference,
    spike_started_at,
)

PERIODIC = "periodic.touch"
RECORD = "record.complete"
RECORD_CHECK = "record.check"


@dataclass(frozen=True)
class Occurrence:
    rule: str
    step: Step
    occurrence: str  # names the trigger occurrence inside the dedupe key
    target: dt.datetime  # preferred moment, before etiquette
    params: Params
    dated: bool  # an event on a date: missed for good after the lookback; else a state that holds now
    floor: dt.datetime | None = None  # align=earlier: not before this
    expires: dt.datetime | None = None  # pointless from this moment on (a greeting after its day)
    fires: dt.datetime | None = None  # a state found now: plan it now, even when its slot is past the horizon


def offset(anchor: dt.date | dt.datetime, delay: Delay, rules: CareRules, calendar: WorkCalendar) -> dt.datetime:
    """`anchor` + `delay`. Whole-day delays land on the default time of day; hour delays keep the clock."""
    if isinstance(anchor, dt.datetime) and delay.hours:
        return add_months(calendar.local(anchor), delay.months) + dt.timedelta(
            days=delay.days, hours=delay.hours
        )
    day = calendar.local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
    day = add_months(day, delay.months) + dt.timedelta(days=delay.days)
    return calendar.at(day, rules.planning.default_time) + dt.timedelta(hours=delay.hours)


def after(
    rule: str,
    step: Step,
    anchor: dt.date | dt.datetime,
    occurrence: str,
    rules: CareRules,
    calendar: WorkCalendar,
    extra: Params = (),
) -> Occurrence:
    """`step.after` past `anchor`; an `align: earlier` step may move back as far as the anchor itself."""
    target = offset(anchor, step.after, rules, calendar)
    floor = anchor if isinstance(anchor, dt.datetime) else calendar.start_of_day(anchor)
    shown = calendar.local_date(anchor) if isinstance(anchor, dt.datetime) else anchor
    return Occurrence(
        rule,
        step,
        occurrence,
        target,
        (*step.after.params(), ("anchor", shown.isoformat()), *extra),
        dated=True,
        floor=floor,
    )


def first_purchase(customer: CustomerFacts, rules: CareRules, calendar: WorkCalendar) -> Iterator[Occurrence]:
    bought = customer.first_purchase_on
    if bought is None:
        return
    steps = rules.triggers.first_purchase
    for name, step in (("welcome", steps.welcome), ("first_use", steps.first_use), ("survey", steps.survey)):
        yield after(f"first_purchase.{name}", step, bought, bought.isoformat(), rules, calendar)


def complaint_resolved(
    ticket_id: str | int, resolved_at: dt.datetime, rules: CareRules, calendar: WorkCalendar
) -> Iterator[Occurrence]:
    steps = rules.triggers.complaint_resolved
    for name, step in (("callback", steps.callback), ("survey", steps.survey), ("one_to_one", steps.one_to_one)):
        yield after(f"complaint_resolved.{name}", step, resolved_at, str(ticket_id), rules, calendar,
                    extra=(("ticket", str(ticket_id)),))


def _greeting(
    rule: str,
    step: Greeting,
    day: dt.date,
    occurrence: str,
    rules: CareRules,
    calendar: WorkCalendar,
    extra: Params = (),
) -> Occurrence:
    """A greeting `days_before` the day at the default time; pointless once the day is over."""
    target_day = day - dt.timedelta(days=step.days_before)
    return Occurrence(
        rule,
        step,
        occurrence,
        calendar.at(target_day, rules.planning.default_time),
        (*extra, ("days", str(step.days_before)), ("anchor", day.isoformat())),
        dated=True,
        expires=calendar.start_of_day(day + dt.timedelta(days=1)),
    )


def _years(now: dt.datetime, calendar: WorkCalendar) -> tuple[int, int]:
    year = calendar.local_date(now).year
    return year, year + 1  # a greeting early next year (元旦, 春节) is planned late this year


def birthday(
    customer: CustomerFacts, segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[Occurrence]:
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


@lru_cache(maxsize=64)
def _holidays_in(country: str, year: int, language: str) -> dict[dt.date, str]:
    return dict(holidays.country_holidays(country, years=year, language=language).items())


def holiday_name_in(name: str, country: str, day: dt.date, locale: str) -> str:
    """The holiday a greeting was planned for, named in `locale` (the `holidays` library's translation of the
    holiday on `day`: 春节 -> "Chinese New Year (Spring Festival)" in English); `name` as the team configured it
    when the library has no such language, or `day` is not that holiday of `country`."""
    language = {"en": "en_US", "zh-CN": "zh_CN"}.get(locale)
    try:
        supported = holidays.country_holidays(country).supported_languages
    except NotImplementedError:  # not a country the library knows
        return name
    own = _holidays_in(country, day.year, holidays.country_holidays(country).default_language).get(day, "")
    if language not in supported or name not in own:
        return name
    return _holidays_in(country, day.year, language).get(day, name)


def holiday(segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime) -> Iterator[Occurrence]:
    step = rules.triggers.holiday
    if calendar.holiday_country is None or (step.tiers and segments.tier not in step.tiers):
        return
    for year in _years(now, calendar):
        table = _named_holidays(calendar.holiday_country, year)
        for name in step.names:
            first = next((day for day, full in table if name in full), None)
            if first is not None:
                yield _greeting("holiday.greeting", step, first, first.isoformat(), rules, calendar,
                                extra=(("holiday", name), ("country", calendar.holiday_country)))


def silent(
    customer: CustomerFacts, segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[Occurrence]:
    since = interaction_reference(customer, now)
    if segments.activity is not Activity.SILENT or since is None:
        return
    anchor = calendar.local_date(since).isoformat()
    yield Occurrence(
        "silent.reactivation",
        rules.triggers.silent,
        anchor,
        state_target(now, rules, calendar),
        (("months", str(rules.segments.active_within_months)), ("anchor", anchor)),
        dated=False,
        fires=now,
    )


def churn_risk(
    customer: CustomerFacts, segments: Segments, rules: CareRules, calendar: WorkCalendar, now: dt.datetime
) -> Iterator[Occurrence]:
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
    deadline = max(now, offset(now, step.after, rules, calendar))
    yield Occurrence("churn_risk.intervention", step, occurrence, deadline, (*step.after.params(), *why),
                     dated=False, floor=now, fires=now)


def record(customer: CustomerFacts, rules: CareRules, calendar: WorkCalendar, now: dt.datetime) -> Iterator[Occurrence]:
    """Care-domain §2: a record missing a key field (待跟进) is in someone's queue until the field is filled;
    a customer flagged 待跟进 otherwise (not reached after the last retry) until a call reaches them. Named
    by the day it is found, so a task closed while the cause holds comes back the next run."""
    step = rules.triggers.record
    missing = [f for f in step.key_fields if f in customer.missing]
    today = calendar.local_date(now).isoformat()
    if missing:
        yield Occurrence(RECORD, step, f"{'+'.join(missing)}:{today}", state_target(now, rules, calendar),
                         (("fields", ", ".join(missing)),), dated=False, fires=now)
    elif customer.flagged:  # 待跟进 with a full record (not reached after the last retry): check it
        yield Occurrence(RECORD_CHECK, step, f"flagged:{today}", state_target(now, rules, calendar), (),
                         dated=False, fires=now)


def periodic(
    customer: CustomerFacts,
    segments: Segments,
    touches: Iterable[dt.datetime],
    rules: CareRules,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> Occurrence | None:
    """The next periodic touch: the tier's cadence is a ceiling on the gap between two touches.

    `touches`: the customer's contacts made and callbacks planned (an open one counts at its due time, an
    overdue one as now). From the latest touch up to now, each later touch within the cadence of the one
    before carries the chain on; the first gap longer than the cadence gets a touch at its start +
    cadence. So a touch planned far ahead (a light touch in 30 days) never holds back the cadence (14 days),
    and one planned sooner makes the periodic touch count on from it.
    """
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
    days = sorted({calendar.local_date(m) for m in moments})
    today = calendar.local_date(now)
    past = [d for d in days if d <= today]
    last = past[-1] if past else days[0]
    for day in days:
        if day <= last:
            continue
        if day > calendar.local_date(offset(last, cadence.every, rules, calendar)):
            break
        last = day
    target = offset(last, cadence.every, rules, calendar)
    return Occurrence(
        PERIODIC,
        step,
        calendar.local_date(target).isoformat(),
        target,
        (*cadence.every.params(), ("anchor", last.isoformat()), ("cadence", cadence.name)),
        dated=False,
        floor=calendar.start_of_day(last + dt.timedelta(days=1)),
    )
