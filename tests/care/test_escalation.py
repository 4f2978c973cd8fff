import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.care.escalation import (
    ComplaintSla,
    Notification,
    SentStep,
    due_notifications,
    group_by_channel,
    snooze_until,
    step_key,
)
from bot.care.sla import clock_state
from bot.care.sla_rules import default_sla_rules, load_sla_rules

SH = ZoneInfo("Asia/Shanghai")
RULES = default_sla_rules()
CAL = RULES.work_calendar()
FIRST = RULES.target_for("complaint", "normal", "ordinary", "first_response")  # 1 working hour
RESOLUTION = RULES.target_for("complaint", "normal", "ordinary", "resolution")  # 24 calendar hours


def at(day, hour, minute=0):
    return dt.datetime(2026, 9, day, hour, minute, tzinfo=SH)


OPENED = at(16, 10)  # a Wednesday: first response due 11:00, resolution due Thu 10:00


def snapshot(now, *, sent=(), ack=None, snoozed=None, resolved=False, responded=None, pauses=()):
    clocks = {
        "first_response": clock_state(OPENED, FIRST, pauses, responded, CAL, now),
        "resolution": clock_state(OPENED, RESOLUTION, (), None, CAL, now),
    }
    return ComplaintSla("C1", "U_OWNER", clocks, acknowledged_at=ack,
                        acknowledged_by="U_SUP" if ack else None, snoozed_until=snoozed,
                        sent=tuple(sent), resolved=resolved)


def due(now, *, dnd=False, **facts):
    return due_notifications(snapshot(now, **facts), RULES, now, owner_dnd=dnd)


def steps(notifications):
    return [(n.clock, n.level, n.kind, n.round) for n in notifications]


def sent(*items):
    """(level, sent_at) or (level, round, sent_at) on the first_response clock."""
    out = []
    for item in items:
        level, round, sent_at = item if len(item) == 3 else (item[0], 0, item[1])
        out.append(SentStep("first_response", level, round, sent_at))
    return out


WARNED = sent(("owner", at(16, 10, 48)))
ESCALATED = WARNED + sent(("supervisors", at(16, 11, 1)))


def test_nothing_before_the_warning():
    assert due(at(16, 10, 47)) == []


def test_owner_warning_at_warn_at():
    [warning] = due(at(16, 10, 48))
    assert warning == Notification("C1", "first_response", "owner", "warning", "sla:C1:first_response:owner")


def test_same_input_gives_same_keys_and_sent_steps_are_not_repeated():
    first, again = due(at(16, 10, 48)), due(at(16, 10, 48))
    assert first == again
    assert due(at(16, 10, 48), sent=[n.sent(at(16, 10, 48)) for n in first]) == []


def test_exactly_at_due_is_not_a_breach():
    assert due(at(16, 11), sent=WARNED) == []


def test_breach_goes_to_supervisors():
    assert steps(due(at(16, 11, 1), sent=WARNED)) == [("first_response", "supervisors", "breach", 0)]


def test_manager_when_supervisors_do_not_acknowledge():
    assert due(at(16, 11, 30), sent=ESCALATED) == []
    [manager] = due(at(16, 11, 31), sent=ESCALATED)
    assert (manager.level, manager.kind) == ("manager", "breach")
    assert manager.step_key == "sla:C1:first_response:manager"
    assert due(at(16, 15), sent=ESCALATED + sent(("manager", at(16, 11, 31)))) == []


def test_manager_waits_for_supervisors_to_be_sent():
    # A sweep that missed the breach sends supervisors first, manager on a later sweep.
    assert steps(due(at(16, 13), sent=WARNED)) == [("first_response", "supervisors", "breach", 0)]


def test_acknowledgement_stops_the_chain():
    assert due(at(16, 11, 35), sent=ESCALATED, ack=at(16, 11, 10)) == []


def test_retrigger_while_acknowledged_but_unresolved():
    ack = at(16, 11, 10)
    assert due(at(16, 11, 39), sent=ESCALATED, ack=ack) == []
    [first] = due(at(16, 11, 40), sent=ESCALATED, ack=ack)
    assert (first.level, first.kind, first.round, first.step_key) == (
        "supervisors", "retrigger", 1, "sla:C1:first_response:supervisors:r1")
    after_one = ESCALATED + sent(("supervisors", 1, at(16, 11, 40)))
    # a working-time clock re-raises after 30 working minutes: 20 before the lunch break, 10 after it
    assert due(at(16, 13, 39), sent=after_one, ack=ack) == []
    [second] = due(at(16, 13, 40), sent=after_one, ack=ack)
    assert second.step_key == "sla:C1:first_response:supervisors:r2"


def test_reacknowledging_restarts_the_wait_but_not_the_round_numbers():
    after_one = ESCALATED + sent(("supervisors", 1, at(16, 11, 40)))
    reack = at(16, 11, 50)
    assert due(at(16, 13, 49), sent=after_one, ack=reack) == []
    assert steps(due(at(16, 13, 50), sent=after_one, ack=reack)) == [
        ("first_response", "supervisors", "retrigger", 2)]


def test_acknowledging_the_manager_retriggers_the_manager():
    both = ESCALATED + sent(("manager", at(16, 11, 31)))
    assert due(at(16, 13, 34), sent=both, ack=at(16, 11, 35)) == []  # 25 working minutes, then lunch
    assert steps(due(at(16, 13, 35), sent=both, ack=at(16, 11, 35))) == [
        ("first_response", "manager", "retrigger", 1)]


def test_acknowledging_the_warning_does_not_stop_the_breach():
    assert steps(due(at(16, 11, 1), sent=WARNED, ack=at(16, 10, 50))) == [
        ("first_response", "supervisors", "breach", 0)]


def test_responding_stops_the_first_response_clock():
    assert due(at(16, 11, 40), sent=ESCALATED, ack=at(16, 11, 10), responded=at(16, 11, 20)) == []


def test_paused_clock_is_quiet():
    assert due(at(16, 11, 40), sent=ESCALATED, pauses=[(at(16, 11, 20), None)]) == []


def test_snooze_delays_everything():
    assert due(at(16, 11, 1), sent=WARNED, snoozed=at(16, 11, 30)) == []
    assert steps(due(at(16, 11, 30), sent=WARNED, snoozed=at(16, 11, 30))) == [
        ("first_response", "supervisors", "breach", 0)]


def test_resolved_complaint_gets_nothing():
    assert due(at(17, 15), resolved=True) == []


def test_dnd_defers_owner_warning_but_not_supervisor_breach():
    assert due(at(16, 10, 50), dnd=True) == []
    assert steps(due(at(16, 11, 1), dnd=True)) == [("first_response", "supervisors", "breach", 0)]
    # When DND ends the warning still comes (deferred, not dropped).
    late = due(at(16, 11, 2), sent=sent(("supervisors", at(16, 11, 1))))
    assert steps(late) == [("first_response", "owner", "warning", 0)]


def test_clocks_escalate_independently():
    fr_done = ESCALATED + sent(("manager", at(16, 11, 31)))
    res_sent = [SentStep("resolution", "owner", 0, at(17, 8))]
    result = due(at(17, 10, 1), sent=fr_done + res_sent, ack=at(16, 11, 40), responded=at(16, 12))
    assert steps(result) == [("resolution", "supervisors", "breach", 0)]
    assert result[0].step_key == "sla:C1:resolution:supervisors"


def test_rules_without_owner_level_send_no_warnings():
    rules = load_sla_rules("""
escalation:
  levels:
    - {name: supervisors, after: 10m, respects_quiet_hours: false, retrigger: 1h}
""")
    now = at(16, 11, 5)
    assert due_notifications(snapshot(now), rules, now) == []
    now = at(16, 11, 10)
    assert steps(due_notifications(snapshot(now), rules, now)) == [
        ("first_response", "supervisors", "breach", 0)]


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        due_notifications(snapshot(at(16, 11)), RULES, dt.datetime(2026, 9, 16, 11))


def test_snooze_until_uses_the_rules():
    assert snooze_until(at(16, 11), RULES) == at(16, 11, 30)


def test_step_keys():
    assert step_key(42, "resolution", "manager") == "sla:42:resolution:manager"
    assert step_key(42, "resolution", "manager", 3) == "sla:42:resolution:manager:r3"


def test_a_day_of_sweeps():
    """Every minute from opening to the next afternoon, quiet hours from the rules, no acknowledgement."""
    log, now = [], OPENED
    while now <= at(17, 14):
        quiet = RULES.calendar.in_quiet_hours(now)
        for n in due_notifications(snapshot(now, sent=[s for s, _ in log]), RULES, now, quiet=quiet):
            log.append((n.sent(now), n))
        now += dt.timedelta(minutes=1)
    assert [(n.clock, n.level, s.sent_at) for s, n in log] == [
        ("first_response", "owner", at(16, 10, 48)),
        ("first_response", "supervisors", at(16, 11, 1)),
        ("first_response", "manager", at(16, 11, 31)),
        ("resolution", "owner", at(17, 8)),  # due at 05:12, deferred past quiet hours
        ("resolution", "supervisors", at(17, 10, 1)),
        ("resolution", "manager", at(17, 10, 31)),
    ]
    assert len({n.step_key for _, n in log}) == len(log)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 36 * 60), st.integers(0, 36 * 60), st.booleans())
def test_property_due_steps_are_new_and_unique(minutes, ack_minutes, dnd):
    now = OPENED + dt.timedelta(minutes=minutes)
    ack = OPENED + dt.timedelta(minutes=min(ack_minutes, minutes))
    already = ESCALATED if now >= at(16, 11, 1) else ()
    result = due(now, sent=already, ack=ack, dnd=dnd)
    keys = [n.step_key for n in result]
    assert len(keys) == len(set(keys))
    # Only what was actually passed as sent is excluded: before 11:01 nothing was sent, so the
    # owner warning (due from 10:48) is rightly returned.
    assert not set(keys) & {step_key("C1", s.clock, s.level, s.round) for s in already}


def test_group_by_channel():
    a = Notification("C1", "first_response", "supervisors", "breach", "k1")
    b = Notification("C2", "resolution", "manager", "breach", "k2")
    c = Notification("C3", "first_response", "supervisors", "breach", "k3")
    routing = {"supervisors": "#care-sup", "manager": "#care-mgr"}
    assert group_by_channel([a, b, c], routing) == {"#care-sup": [a, c], "#care-mgr": [b]}
    assert list(group_by_channel([b, a, c], routing)) == ["#care-mgr", "#care-sup"]
    assert group_by_channel([], routing) == {}


def test_group_by_channel_with_a_routing_function():
    warning = Notification("C1", "first_response", "owner", "warning", "k1")
    assert group_by_channel([warning], lambda n: f"@dm-{n.complaint_id}") == {"@dm-C1": [warning]}


def test_group_by_channel_unrouted_level():
    with pytest.raises(KeyError, match="owner"):
        group_by_channel([Notification("C1", "first_response", "owner", "warning", "k")], {})
