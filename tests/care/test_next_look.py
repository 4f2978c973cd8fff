"""`next_look` lets the sweep skip a complaint until its next moment: a sweeper that looks at a complaint only
once that moment has come sends exactly what a sweeper looking every minute sends (same steps, same minutes),
through working-time clocks, weekends, holidays, quiet hours, acknowledgements, snoozes, pauses and a first
response. Whatever acts (acknowledge, snooze, pause, respond) brings the moment forward to its own time, as
the services do."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.care.escalation import ComplaintSla, due_notifications, next_look, snooze_until
from bot.care.sla import clock_state
from bot.care.sla_rules import default_sla_rules, load_sla_rules

SH = ZoneInfo("Asia/Shanghai")
DEFAULTS = default_sla_rules()
# every level respects quiet hours; the manager is re-raised too; a short resolution clock in working time
WORKING = load_sla_rules("""
targets:
  complaint:
    first_response: {duration: 2h, business_hours: true}
    resolution: {duration: 6h, business_hours: true}
escalation:
  levels:
    - {name: owner, warn_at: 0.5, respects_quiet_hours: true}
    - {name: supervisors, after: 10m, respects_quiet_hours: true, retrigger: 20m}
    - {name: manager, after: 15m, respects_quiet_hours: true, retrigger: 45m}
""")
MINUTE = dt.timedelta(minutes=1)


def _clocks(rules, opened, severity, responded, pauses, now):
    calendar = rules.work_calendar()
    clocks = {}
    for clock, stopped in (("first_response", responded), ("resolution", None)):
        target = rules.target_for("complaint", severity, "ordinary", clock)
        clocks[clock] = clock_state(opened, target, pauses, stopped if stopped and stopped <= now else None,
                                    calendar, now)
    return clocks


def _run(rules, opened, severity, events, minutes, lazy):
    """Sweep every minute for `minutes`; `lazy` looks at the complaint only once its moment has come.
    `events`: {minute: action}. Returns [(minute, step_key)] sent."""
    sent, out = [], []
    ack = snoozed = responded = None
    pauses: list[tuple[dt.datetime, dt.datetime | None]] = []
    attention = opened  # the services store an earlier moment when the complaint opens
    urgent = rules.escalation.is_urgent(severity, "ordinary")
    start = opened.replace(second=0, microsecond=0) + MINUTE
    for minute in range(minutes):
        now = start + minute * MINUTE
        action = events.get(minute)
        if action is not None:
            attention = now if attention is None else min(attention, now)
            if action == "ack":
                ack = now
            elif action == "snooze":
                snoozed = snooze_until(now, rules)
            elif action == "respond" and responded is None:
                responded = now
            elif action == "pause" and not (pauses and pauses[-1][1] is None):
                pauses.append((now, None))
            elif action == "resume" and pauses and pauses[-1][1] is None:
                pauses[-1] = (pauses[-1][0], now)
        if lazy and (attention is None or attention > now):
            continue
        facts = ComplaintSla("1", "U_OWNER", _clocks(rules, opened, severity, responded, tuple(pauses), now),
                             acknowledged_at=ack, snoozed_until=snoozed, sent=tuple(sent), urgent=urgent)
        quiet = rules.calendar.in_quiet_hours(now)
        due = due_notifications(facts, rules, now, quiet=quiet)
        sent += [n.sent(now) for n in due]
        out += [(minute, n.step_key) for n in due]
        after = next_look(dataclasses.replace(facts, sent=tuple(sent)), rules, now,
                          quiet_until=rules.calendar.quiet_ends(now) if quiet else None)
        if after is None or after > now:
            attention = after
    return out


DAYS = 2 * 24 * 60
events = st.dictionaries(st.integers(0, DAYS), st.sampled_from(["ack", "snooze", "respond", "pause",
                                                                         "resume"]), max_size=6)


@settings(max_examples=12, deadline=None)  # each example is two sweepers over two days, minute by minute
@given(rules=st.sampled_from([DEFAULTS, WORKING]),
       opened=st.datetimes(dt.datetime(2026, 9, 25), dt.datetime(2026, 10, 12), timezones=st.just(SH)),
       severity=st.sampled_from(["normal", "critical"]), events=events)
def test_a_sweeper_that_skips_to_the_next_moment_sends_what_one_looking_every_minute_sends(rules, opened, severity,
                                                                                           events):
    every = _run(rules, opened, severity, events, DAYS, lazy=False)
    assert _run(rules, opened, severity, events, DAYS, lazy=True) == every


def test_the_quiet_time_ends_at_its_first_moment_not_quiet():
    calendar = DEFAULTS.calendar
    friday_night = dt.datetime(2026, 11, 27, 22, 0, tzinfo=SH)  # quiet 21:00-08:00, then the weekend is quiet
    assert calendar.quiet_ends(friday_night) == dt.datetime(2026, 11, 30, 8, 0, tzinfo=SH)
    national_day = dt.datetime(2026, 10, 1, 12, 0, tzinfo=SH)  # 1-7 October off; 10 October (Sat) worked
    assert calendar.quiet_ends(national_day) == dt.datetime(2026, 10, 8, 8, 0, tzinfo=SH)
    noon = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)
    assert calendar.quiet_ends(noon) == noon


def test_nothing_more_falls_due_once_every_level_is_sent_and_nobody_acts():
    opened = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    run = _run(DEFAULTS, opened, "normal", {}, DAYS, lazy=True)
    assert [key for _, key in run] == ["sla:1:first_response:owner", "sla:1:first_response:supervisors",
                                       "sla:1:first_response:manager", "sla:1:resolution:owner",
                                       "sla:1:resolution:supervisors", "sla:1:resolution:manager"]
