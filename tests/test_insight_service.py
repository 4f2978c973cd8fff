"""The insight service on a real database: the facts of a period come from the stored calls, callbacks and
complaints, in the team's timezone, by agent and by tier, this period against the one before."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.care.metrics import Period
from bot.services.errors import CareError
from bot.services.insight import build_insight, metric_settings, set_metric_setting
from storage.models import Callback, CallLog, Complaint
from storage.sla_models import ComplaintPause, ComplaintSla
from tests import seed

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


def call(session, customer: int, staff: str, when: dt.datetime, rating: int | None, nps: int | None = None,
         outcome: str = "satisfied") -> None:
    session.add(CallLog(team_id="default", customer_id=customer, staff_id=staff, channel="phone", outcome=outcome,
                        rating=rating, nps=nps, called_at=when))


@pytest.fixture
def book(team, clock):
    """W48 (Nov 23-29) and W47, two agents, a VIP and an ordinary customer."""
    vip = seed.customer(team, "V1", "Vera", owner="U0AGENT", tier="high_value")
    plain = seed.customer(team, "P1", "Paul", owner="U0AGENT2")
    silent = seed.customer(team, "S1", "Sam", owner="U0AGENT2")
    with team.db.unit_of_work() as session:
        # W48: ratings 5, 4 (U0AGENT, VIP) and 2 (U0AGENT2); NPS 10, 9, 3
        call(session, vip, "U0AGENT", at(23, 10), 5, 10)
        call(session, vip, "U0AGENT", at(29, 23, 30), 4, 9)  # Sunday 23:30 in Shanghai: still W48
        call(session, plain, "U0AGENT2", at(24, 11), 2, 3)
        call(session, plain, "U0AGENT2", at(30, 0, 30), 1)  # Monday 00:30: W49, not counted
        call(session, plain, "U0AGENT2", at(25, 15), None, outcome="unreachable")
        # W47: one rating of 3
        call(session, vip, "U0AGENT", at(17, 10), 3)
        # the silent customer was last reached in May: churn risk in both weeks
        call(session, silent, "U0AGENT2", at(1, 10, month=5), 5)
        for owner, due, status, closed in (
                ("U0AGENT", at(23, 10), "done", at(23, 10)),  # on time
                ("U0AGENT", at(24, 10), "done", at(26, 10)),  # late
                ("U0AGENT2", at(25, 10), "open", None),  # missed
                ("U0AGENT2", at(18, 10), "done", at(18, 11))):  # W47, on time
            session.add(Callback(team_id="default", customer_id=plain, owner_id=owner, kind="survey", due_at=due,
                                 status=status, closed_at=closed, created_at=at(1, 9)))
        # a complaint paused over the week's end: answered in time, still waiting on the customer
        paused = Complaint(team_id="default", customer_id=plain, owner_id="U0AGENT2", kind="complaint",
                           category="logistics", severity="normal", opened_at=at(27, 9),
                           first_response_at=at(27, 9, 20))
        solved = Complaint(team_id="default", customer_id=vip, owner_id="U0AGENT", kind="complaint",
                           category="quality", severity="normal", opened_at=at(23, 9, 30),
                           first_response_at=at(23, 9, 45), resolved_at=at(23, 15, 30))
        session.add_all([paused, solved])
        session.flush()
        session.add_all([ComplaintSla(complaint_id=paused.id, tier="ordinary"),
                         ComplaintSla(complaint_id=solved.id, tier="high_value"),
                         ComplaintPause(complaint_id=paused.id, paused_at=at(27, 10), resumed_at=None)])
    clock.set(at(1, 10, month=12))  # the Tuesday after
    return team


def test_the_week_in_the_team_timezone_by_agent_and_tier(book):
    insight = build_insight(book, period=Period.parse("2026-W48", "Asia/Shanghai"))
    now = insight.team.current
    assert (now.csat.n, now.csat.mean) == (3, pytest.approx(11 / 3))  # 5, 4 and 2; the Monday 00:30 call is W49
    assert now.csat.satisfied_share == pytest.approx(200 / 3)
    assert (now.nps.n, now.nps.promoters, now.nps.detractors, now.nps.score) == (3, 2, 1, 33)
    assert now.nps.enough is False  # under the default 10 answers
    assert (now.callbacks.planned, now.callbacks.on_time, now.callbacks.late, now.callbacks.missed) == (3, 1, 1, 1)
    assert now.complaints.opened == 2 and now.complaints.resolved == 1
    assert (now.complaints.resolution.met, now.complaints.resolution.pending) == (1, 1)  # the paused one waits
    assert now.complaints.first_response.within_sla == 100.0
    assert now.churn_risk == 1  # Sam, not reached since May
    before = insight.team.previous
    assert (before.csat.n, before.csat.mean, before.callbacks.on_time_rate) == (1, 3.0, 100.0)

    agent = insight.by_agent["U0AGENT"].current
    assert (agent.csat.n, agent.csat.mean, agent.callbacks.planned, agent.callbacks.on_time) == (2, 4.5, 2, 1)
    other = insight.by_agent["U0AGENT2"].current
    assert (other.csat.mean, other.callbacks.missed, other.churn_risk) == (2.0, 1, 1)
    assert insight.by_tier["high_value"].current.csat.mean == 4.5
    assert insight.by_tier["ordinary"].current.csat.mean == 2.0

    changes = {c.key: c for c in insight.headline}
    assert changes["csat_mean"].delta == pytest.approx(11 / 3 - 3)
    assert changes["callbacks_on_time_pct"].delta == pytest.approx(100 / 3 - 100)  # 1 of 3 against 1 of 1
    assert changes["nps"].value is None  # too few answers: not a headline number
    assert [w for w, _ in insight.csat_trend][-1] == "2026-W48" and len(insight.csat_trend) == 8
    assert insight.csat_trend[-2][1].mean == 3.0
    rows = {(s, g, k): (v, p) for s, g, k, _, v, p in insight.rows()}
    assert rows[("team", "default", "csat_n")] == (3, 1)
    assert rows[("agent", "U0AGENT2", "callbacks_missed")] == (1, 0)
    assert rows[("team", "default", "complaints_category_logistics")] == (1, 0)


def test_a_month_and_an_empty_period(book):
    november = build_insight(book, period=Period.parse("2026-11", "Asia/Shanghai")).team.current
    assert november.csat.n == 5  # W47's 3 and Monday Nov 30 00:30 too; the May call is another month
    empty = build_insight(book, period=Period.parse("2026-08", "Asia/Shanghai")).team.current
    assert empty.csat.n == 0 and empty.csat.mean is None and empty.callbacks.on_time_rate is None
    assert empty.complaints.opened == 0 and empty.nps.score is None


def test_nothing_after_the_month_counts_even_in_its_last_trend_week(book):
    from sqlalchemy import select

    from storage.models import Customer

    with book.db.unit_of_work() as session:
        vip = session.scalar(select(Customer.id).where(Customer.code == "V1"))
        call(session, vip, "U0AGENT", at(1, 9, month=12), 5)  # Tuesday Dec 1, before the clock: W49, not November
    november = build_insight(book, period=Period.parse("2026-11", "Asia/Shanghai"))
    label, last_week = november.csat_trend[-1]
    assert label == "2026-W49" and (last_week.n, last_week.mean) == (1, 1.0)  # Monday Nov 30 00:30 only
    week = build_insight(book, period=Period.parse("2026-W49", "Asia/Shanghai"))  # running: as of now
    assert (week.team.current.csat.n, week.csat_trend[-1][1].n) == (2, 2)


def test_thresholds_are_the_team_s(book):
    assert metric_settings(book).nps_min_answers == 10
    set_metric_setting(book, "nps_min_answers", "3")
    insight = build_insight(book, period=Period.parse("2026-W48", "Asia/Shanghai"))
    assert insight.team.current.nps.enough is True
    assert {c.key: c for c in insight.headline}["nps"].value == 33
    with pytest.raises(CareError):
        set_metric_setting(book, "nps_min_answers", "0")
    with pytest.raises(CareError):
        set_metric_setting(book, "colour", "3")


@pytest.mark.parametrize("moment", [
    dt.datetime(2026, 8, 31, 23, 30, tzinfo=SH),  # month ends: add_months clamps (Feb 28 -> Aug 28)
    dt.datetime(2027, 2, 28, 10, 0, tzinfo=SH),  # Aug 28..31 all end on Feb 28: the time of day decides
    dt.datetime(2026, 11, 30, 17, 45, tzinfo=dt.UTC),  # a report of a running period judges at now (UTC)
], ids=["aug-31", "feb-28", "utc-now"])
def test_churn_risk_at_a_moment_is_the_segment_rule_for_every_customer(team, moment):
    """The report counts churn risk for a whole book in the database; it must agree with segments.activity_of
    for every customer (each gets a tier of its own here, so the count per tier is theirs)."""
    import random

    from bot.care.rules import default_rules
    from bot.care.segments import Activity, CustomerFacts, activity_of
    from bot.services.insight_churn import churn_by_owner_and_tier
    from storage.models import Customer

    rng = random.Random(5)
    rules = default_rules()
    window_start = moment - dt.timedelta(days=60)
    expected, tickets = {}, []
    with team.db.unit_of_work() as session:
        for cid in range(1, 401):
            first = (moment - dt.timedelta(days=rng.randint(150, 220))).date() if rng.random() < 0.8 else None
            owner = ("U0AGENT", "U0AGENT2")[cid % 2]
            session.add(Customer(id=cid, team_id="default", code=f"C{cid}", name="x", owner_id=owner,
                                 tier=f"c{cid}", first_purchase_on=first, created_at=moment))
            last = None
            if rng.random() < 0.7:  # around the 6-month line, to the minute
                last = moment - dt.timedelta(days=rng.randint(176, 188), hours=rng.randint(0, 23),
                                             minutes=rng.randint(0, 59))
            elif rng.random() < 0.3:  # reached only long ago (before the report reads exact times)
                last = moment - dt.timedelta(days=rng.randint(300, 500))
            session.flush()
            if last is not None:
                call(session, cid, "U0AGENT", last, 4)
            call(session, cid, "U0AGENT", moment - dt.timedelta(days=1), None, outcome="unreachable")  # not contact
            call(session, cid, "U0AGENT", moment + dt.timedelta(hours=1), 5)  # after the moment: not yet
            mine = [moment - dt.timedelta(days=rng.randint(0, 70)) for _ in range(rng.randint(1, 4))
                    ] if rng.random() < 0.1 else []
            tickets += [(cid, t) for t in mine]
            facts = CustomerFacts(customer_id=cid, code="", owner_id=owner, first_purchase_on=first,
                                  last_interaction_at=last, tickets_at=tuple(mine))
            expected[(owner, f"c{cid}")] = int(activity_of(facts, rules, moment) is Activity.CHURN_RISK)
    with team.db.unit_of_work() as session:
        counted = churn_by_owner_and_tier(session, "default", (moment,), rules, window_start, tickets)
        one_owner = churn_by_owner_and_tier(session, "default", (moment,), rules, window_start, tickets,
                                            owner_id="U0AGENT2")  # /care stats reads that owner's customers only
    assert {group: numbers[0] for group, numbers in counted.items()} == expected
    assert {group: numbers[0] for group, numbers in one_owner.items()} == {
        group: n for group, n in expected.items() if group[0] == "U0AGENT2"}
    assert 0 < sum(expected.values()) < len(expected)
    assert any(len([t for c, t in tickets if c == cid]) >= 3 for cid in range(1, 401)), "a spike is tested"


def test_an_old_call_still_counts_as_the_last_contact(team, clock):
    """A customer reached long before the report's window is at churn risk even with a recent first deal; one
    never reached, with a recent first deal, is not."""
    reached_long_ago = seed.customer(team, "O1", "Old", owner="U0AGENT")
    never = seed.customer(team, "N1", "New", owner="U0AGENT")
    with team.db.unit_of_work() as session:
        from storage.models import Customer

        for cid in (reached_long_ago, never):
            session.get(Customer, cid).first_purchase_on = dt.date(2026, 9, 1)
        call(session, reached_long_ago, "U0AGENT", at(10, 10, month=1), 4)  # January: before the cutoff
    clock.set(at(1, 10, month=12))
    insight = build_insight(team, period=Period.parse("2026-W48", "Asia/Shanghai"))
    assert insight.team.current.churn_risk == 1
    assert insight.by_agent["U0AGENT"].current.churn_risk == 1


def test_an_agent_s_own_numbers_are_read_for_that_agent_only(book):
    """/care stats for one agent: the same figures as that agent's line of the team's report, from queries of
    their calls and their customers only (no range over the whole team's calls)."""
    from sqlalchemy import event

    from bot.services.insight import stats_for
    from bot.services.people import Actor, Role

    period = Period.parse("2026-W48", "Asia/Shanghai")
    team_report = build_insight(book, period=period)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(book.db.engine, "before_cursor_execute", record)
    try:
        for agent in ("U0AGENT", "U0AGENT2"):
            mine = build_insight(book, period=period, agent=agent)
            assert mine.by_agent.keys() == {agent} and mine.agent == agent
            assert mine.by_agent[agent] == team_report.by_agent[agent], agent
            assert mine.team == team_report.by_agent[agent]
        stats = stats_for(book, Actor("U0AGENT2", "default", Role.AGENT, "en", "Asia/Shanghai"), "week", None)
    finally:
        event.remove(book.db.engine, "before_cursor_execute", record)
    assert stats.insight.agent == "U0AGENT2" and stats.agent == "U0AGENT2"
    reads_calls = [s for s in statements if "FROM call_log" in s]
    assert reads_calls
    for statement in reads_calls:  # each read of calls is one agent's, or one customer's through its index
        assert "call_log.staff_id = " in statement or "call_log.customer_id = customer.id" in statement, statement
    assert all("customer.owner_id = " in s for s in statements if "FROM customer" in s and "call_log" in s)
