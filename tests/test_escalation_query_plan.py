"""The escalation sweep's query reads the attention index instead of scanning every complaint."""

from __future__ import annotations

from storage import notice_queries, sla_queries
from tests.conftest import DEFAULT_NOW
from tests.test_query_plans import planned, sqlite_db  # noqa: F401 - the fixture


def test_the_sweep_reads_the_attention_index(sqlite_db):  # noqa: F811
    plan = planned(sqlite_db, lambda s: sla_queries.complaints_needing_attention(s, DEFAULT_NOW))
    assert "ix_complaint_sla_attention_at" in plan, plan


def test_the_notices_of_a_complaint_and_of_a_post_use_their_indexes(sqlite_db):  # noqa: F811
    plan = planned(sqlite_db, lambda s: notice_queries.notices_of_complaint(s, 1))
    assert "ix_escalation_notice_complaint_id" in plan, plan
    plan = planned(sqlite_db, lambda s: notice_queries.notices_in_post(s, "C0SUPER", "1.2"))
    assert "ix_escalation_notice_post" in plan, plan
