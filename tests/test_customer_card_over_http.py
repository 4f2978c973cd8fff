"""`/care customer` over signed HTTP (issue 9): the card in full for the authorised circle and masked for the
rest, in each person's language; the add / edit modal with inline errors; every look and change audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.services.privacy import audit_trail
from storage.models import CallLog, Customer
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_due_over_http import texts


def customer_values(*, code: str | None = None, name: str = "", phone: str = "", email: str = "",
                    owner: str | None = None, tags: str = "", consent: str = "yes") -> dict:
    """The `state.values` Slack sends for the customer modal."""
    values = {
        "name": {"value": {"type": "plain_text_input", "value": name}},
        "phone": {"value": {"type": "plain_text_input", "value": phone}},
        "email": {"value": {"type": "email_text_input", "value": email}},
        "owner": {"value": {"type": "users_select", "selected_user": owner}},
        "tags": {"value": {"type": "plain_text_input", "value": tags}},
        "consent": {"value": {"type": "radio_buttons", "selected_option": {"value": consent}}},
    }
    if code is not None:
        values["code"] = {"value": {"type": "plain_text_input", "value": code}}
    return values


def a_customer_with_history(team) -> int:
    cid = seed.customer(team, "A001", "欧阳娜娜", phone="+8613912345678")
    with team.db.unit_of_work() as session:
        person = session.get(Customer, cid)
        person.email, person.tags, person.consent_source = "nana@example.cn", ["vip", "老客户"], "import"
        person.consent_at = DEFAULT_NOW - dt.timedelta(days=30)
        session.add(CallLog(team_id="default", customer_id=cid, staff_id="U0AGENT", channel="phone",
                            outcome="satisfied", rating=5, summary="客户说物流很快", called_at=DEFAULT_NOW))
    seed.callback(team, cid, DEFAULT_NOW + dt.timedelta(days=2), kind="first_use")
    seed.complaint(team, cid, DEFAULT_NOW - dt.timedelta(hours=2), DEFAULT_NOW + dt.timedelta(hours=20))
    return cid


def test_the_owner_sees_the_card_in_full_with_its_buttons(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    a_customer_with_history(team)
    bot.command("customer A001", user_id="U0AGENT")
    [card] = bot.responses("cmd")
    shown = texts(card)
    assert "欧阳娜娜" in json.dumps(card, ensure_ascii=False) and "+8613912345678" in shown
    assert "nana@example.cn" in shown and "vip, 老客户" in shown and "<@U0AGENT>" in shown
    assert "Consent given" in shown and "imported sheet" in shown
    assert "客户说物流很快" in shown and "rating 5" in shown
    assert "First-use" in shown or "first" in shown.lower()
    assert "Complaint #" in shown
    buttons = [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["log_call", "customer_complaint", "customer_edit"]
    [line] = audit_trail(team, code="A001")
    assert (line.actor_id, line.action, line.detail) == ("U0AGENT", "viewed", {"via": "card", "full": True})


def test_a_colleague_sees_it_masked_in_chinese_and_without_buttons(bot, team):
    bot.slack.add_user("U0AGENT2", locale="zh-CN")
    a_customer_with_history(team)
    bot.command("customer +86 139 1234 5678", user_id="U0AGENT2")  # found by phone, through its keyed hash
    [card] = bot.responses("cmd")
    raw = json.dumps(card, ensure_ascii=False)
    assert "欧*" in raw and "139****5678" in raw and "n***@example.cn" in raw
    assert "欧阳娜娜" not in raw and "13912345678" not in raw and "nana@" not in raw and "物流" not in raw
    assert "已脱敏显示" in raw and "已同意联系" in raw
    assert not [b for b in card["blocks"] if b["type"] == "actions"]
    [line] = audit_trail(team, code="A001")
    assert line.detail == {"via": "card", "full": False}


def test_a_name_matching_several_offers_a_choice_and_each_opens_its_card(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    seed.customer(team, "A001", "王小明")
    seed.customer(team, "A002", "王小红", phone="+8613900000002")
    bot.command("customer 王小", user_id="U0AGENT")
    [choices] = bot.responses("cmd")
    rows = [b for b in choices["blocks"] if "accessory" in b]
    assert [b["text"]["text"] for b in rows] == ["A001 · 王小明", "A002 · 王小红"]
    button = rows[1]["accessory"]
    url = bot.slack.response_url("pick")
    bot.sender.block_action(user_id="U0AGENT", action_id=button["action_id"], value=button["value"],
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    [card] = bot.responses("pick")
    assert "王小红" in json.dumps(card, ensure_ascii=False)
    bot.command("customer nobody", user_id="U0AGENT")
    [nothing] = bot.responses("cmd", count=2)[1:]
    assert "No customer matches" in texts(nothing)


def test_add_a_customer_through_the_modal_with_inline_errors_first(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("customer add", user_id="U0AGENT")
    [opened] = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    bad = bot.sender.view_submission(user_id="U0AGENT", view=view, values=customer_values(
        code="N001", name="", phone="12345", email="not-an-email", owner="U0AGENT2"))
    errors = bad.json()["errors"]
    assert set(errors) == {"name", "phone", "email", "owner"}
    assert "not a phone number" in errors["phone"] and "Only supervisors" in errors["owner"]
    with team.db.unit_of_work() as session:
        assert session.scalars(select(Customer)).all() == []
    good = bot.sender.view_submission(user_id="U0AGENT", view=view, values=customer_values(
        code="N001", name="Nina Li", phone="+852 9123 4567", email="Nina@Example.com", owner="U0AGENT",
        tags="vip, 新客户", consent="yes"))
    assert good.status == 200 and not good.body
    with team.db.unit_of_work() as session:
        nina = session.scalars(select(Customer)).one()
        assert (nina.code, nina.name, nina.phone, nina.email) == ("N001", "Nina Li", "+85291234567",
                                                                  "nina@example.com")
        assert nina.tags == ["vip", "新客户"] and nina.consent and nina.consent_source == "modal"
        assert nina.consent_at == DEFAULT_NOW
    [confirmation] = bot.slack.wait_for("chat.postEphemeral")
    assert "Added customer *N001*" in confirmation.args["text"]
    [line] = audit_trail(team, code="N001")
    assert (line.actor_id, line.action) == ("U0AGENT", "created")
    assert line.detail["fields"] == ["consent", "email", "name", "owner_id", "phone", "tags"]


def test_edit_withdraws_consent_and_the_audit_names_the_fields_not_the_values(bot, team):
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    cid = a_customer_with_history(team)
    url = bot.slack.response_url("card")
    bot.sender.block_action(user_id="U0SUPER", action_id="customer_edit", value=str(cid),
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    [opened] = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    assert view["title"]["text"] == "编辑客户"
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert initial["name"] == "欧阳娜娜" and initial["phone"] == "+8613912345678"
    reply = bot.sender.view_submission(user_id="U0SUPER", view=view, values=customer_values(
        name="欧阳娜娜", phone="+8613912345678", email="nana@example.cn", owner="U0AGENT", tags="vip",
        consent="no"))
    assert reply.status == 200 and not reply.body
    with team.db.unit_of_work() as session:
        person = session.get(Customer, cid)
        assert person.consent is False and person.consent_source == "modal" and person.tags == ["vip"]
    [confirmation] = bot.slack.wait_for("chat.postEphemeral")
    assert "已保存客户 *A001*" in confirmation.args["text"]
    trail = audit_trail(team, code="A001")
    assert [(line.action, line.detail) for line in trail] == [
        ("viewed", {"via": "edit", "full": True}), ("changed", {"fields": ["consent", "tags"]})]
    assert "vip" not in json.dumps([line.detail for line in trail])


def test_an_agent_cannot_edit_a_colleagues_customer(bot, team):
    bot.slack.add_user("U0AGENT2", locale="en-US")
    cid = a_customer_with_history(team)
    url = bot.slack.response_url("x")
    bot.sender.block_action(user_id="U0AGENT2", action_id="customer_edit", value=str(cid),
                            trigger_id=bot.slack.new_trigger_id(), response_url=url)
    [refusal] = bot.responses("x")
    assert "belongs to a colleague" in texts(refusal) and "欧阳" not in json.dumps(refusal, ensure_ascii=False)
    assert not bot.slack.calls_to("views.open")


def test_a_card_click_without_a_usable_response_url_is_answered_where_the_person_clicked(bot, team):
    """Slack's message buttons carry a response_url; should one come without it, or with one that is not a string
    or not an http(s) address, the card the person asked for is shown to them alone in the channel they clicked
    in (ephemeral, not kept, as a response_url's reply), in their language; in a channel that refuses it, by DM.
    Never dropped unseen, never a false "may arrive late"."""
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    bot.slack.add_channel("C0OLD", "old-care", is_archived=True)
    cid = seed.customer(team, "A001", "王小明")

    def click(n: int, url, channel: str = "C0CARE") -> None:
        payload = {"type": "block_actions", "user": {"id": "U0AGENT", "team_id": bot.sender.team_id},
                   "trigger_id": bot.slack.new_trigger_id(), "channel": {"id": channel},
                   "container": {"type": "message", "channel_id": channel, "is_ephemeral": True},
                   "actions": [{"type": "button", "action_id": "customer_card", "block_id": "b", "value": str(cid),
                                "action_ts": f"1764000000.00000{n}"}]}
        if url is not None:
            payload["response_url"] = url
        assert bot.sender.interaction(payload).status == 200

    for n, url in enumerate([None, 12345, "not-a-url", ""]):  # missing, not a string, not an address, empty
        click(n, url)
    shown = bot.slack.wait_for("chat.postEphemeral", count=4)
    assert [(c.args["channel"], c.args["user"]) for c in shown] == [("C0CARE", "U0AGENT")] * 4
    click(5, None, channel="C0OLD")  # archived: Slack refuses the ephemeral, so it comes by DM
    [dm] = bot.slack.wait_for("chat.postMessage")
    assert dm.args["channel"] in ("U0AGENT", bot.slack.dm_channel_id("U0AGENT"))
    for call in [*shown, dm]:
        card = json.dumps(call.args, ensure_ascii=False)
        assert "王小明" in card and "A001" in card and "客户" in card  # the card, in the person's language
    said = json.dumps([c.args for c in bot.slack.calls_to("chat.postMessage")], ensure_ascii=False)
    assert "may arrive late" not in said and "回复可能没有送达" not in said
    assert not bot.slack.calls_to("response_url")


@pytest.mark.parametrize("metadata", ['{"cu": true}', '{"cu": 1180591620717411303424}', '{"cu": 1.5}', "not json{",
                                      "[1, 2]", '{"cu": -3}'])
def test_an_edit_form_whose_metadata_is_not_ours_changes_nothing_and_says_so(bot, team, metadata):
    """An Edit form (it has no code field) carries its customer in private_metadata; one that is not what we wrote
    (a bool, an id out of range, not JSON) is "not understood": never read as customer 1, never a new customer,
    never an OverflowError's "something went wrong"."""
    bot.slack.add_user("U0AGENT", locale="en-US")
    first = seed.customer(team, "A001", "Alice Wang", owner="U0AGENT")
    view = {"id": "VEDIT1", "hash": "h1", "type": "modal", "callback_id": "customer_modal", "blocks": [],
            "private_metadata": metadata}
    values = customer_values(name="Mallory", phone="+8613800138999")
    reply = bot.sender.view_submission(user_id="U0AGENT", view=view, values=values)
    assert "not understood" in json.dumps(reply.json()), reply.body
    with team.db.unit_of_work() as session:
        assert [(c.id, c.name) for c in session.scalars(select(Customer))] == [(first, "Alice Wang")]


def test_a_name_is_saved_as_an_import_saves_it_without_invisible_characters(bot, team):
    """The form normalises a name as the import does: full-width letters half-width, spaces collapsed, and a
    pasted zero-width space or a right-to-left override (which makes a name read backwards on every card and list)
    taken out — what is saved is what every colleague reads."""
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("customer add", user_id="U0AGENT")
    [opened] = bot.slack.wait_for("views.open")
    reply = bot.sender.view_submission(user_id="U0AGENT", view=opened.args["view"], values=customer_values(
        code="N001", name="\u202eＡＬＩＣＥ\u200b　 Wang\u202c", phone="+8613800138000", owner="U0AGENT"))
    assert reply.status == 200 and not reply.body, reply.body
    with team.db.unit_of_work() as session:
        assert [c.name for c in session.scalars(select(Customer))] == ["ALICE Wang"]


def test_marks_soft_hyphens_and_a_name_of_joiners_only_are_not_a_name_and_tags_are_one_each(bot, team):
    """The final tryout: left/right-to-left marks and a soft hyphen stayed in names, a name of joiners only was
    saved, and `vip\\u200b, ＶＩＰ, vip` were three tags."""
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("customer add", user_id="U0AGENT")
    [opened] = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    empty = bot.sender.view_submission(user_id="U0AGENT", view=view, values=customer_values(
        code="N001", name="\u200d\u200c", phone="+8613800138000", owner="U0AGENT"))
    assert set(empty.json()["errors"]) == {"name"}, empty.body
    saved = bot.sender.view_submission(user_id="U0AGENT", view=view, values=customer_values(
        code="N001", name="张\u200e三\u200f\u00ad", phone="+8613800138000", owner="U0AGENT",
        tags="vip\u200b, ＶＩＰ, vip"))
    assert saved.status == 200 and not saved.body, saved.body
    with team.db.unit_of_work() as session:
        assert [(c.name, c.tags) for c in session.scalars(select(Customer))] == [("张三", ["vip"])]


def test_a_code_loses_invisible_characters_so_a_pasted_one_is_the_same_code(bot, team):
    """`A001\\u200b` and `\\u202eA001` (the final tryout's) are A001: "already in use", not a second A001 that
    reads differently in every post; a code's letters and case stay the team's own."""
    seed.customer(team, "A001", "Alice Wang")
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("customer add", user_id="U0AGENT")
    [opened] = bot.slack.wait_for("views.open")
    for typed in ("A001\u200b", "\u202eA001\u202c", " A001 "):
        reply = bot.sender.view_submission(user_id="U0AGENT", view=opened.args["view"], values=customer_values(
            code=typed, name="Mallory", phone="+8613800138111", owner="U0AGENT"))
        assert "already in use" in reply.json()["errors"]["code"], reply.body
    with team.db.unit_of_work() as session:
        assert [c.code for c in session.scalars(select(Customer))] == ["A001"]
