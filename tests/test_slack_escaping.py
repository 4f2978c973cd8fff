"""Slack escapes `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;` in a slash command's text and in a message's text
(its docs, "Escaping text"), and sends what is typed in a modal as typed. The bot reads the first two as the person
wrote them, once, where they come in; mentions and links (`<@U…>`, `<https://…|label>`) stay Slack's markup. Over
signed HTTP against the running bot and the Slack stand-in (the tryout found `&gt;` and `&amp;` stored and shown
double-escaped, and `/care customer R&D-01` finding nothing)."""

from __future__ import annotations

import datetime as dt
import json

import tests.test_complaints_over_http as over_http
from handlers.sla_jobs import run_sla_sweep
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_complaints_over_http import _client, _renderer, complaint_values, complaints_in_db

desk = over_http.desk  # the fixture: an English-speaking team with supervisors, their group and channel

# What Slack sends for a message typed as:  价格 > 预期 & 物流慢，@Tom 说见 订单(link)  <!channel>?
SENT = ("价格 &gt; 预期 &amp; 物流慢，<@U0AGENT> 说见 <https://shop.example.cn/o/1|订单> "
        "&lt;!channel&gt; 收到吗")
WRITTEN = "价格 > 预期 & 物流慢，<@U0AGENT> 说见 <https://shop.example.cn/o/1|订单> <!channel> 收到吗"


def shortcut(bot, text: str) -> dict:
    """The "Open complaint from this message" shortcut on a message Slack sends with `text`: the modal opened."""
    ts = bot.slack.add_message("C0CARE", text, "U0AGENT")
    reply = bot.sender.interaction({
        "type": "message_action", "callback_id": "open_complaint_from_message",
        "trigger_id": bot.slack.new_trigger_id(), "response_url": bot.slack.response_url("sc"),
        "user": {"id": "U0AGENT", "team_id": "T0TEST"}, "channel": {"id": "C0CARE", "name": "care"},
        "message": {"type": "message", "ts": ts, "user": "U0AGENT", "text": text}})
    assert reply.status == 200
    return bot.slack.wait_for("views.open")[-1].args["view"]


def prefilled(view: dict) -> str:
    return next(b for b in view["blocks"] if b.get("block_id") == "description")["element"]["initial_value"]


def test_a_message_opened_as_a_complaint_reads_as_its_author_wrote_it_and_is_shown_escaped_once(bot, desk):
    cid = seed.customer(desk, "A001", "Alice Wang")
    view = shortcut(bot, SENT)
    assert prefilled(view) == WRITTEN  # the form shows `>` and `&`, not `&gt;` and `&amp;`
    bot.sender.view_submission(user_id="U0AGENT", view=view,
                               values=complaint_values(customer_id=cid, description=prefilled(view)))
    bot.slack.wait_for("chat.postEphemeral")
    [complaint] = complaints_in_db(desk)
    assert complaint.description == WRITTEN

    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=1))  # past the first response: the post quotes it
    run_sla_sweep(desk, _renderer(), _client(bot))
    [page] = bot.slack.messages("C0SUPER")
    shown = json.dumps(page["blocks"], ensure_ascii=False)
    assert "价格 &gt; 预期 &amp; 物流慢" in shown  # escaped once: Slack shows `价格 > 预期 & 物流慢`
    assert "&amp;gt;" not in shown and "&amp;amp;" not in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown  # what was typed, never a ping
    assert "<@U0AGENT>" not in shown  # the quoted message mentions nobody


def test_entities_a_person_typed_are_kept_as_typed(bot, desk):
    """Typed `&lt;b&gt; &amp;` comes as `&amp;lt;b&amp;gt; &amp;amp;`: unescaped once, it is what was typed."""
    seed.customer(desk, "A001", "Alice Wang")
    assert prefilled(shortcut(bot, "写成 &amp;lt;b&amp;gt; 和 &amp;amp; 了")) == "写成 &lt;b&gt; 和 &amp; 了"


def test_a_modal_is_read_as_typed(bot, desk):
    """Slack does not escape what is typed in a modal: `&amp;` typed there is kept, not made `&`."""
    cid = seed.customer(desk, "A001", "Alice Wang")
    bot.command("complaint A001", user_id="U0AGENT")
    view = bot.slack.wait_for("views.open")[-1].args["view"]
    bot.sender.view_submission(user_id="U0AGENT", view=view,
                               values=complaint_values(customer_id=cid, description="HTML says &amp; for & <b>"))
    bot.slack.wait_for("chat.postEphemeral")
    assert complaints_in_db(desk)[0].description == "HTML says &amp; for & <b>"


def customer_reply(bot, sent: str, name: str) -> str:
    bot.sender.command(f"customer {sent}", user_id="U0SUPER", response_url=bot.slack.response_url(name),
                       trigger_id=bot.slack.new_trigger_id())
    [reply] = bot.responses(name)
    return reply["text"]


def test_a_slash_command_finds_what_the_person_typed_with_an_ampersand(bot, desk):
    seed.customer(desk, "R&D-01", "Tom & Jerry")
    assert "R&amp;D-01" in customer_reply(bot, "R&amp;D-01", "code")  # typed `R&D-01`: the card, escaped once
    assert "Tom &amp; Jerry" in customer_reply(bot, "Tom &amp; Jerry", "name")
    missing = customer_reply(bot, "R&amp;X &lt;b&gt;", "none")  # typed `R&X <b>`: said back as typed, escaped once
    assert "No customer matches" in missing and "R&amp;X &lt;b&gt;" in missing and "&amp;amp;" not in missing


def test_a_mention_in_a_slash_command_is_still_read_as_the_person(bot, desk):
    bot.sender.command("stats week <@U0AGENT|tom>", user_id="U0SUPER", response_url=bot.slack.response_url("st"),
                       trigger_id=bot.slack.new_trigger_id())
    [reply] = bot.responses("st")
    assert "<@U0AGENT>" in reply["text"], reply["text"]
