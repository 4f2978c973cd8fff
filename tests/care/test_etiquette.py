"""The one etiquette every callback passes (bot.care.etiquette.place) and the cadence ceiling of the periodic
touch (bot.care.triggers.periodic), as properties over random targets, floors, caps and touches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.care.calendar import WorkCalendar
from bot.care.etiquette import MonthLoad, Request, allowed_stretches, is_allowed, place
from bot.care.rules import default_rules
from bot.care.segments import CustomerFacts, segment
from bot.care.triggers import offset, periodic

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = default_rules()
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# 2026-09 .. 2027-03: 中秋, 国庆 and its 调休 weekends, 元旦, 春节
days = st.dates(dt.date(2026, 9, 1), dt.date(2027, 3, 31))
moments = st.builds(lambda d, minutes: dt.datetime.combine(d, dt.time(0), tzinfo=SH) + dt.timedelta(minutes=minutes),
                    days, st.integers(0, 24 * 60 - 1))


def load(cap: int = 99) -> MonthLoad:
    return MonthLoad(cap, CAL)


@PROPS
@given(moments, st.integers(0, 3 * 24 * 60))
def test_later_is_the_first_allowed_moment_at_or_after_the_target(target, ahead):
    now = target - dt.timedelta(minutes=ahead)
    slot = place(Request("k", target), RULES, CAL, now, load())
    assert slot is not None and slot >= target and is_allowed(slot, RULES, CAL)
    # nothing allowed in between: every allowed stretch ends before the target or starts at/after the slot
    for day in (target.date() + dt.timedelta(days=n) for n in range((slot.date() - target.date()).days + 1)):
        for start, end in allowed_stretches(day, RULES, CAL):
            assert end <= target or start >= slot or start <= target < end and slot == target


@PROPS
@given(moments, st.integers(1, 14))
def test_earlier_is_the_last_allowed_day_not_after_the_target(target, back):
    floor = target - dt.timedelta(days=back)
    now = floor - dt.timedelta(days=1)
    slot = place(Request("k", target, "earlier", floor=floor), RULES, CAL, now, load())
    assert slot is not None and is_allowed(slot, RULES, CAL)
    candidates = (target.date() - dt.timedelta(days=d) for d in range(back + 1))
    possible = [s for day in candidates for s, e in allowed_stretches(day, RULES, CAL)
                if max(s, floor) < e and max(s, floor) <= target]
    if not possible:  # nothing allowed in [floor, target]: the next allowed moment after it
        assert slot > target
        return
    assert floor <= slot <= target
    # no later day before the target had an allowed moment
    assert all(CAL.local_date(s) <= CAL.local_date(slot) for s in possible)


@PROPS
@given(moments, st.integers(1, 4), st.sampled_from(["skip", "defer"]))
def test_a_full_month_skips_or_defers_to_a_month_with_room(target, cap, when_capped):
    now = target - dt.timedelta(days=1)
    free = place(Request("k", target), RULES, CAL, now, load(cap))
    month_load = load(cap)
    month_load.add(free, cap)  # the month etiquette would use is full
    slot = place(Request("k", target, when_capped=when_capped), RULES, CAL, now, month_load)
    if when_capped == "skip":
        assert slot is None
        return
    assert slot is not None and is_allowed(slot, RULES, CAL)
    assert month_load.month(slot) > month_load.month(free) and not month_load.full("k", slot)
    assert slot == place(Request("k", CAL.at(CAL.local_date(slot).replace(day=1), RULES.planning.default_time)),
                         RULES, CAL, now, load(cap)), "the first allowed moment of that month"


@PROPS
@given(days, st.lists(st.integers(1, 60), max_size=4), st.sampled_from(["3000", "200000", "60000"]))
def test_the_cadence_is_a_ceiling_on_the_gap(last_contact, ahead, spend):
    """Whatever is planned later, the next periodic touch is at most one cadence after the latest touch
    before it, and nothing planned lies between that touch and it."""
    now = CAL.start_of_day(last_contact) + dt.timedelta(hours=20)
    customer = CustomerFacts(1, "C1", "U1", Decimal(spend), dt.date(2024, 1, 1), CAL.at(last_contact, dt.time(10)),
                             consent=True)
    planned = [CAL.at(last_contact + dt.timedelta(days=n), dt.time(10)) for n in ahead]
    segments = segment(customer, RULES, now)
    occ = periodic(customer, segments, planned, RULES, CAL, now)
    assert occ is not None
    anchor = dt.date.fromisoformat(dict(occ.params)["anchor"])
    cadence = next(c for c in RULES.triggers.periodic.cadence if c.name == dict(occ.params)["cadence"])
    assert occ.target == offset(anchor, cadence.every, RULES, CAL)
    touches = sorted({last_contact, *(p.date() for p in planned)})
    assert anchor in touches and anchor >= last_contact
    assert not [t for t in touches if anchor < t <= CAL.local_date(occ.target)]
    # each step of the chain up to the anchor is within the cadence
    chain = [t for t in touches if t <= anchor]
    for a, b in zip(chain, chain[1:], strict=False):
        assert b <= CAL.local_date(offset(a, cadence.every, RULES, CAL))
