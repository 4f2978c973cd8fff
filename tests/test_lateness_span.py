"""How late (and how long left) is said without rounding up (tryout: 55 working hours read "2天（工作时间）", 10 days
20 hours "按日历 2周", 36 h "2 days": Babel's format_timedelta(threshold=1.5) rounds up and counts a working day as
24 working hours). A span is its largest unit and the next, each rounded down; working time is said in hours."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services.sla_clocks import ClockView
from messages.render import Renderer

H = dt.timedelta(hours=1)


@pytest.mark.parametrize(("span", "working", "en", "zh"), [
    (55 * H, True, "55 hours", "55小时"),  # 7 working days of ~8 h: not "2 days"
    (36 * H, True, "36 hours", "36小时"),
    (14.5 * H, True, "14 hours 30 minutes", "14小时30分钟"),
    ((10 * 24 + 20) * H, False, "10 days 20 hours", "10天20小时"),  # not "2 weeks"
    (36 * H, False, "1 day 12 hours", "1天12小时"),  # not "2 days"
    ((2 * 24 + 4) * H, False, "2 days 4 hours", "2天4小时"),
    (47.99 * H, False, "1 day 23 hours", "1天23小时"),  # not "2 days"
    (24 * H, False, "1 day", "1天"),
    (48.5 * H, False, "2 days", "2天"),  # the next unit is hours, and it has none
    (90 * dt.timedelta(minutes=1), False, "1 hour 30 minutes", "1小时30分钟"),
    (dt.timedelta(minutes=40, seconds=59), False, "40 minutes", "40分钟"),
    (dt.timedelta(seconds=45), True, "45 seconds", "45秒钟"),
    (-36 * H, False, "1 day 12 hours", "1天12小时"),  # a time left below zero: its size
])
def test_a_span_is_its_largest_unit_and_the_next_never_rounded_up(span, working, en, zh):
    from messages.render import span_text

    assert span_text(span, "en", working) == en
    assert span_text(span, "zh-CN", working) == zh


def clock_line(renderer: Renderer, view: ClockView, locale: str) -> str:
    env = renderer.env
    template = env.from_string("{% set c = view %}{% include 'sla_clock.j2' %}")
    return template.render(locale=locale, view=view, timezone="Asia/Shanghai")


def test_a_working_clock_says_its_lateness_in_working_hours_and_the_calendar_beside_it(renderer):
    due = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    view = ClockView("first_response", due, left=-55 * H, breached=True, paused=False, stopped=False,
                     business_hours=True, calendar_left=-(10 * 24 + 20) * H)
    zh = clock_line(renderer, view, "zh-CN")
    assert "55小时（工作时间；按日历 10天20小时）" in zh, zh
    en = clock_line(renderer, view, "en")
    assert "55 hours of working time (10 days 20 hours by the calendar)" in en, en


def test_time_left_on_a_working_clock_is_in_working_hours_too(renderer):
    due = dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)
    view = ClockView("resolution", due, left=30 * H, breached=False, paused=False, stopped=False,
                     business_hours=True, calendar_left=3 * 24 * H)
    assert "30 hours left" in clock_line(renderer, view, "en")  # Babel said "1 day" of 24 working hours
    paused = ClockView("resolution", due, left=36 * H, breached=False, paused=True, stopped=False,
                       business_hours=False)
    assert "paused, 1 day 12 hours left" in clock_line(renderer, paused, "en")
