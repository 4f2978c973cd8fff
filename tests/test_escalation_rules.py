"""A team's own SLA rules: validated with the key and line of each mistake, applied to new and open complaints."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient

from bot.care.sla_rules import RulesError
from bot.cli import main
from bot.services.complaints import ComplaintForm, complaint_for, open_complaint, set_sla_rules
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from tests import seed
from tests.conftest import BOT_TOKEN, DEFAULT_NOW

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
FAST = """
targets:
  complaint:
    first_response: {duration: 20m, business_hours: false}
escalation:
  snooze: 10m
  levels:
    - {name: supervisors, after: 5m, respects_quiet_hours: false, retrigger: 15m}
"""


def test_team_rules_change_targets_of_new_and_open_complaints(team, slack, renderer):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "locale", "en")
    slack.add_user("U0AGENT")
    before = open_complaint(team, AGENT, ComplaintForm(customer_id=seed.customer(team, "A1", "Ann"),
                                                       description="x")).id
    assert complaint_for(team, AGENT, before).clocks[0].due_at == DEFAULT_NOW + dt.timedelta(hours=1)

    set_sla_rules(team, FAST, set_by="U0ADMIN")
    assert complaint_for(team, AGENT, before).clocks[0].due_at == DEFAULT_NOW + dt.timedelta(minutes=20)
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    team.clock.set(DEFAULT_NOW + dt.timedelta(minutes=24))
    run_sla_sweep(team, renderer, client)
    assert slack.messages("C0SUPER") == [], "supervisors are paged 5 minutes after the breach"
    assert slack.messages("U0AGENT") == [], "these rules have no owner warning"
    team.clock.set(DEFAULT_NOW + dt.timedelta(minutes=25))
    run_sla_sweep(team, renderer, client)
    [page] = slack.messages("C0SUPER")
    assert "Snooze 10 min" in str(page["blocks"]), "the button says what the team's snooze does"


def test_a_bad_rules_file_is_refused_with_its_line_and_nothing_changes(team):
    bad = "targets:\n  complaint:\n    first_response: {duration: soon, business_hours: true}\n"
    with pytest.raises(RulesError, match=r"targets\.complaint\.first_response\.duration.*line 3"):
        set_sla_rules(team, bad, set_by="U0ADMIN")
    opened = open_complaint(team, AGENT, ComplaintForm(customer_id=seed.customer(team, "B1", "Bo"), description="y"))
    assert opened.first_response_due_at == DEFAULT_NOW + dt.timedelta(hours=1)


def test_cli_checks_sets_and_shows_the_rules(tmp_path):
    env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.db'}"}
    good, bad = tmp_path / "sla.yaml", tmp_path / "bad.yaml"
    good.write_text(FAST, encoding="utf-8")
    bad.write_text("escalation:\n  snooze: -5m\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(main, ["escalation", "rules", "check", str(bad)], env=env)
    assert refused.exit_code != 0 and "escalation.snooze" in refused.output and "line 2" in refused.output
    assert runner.invoke(main, ["escalation", "rules", "set", str(good)], env=env).exit_code == 0
    shown = runner.invoke(main, ["escalation", "rules", "show"], env=env)
    assert "duration: 20m" in shown.output
    assert "No level respects quiet hours" in shown.output and "(severity critical) break through" in shown.output
    assert "a working-time clock re-raises only in working time" in shown.output


def test_cli_prints_the_audit_trail_of_a_complaint(tmp_path):
    env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.db'}"}
    runner = CliRunner()
    assert runner.invoke(main, ["staff", "add", "U0LINA", "--role", "agent"], env=env).exit_code == 0
    customers, complaints = tmp_path / "customers.csv", tmp_path / "complaints.csv"
    customers.write_text("客户编号,姓名,联系电话,客户经理\nA001,A公司,13900001111,U0LINA\n", encoding="utf-8")
    complaints.write_text("客户编号,登记时间\nA001,2025-11-21 09:00\n", encoding="utf-8")
    assert runner.invoke(main, ["import", "customers", str(customers)], env=env).exit_code == 0
    assert runner.invoke(main, ["import", "complaints", str(complaints)], env=env).exit_code == 0
    trail = runner.invoke(main, ["escalation", "audit", "1"], env=env)
    assert trail.exit_code == 0 and "opened" in trail.output and "source=import" in trail.output
