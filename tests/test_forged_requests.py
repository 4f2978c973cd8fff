"""Forged requests have no effect at all (issue 8 §1): whatever the headers say, a request Slack did not sign
is answered 401 before Bolt reads it, nobody is told anything (no Web API call, no response_url POST, no DM),
no row changes, and the log has one line about it."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.parse

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from storage.models import Base
from tests.conftest import SIGNING_SECRET


def row_counts(svc) -> dict[str, int]:
    with svc.db.unit_of_work() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    parsed = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        connection.putrequest("POST", parsed.path, skip_accept_encoding=True)
        for name, value in {"Content-Type": "application/x-www-form-urlencoded",
                            "Content-Length": str(len(body)), **headers}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        return connection.getresponse().status
    finally:
        connection.close()


def bodies(bot) -> dict[str, bytes]:
    """Bodies that would act if they were believed: an admin's command and a button with a response_url."""
    command = urllib.parse.urlencode({
        "team_id": "T0TEST", "channel_id": "C0CARE", "user_id": "U0ADMIN", "command": "/care",
        "text": "staff add <@U0INTRUDER> admin", "response_url": bot.slack.response_url("forged"),
        "trigger_id": bot.slack.new_trigger_id()}).encode()
    button = urllib.parse.urlencode({"payload": json.dumps({
        "type": "block_actions", "user": {"id": "U0ADMIN"}, "team": {"id": "T0TEST"},
        "response_url": bot.slack.response_url("forged"), "trigger_id": bot.slack.new_trigger_id(),
        "actions": [{"action_id": "log_call", "value": "cb:\u00b2", "action_ts": "1"}]})}).encode()
    return {"command": command, "button": button}


def forged_headers(body: bytes) -> dict[str, dict[str, str]]:
    now = str(int(time.time()))
    good = SignatureVerifier(SIGNING_SECRET)
    other = SignatureVerifier("not-our-secret")
    sig = good.generate_signature(timestamp=now, body=body)
    stale = str(int(time.time()) - 6 * 60)
    future = str(int(time.time()) + 6 * 60)
    cases = {f"timestamp {label}": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
             for label, ts in [("abc", "abc"), ("empty", ""), ("1e3", "1e3"), ("5000 digits", "9" * 5000),
                               ("superscript", "\u00b2".encode().decode("latin-1")), ("negative", "-1"),
                               ("inner space", f"{now[:4]} {now[4:]}"), ("decimal", f"{now}.5"), ("hex", "0x10")]}
    cases.update({
        "no headers": {},
        "no signature": {"X-Slack-Request-Timestamp": now},
        "no timestamp": {"X-Slack-Signature": sig},
        "empty signature": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": ""},
        "v0= only": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0="},
        "zeros": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
        "upper-case hex": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": sig.upper().replace("V0=", "v0=")},
        "v1 scheme": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": sig.replace("v0=", "v1=")},
        "long signature": {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": sig + "0" * 5000},
        "other secret": {"X-Slack-Request-Timestamp": now,
                         "X-Slack-Signature": other.generate_signature(timestamp=now, body=body)},
        "stale, signed": {"X-Slack-Request-Timestamp": stale,
                          "X-Slack-Signature": good.generate_signature(timestamp=stale, body=body)},
        "future, signed": {"X-Slack-Request-Timestamp": future,
                           "X-Slack-Signature": good.generate_signature(timestamp=future, body=body)},
        "signed for another body": {"X-Slack-Request-Timestamp": now,
                                    "X-Slack-Signature": good.generate_signature(timestamp=now, body=body + b"&x=1")},
    })
    return cases


def outbound(bot) -> list[str]:
    return [c.method for c in bot.slack.calls if c.method != "auth.test"] + \
        [f"response_url {r}" for r in bot.slack.responses()]


@pytest.mark.parametrize("kind", ["command", "button"])
def test_every_forgery_is_401_with_no_outbound_call_and_one_log_line(bot, team, caplog, kind):
    caplog.set_level(logging.INFO)
    body = bodies(bot)[kind]
    before = row_counts(team)
    tried = refused = 0
    for label, headers in forged_headers(body).items():
        caplog.clear()
        status = raw_post(bot.url, body, headers)
        tried += 1
        assert status == 401, label
        refused += 1
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1 and lines[0].name == "bot.request_gate", (label, [r.getMessage() for r in lines])
        assert "U0INTRUDER" not in lines[0].getMessage()
    time.sleep(0.3)  # anything that slipped through would have acted by now
    assert outbound(bot) == []
    assert row_counts(team) == before
    assert tried == refused == len(forged_headers(body))


def test_an_oversized_body_is_refused_before_it_is_read(bot, team):
    from bot.request_gate import MAX_BODY

    status = raw_post(bot.url, b"x" * (MAX_BODY + 1), {"X-Slack-Request-Timestamp": "1",
                                                       "X-Slack-Signature": "v0=" + "0" * 64})
    assert status == 413
    assert outbound(bot) == []


def test_the_same_body_signed_properly_is_served(bot, team):
    bot.slack.add_user("U0ADMIN", locale="en-US")
    body = bodies(bot)["command"]
    now = str(int(time.time()))
    status = raw_post(bot.url, body, {"X-Slack-Request-Timestamp": now,
                                      "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(
                                          timestamp=now, body=body)})
    assert status == 200
    assert bot.responses("forged")


SIGNED_BUT_MALFORMED = {
    "payload not JSON": ("application/x-www-form-urlencoded", b"payload={not json"),
    "payload a list": ("application/x-www-form-urlencoded", b"payload=" + urllib.parse.quote("[1,2]").encode()),
    "not UTF-8": ("application/x-www-form-urlencoded", b"payload=\xff\xfe"),
    "event null": ("application/json", json.dumps({"type": "event_callback", "event": None, "x": 1}).encode()),
    "event without type": ("application/json", json.dumps({"type": "event_callback", "event": {}}).encode()),
    "view without type": ("application/x-www-form-urlencoded", b"payload=" + urllib.parse.quote(json.dumps(
        {"type": "view_submission", "user": {"id": "U0ADMIN"}, "view": {"callback_id": "x"}})).encode()),
    "actions a string": ("application/x-www-form-urlencoded", b"payload=" + urllib.parse.quote(json.dumps(
        {"type": "block_actions", "user": {"id": "U0ADMIN"}, "actions": "cb:1"})).encode()),
}


@pytest.mark.parametrize("label", sorted(SIGNED_BUT_MALFORMED))
def test_a_signed_body_not_shaped_as_slack_sends_is_400_never_500(bot, team, caplog, label):
    """Signed (Slack's secret, or one that leaked) but not a payload Slack sends: refused with 400 (a body that
    is not UTF-8: 401) and one log line before Bolt parses it; before, Bolt (or slack_sdk's verifier) raised and
    waitress answered 500 with a traceback."""
    content_type, body = SIGNED_BUT_MALFORMED[label]
    caplog.set_level(logging.INFO)
    before = row_counts(team)
    now = str(int(time.time()))
    # signed by hand: slack_sdk's generate_signature would decode the body (and fail on the one not in UTF-8)
    signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + now.encode() + b":" + body,
                                 hashlib.sha256).hexdigest()
    status = raw_post(bot.url, body, {"Content-Type": content_type, "X-Slack-Request-Timestamp": now,
                                      "X-Slack-Signature": signature})
    assert status == (401 if label == "not UTF-8" else 400)  # not UTF-8: its signature cannot even be checked
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING] == ["bot.request_gate"]
    assert outbound(bot) == [] and row_counts(team) == before
