"""Keys of one delivery, from what Slack's payload carries (issue 8 §2; claimed by bot/services/once.py).

- a modal submission: the view's id and hash (and a digest of the values, so two different forms never share
  a key even where a client sends no hash);
- a button on a post (escalation): the post (channel + message ts), the action and the complaint — one effect
  per post, however often it is clicked;
- any other button: the click itself (user + action_ts), so a replayed or retried click does nothing more.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def view_key(view: dict[str, Any]) -> str:
    state = view.get("state") if isinstance(view.get("state"), dict) else {}
    state = state.get("values")
    return f"view:{view.get('callback_id')}:{view.get('id')}:{view.get('hash')}:{_digest(state)}"


def click_key(body: dict[str, Any], action: dict[str, Any]) -> str:
    user = body.get("user").get("id") if isinstance(body.get("user"), dict) else None
    return f"click:{action.get('action_id')}:{user}:{action.get('action_ts')}:{_digest(action.get('value'))}"


def post_key(body: dict[str, Any], action: dict[str, Any], complaint_id: int) -> str:
    from handlers.inputs import where

    channel, ts = where(body)
    if not channel or not ts:
        return click_key(body, action)
    return f"post:{action.get('action_id')}:{complaint_id}:{channel}:{ts}"
