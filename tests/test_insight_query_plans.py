"""The report's queries (issue 13) read their indexes: the churn count reads the covering index of a team's
calls by time (0013) for the whole team, and each customer's calls by time for one owner (/care stats); the
call tallies read a team/time range."""

from __future__ import annotations

import datetime as dt

from bot.care import metrics as m
from bot.services import insight_churn
from storage import insight_queries as iq
from tests.conftest import DEFAULT_NOW
from tests.test_query_plans import plan_db, planned, sqlite_db  # noqa: F401 (fixtures)

MOMENTS = [insight_churn.moment(DEFAULT_NOW, 6), insight_churn.moment(DEFAULT_NOW - dt.timedelta(days=7), 6)]
CUTOFF = insight_churn.cutoff_for(DEFAULT_NOW - dt.timedelta(days=60), 6)


def test_the_team_s_churn_count_reads_the_covering_index_alone(sqlite_db):  # noqa: F811
    plan = planned(sqlite_db, lambda s: iq.churn_counts(s, "default", CUTOFF, MOMENTS))
    assert "COVERING INDEX ix_call_log_team_called_reach" in plan, plan


def test_one_owner_s_churn_count_reads_each_customer_s_calls_by_time(plan_db):  # noqa: F811
    plan = planned(plan_db, lambda s: iq.churn_counts(s, "default", CUTOFF, MOMENTS, owner_id="U0AGENT"))
    assert "ix_call_log_customer_called" in plan, plan


def test_the_call_tallies_read_a_team_time_range(plan_db):  # noqa: F811
    bounds = [DEFAULT_NOW - dt.timedelta(days=60), DEFAULT_NOW - dt.timedelta(days=7), DEFAULT_NOW]
    lines = m.DEFAULTS
    plan = planned(plan_db, lambda s: iq.call_tallies(s, "default", bounds, lines.csat_satisfied_min,
                                                       lines.nps_promoter_min, lines.nps_detractor_max))
    assert "ix_call_log_team_called" in plan, plan
