"""The door in front of Bolt: a request to /slack/events that Slack did not sign never reaches a listener,
a middleware or the error path.

Bolt checks signatures too, but it parses the headers first: a timestamp like `abc`, `1e3` or 5,000 digits
raised inside Bolt, and the error path then answered the `response_url` of the unverified body (an address the
sender chose). Here the header shapes are checked before anything else reads the body, then slack_sdk's
`SignatureVerifier` checks the HMAC and the 5-minute window. A refusal is `401`, one log line without the
body, and no call to Slack. A signed body that is not shaped as Slack's payloads are (not UTF-8, not a JSON
object, `actions` not a list …) is refused with `400` before Bolt parses it.

Shapes (https://api.slack.com/authentication/verifying-requests-from-slack): `X-Slack-Request-Timestamp` is
Unix seconds in ASCII digits, `X-Slack-Signature` is `v0=` and 64 lowercase hex digits.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

MAX_BODY = 2 * 1024 * 1024  # bytes; Slack's largest payloads (a 100-block view with its state) are far below
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() would take "²"
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def refusal_reason(verifier: SignatureVerifier, body: bytes, timestamp: str | None,
                   signature: str | None) -> str | None:
    """Why this request is not Slack's (a short phrase for the log), or None when it is signed and fresh."""
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
        return "bad or missing X-Slack-Request-Timestamp"
    if signature is None or not _SIGNATURE.fullmatch(signature):
        return "bad or missing X-Slack-Signature"
    try:
        body.decode("utf-8")  # slack_sdk's verifier decodes it and would raise
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return "signature does not match or timestamp outside 5 minutes"
    return None


# the parts of a payload Bolt reads before any listener of ours: each must have the shape Slack sends
_DICTS = ("view", "user", "team", "channel", "message", "container", "event", "enterprise", "state")


def shape_problem(body: bytes, content_type: str) -> str | None:
    """Why a signed body is not a payload Slack sends (a short phrase), or None: an event is a JSON object with a
    string `type` (an event_callback's `event` an object with a `type`); an interaction is a JSON object in
    `payload` with a string `type`, its `actions` a list of objects and its nested parts (view, user, team,
    channel, message, event …) objects; a view has a `type`.
    Bolt would otherwise raise on such a body before any listener runs, and waitress answer 500."""
    text = body.decode("utf-8")  # refusal_reason has checked it
    if content_type.startswith("application/json"):
        return _object_problem(text, "body", needs_type=True)
    fields = parse_qs(text, keep_blank_values=True)
    if "payload" not in fields:
        return None  # a slash command: plain form fields, read by our one parser
    if len(fields["payload"]) != 1:
        return "more than one payload"
    return _object_problem(fields["payload"][0], "payload", needs_type=True)


def _object_problem(text: str, what: str, needs_type: bool = False) -> str | None:
    try:
        document = json.loads(text)
    except ValueError:
        return f"{what} is not JSON"
    if not isinstance(document, dict):
        return f"{what} is not a JSON object"
    if needs_type and not isinstance(document.get("type"), str):
        return f"{what} has no type"
    for key in _DICTS:
        if document.get(key) is not None and not isinstance(document[key], dict):
            return f"{what}.{key} is not an object"
    actions = document.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return f"{what}.actions is not a list of objects"
    view = document.get("view")
    if isinstance(view, dict) and not isinstance(view.get("type"), str):
        return f"{what}.view has no type"
    if "event" in document and not isinstance(document["event"], dict | None) or \
            document.get("type") == "event_callback" and not isinstance(document.get("event"), dict):
        return f"{what}.event is not an object"
    event = document.get("event")
    if isinstance(event, dict) and not isinstance(event.get("type"), str):
        return f"{what}.event has no type"
    return None


def signed_only(bolt: WsgiApp, app: Any, path: str = "/slack/events") -> WsgiApp:
    """Wrap Bolt's WSGI handler: POSTs to `path` go on only when signed with the app's signing secret."""
    # Bolt keeps the secret it was built with here; reading it keeps one secret for both checks
    verifier = SignatureVerifier(getattr(app, "_signing_secret", "") or "unset")

    def refuse(start_response, status: str, reason: str, environ: dict) -> list[bytes]:
        log.warning("refused a request to %s from %s: %s", path, environ.get("REMOTE_ADDR", "?"), reason)
        start_response(status, [("Content-Type", "text/plain")])
        return [b"invalid request"]

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != path or environ.get("REQUEST_METHOD") != "POST":
            return bolt(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refuse(start_response, "400 Bad Request", "bad Content-Length", environ)
        if length < 0 or length > MAX_BODY:
            return refuse(start_response, "413 Payload Too Large", f"body of {length} bytes", environ)
        body = environ["wsgi.input"].read(length) if length else b""
        reason = refusal_reason(verifier, body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                                environ.get("HTTP_X_SLACK_SIGNATURE"))
        if reason is not None:
            return refuse(start_response, "401 Unauthorized", reason, environ)
        problem = shape_problem(body, environ.get("CONTENT_TYPE") or "")
        if problem is not None:  # signed, so Slack's (or the secret leaked): never a 500 and a traceback
            return refuse(start_response, "400 Bad Request", problem, environ)
        environ["wsgi.input"] = io.BytesIO(body)
        return bolt(environ, start_response)

    return application
