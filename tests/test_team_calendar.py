"""One team calendar for everything: a day off in the team's rules file moves callbacks and SLA clocks alike."""

from __future__ import annotations

import datetime as dt

from bot.care.call_form import CallForm
from bot.services.calls import log_call
from bot.services.complaints import set_sla_rules
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from storage import queries
from tests import seed
from tests.conftest import DEFAULT_NOW

TEAM_DAY_OFF = """
calendar:
  extra_days_off: [2026-11-25]
"""


def retry_day(services) -> dt.date:
    cid = seed.customer(services, "A001", "Alice Wang")
    seed.callback(services, cid, DEFAULT_NOW - dt.timedelta(hours=1))
    actor = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
    logged = log_call(services, actor, CallForm(cid, None, "phone", "unreachable", None, "", "", None))
    return logged.next_due_on


def test_a_team_day_off_moves_the_retry_to_the_next_working_day(team):
    set_sla_rules(team, TEAM_DAY_OFF, set_by="U0ADMIN")
    assert retry_day(team) == dt.date(2026, 11, 26)  # Wednesday 25th is the team's day off


def test_without_it_the_retry_is_tomorrow(team):
    assert retry_day(team) == dt.date(2026, 11, 25)


def test_the_calendar_follows_the_team_timezone_even_with_a_rules_file(team):
    set_sla_rules(team, TEAM_DAY_OFF, set_by="U0ADMIN")
    set_setting(team, "timezone", "Europe/Berlin")
    with team.db.unit_of_work() as session:
        calendar = team.calendar_for(queries.ensure_team(session, "default"))
    assert calendar.timezone == "Europe/Berlin"
    assert not calendar.is_working_day(dt.date(2026, 11, 25))


def test_a_unit_of_work_reads_the_team_rules_file_once_and_sees_rules_written_in_it(team):
    # a logged call asks for the calendar several times; a team without a rules row was asked for each time
    from sqlalchemy import event

    from storage import sla_queries

    asked: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "team_escalation" in statement and statement.lstrip().upper().startswith("SELECT"):
            asked.append(statement)

    day_off = dt.date(2026, 11, 25)
    event.listen(team.db.engine, "before_cursor_execute", count)
    try:
        with team.db.unit_of_work() as session:
            row = queries.ensure_team(session, "default")
            first, again = team.calendar_for(row), team.calendar_for(row)
            assert len(asked) == 1 and first.is_working_day(day_off) and again.is_working_day(day_off)
            sla_queries.ensure_team_escalation(session, "default").sla_rules = TEAM_DAY_OFF  # as set_sla_rules
            assert not team.calendar_for(row).is_working_day(day_off)
    finally:
        event.remove(team.db.engine, "before_cursor_execute", count)
