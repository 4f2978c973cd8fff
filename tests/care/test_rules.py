from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.care.outcomes import OutcomeRules
from bot.care.rules import (
    DEFAULT_RULES_PATH,
    CareRules,
    RulesError,
    Weekday,
    default_rules,
    dump_effective,
    load_rules,
)
from bot.care.segments import Activity, Lifecycle, Tier


def test_defaults_are_the_templates_values():
    rules = default_rules()
    seg = rules.segments
    assert (seg.tier_method, seg.high_value_min_spend, seg.potential_min_spend, seg.top_percent) == (
        "threshold",
        100000,
        50000,
        10,
    )
    assert (
        seg.active_within_months,
        seg.churn_after_months,
        seg.spike_tickets,
        seg.spike_window_days,
        seg.new_within_months,
    ) == (3, 6, 3, 60, 3)
    t = rules.triggers
    assert t.first_purchase.welcome.after.is_zero
    assert (t.first_purchase.first_use.after.days, t.first_purchase.survey.after.days) == (7, 30)
    assert (
        t.complaint_resolved.callback.after.hours,
        t.complaint_resolved.survey.after.hours,
        t.complaint_resolved.one_to_one.after.months,
    ) == (24, 72, 1)
    assert (t.birthday.days_before, t.holiday.days_before) == (3, 1)
    assert {"春节", "中秋节"} <= set(t.holiday.names)
    assert (t.churn_risk.after.hours, t.churn_risk.owner_role) == (24, "supervisor")
    cadence = {c.name: c.every for c in t.periodic.cadence}
    assert (
        cadence["high_value"].days,
        cadence["new"].days,
        cadence["ordinary"].months,
        cadence["potential"].months,
    ) == (14, 7, 1, 2)
    avoid = [(a.weekday, a.start, a.end) for a in rules.etiquette.avoid]
    assert avoid == [(Weekday.MONDAY, dt.time(0), dt.time(12)), (Weekday.FRIDAY, dt.time(12), dt.time.max)]
    assert rules.etiquette.max_open_per_kind == 1
    assert set(rules.etiquette.monthly_cap) == set(Tier)
    assert rules.outcomes == OutcomeRules()


def test_no_number_of_the_rules_is_hard_coded():
    """The engine's modules read every business number from the rules (§ 'every number is a default')."""
    root = Path(DEFAULT_RULES_PATH).parent
    for name in ("segments.py", "plan.py", "forecast.py"):
        code = re.sub(r'""".*?"""|#.*', "", (root / name).read_text(encoding="utf-8"), flags=re.S)
        for number in ("100000", "50000", "60", "24", "72", "30"):
            assert not re.search(rf"(?<![\w.]){number}(?![\w.])", code), (name, number)


def test_a_team_file_overrides_a_subset_and_keeps_the_rest():
    rules = load_rules(
        """
segments:
  high_value_min_spend: 200000
etiquette:
  monthly_cap: {ordinary: 2}
outcomes:
  satisfied_after_days: 14
triggers:
  periodic:
    use: worksheet
"""
    )
    defaults = default_rules()
    assert rules.segments.high_value_min_spend == 200000
    assert rules.segments.potential_min_spend == defaults.segments.potential_min_spend
    assert rules.etiquette.monthly_cap == {**defaults.etiquette.monthly_cap, Tier.ORDINARY: 2}
    assert rules.outcomes == OutcomeRules(satisfied_after_days=14)
    assert rules.triggers.birthday == defaults.triggers.birthday
    worksheet = {c.name: c.every for c in rules.triggers.periodic.cadence}
    assert (worksheet["high_value"].days, worksheet["ordinary"].months) == (21, 3)  # VIP 1-2/month, quarterly


def test_lists_replace_and_unquoted_times_read_as_times():
    rules = load_rules(
        "planning: {default_time: 9:30}\netiquette:\n  avoid:\n"
        "    - {weekday: wednesday, start: 14:00, end: 24:00}\n"
    )
    assert rules.planning.default_time == dt.time(9, 30)
    assert [(a.weekday, a.start, a.end) for a in rules.etiquette.avoid] == [
        (Weekday.WEDNESDAY, dt.time(14), dt.time.max)
    ]


def test_base_is_layered_on():
    team = load_rules("etiquette: {monthly_cap: {ordinary: 2}}")
    layered = load_rules("etiquette: {max_open_per_kind: 2}", base=team)
    assert (layered.etiquette.monthly_cap[Tier.ORDINARY], layered.etiquette.max_open_per_kind) == (2, 2)


def test_empty_file_is_the_defaults(tmp_path):
    assert load_rules("") == default_rules()
    path = tmp_path / "team.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_rules(path) == load_rules(str(path)) == default_rules()


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ("segments:\n  high_value_min_spend: lots\n", "segments.high_value_min_spend", 2),
        (
            "planning: {horizon_days: 1}\netiquette:\n  monthly_cap:\n    vip: 3\n",
            "etiquette.monthly_cap.vip",
            4,
        ),
        ("triggers:\n  birthday:\n    days_before: -1\n", "triggers.birthday.days_before", 3),
        ("triggers:\n  holiday:\n    tiers: [high_value, gold]\n", "triggers.holiday.tiers.1", 3),
        ("\n\ntriggers:\n  periodic:\n    use: nope\n", "triggers.periodic", 4),
        (
            "etiquette:\n  avoid:\n    - {weekday: monday, start: '12:00', end: '09:00'}\n",
            "etiquette.avoid.0",
            3,
        ),
        (
            "etiquette:\n  avoid:\n    - {weekday: someday, start: '12:00', end: '13:00'}\n",
            "etiquette.avoid.0.weekday",
            3,
        ),
        ("outcomes:\n  satisfied_after_dayz: 3\n", "outcomes.satisfied_after_dayz", 2),
        ("segmentz: {}\n", "segmentz", 1),
        ("planning:\n  horizon_days: [1\n", "(yaml)", 3),
        ("- a list\n", "(top)", 1),
    ],
)
def test_errors_name_key_path_and_line(text, path, line):
    with pytest.raises(RulesError) as caught:
        load_rules(text)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert path in str(caught.value) and f"line {line}" in str(caught.value)


def test_an_invalid_file_applies_nothing():
    base = load_rules("etiquette: {monthly_cap: {ordinary: 2}}")
    before = base.model_dump()
    with pytest.raises(RulesError):
        load_rules("etiquette: {monthly_cap: {ordinary: 3}}\nsegments: {spike_tickets: 0}\n", base=base)
    assert base.model_dump() == before


def test_rules_are_immutable():
    rules = default_rules()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError subclass
        rules.planning.horizon_days = 3  # type: ignore[misc]


def test_dump_effective_round_trips_and_shows_overrides():
    rules = load_rules("planning: {horizon_days: 3}\ntriggers: {holiday: {names: [元旦]}}")
    text = dump_effective(rules)
    assert "horizon_days: 3" in text and "元旦" in text and "end: '24:00'" in text
    assert "satisfied_after_days: 30" in text
    assert load_rules(text) == rules
    assert isinstance(load_rules(dump_effective(default_rules())), CareRules)


def test_enum_values_are_those_of_the_segments():
    periodic = default_rules().triggers.periodic
    assert periodic.activities == (Activity.ACTIVE,)
    assert set(periodic.lifecycles) == {Lifecycle.NEW, Lifecycle.EXISTING}
