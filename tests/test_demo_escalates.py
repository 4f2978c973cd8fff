"""Issue 10 §7: the demo's overdue complaint is real data — it has its SLA row and clocks, so once a team sets
`supervisor_channel` the sweep the scheduler runs escalates it like any other."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.demo import load_demo
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from storage import sla_queries
from tests.conftest import BOT_TOKEN


def test_the_demo_complaint_escalates_when_supervisor_channel_is_set(services, renderer, slack):
    load_demo(services)
    for user in ("U0DEMOLINA", "U0DEMOTOM", "U0DEMOSUP", "U0DEMOADM"):
        slack.add_user(user, locale="zh-CN")
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    set_setting(services, "supervisor_channel", "C0SUPER")
    set_setting(services, "supervisor_group", "S0SUPERS")
    run = run_sla_sweep(services, renderer, client)
    assert run.failed == []
    [page] = slack.messages("C0SUPER")
    shown = page["text"] + str(page["blocks"])
    assert page["text"].startswith("<!subteam^S0SUPERS>") and "解决已超时" in shown and "B*" in shown
    with services.db.unit_of_work() as session:
        [complaint] = sla_queries.unresolved_complaints(session, "default")
        assert sla_queries.sla_of(session, complaint.id) is not None
