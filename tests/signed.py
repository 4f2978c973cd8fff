"""Talks to the bot as Slack does: signed form posts over loopback HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSender:
    def __init__(self, url: str, signing_secret: str, team_id: str = "T0TEST"):
        self.url = url
        self.signer = SignatureVerifier(signing_secret)
        self.team_id = team_id

    def post(self, body: str, *, timestamp: int | None = None, signature: str | None = None,
             content_type: str = "application/x-www-form-urlencoded", headers: dict[str, str] | None = None) -> Reply:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or self.signer.generate_signature(timestamp=ts, body=body)
        request = urllib.request.Request(self.url, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig,
            **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def command(self, text: str, *, user_id: str, response_url: str, trigger_id: str = "",
                channel_id: str = "C0CARE", **signing: Any) -> Reply:
        form = {"token": "legacy", "team_id": self.team_id, "team_domain": "carebot-test",
                "channel_id": channel_id, "channel_name": "care", "user_id": user_id, "user_name": user_id.lower(),
                "command": "/care", "text": text, "api_app_id": "A0TEST", "response_url": response_url,
                "trigger_id": trigger_id}
        return self.post(urllib.parse.urlencode(form), **signing)

    def interaction(self, payload: dict[str, Any], **signing: Any) -> Reply:
        payload = {"team": {"id": self.team_id, "domain": "carebot-test"}, "api_app_id": "A0TEST",
                   "token": "legacy", **payload}
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}), **signing)

    def block_action(self, *, user_id: str, action_id: str, value: str, trigger_id: str,
                     response_url: str | None = None, channel_id: str | None = "C0CARE",
                     container: dict | None = None) -> Reply:
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user_id, "team_id": self.team_id},
            "trigger_id": trigger_id,
            "container": container or {"type": "message", "channel_id": channel_id, "is_ephemeral": True},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                         "action_ts": str(time.time())}],
        }
        if channel_id:
            payload["channel"] = {"id": channel_id, "name": "care"}
        if response_url:
            payload["response_url"] = response_url
        return self.interaction(payload)

    def view_submission(self, *, user_id: str, view: dict[str, Any], values: dict[str, Any],
                        **signing: Any) -> Reply:
        """Submit `view` (as views.open was given it). Without an `id` it gets a fresh one, as every modal Slack
        opens has its own; give `id` (and `hash`) to deliver the same submission again."""
        submitted = {**view, "id": view.get("id") or f"V{uuid.uuid4().hex[:10].upper()}", "state": {"values": values}}
        return self.interaction({"type": "view_submission", "user": {"id": user_id, "team_id": self.team_id},
                                 "view": submitted, "trigger_id": "t"}, **signing)

    def options(self, *, user_id: str, action_id: str, value: str, block_id: str = "customer") -> Reply:
        return self.interaction({"type": "block_suggestion", "user": {"id": user_id, "team_id": self.team_id},
                                 "action_id": action_id, "block_id": block_id, "value": value,
                                 "view": {"id": "V0TEST", "type": "modal"}})

    def event(self, event: dict[str, Any]) -> Reply:
        body = {"token": "legacy", "team_id": self.team_id, "api_app_id": "A0TEST", "type": "event_callback",
                "event_id": f"Ev{int(time.time() * 1000)}", "event_time": int(time.time()), "event": event}
        return self.post(json.dumps(body), content_type="application/json")


def form_values(*, channel: str | None = "phone", outcome: str | None = "satisfied", rating: int | None = 5,
                summary: str = "", feedback: str = "", next_on: str | None = None,
                customer_id: int | None = None, nps: int | None = None) -> dict[str, Any]:
    """The `state.values` Slack sends for the log-call modal."""
    def selected(value: str | None, kind: str) -> dict[str, Any]:
        return {"value": {"type": kind, "selected_option": {"value": value} if value else None}}

    values = {
        "channel": selected(channel, "static_select"),
        "outcome": selected(outcome, "radio_buttons"),
        "rating": selected(str(rating) if rating is not None else None, "static_select"),
        "summary": {"value": {"type": "plain_text_input", "value": summary}},
        "feedback": {"value": {"type": "plain_text_input", "value": feedback}},
        "next_on": {"value": {"type": "datepicker", "selected_date": next_on}},
        "nps": selected(str(nps) if nps is not None else None, "static_select"),
    }
    if customer_id is not None:
        values["customer"] = {"customer_select": {"type": "external_select",
                                                  "selected_option": {"value": str(customer_id)}}}
    return values
