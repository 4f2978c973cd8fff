"""Every rule the care plan uses renders a real reason in both languages, with the params the engine emits."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from bot.care.plan import plan_after_complaint_resolved, plan_customer
from bot.care.rules import load_rules
from bot.care.segments import CustomerFacts, segment
from bot.services.customers import import_customers
from messages.render import LOCALES, Renderer, catalog
from storage.models import Callback
from tests.care.test_simulation import BOOK, START, at
from tests.test_log_call_over_http import open_modal_from_button


def planned_by_every_rule():
    rules = load_rules("planning: {horizon_days: 150}\n")
    from bot.care.calendar import WorkCalendar

    calendar = WorkCalendar()
    now = calendar.start_of_day(START)
    inactive = CustomerFacts(7, "I001", "U_LI", Decimal("5000"), dt.date(2024, 1, 1), at(2026, 1, 5), consent=True)
    out = []
    for facts in (*BOOK, inactive):
        out += plan_customer(facts, segment(facts, rules, now), [], 0, rules, calendar, now)
    vip = BOOK[1]
    out += plan_after_complaint_resolved(vip, segment(vip, rules, now), 41, now, [], 0, rules, calendar, now)
    return out


PLANNED = planned_by_every_rule()


def test_the_engine_exercises_every_rule_and_every_kind_has_a_label():
    rules = {p.rule for p in PLANNED}
    assert rules >= {"first_purchase.welcome", "first_purchase.first_use", "first_purchase.survey",
                     "complaint_resolved.callback", "complaint_resolved.survey", "complaint_resolved.one_to_one",
                     "birthday.greeting", "holiday.greeting", "silent.reactivation", "churn_risk.intervention",
                     "periodic.touch"}
    assert {dict(p.params).get("reason") for p in PLANNED if p.rule == "churn_risk.intervention"} == {
        "complaints", "inactive"}
    for locale in LOCALES:
        assert all(f"kind.{p.kind}" in catalog(locale) for p in PLANNED)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_planned_callback_says_why_in_both_languages(locale):
    env = Renderer().env
    template = env.from_string("{{ reason(rule, params) }}")
    for p in PLANNED:
        text = template.render(locale=locale, rule=p.rule, params=dict(p.params))
        assert not text.startswith(("rule ", "规则 ")) and "{" not in text, (p.rule, text)
        assert dict(p.params)["anchor"] in text, (p.rule, text)


def test_the_log_call_modal_of_a_planned_callback_says_why(bot, team, tmp_path):
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone,owner,first purchase\nN1,Nora Lin,13812345678,U0AGENT,2026-11-23\n",
                     encoding="utf-8")
    import_customers(team, sheet)
    with team.db.unit_of_work() as session:
        [callback_id] = [c.id for c in session.query(Callback).all()]
    view = json.dumps(open_modal_from_button(bot, callback_id), ensure_ascii=False)
    assert "欢迎回访 — 2026-11-23 首次购买后欢迎" in view


def test_a_holiday_greeting_names_the_holiday_in_the_reader_s_language():
    """The team configures holidays by their Chinese names (春节); an English reader sees the holiday's English
    name (the holidays library's translation for that day), a Chinese reader the name as configured."""
    env = Renderer().env
    template = env.from_string("{{ reason(rule, params) }}")
    [greeting, *_] = [p for p in PLANNED if p.rule == "holiday.greeting"]
    params = dict(greeting.params)
    english = template.render(locale="en", rule=greeting.rule, params=params)
    chinese = template.render(locale="zh-CN", rule=greeting.rule, params=params)
    assert params["holiday"] in chinese
    assert params["holiday"] not in english and not re.search(r"[\u4e00-\u9fff]", english), english
