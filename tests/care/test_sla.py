import datetime as dt
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.care.calendar import WorkCalendar
from bot.care.sla import (
    SlaClock,
    add_clock_time,
    add_working_time,
    clock_state,
    working_time_between,
)
from bot.care.sla_rules import Target

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
BUSINESS_1H = Target(duration=H, business_hours=True)
CALENDAR_24H = Target(duration=24 * H, business_hours=False)


def at(month, day, hour, minute=0, year=2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def test_national_day_2026_facts_from_holidays():
    cn = holidays.country_holidays("CN", years=2026)
    golden_week = [dt.date(2026, 10, d) for d in range(1, 8)]
    assert all(day in cn for day in golden_week if day.weekday() < 5)
    assert not any(CAL.is_working_day(day) for day in golden_week)
    assert dt.date(2026, 10, 10) in cn.weekend_workdays  # 调休: Saturday worked
    assert dt.date(2026, 10, 10).weekday() == 5


@pytest.mark.parametrize(("start", "duration", "due"), [
    (at(9, 16, 10), H, at(9, 16, 11)),                     # plain Wednesday morning
    (at(9, 16, 11), H, at(9, 16, 12)),                     # runs out exactly at the window's end
    (at(9, 16, 11, 30), H, at(9, 16, 14)),                 # across the lunch break
    (at(9, 16, 12, 15), H, at(9, 16, 14, 30)),             # opened during lunch
    (at(9, 16, 17, 30), H, at(9, 17, 9, 30)),              # across the night
    (at(9, 16, 20), H, at(9, 17, 10)),                     # opened at night
    (at(9, 11, 17, 30), H, at(9, 14, 9, 30)),              # Friday -> Monday, across the weekend
    (at(9, 12, 10), H, at(9, 14, 10)),                     # opened on a Saturday
    (at(9, 30, 17, 30), H, at(10, 8, 9, 30)),              # across 国庆 Golden Week
    (at(10, 9, 17, 30), H, at(10, 10, 9, 30)),             # into the adjusted working Saturday
    (at(10, 10, 17, 30), H, at(10, 12, 9, 30)),            # then Sunday is off again
    (at(9, 16, 9), 7 * H + 30 * M, at(9, 16, 18)),         # one whole working day
    (at(9, 16, 9), 24 * H, at(9, 20, 10, 30)),             # 3.2 working days; Sun 20 Sep is a 调休 workday
    (at(9, 16, 10), dt.timedelta(0), at(9, 16, 10)),
])
def test_add_working_time(start, duration, due):
    assert add_working_time(start, duration, CAL) == due


def test_add_working_time_accepts_other_timezones():
    start = at(9, 30, 17, 30).astimezone(dt.UTC)
    result = add_working_time(start, H, CAL)
    assert result == at(10, 8, 9, 30) and result.tzinfo == SH


@pytest.mark.parametrize(("start", "end", "worked"), [
    (at(9, 16, 10), at(9, 16, 11), H),
    (at(9, 16, 11), at(9, 16, 14), 90 * M),
    (at(9, 30, 17), at(10, 8, 10), 2 * H),
    (at(10, 9, 17), at(10, 12, 9, 30), 9 * H),            # Fri 1 h + Sat 7.5 h + Mon 30 min
    (at(9, 12, 0), at(9, 13, 23), dt.timedelta(0)),       # a weekend
    (at(9, 16, 11), at(9, 16, 10), -H),
])
def test_working_time_between(start, end, worked):
    assert working_time_between(start, end, CAL) == worked


@pytest.mark.parametrize(("start", "duration", "due"), [
    (at(9, 30, 17, 30), H, at(9, 30, 18, 30)),
    (at(9, 30, 17, 30), 24 * H, at(10, 1, 17, 30)),
    (at(9, 11, 11, 30), 48 * H, at(9, 13, 11, 30)),
])
def test_calendar_hours_ignore_lunch_nights_weekends_and_holidays(start, duration, due):
    assert add_clock_time(start, duration, CAL, business_hours=False) == due


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2026, 9, 16, 10)
    with pytest.raises(ValueError, match="naive"):
        add_working_time(naive, H, CAL)
    with pytest.raises(ValueError, match="naive"):
        working_time_between(at(9, 16, 10), naive, CAL)
    with pytest.raises(ValueError, match="naive"):
        clock_state(at(9, 16, 10), BUSINESS_1H, [], None, CAL, naive)
    with pytest.raises(ValueError, match="naive"):
        clock_state(at(9, 16, 10), BUSINESS_1H, [(naive, None)], None, CAL, at(9, 16, 11))


# --- clock state ------------------------------------------------------------------------------

def test_running_clock():
    state = clock_state(at(9, 16, 10), BUSINESS_1H, [], None, CAL, at(9, 16, 10, 48))
    assert state.due_at == at(9, 16, 11)
    assert state.elapsed == 48 * M and state.remaining == 12 * M
    assert state.fraction_used == pytest.approx(0.8)
    assert not state.breached and not state.paused and not state.stopped


def test_clock_exactly_at_due_is_not_yet_breached():
    state = clock_state(at(9, 16, 10), BUSINESS_1H, [], None, CAL, at(9, 16, 11))
    assert not state.breached and state.remaining == dt.timedelta(0)
    assert clock_state(at(9, 16, 10), BUSINESS_1H, [], None, CAL, at(9, 16, 11, 1)).breached


def test_overdue_clock_has_negative_remaining():
    state = clock_state(at(9, 16, 10), BUSINESS_1H, [], None, CAL, at(9, 16, 14))
    assert state.breached and state.remaining == -90 * M and state.fraction_used == pytest.approx(2.5)


def test_overdue_over_the_weekend_counts_no_extra_working_time():
    state = clock_state(at(9, 11, 17), BUSINESS_1H, [], None, CAL, at(9, 12, 12))
    assert state.due_at == at(9, 11, 18) and state.breached and state.remaining == dt.timedelta(0)


def test_stopped_clock():
    met = clock_state(at(9, 16, 10), BUSINESS_1H, [], at(9, 16, 10, 59), CAL, at(9, 17, 10))
    assert met.stopped and not met.breached and met.elapsed == 59 * M
    late = clock_state(at(9, 16, 10), BUSINESS_1H, [], at(9, 16, 14), CAL, at(9, 17, 10))
    assert late.stopped and late.breached and late.remaining == -90 * M


def test_pause_shifts_due_by_paused_working_time():
    pauses = [(at(9, 16, 10, 20), at(9, 16, 11))]
    state = clock_state(at(9, 16, 10), BUSINESS_1H, pauses, None, CAL, at(9, 16, 11, 30))
    assert state.due_at == at(9, 16, 11, 40)
    assert state.elapsed == 50 * M and not state.paused


def test_pause_over_lunch_counts_only_working_time():
    pauses = [(at(9, 16, 11, 30), at(9, 16, 14))]  # 30 + 30 working minutes paused
    state = clock_state(at(9, 16, 11), BUSINESS_1H, pauses, None, CAL, at(9, 16, 14, 10))
    assert state.due_at == at(9, 16, 14, 30) and state.elapsed == 40 * M


def test_open_pause_projects_due_from_now():
    pauses = [(at(9, 16, 10, 20), None)]
    state = clock_state(at(9, 16, 10), BUSINESS_1H, pauses, None, CAL, at(9, 16, 10, 50))
    assert state.paused and state.elapsed == 20 * M and state.due_at == at(9, 16, 11, 30)
    later = clock_state(at(9, 16, 10), BUSINESS_1H, pauses, None, CAL, at(9, 16, 18, 30))
    assert later.paused and not later.breached and later.due_at == at(9, 17, 9, 40)


def test_pause_after_due_keeps_the_breach():
    pauses = [(at(9, 16, 11, 30), None)]
    state = clock_state(at(9, 16, 10), BUSINESS_1H, pauses, None, CAL, at(9, 16, 15))
    assert state.paused and state.breached and state.due_at == at(9, 16, 11)


def test_calendar_clock_pause():
    pauses = [(at(9, 14, 10), at(9, 14, 12))]
    state = clock_state(at(9, 14, 9), CALENDAR_24H, pauses, None, CAL, at(9, 14, 13))
    assert state.due_at == at(9, 15, 11) and state.elapsed == 2 * H


def test_overlapping_and_early_pauses_are_merged_and_clipped():
    pauses = [(at(9, 16, 8), at(9, 16, 10, 10)), (at(9, 16, 10, 20), at(9, 16, 10, 40)),
              (at(9, 16, 10, 30), at(9, 16, 10, 50))]
    state = clock_state(at(9, 16, 10), BUSINESS_1H, pauses, None, CAL, at(9, 16, 12))
    assert state.due_at == at(9, 16, 11, 40)  # 10 + 30 minutes paused


def test_pause_resumed_before_it_began_is_refused():
    backwards = [(at(9, 16, 11), at(9, 16, 10, 30))]
    with pytest.raises(ValueError, match="before it began"):
        clock_state(at(9, 16, 10), BUSINESS_1H, backwards, None, CAL, at(9, 16, 12))


def test_sla_clock_dataclass():
    clock = SlaClock(opened_at=at(9, 30, 17, 30), target=BUSINESS_1H)
    assert clock.state(CAL, at(10, 8, 9, 31)).breached
    assert clock.state(CAL, at(10, 8, 9, 31)).due_at == at(10, 8, 9, 30)


# --- properties -------------------------------------------------------------------------------

starts = st.datetimes(min_value=dt.datetime(2025, 12, 1), max_value=dt.datetime(2027, 1, 31),
                      timezones=st.sampled_from([SH, dt.UTC, ZoneInfo("Europe/Berlin")]))
durations = st.integers(min_value=1, max_value=120 * 60).map(lambda m: dt.timedelta(minutes=m))


def _in_a_working_window(moment: dt.datetime) -> bool:
    local = CAL.local(moment)
    return any(begin <= local <= end for begin, end in CAL.working_intervals(local.date()))


@settings(max_examples=150, deadline=None)
@given(starts, durations)
def test_property_add_then_measure_round_trips(start, duration):
    assert working_time_between(start, add_working_time(start, duration, CAL), CAL) == duration


@settings(max_examples=150, deadline=None)
@given(starts, durations)
def test_property_due_is_never_in_non_working_time(start, duration):
    assert _in_a_working_window(add_working_time(start, duration, CAL))


@settings(max_examples=150, deadline=None)
@given(starts, durations, durations)
def test_property_monotonic_in_duration(start, d1, d2):
    shorter, longer = sorted((d1, d2))
    assert add_working_time(start, shorter, CAL) <= add_working_time(start, longer, CAL)


pause_lists = st.lists(st.tuples(st.integers(0, 5 * 24 * 60), st.integers(0, 24 * 60)), max_size=4)


@settings(max_examples=100, deadline=None)
@given(starts, durations, pause_lists, st.booleans())
def test_property_remaining_is_zero_at_due(start, duration, raw_pauses, business_hours):
    target = Target(duration=duration, business_hours=business_hours)
    pauses = [(start + k * M, start + (k + n) * M) for k, n in raw_pauses]
    # Seen from long after, every pause is over; seen from the due time, the same due time.
    due = clock_state(start, target, pauses, None, CAL, start + dt.timedelta(days=60)).due_at
    state = clock_state(start, target, pauses, None, CAL, due)
    assert state.remaining == dt.timedelta(0) and state.due_at == due and not state.breached
