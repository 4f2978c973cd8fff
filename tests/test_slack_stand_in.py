"""Tests for the Slack Web API stand-in, driven through a real slack_sdk WebClient."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from tests.slack_stand_in import SlackStandIn

TOKEN = "xoxb-test-token"


def pt(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def modal(title: str = "Log a call", **extra) -> dict:
    return {
        "type": "modal",
        "title": pt(title),
        "submit": pt("Save"),
        "blocks": [
            {"type": "input", "label": pt("Notes"), "element": {"type": "plain_text_input", "action_id": "n"}}
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def server():
    with SlackStandIn(token=TOKEN, trigger_ttl=0.3) as s:
        yield s


@pytest.fixture
def slack(server: SlackStandIn) -> SlackStandIn:
    server.reset(state=True)
    server.trigger_ttl = 0.3
    return server


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url)


def refusal(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as exc:
        call()
    return exc.value


# ------------------------------------------------------------------------- messages
def test_post_message_ok_and_recorded_with_decoded_blocks(slack, client):
    blocks = [
        SectionBlock(text="*Callback due*", block_id="s1"),
        ActionsBlock(block_id="a1", elements=[ButtonElement(text="Done", action_id="done", value="42")]),
    ]
    resp = client.chat_postMessage(channel="C0CARE", text="Callback due", blocks=blocks)
    assert resp["ok"] is True
    assert resp["channel"] == "C0CARE"
    assert resp["message"]["text"] == "Callback due"
    (call,) = slack.ok_calls_to("chat.postMessage")
    assert call.content_type == "application/json"
    assert call.args["channel"] == "C0CARE"
    assert isinstance(call.args["blocks"], list)
    assert call.args["blocks"][1]["elements"][0]["action_id"] == "done"
    assert call.headers.get("Authorization") == f"Bearer {TOKEN}"
    msgs = slack.messages("C0CARE")
    assert [m["ts"] for m in msgs] == [resp["ts"]]
    assert msgs[0]["user"] == slack.bot_user_id


def test_form_encoded_blocks_are_decoded_and_validated(slack, client):
    ok = client.api_call(
        "chat.postMessage",
        data={"channel": "C0CARE", "text": "x", "blocks": json.dumps([{"type": "divider"}])},
    )
    assert ok["ok"]
    call = slack.ok_calls_to("chat.postMessage")[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.args["blocks"] == [{"type": "divider"}]
    err = refusal(
        lambda: client.api_call(
            "chat.postMessage", data={"channel": "C0CARE", "blocks": json.dumps([{"type": "section"}])}
        )
    )
    assert err.response["error"] == "invalid_blocks"


def test_chat_update_changes_stored_message(slack, client):
    posted = client.chat_postMessage(channel="C0CARE", text="3 callbacks due", blocks=[{"type": "divider"}])
    client.chat_update(channel="C0CARE", ts=posted["ts"], text="2 callbacks due")
    (msg,) = slack.messages("C0CARE")
    assert msg["text"] == "2 callbacks due"
    assert msg["blocks"] == [{"type": "divider"}]  # blocks not passed to chat.update are kept, like Slack
    assert "edited" in msg
    err = refusal(lambda: client.chat_update(channel="C0CARE", ts="1.000001", text="nope"))
    assert err.response["error"] == "message_not_found"


def test_unknown_method_refused(slack, client):
    err = refusal(lambda: client.api_call("chat.postMessages", json={"channel": "C0CARE", "text": "x"}))
    assert err.response["error"] == "unknown_method"
    assert err.response.status_code == 404
    assert [c.method for c in slack.refused()] == ["chat.postMessages"]


def test_missing_channel_and_text_refused(slack, client):
    err = refusal(lambda: client.api_call("chat.postMessage", json={"text": "hello"}))
    assert err.response["error"] == "channel_not_found"
    err = refusal(lambda: client.api_call("chat.postMessage", json={"channel": "C0CARE"}))
    assert err.response["error"] == "no_text"
    err = refusal(lambda: client.chat_postMessage(channel="C0CARE", text="x" * 40_001))
    assert err.response["error"] == "msg_too_long"
    assert slack.messages("C0CARE") == []
    assert [c.error for c in slack.refused()] == ["channel_not_found", "no_text", "msg_too_long"]


def test_bad_or_missing_token_refused(slack):
    bad = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert (
        refusal(lambda: bad.chat_postMessage(channel="C0CARE", text="x")).response["error"] == "invalid_auth"
    )
    anonymous = WebClient(base_url=slack.api_url)
    assert refusal(lambda: anonymous.auth_test()).response["error"] == "not_authed"
    assert slack.messages("C0CARE") == []
    # Slack ignores a token inside a JSON body (slack_sdk moves it to the header, so send raw JSON)...
    assert _post(slack.api_url + "auth.test", {"token": TOKEN}) == (
        200,
        '{"ok": false, "error": "not_authed"}',
    )
    # ...but accepts it as a form field
    assert anonymous.api_call("auth.test", data={"token": TOKEN})["user_id"] == slack.bot_user_id


def test_invalid_blocks_refused(slack, client):
    err = refusal(lambda: client.chat_postMessage(channel="C0CARE", text="x", blocks=[{"type": "section"}]))
    assert err.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks/0" in err.response["response_metadata"]["messages"][0]

    err = refusal(
        lambda: client.chat_postMessage(channel="C0CARE", text="x", blocks=[{"type": "divider"}] * 51)
    )
    assert err.response["error"] == "invalid_blocks"
    assert any("50" in m for m in err.response["response_metadata"]["messages"])
    assert client.chat_postMessage(channel="C0CARE", text="x", blocks=[{"type": "divider"}] * 50)["ok"]

    # things slack_sdk's own validate_json lets through but Slack refuses
    for bad in (
        [{"type": "section", "text": md("")}],  # empty text
        [{"type": "section", "text": "plain string"}],  # text must be an object
        [{"type": "header", "text": md("*bold*")}],  # header text must be plain_text
        [{"type": "section", "text": md("x"), "accesory": {}}],  # unknown property
        [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],  # duplicate block_id
        [
            {"type": "actions", "elements": [{"type": "buton", "text": pt("x"), "action_id": "a"}]}
        ],  # unknown element
        [{"type": "section", "fields": [md("x" * 2001)]}],  # field text over 2000
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": [{"text": pt("x"), "value": "v" * 151}],
                    }
                ],
            }
        ],
        [{"type": "header", "text": pt("x" * 151)}],
        [{"type": "section", "text": md("x" * 3001)}],
    ):
        err = refusal(lambda b=bad: client.chat_postMessage(channel="C0CARE", text="x", blocks=b))
        assert err.response["error"] == "invalid_blocks", bad
    assert len(slack.messages("C0CARE")) == 1


# ------------------------------------------------------------------------- views
def test_modal_title_of_25_chars_refused(slack, client):
    err = refusal(lambda: client.views_open(trigger_id=slack.new_trigger_id(), view=modal("x" * 25)))
    assert err.response["error"] == "invalid_arguments"
    assert any("title" in m for m in err.response["response_metadata"]["messages"])
    resp = client.views_open(trigger_id=slack.new_trigger_id(), view=modal("x" * 24))
    assert resp["view"]["id"].startswith("V")
    assert slack.view(resp["view"]["id"])["title"]["text"] == "x" * 24


def test_view_rules_slack_sdk_does_not_check(slack, client):
    no_submit = {k: v for k, v in modal().items() if k != "submit"}
    for bad in (
        no_submit,  # input blocks need a submit button
        modal(private_metadata="x" * 3001),
        {**modal(), "blocks": [{"type": "divider"}] * 101},
        {**modal(), "title": md("Log")},
    ):
        err = refusal(lambda v=bad: client.views_open(trigger_id=slack.new_trigger_id(), view=v))
        assert err.response["error"] == "invalid_arguments"
    assert slack.ok_calls_to("views.open") == []


def test_trigger_id_reuse_refused(slack, client):
    trigger = slack.new_trigger_id()
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]
    err = refusal(lambda: client.views_open(trigger_id=trigger, view=modal()))
    assert err.response["error"] == "invalid_trigger_id"
    err = refusal(lambda: client.views_push(trigger_id="123.456.made-up", view=modal()))
    assert err.response["error"] == "invalid_trigger_id"


def test_trigger_id_expiry_refused(slack, client):
    slack.trigger_ttl = 0.05
    trigger = slack.new_trigger_id()
    time.sleep(0.1)
    err = refusal(lambda: client.views_open(trigger_id=trigger, view=modal()))
    assert err.response["error"] == "expired_trigger_id"


def test_views_update_and_publish(slack, client):
    slack.add_user("U0ALICE", "alice")
    opened = client.views_open(trigger_id=slack.new_trigger_id(), view=modal(external_id="call-1"))["view"]
    updated = client.views_update(external_id="call-1", view=modal("Saved"), hash=opened["hash"])["view"]
    assert updated["id"] == opened["id"] and updated["title"]["text"] == "Saved"
    err = refusal(lambda: client.views_update(view_id=opened["id"], view=modal(), hash=opened["hash"]))
    assert err.response["error"] == "hash_conflict"
    home = {"type": "home", "blocks": [{"type": "section", "text": md("Hi")}]}
    client.views_publish(user_id="U0ALICE", view=home)
    assert slack.home_view("U0ALICE")["blocks"] == home["blocks"]
    err = refusal(lambda: client.views_publish(user_id="U0ALICE", view=modal()))
    assert err.response["error"] == "invalid_arguments"


# ------------------------------------------------------------------------- users / groups / dnd
def test_users_info_with_and_without_locale(slack, client):
    slack.add_user("U0ALICE", "alice", "Alice Liu", locale="zh-CN", tz="Asia/Shanghai")
    plain = client.users_info(user="U0ALICE")["user"]
    assert plain["real_name"] == "Alice Liu" and plain["tz"] == "Asia/Shanghai"
    assert plain["tz_offset"] == 8 * 3600
    assert "locale" not in plain
    with_locale = client.users_info(user="U0ALICE", include_locale=True)["user"]
    assert with_locale["locale"] == "zh-CN"
    assert refusal(lambda: client.users_info(user="U0NOBODY")).response["error"] == "user_not_found"


def test_json_body_ignored_by_methods_that_do_not_take_json(slack, client):
    slack.add_user("U0ALICE", "alice")
    err = refusal(lambda: client.api_call("users.info", json={"user": "U0ALICE"}))
    assert err.response["error"] == "user_not_found"
    assert any("application/json" in m for m in err.response["response_metadata"]["messages"])


def test_usergroups(slack, client):
    slack.add_usergroup("S0CARE", "care-team", ["U0ALICE", "U0BOB"])
    assert client.usergroups_users_list(usergroup="S0CARE")["users"] == ["U0ALICE", "U0BOB"]
    err = refusal(lambda: client.usergroups_users_list(usergroup="S0NOPE"))
    assert err.response["error"] == "no_such_subteam"
    groups = client.usergroups_list(include_users=True)["usergroups"]
    assert [(g["id"], g["handle"], g["users"]) for g in groups] == [
        ("S0CARE", "care-team", ["U0ALICE", "U0BOB"])
    ]


def test_dnd_info(slack, client):
    slack.add_user("U0ALICE", "alice")
    assert client.dnd_info(user="U0ALICE")["snooze_enabled"] is False
    slack.set_dnd("U0ALICE", True, 1700000000, 1700030000)
    info = client.dnd_info(user="U0ALICE")
    assert info["snooze_enabled"] is True and info["dnd_enabled"] is True
    assert (info["next_dnd_start_ts"], info["next_dnd_end_ts"]) == (1700000000, 1700030000)


def test_conversations_open_and_dm(slack, client):
    slack.add_user("U0ALICE", "alice")
    channel = client.conversations_open(users=["U0ALICE"])["channel"]["id"]
    assert channel.startswith("D")
    assert client.chat_postMessage(channel="U0ALICE", text="hi")["channel"] == channel
    assert [m["text"] for m in slack.messages(channel)] == ["hi"]
    assert refusal(lambda: client.conversations_open(users="U0GHOST")).response["error"] == "user_not_found"


# ------------------------------------------------------------------------- response_url
def _post(url: str, body: dict) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_response_url_records_and_allows_five_posts(slack):
    url = slack.response_url("callback")
    other = slack.response_url("other")
    assert url.startswith(slack.base_url + "/hooks/callback/")
    statuses = [_post(url, {"text": f"update {i}", "replace_original": True})[0] for i in range(5)]
    assert statuses == [200] * 5
    assert _post(url, {"text": "sixth"}) == (404, "used_url")
    assert _post(other, {"text": "hi"})[0] == 200
    assert [r["text"] for r in slack.responses("callback")] == [f"update {i}" for i in range(5)]
    assert len(slack.responses()) == 6
    assert _post(other, {"blocks": [{"type": "section"}]})[0] == 400
    assert [c.error for c in slack.refused()] == ["used_url", "invalid_blocks"]


def test_response_url_bound_to_message_replaces_it(slack, client):
    posted = client.chat_postMessage(channel="C0CARE", text="Call back Mr Wang")
    url = slack.response_url("done", channel="C0CARE", ts=posted["ts"])
    assert _post(url, {"text": "Done by Alice", "replace_original": True})[0] == 200
    assert [m["text"] for m in slack.messages("C0CARE")] == ["Done by Alice"]


# ------------------------------------------------------------------------- failures / waiting
def test_rate_limit_then_success_with_retry_handler(slack):
    client = WebClient(
        token=TOKEN, base_url=slack.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    slack.fail_next("chat.postMessage", retry_after=0)
    resp = client.chat_postMessage(channel="C0CARE", text="after retry")
    assert resp["ok"]
    first, second = slack.calls_to("chat.postMessage")
    assert (first.ok, first.status, first.error) == (False, 429, "ratelimited")
    assert second.ok
    assert [m["text"] for m in slack.messages("C0CARE")] == ["after retry"]


def test_rate_limit_without_retry_handler_surfaces_429(slack, client):
    slack.fail_next("chat.postMessage", retry_after=7)
    err = refusal(lambda: client.chat_postMessage(channel="C0CARE", text="x"))
    assert err.response.status_code == 429
    assert err.response.headers.get("Retry-After") in ("7", ["7"])
    assert err.response["error"] == "ratelimited"


def test_wait_for_blocks_until_call_and_reports_refusals(slack, client):
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C0CARE", text="late"))
    timer.start()
    calls = slack.wait_for("chat.postMessage", timeout=2)
    timer.join()
    assert calls[0].args["text"] == "late"
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0CARE", text="x", blocks=[{"type": "section"}])
    with pytest.raises(AssertionError, match="invalid_blocks"):
        slack.wait_for("chat.postMessage", count=2, timeout=0.1)
