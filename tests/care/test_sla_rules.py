import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.care.sla_rules import (
    RulesError,
    SlaRules,
    default_sla_rules,
    load_sla_rules,
    parse_duration,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def test_default_file_loads_with_care_domain_values():
    rules = default_sla_rules()
    assert isinstance(rules, SlaRules)
    cal = rules.calendar
    assert cal.timezone == "Asia/Shanghai" and cal.holiday_country == "CN"
    assert [(w.start, w.end) for w in cal.working_windows] == [
        (dt.time(9), dt.time(12)), (dt.time(13, 30), dt.time(18))]
    assert (cal.quiet_hours.start, cal.quiet_hours.end) == (dt.time(21), dt.time(8))
    esc = rules.escalation
    assert [level.name for level in esc.levels] == ["owner", "supervisors", "manager"]
    assert esc.level("owner").warn_at == 0.8 and esc.level("owner").respects_quiet_hours
    assert esc.level("supervisors").respects_quiet_hours and esc.level("manager").respects_quiet_hours
    assert esc.is_urgent("critical", "ordinary") and not esc.is_urgent("high", "high_value")
    assert cal.weekly_days_off == ("saturday", "sunday") and cal.quiet_on_days_off
    assert esc.level("supervisors").retrigger == 30 * M
    assert esc.snooze == 30 * M


@pytest.mark.parametrize(("kind", "severity", "tier", "clock", "duration", "business_hours"), [
    ("complaint", "normal", "ordinary", "first_response", 1 * H, True),
    ("complaint", "high", "high_value", "resolution", 24 * H, False),
    ("complaint", "critical", "ordinary", "first_response", 30 * M, False),
    ("complaint", "critical", "potential", "resolution", 24 * H, False),  # override sets first_response only
    ("inquiry", "low", "potential", "first_response", 2 * H, True),
    ("inquiry", "normal", "ordinary", "resolution", 24 * H, False),
    ("suggestion", "normal", "ordinary", "first_response", 48 * H, False),
])
def test_default_targets(kind, severity, tier, clock, duration, business_hours):
    target = default_sla_rules().target_for(kind, severity, tier, clock)
    assert (target.duration, target.business_hours) == (duration, business_hours)


def test_suggestion_has_no_resolution_clock():
    assert default_sla_rules().target_for("suggestion", "normal", "ordinary", "resolution") is None


OVERRIDES = """
targets:
  complaint:
    overrides:
      - tier: high_value
        first_response: {duration: 20m, business_hours: true}
        resolution: {duration: 8h, business_hours: true}
      - severity: high
        first_response: {duration: 40m, business_hours: true}
      - severity: high
        tier: high_value
        first_response: {duration: 10m, business_hours: false}
"""


@pytest.mark.parametrize(("severity", "tier", "clock", "duration", "business_hours"), [
    ("normal", "ordinary", "first_response", 60 * M, True),   # kind default
    ("normal", "high_value", "first_response", 20 * M, True),  # tier only
    ("high", "ordinary", "first_response", 40 * M, True),     # severity only
    ("high", "high_value", "first_response", 10 * M, False),  # severity + tier beats both
    ("high", "high_value", "resolution", 8 * H, True),        # only the tier override sets resolution
    ("high", "potential", "resolution", 24 * H, False),       # kind default
    ("critical", "high_value", "first_response", 20 * M, True),  # default critical override was replaced
])
def test_most_specific_override_wins(severity, tier, clock, duration, business_hours):
    target = load_sla_rules(OVERRIDES).target_for("complaint", severity, tier, clock)
    assert (target.duration, target.business_hours) == (duration, business_hours)


def test_severity_beats_tier_when_equally_specific():
    rules = load_sla_rules("""
targets:
  inquiry:
    overrides:
      - {tier: potential, first_response: {duration: 30m, business_hours: true}}
      - {severity: low, first_response: {duration: 50m, business_hours: true}}
""")
    assert rules.target_for("inquiry", "low", "potential", "first_response").duration == 50 * M


@pytest.mark.parametrize("bad", [("complain", "normal", "ordinary", "first_response"),
                                 ("complaint", "urgent", "ordinary", "first_response"),
                                 ("complaint", "normal", "vip", "first_response"),
                                 ("complaint", "normal", "ordinary", "response")])
def test_target_for_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="unknown"):
        default_sla_rules().target_for(*bad)


@pytest.mark.parametrize(("text", "minutes"), [
    ("90m", 90), ("1h", 60), ("24h", 1440), ("2d", 2880), ("30min", 30), (45, 45), ("1h30m", 90),
    (" 2 hours ", 120), ("1d 2h 5min", 1565), (dt.timedelta(minutes=7), 7),
])
def test_parse_duration(text, minutes):
    assert parse_duration(text) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("bad", ["1x", "", "h", "1.5h", "1h30", 1.5, True, None, dt.timedelta(seconds=30)])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_override_of_one_value_keeps_the_rest_default():
    rules = load_sla_rules("""
targets:
  complaint:
    first_response:
      duration: 2h
escalation:
  snooze: 10m
""")
    default = default_sla_rules()
    first = rules.target_for("complaint", "normal", "ordinary", "first_response")
    assert (first.duration, first.business_hours) == (2 * H, True)
    assert rules.escalation.snooze == 10 * M
    assert rules.escalation.levels == default.escalation.levels
    assert rules.calendar == default.calendar
    assert rules.targets.inquiry == default.targets.inquiry
    assert rules.targets.complaint.resolution == default.targets.complaint.resolution


def test_empty_document_is_the_default():
    assert load_sla_rules("") == default_sla_rules()
    assert load_sla_rules("# nothing\n") == default_sla_rules()


def test_load_from_path(tmp_path: Path):
    path = tmp_path / "team.yaml"
    path.write_text("escalation:\n  snooze: 15m\n", encoding="utf-8")
    assert load_sla_rules(path).escalation.snooze == 15 * M
    assert load_sla_rules(str(path)).escalation.snooze == 15 * M


def _error(text: str) -> str:
    with pytest.raises(RulesError) as info:
        load_sla_rules(text)
    return str(info.value)


def test_bad_duration_names_key_and_line():
    message = _error("""targets:
  complaint:
    resolution:
      duration: soon
""")
    assert "targets.complaint.resolution.duration" in message and "line 4" in message


def test_unknown_key_names_key_and_line():
    message = _error("""calendar:
  timezone: Asia/Shanghai
  lunch: 12:00-13:30
""")
    assert "calendar.lunch: unknown key" in message and "line 3" in message


def test_unknown_ticket_kind_is_an_unknown_key():
    message = _error("targets:\n  question:\n    first_response: 1h\n")
    assert "targets.question: unknown key" in message and "line 3" in message


def test_bad_level_order_names_key_and_line():
    message = _error("""escalation:
  levels:
    - name: owner
      warn_at: 0.8
      respects_quiet_hours: true
    - name: manager
      after: 30m
      respects_quiet_hours: false
      retrigger: 30m
    - name: supervisors
      after: 0m
      respects_quiet_hours: false
      retrigger: 30m
""")
    assert "escalation.levels[2].name" in message and "out of order" in message and "line 10" in message


@pytest.mark.parametrize(("text", "path", "line"), [
    ("escalation:\n  levels:\n    - {name: owner, warn_at: 0.8, respects_quiet_hours: true}\n",
     "escalation.levels", 3),  # no breach level left
    ("escalation:\n  levels:\n    - {name: supervisors, respects_quiet_hours: false, retrigger: 5m}\n",
     "escalation.levels[0].after", 3),
    ("escalation:\n  levels:\n    - {name: owner, warn_at: 0.8, after: 5m, respects_quiet_hours: true}\n"
     "    - {name: supervisors, after: 0m, respects_quiet_hours: false, retrigger: 5m}\n",
     "escalation.levels[0].after", 3),
    ("escalation:\n  snooze: 0m\n", "escalation.snooze", 2),
    ("calendar:\n  working_windows: ['09:00-12:00', '11:00-14:00']\n", "calendar.working_windows[1]", 2),
    ("calendar:\n  quiet_hours: '21:00'\n", "calendar.quiet_hours", 2),
    ("calendar:\n  timezone: Mars/Olympus\n", "calendar.timezone", 2),
    ("calendar:\n  extra_days_off: [2026-02-30]\n", "calendar.extra_days_off[0]", 2),
    ("targets:\n  complaint:\n    overrides:\n"
     "      - {first_response: {duration: 1h, business_hours: true}}\n",
     "targets.complaint.overrides[0]", 4),
    ("targets:\n  complaint:\n    overrides:\n      - {severity: high, tier: potential}\n",
     "targets.complaint.overrides[0]", 4),
    ("targets:\n  complaint:\n    overrides:\n"
     "      - {severity: high, first_response: {duration: 1h, business_hours: true}}\n"
     "      - {severity: high, resolution: {duration: 2h, business_hours: true}}\n",
     "targets.complaint.overrides[1]", 5),
    ("targets:\n  complaint:\n    overrides:\n      - {severity: urgent, first_response: 1h}\n",
     "targets.complaint.overrides[0].severity", 4),
    ("targets:\n  complaint:\n    first_response: 1h\n", "targets.complaint.first_response", 3),
])
def test_errors_name_key_and_line(text, path, line):
    message = _error(text)
    assert f"{path}:" in message and f"(line {line})" in message


def test_several_errors_are_all_reported():
    message = _error("escalation:\n  snooze: never\ncalendar:\n  timezone: Nowhere/Land\n")
    assert "escalation.snooze" in message and "line 2" in message
    assert "calendar.timezone" in message and "line 4" in message


def test_yaml_syntax_error_gives_line():
    assert "not valid YAML (line 3)" in _error("calendar:\n  timezone: x\n   windows: 1\n")


def test_document_must_be_a_mapping():
    assert "mapping" in _error("- 1\n- 2\n")


def test_failed_load_leaves_defaults_untouched():
    before = default_sla_rules().model_dump()
    _error("escalation:\n  snooze: 5m\n  levels: nope\n")
    assert default_sla_rules().model_dump() == before


def test_work_calendar_from_rules():
    rules = load_sla_rules("calendar:\n  extra_days_off: [2026-09-16]\n  extra_working_days: [2026-09-19]\n")
    cal = rules.work_calendar()
    assert cal.tz == SH
    assert not cal.is_working_day(dt.date(2026, 9, 16))  # a Wednesday off
    assert cal.is_working_day(dt.date(2026, 9, 19))  # a Saturday worked
    assert cal.working_intervals(dt.date(2026, 9, 17))[1] == (
        dt.datetime(2026, 9, 17, 13, 30, tzinfo=SH), dt.datetime(2026, 9, 17, 18, tzinfo=SH))


@pytest.mark.parametrize(("local", "quiet"), [
    (dt.time(21, 0), True), (dt.time(23, 59), True), (dt.time(0, 0), True), (dt.time(7, 59), True),
    (dt.time(8, 0), False), (dt.time(12, 0), False), (dt.time(20, 59), False),
])
def test_quiet_hours_wrap_midnight(local, quiet):
    moment = dt.datetime.combine(dt.date(2026, 9, 16), local, tzinfo=SH).astimezone(dt.UTC)
    assert default_sla_rules().calendar.in_quiet_hours(moment) is quiet


def test_quiet_hours_refuse_naive():
    with pytest.raises(ValueError, match="naive"):
        default_sla_rules().calendar.in_quiet_hours(dt.datetime(2026, 9, 16, 22))


@pytest.mark.parametrize(("windows", "message"), [
    ("['21:00-02:00', '23:00-23:30']", "only the last working window may run past midnight"),
    ("['01:00-08:00', '21:00-02:00']", "runs into the next day's first window"),
    ("['09:00-12:00', '11:00-13:00']", "must be in order by start and must not overlap"),
    ("['09:00-24:30']", "not a time range"),
    ("['24:00-08:00']", "not a time range"),
])
def test_working_windows_refused_with_the_reason(windows, message):
    with pytest.raises(RulesError) as error:
        load_sla_rules(f"calendar:\n  working_windows: {windows}\n")
    assert message in str(error.value) and "calendar.working_windows" in str(error.value)


def test_quiet_hours_may_end_at_24_00_and_days_off_are_quiet_outside_working_windows():
    rules = load_sla_rules(
        "calendar:\n  quiet_hours: '22:00-24:00'\n  working_windows: ['09:00-12:00', '20:00-01:00']\n")
    cal = rules.calendar
    assert cal.in_quiet_hours(dt.datetime(2026, 11, 26, 23, 59, tzinfo=SH))
    assert not cal.in_quiet_hours(dt.datetime(2026, 11, 26, 8, 0, tzinfo=SH))
    assert not cal.in_quiet_hours(dt.datetime(2026, 11, 28, 0, 30, tzinfo=SH)), "Friday's shift, on a Saturday"
    assert cal.in_quiet_hours(dt.datetime(2026, 11, 28, 10, 0, tzinfo=SH)), "a Saturday off"
    assert not load_sla_rules("calendar: {quiet_on_days_off: false}").calendar.in_quiet_hours(
        dt.datetime(2026, 11, 28, 10, 0, tzinfo=SH))


def test_weekly_days_off_take_short_names_and_refuse_unknown_days():
    assert load_sla_rules("calendar: {weekly_days_off: [Fri, sun]}").calendar.weekly_days_off == ("friday", "sunday")
    with pytest.raises(RulesError, match="calendar.weekly_days_off"):
        load_sla_rules("calendar: {weekly_days_off: [someday]}")
