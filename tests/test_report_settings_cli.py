"""`carebot report settings` (tryout 3, finding 12): its help names every setting it takes, from the list that
checks them (not a second, hand-written one that kept the first three), and `set` / `show` take `--team` like
the other commands, refusing a team that does not exist."""

from __future__ import annotations

import dataclasses

from click.testing import CliRunner
from sqlalchemy import select

from bot.care.metric_periods import SETTING_RANGES, MetricSettings
from bot.cli import main
from bot.services.insight import metric_settings
from bot.services.people import Role, add_staff
from storage.models import Team

NAMES = [field.name for field in dataclasses.fields(MetricSettings)]


def run(team, *args: str):
    return CliRunner().invoke(main, list(args), env={"CAREBOT_DATABASE_URL": team.db.url})


def test_the_help_names_every_setting_with_its_range(team):
    assert "csat_satisfied_min" in NAMES and "nps_detractor_max" in NAMES
    for command in (("report", "settings"), ("report", "settings", "set"), ("report", "settings", "show")):
        shown = " ".join(run(team, *command, "--help").output.split())  # click wraps the lines
        for name in NAMES:
            assert name in shown, (command, name, shown)
    shown = " ".join(run(team, "report", "settings", "set", "--help").output.split())
    low, high = SETTING_RANGES["csat_satisfied_min"]
    assert f"csat_satisfied_min ({low}–{high})" in shown and "--team" in shown


def test_show_lists_every_setting(team):
    shown = run(team, "report", "settings", "show")
    assert shown.exit_code == 0, shown.output
    assert [line.split(" = ")[0] for line in shown.output.splitlines()] == NAMES


def test_set_and_show_name_a_team(team):
    add_staff(team, "U0NORTH", Role.ADMIN, team_id="north")
    done = run(team, "report", "settings", "set", "csat_satisfied_min", "3", "--team", "north")
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "csat_satisfied_min = 3"
    assert metric_settings(team, "north").csat_satisfied_min == 3
    assert metric_settings(team).csat_satisfied_min == 4  # the default team's line is its own
    shown = run(team, "report", "settings", "show", "--team", "north").output
    assert "csat_satisfied_min = 3" in shown
    assert "csat_satisfied_min = 4" in run(team, "report", "settings", "show").output


def test_a_team_that_does_not_exist_is_refused_and_nothing_is_made(team):
    for command in (("set", "csat_satisfied_min", "3"), ("show",)):
        done = run(team, "report", "settings", *command, "--team", "typo-team")
        assert done.exit_code != 0
        assert "Invalid value for '--team': no team 'typo-team'" in done.output, done.output
    with team.db.unit_of_work() as session:
        assert sorted(session.scalars(select(Team.id)).all()) == ["default"]
    assert metric_settings(team) == MetricSettings()
