"""Issue 10 §2 and §6 over a simulated fortnight around Spring Festival 2027 (Monday 1 to Sunday 14
February; the `holidays` package has Friday 5 to Wednesday 10 off, no 调休 working day). One complaint of
each severity is opened on Monday morning, acknowledged at every breach page, and left unresolved. The
team's rules are the defaults except that acknowledged complaints are re-raised every hour (`retrigger: 1h`),
so the real scheduler's jobs run every hour on a ManualClock (336 ticks instead of 20,160 a minute). Every
post is counted by local day and hour: nothing in quiet hours or on a day off except what is urgent
(critical), a working-time clock re-raised only in working time, no morning list on a day off.

Set CAREBOT_FORTNIGHT_TABLE=path to write the posts as a Markdown table (the note of issue 10 shows it)."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass

import pytest
from slack_sdk import WebClient

from bot.care.sla_rules import load_sla_rules
from bot.services import escalations
from bot.services.complaints import ComplaintForm, open_complaint, set_sla_rules
from bot.services.outbox import Policy
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from storage import notice_queries
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI
from tests.ticks import Ticks

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
SUPER = Actor("U0SUPER", "default", Role.SUPERVISOR, "en", "Asia/Shanghai")
START = dt.datetime(2027, 2, 1, 0, 0, tzinfo=SHANGHAI)
END = dt.datetime(2027, 2, int(os.environ.get("FORTNIGHT_END_DAY", 14)), 23, 30, tzinfo=SHANGHAI)
STEP = dt.timedelta(hours=1)
HOURLY = """
escalation:
  levels:
    - {name: owner, warn_at: 0.8, respects_quiet_hours: true}
    - {name: supervisors, after: 0m, respects_quiet_hours: true, retrigger: 1h}
    - {name: manager, after: 30m, respects_quiet_hours: true, retrigger: 1h}
"""
WHO = {"C0SUPER": "#supervisors (@care-supervisors)", "C0DIGEST": "#care (team)", "U0AGENT": "owner (DM)",
       "U0BOSS": "manager (DM)"}
KIND = {"warning": "warning", "breach": "breach", "retrigger": "re-raise", "alert": "low rating"}


@dataclass(frozen=True)
class Post:
    at: dt.datetime
    whom: str
    what: str
    severities: frozenset[str]
    clocks: frozenset[str]  # "severity:clock" notified in the post


@pytest.fixture
def fortnight(team, renderer, slack):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    set_setting(team, "locale", "en")
    escalations.set_manager(team, "default", "U0BOSS", None)
    for user in ("U0AGENT", "U0AGENT2", "U0SUPER", "U0ADMIN", "U0BOSS"):
        slack.add_user(user, locale="en-US")
    slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    set_sla_rules(team, HOURLY, set_by="test")
    # The channel pace (1 post a second per channel) is real time and is tested in test_outbox / test_chaos_week;
    # here the fortnight's hours are simulated, and waiting a real second per post cost minutes of idle suite.
    team.outbox_policy = Policy(pace=dt.timedelta(0))
    ticks = Ticks(team, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
    team.clock.set(START + dt.timedelta(hours=10))  # Monday 1 February, 10:00
    complaints = {}
    for severity in ("low", "normal", "high", "critical"):
        customer = seed.customer(team, f"F-{severity}", f"Festival {severity}", owner="U0AGENT")
        complaints[open_complaint(team, AGENT, ComplaintForm(
            customer_id=customer, severity=severity, description=f"A {severity} problem")).id] = severity
    posts: list[Post] = []
    seen = 0
    moment = START
    while moment <= END:
        ticks.at(moment)
        calls = slack.ok_calls_to("chat.postMessage")
        new = [_describe(team, call, complaints, moment) for call in calls[seen:]]
        seen = len(calls)
        posts += [post for post, _ in new]
        for complaint_id in {c for _, paged in new for c in paged}:  # a supervisor acknowledges every breach page
            escalations.acknowledge(team, SUPER, complaint_id, group_members=lambda group: [])
        moment += STEP
    return team, posts


def _describe(team, call, complaints, moment) -> tuple[Post, set[int]]:
    """The post, and the complaints it pages supervisors about for the first time (a breach)."""
    channel, ts = call.response["channel"], call.response["ts"]
    whom = WHO.get(call.args["channel"], call.args["channel"])
    if call.args["channel"] == "C0DIGEST":
        return Post(moment, whom, "morning list", frozenset(), frozenset()), set()
    with team.db.unit_of_work() as session:
        notices = notice_queries.notices_in_post(session, channel, ts)
        items = [(complaints[n.complaint_id], n.kind, n.clock) for n in notices]
        paged = {n.complaint_id for n in notices if n.kind == "breach" and n.level == "supervisors"}
    if not notices:  # not an escalation: the insight report (issue 13) the scheduler also posts there
        return Post(moment, whom, "weekly report (issue 13)", frozenset(), frozenset()), set()
    by_kind: dict[str, dict[str, list[str]]] = {}
    for severity, kind, clock in items:
        by_kind.setdefault(KIND[kind], {}).setdefault(severity, []).append(clock.replace("_", " "))
    what = "; ".join(f"{kind}: " + ", ".join(f"{severity} ({' + '.join(clocks)})" for severity, clocks in sev.items())
                     for kind, sev in by_kind.items())
    return Post(moment, whom, what, frozenset(s for s, _, _ in items),
                frozenset(f"{s}:{c}" for s, _, c in items)), paged


def _quiet(moment: dt.datetime, calendar) -> bool:
    local = moment.astimezone(SHANGHAI)
    return local.hour >= 21 or local.hour < 8 or not calendar.is_working_day(local.date())


def _in_working_time(moment: dt.datetime, calendar) -> bool:
    """In a working window, or at the end of one (a re-raise falls due exactly when its hour of working
    time ends, e.g. 12:00 or 18:00)."""
    return calendar.is_working_time(moment) or calendar.is_working_time(moment - dt.timedelta(minutes=1))


@pytest.mark.slow
def test_a_fortnight_around_spring_festival(fortnight):
    team, posts = fortnight
    calendar = load_sla_rules(HOURLY).work_calendar()
    if os.environ.get("CAREBOT_FORTNIGHT_TABLE"):
        with open(os.environ["CAREBOT_FORTNIGHT_TABLE"], "w", encoding="utf-8") as out:
            out.write(table(posts, calendar))

    lists = [p for p in posts if p.what == "morning list"]
    assert [p.at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") for p in lists] == [
        "02-01 09:00", "02-02 09:00", "02-03 09:00", "02-04 09:00", "02-11 09:00", "02-12 09:00"]

    quiet = [p for p in posts if _quiet(p.at, calendar) and p.what not in ("morning list", "weekly report (issue 13)")]
    assert quiet, "the critical complaint breaks through quiet hours"
    assert all(p.severities == {"critical"} for p in quiet), [p for p in quiet if p.severities != {"critical"}]

    for p in posts:  # a working-time clock (first response of the non-critical ones) is re-raised in working time
        working_clock = {c for c in p.clocks if c.endswith(":first_response") and not c.startswith("critical")}
        if working_clock and "re-raise" in p.what:
            assert _in_working_time(p.at, calendar), p

    held = [p for p in posts if p.at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") == "02-11 08:00"]
    assert held and any(p.severities - {"critical"} for p in held), "the first working morning gets what waited"
    per_hour = Counter((p.at, p.whom) for p in posts if p.clocks)
    assert max(per_hour.values()) == 1, "one escalation post per channel per tick, however many complaints"


def table(posts: list[Post], calendar) -> str:
    """Day, hour(s), what, to whom; consecutive re-raises of the same kind on one day are one row."""
    rows: list[list] = []
    for p in posts:
        local = p.at.astimezone(SHANGHAI)
        day = local.strftime("%a %m-%d") + ("" if calendar.is_working_day(local.date()) else
                                            f" ({calendar.holiday_name(local.date()) or 'weekend'})")
        hour = local.strftime("%H:%M")
        if rows and rows[-1][0] == day and rows[-1][2] == p.what and rows[-1][3] == p.whom \
                and p.at - rows[-1][5] <= STEP:
            rows[-1][1], rows[-1][4], rows[-1][5] = f"{rows[-1][1].split('–')[0]}–{hour}", rows[-1][4] + 1, p.at
        else:
            rows.append([day, hour, p.what, p.whom, 1, p.at])
    lines = ["| day | local hour(s) | what | to whom | posts |", "|---|---|---|---|---|"]
    lines += [f"| {d} | {h} | {w} | {who} | {n} |" for d, h, w, who, n, _ in rows]
    counts = Counter(p.whom for p in posts)
    lines += ["", "Posts in all: " + ", ".join(f"{who}: {n}" for who, n in counts.most_common()) + "."]
    return "\n".join(lines) + "\n"
