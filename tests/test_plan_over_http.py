"""/care rules, /care plan and the reasons of planned callbacks, over signed HTTP against the running bot."""

from __future__ import annotations

from bot.services import planning
from bot.services.customers import import_customers
from tests.test_due_over_http import texts


def test_care_rules_is_refused_to_an_agent_and_shown_to_an_admin(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.add_user("U0ADMIN", locale="zh-CN")
    planning.set_rules(team, "etiquette:\n  max_open_per_kind: 1\n  monthly_cap: {high_value: 9, potential: 6, "
                             "ordinary: 6}\n", "U0ADMIN")

    bot.command("rules", user_id="U0AGENT")
    [refused] = bot.responses("cmd")
    assert "Only Carebot admins" in texts(refused) and "monthly_cap" not in texts(refused)

    bot.command("rules", user_id="U0ADMIN")
    shown = bot.responses("cmd", 2)[1]
    body = texts(shown)
    assert "当前生效的关怀规则" in body and "<@U0ADMIN>" in body
    assert "high_value: 9" in body and "churn_intervention" in body
    sections = [b for b in shown["blocks"] if b["type"] == "section"]
    assert len(sections) >= 2, "the rules are split across sections"
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert "".join(b["text"]["text"].strip("`") for b in sections).count("segments:") == 1


def test_care_plan_shows_the_load_per_person_to_a_supervisor_only(bot, team, tmp_path):
    bot.slack.add_user("U0SUPER", locale="en-US")
    bot.slack.add_user("U0AGENT", locale="en-US")
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone,owner,first purchase\nN1,Nora,13812345678,U0AGENT,2026-11-23\n",
                     encoding="utf-8")
    import_customers(team, sheet)

    bot.command("plan 14", user_id="U0AGENT")
    assert "Only supervisors" in texts(bot.responses("cmd")[0])
    bot.command("plan 14", user_id="U0SUPER")
    body = texts(bot.responses("cmd", 2)[1])
    # welcome today; first use 11-23 + 7 = Mon 11-30 (13:30); the weekly touch of a new customer at most 7
    # days later: 11-30 + 7 = Mon 12-07 10:00 is in the Monday-morning avoid slot -> Fri 12-04 10:00
    assert "next 14 days" in body and "<@U0AGENT> · *3* in 14 days" in body
    assert "11-24: 1 · 11-30: 1 · 12-04: 1" in body and "Dec 7, 2026" in body


def test_a_callback_created_by_the_import_shows_its_reason_in_care_due(bot, team, tmp_path):
    bot.slack.add_user("U0AGENT", locale="en-US")
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone,owner,first purchase\nN1,Nora Lin,13812345678,U0AGENT,2026-11-23\n",
                     encoding="utf-8")
    report = import_customers(team, sheet)
    assert report.created == 1

    bot.command("due", user_id="U0AGENT")
    body = texts(bot.responses("cmd")[0])
    assert "Nora Lin" in body and "Welcome call — welcome after the first purchase on 2026-11-23" in body
