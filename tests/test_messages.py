"""Templates and catalogs: both languages complete, user text escaped, payloads Slack accepts."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from bot.care.due import CustomerRef, OpenCallback, QueueItem
from bot.services.calls import CallTarget, LoggedCall
from handlers.views_common import log_call_view
from messages.present import queue_row
from messages.render import LOCALES, Renderer, RenderError, catalog, escape_mrkdwn, mention, pick_locale

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_have_the_same_keys_and_placeholders():
    zh, en = catalog("zh-CN"), catalog("en")
    assert zh.keys() == en.keys(), f"only in zh-CN: {zh.keys() - en.keys()}, only in en: {en.keys() - zh.keys()}"
    for key in en:
        assert placeholders(zh[key]) == placeholders(en[key]), key


def test_chinese_texts_use_the_domain_terms():
    zh = catalog("zh-CN")
    assert zh["ticket.complaint"] == "投诉" and zh["kind.survey"] == "满意度调查" and zh["channel.wechat"] == "微信"


def test_escape_mrkdwn_and_mentions():
    assert escape_mrkdwn("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert mention("U0AGENT") == "<@U0AGENT>"
    with pytest.raises(RenderError):
        mention("<!channel>")


@pytest.mark.parametrize(("slack_locale", "expected"), [("zh-CN", "zh-CN"), ("zh-TW", "zh-CN"), ("en-GB", "en"),
                                                        ("ja-JP", "zh-CN"), (None, "zh-CN")])
def test_slack_locale_picks_a_language_with_the_team_default_as_fallback(slack_locale, expected):
    assert pick_locale(slack_locale, "zh-CN") == expected


def row(name: str, late_days: int = 0):
    ref = CustomerRef(id=1, code="A<1>", name=name, phone="+8613812345678")
    due = NOW - dt.timedelta(days=late_days)
    item = QueueItem(OpenCallback(1, ref, "U0AGENT", "survey", due, 0, "outcome.satisfied",
                                  {"days": "30", "anchor": "2026-10-25"}), due, NOW - due)
    return queue_row(item, NOW, "Asia/Shanghai")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_renders_valid_payloads_in_both_languages(locale):
    renderer = Renderer()
    rows = [row('Evil "quote" \\ <!here>', late_days=2), row("张女士")]
    renderer.message("due_list.json.j2", locale, rows=rows, total=2, overdue=1, complaints=0, first=0,
                     timezone="Asia/Shanghai", today=NOW.date(), segment=None)
    renderer.message("due_empty.json.j2", locale)
    renderer.message("help.json.j2", locale, unknown="x<y")
    renderer.message("notice.json.j2", locale, key="errors.internal", params={"ref": "abc"})
    renderer.message("call_logged.json.j2", locale, call=LoggedCall(1, "A1", "<b>", "satisfied", "light_touch",
                                                                   dt.date(2026, 12, 24), False, 1))
    renderer.view("home.json.j2", locale, user_id="U0AGENT", rows=rows, total=2, overdue=1, complaints=0,
                  timezone="Asia/Shanghai")
    target = CallTarget(1, "A1", "Zhang & <Co>", None, 5, "survey", "outcome.satisfied",
                        {"days": "30", "anchor": "2026-10-25"})
    view = log_call_view(renderer, locale, target, "C0CARE")
    assert "Zhang &amp; &lt;Co&gt;" in view["blocks"][0]["text"]["text"]
    assert len(view["title"]["text"]) <= 24


def test_user_text_cannot_break_out_of_the_json_or_ping():
    message = Renderer().message("due_list.json.j2", "en", rows=[row('"}]}, {"type": "<!channel>')], total=1,
                                 overdue=0, complaints=0, first=0, timezone="Asia/Shanghai", today=NOW.date(),
                                 segment=None)
    body = message.blocks[2]["text"]["text"]
    assert body.startswith('*"}]}, {"type": "&lt;!channel&gt;*')
    assert not re.search(r"<!(channel|here|everyone)", str(message.blocks))


def test_a_reason_names_the_rule_and_its_anchor():
    message = Renderer().message("due_list.json.j2", "en", rows=[row("Alice")], total=1, overdue=0, complaints=0,
                                 first=0, timezone="Asia/Shanghai", today=NOW.date(), segment=None)
    assert "+30 days after a satisfied call on 2026-10-25" in message.blocks[2]["text"]["text"]


def test_a_payload_slack_would_refuse_never_leaves():
    with pytest.raises(RenderError):
        Renderer().message("notice.json.j2", "en", key="errors.internal", params={"ref": "x" * 3100})


# catalog areas whose keys are composed at run time (e.g. 'kind.' ~ kind, f"delay.{unit}")
COMPOSED = ("kind.", "rule.", "channel.", "outcome.", "ticket.", "clock.", "segment.", "cadence.", "delay.",
            "complaint.categories.", "complaint.severities.", "complaint.kinds.", "complaint.category.",
            "complaint.kind.", "complaint.severity.", "form.errors.", "errors.bad_", "plan.errors.",
            "record_field.", "insight.metric.", "insight.chart.", "insight.report.title_", "insight.stats.title_",
            "customer.source.")


def test_every_catalog_text_is_used_somewhere():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sources = [*root.glob("bot/**/*.py"), *root.glob("handlers/*.py"), *root.glob("messages/**/*.j2"),
               *root.glob("messages/*.py")]
    code = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    unused = [key for key in catalog("en") if not key.startswith(COMPOSED) and f"{key}" not in code]
    assert unused == [], f"texts nobody shows (remove them from both catalogs): {unused}"
