"""A care team's week over the real scheduler's jobs on a controllable clock: night shifts that cross midnight
(issue 10 §5) and no morning list on the team's days off (§6)."""

from __future__ import annotations

import datetime as dt

import pytest
from slack_sdk import WebClient

from bot.services import escalations
from bot.services.complaints import ComplaintForm, complaint_for, open_complaint, set_sla_rules
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI
from tests.ticks import Ticks

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")


def local(year, month, day, hour=0, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def ticks(team, renderer, slack):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    escalations.set_manager(team, "default", "U0BOSS", None)
    for user in ("U0AGENT", "U0AGENT2", "U0SUPER", "U0ADMIN", "U0BOSS"):
        slack.add_user(user, locale="en-US")
    slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    return Ticks(team, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))


@pytest.mark.parametrize("windows", [["09:00-12:00", "21:00-02:00"], ["09:00-12:00", "21:00-24:00"],
                                     ["00:00-02:00", "21:00-24:00"]])
def test_night_shift_rules_are_accepted(team, windows):
    rules = set_sla_rules(team, f"calendar:\n  working_windows: {windows}\n", set_by="test")
    assert [str(w) for w in rules.calendar.working_windows] == windows


def test_a_friday_night_complaint_is_due_within_fridays_night_shift(team, ticks, slack):
    """21:00-02:00 belongs to Friday: a Friday 23:30 complaint with 1 working hour is due Saturday 00:30,
    and the supervisors hear of the breach that night (the team's quiet hours start after its shift)."""
    set_sla_rules(team, "calendar:\n  working_windows: ['21:00-02:00']\n  quiet_hours: '03:00-08:00'\n",
                  set_by="test")
    team.clock.set(local(2026, 11, 27, 23, 30))  # a Friday
    customer = seed.customer(team, "N001", "Nina Night", owner="U0AGENT")
    complaint = open_complaint(team, AGENT, ComplaintForm(customer_id=customer, description="Parcel lost")).id
    first_response = complaint_for(team, AGENT, complaint).clocks[0]
    assert first_response.clock == "first_response" and first_response.due_at == local(2026, 11, 28, 0, 30)

    ticks.at(local(2026, 11, 28, 0, 30))
    assert slack.messages("C0SUPER") == []
    ticks.at(local(2026, 11, 28, 0, 31))
    [page] = slack.messages("C0SUPER")
    assert f"#{complaint}" in str(page["blocks"])


def test_with_24_00_the_saturday_morning_half_of_the_shift_is_not_worked(team):
    """`00:00-02:00` + `21:00-24:00`: the 00:00-02:00 window belongs to Saturday, a day off, and Sunday is
    off too: the next window is Monday 00:00. Written as one window (`21:00-02:00`) it would be Friday's."""
    set_sla_rules(team, "calendar:\n  working_windows: ['00:00-02:00', '21:00-24:00']\n", set_by="test")
    team.clock.set(local(2026, 11, 27, 23, 30))
    customer = seed.customer(team, "N002", "Ned Night", owner="U0AGENT")
    complaint = open_complaint(team, AGENT, ComplaintForm(customer_id=customer, description="Parcel lost")).id
    assert complaint_for(team, AGENT, complaint).clocks[0].due_at == local(2026, 11, 30, 0, 30)


def test_a_team_that_works_every_day_says_so_and_its_clock_runs_on_sunday(team):
    set_sla_rules(team, "calendar:\n  weekly_days_off: []\n  holiday_country: null\n", set_by="test")
    team.clock.set(local(2026, 11, 28, 17, 30))  # a Saturday
    customer = seed.customer(team, "E001", "Every Day", owner="U0AGENT")
    complaint = open_complaint(team, AGENT, ComplaintForm(customer_id=customer, description="Broken")).id
    assert complaint_for(team, AGENT, complaint).clocks[0].due_at == local(2026, 11, 29, 9, 30)  # Sunday


def morning_lists(slack):
    return [m for m in slack.messages("C0DIGEST")]


def test_no_morning_list_on_days_off_and_what_fell_due_is_on_the_next_working_morning(team, ticks, slack):
    """Friday 2027-02-05 to Wednesday 02-10 is the Spring Festival (holidays package), then Thursday works."""
    customer = seed.customer(team, "S001", "Sam Spring", owner="U0AGENT")
    seed.callback(team, customer, local(2027, 2, 7, 10), kind="first_use")  # falls due on a holiday Sunday
    posted_on = []
    for day in range(4, 13):
        before = len(morning_lists(slack))
        for _ in ticks.every(local(2027, 2, day, 8, 0), local(2027, 2, day, 10, 0), dt.timedelta(hours=1)):
            pass
        if len(morning_lists(slack)) > before:
            posted_on.append(day)
    assert posted_on == [4, 11, 12]
    thursday = morning_lists(slack)[1]
    assert "S001" in str(thursday["blocks"]) and "<@U0AGENT>" in str(thursday["blocks"])


def test_a_team_that_works_every_day_gets_its_list_every_day(team, ticks, slack):
    set_sla_rules(team, "calendar:\n  weekly_days_off: []\n  holiday_country: null\n", set_by="test")
    for day in (6, 7, 8):  # Saturday to Monday, Spring Festival in the CN calendar
        ticks.at(local(2027, 2, day, 9, 5))
    assert len(morning_lists(slack)) == 3


def test_a_teams_own_day_off_and_an_adjusted_working_saturday(team, ticks, slack):
    set_sla_rules(team, "calendar:\n  extra_days_off: [2026-10-09]\n", set_by="test")
    ticks.at(local(2026, 10, 9, 9, 5))  # a Friday the team takes off
    assert morning_lists(slack) == []
    ticks.at(local(2026, 10, 10, 9, 5))  # 调休: Saturday 10 October 2026 is a working day
    assert len(morning_lists(slack)) == 1


SUPER = Actor("U0SUPER", "default", Role.SUPERVISOR, "zh-CN", "Asia/Shanghai")


def test_an_acknowledged_working_time_clock_is_not_re_raised_at_night_or_at_the_weekend(team, ticks, slack):
    """Issue 10 §2: re-raises seen at 19:00, 23:00, 03:00, 03:31 and Saturday 10:00 follow their clock now."""
    set_sla_rules(team, "targets:\n  complaint:\n    resolution: {duration: 5d, business_hours: true}\n",
                  set_by="test")
    team.clock.set(local(2026, 11, 27, 16, 0))  # Friday 16:00: first response due 17:00
    customer = seed.customer(team, "Q001", "Quiet Night", owner="U0AGENT")
    complaint = open_complaint(team, AGENT, ComplaintForm(customer_id=customer, description="Noisy fan")).id

    def posts():  # the complaint's pages (Monday 09:00 also brings the weekly report, issue 13)
        return [m for m in slack.messages("C0SUPER") if f"#{complaint}*" in str(m["blocks"])]

    ticks.at(local(2026, 11, 27, 17, 1))
    assert len(posts()) == 1
    team.clock.set(local(2026, 11, 27, 17, 5))
    escalations.acknowledge(team, SUPER, complaint, group_members=lambda g: [])
    for moment in ((17, 34), (17, 35), (19, 0), (23, 0)):
        ticks.at(local(2026, 11, 27, *moment))
    assert len(posts()) == 2, "one re-raise 30 working minutes after the acknowledgement"
    for moment in (local(2026, 11, 28, 3, 0), local(2026, 11, 28, 3, 31), local(2026, 11, 28, 10, 0),
                   local(2026, 11, 30, 9, 4)):
        ticks.at(moment)
    assert len(posts()) == 2, "nothing on the night, the weekend, before 30 working minutes"
    ticks.at(local(2026, 11, 30, 9, 5))  # 17:35 + 25 working minutes on Friday + 5 on Monday
    assert len(posts()) == 3


def test_quiet_hours_hold_a_calendar_clock_breach_but_an_urgent_one_breaks_through(team, ticks, slack):
    from bot.services.complaints import record_first_response

    team.clock.set(local(2026, 11, 23, 23, 0))  # Monday 23:00: resolution due Tuesday 23:00 (24 calendar h)
    normal = seed.customer(team, "Q002", "Normal Night", owner="U0AGENT")
    critical = seed.customer(team, "Q003", "Critical Night", owner="U0AGENT")
    quiet_one = open_complaint(team, AGENT, ComplaintForm(customer_id=normal, description="Slow")).id
    record_first_response(team, AGENT, quiet_one)
    team.clock.set(local(2026, 11, 24, 22, 0))  # critical: first response within 30 calendar minutes
    urgent_one = open_complaint(team, AGENT, ComplaintForm(customer_id=critical, severity="critical",
                                                           description="Smoke from the charger")).id

    def pages(complaint):
        return [m for m in slack.messages("C0SUPER") if f"#{complaint}*" in str(m["blocks"])]

    for moment in (local(2026, 11, 24, 22, 31), local(2026, 11, 24, 23, 1), local(2026, 11, 25, 7, 59)):
        ticks.at(moment)
    assert len(pages(urgent_one)) >= 1 and pages(quiet_one) == []
    night_dms = slack.messages("U0AGENT")
    assert night_dms and all(f"#{quiet_one}*" not in str(m["blocks"]) for m in night_dms), "only the urgent one"
    ticks.at(local(2026, 11, 25, 8, 0))  # quiet hours end: the held breach goes out, late but not lost
    assert len(pages(quiet_one)) == 1
