"""Every delivery has one effect (issue 8 §2): services claim a key in the transaction of the effect.

Keys come from the payload (a modal's view id + hash, the post a button is on, a click's action_ts) or from the
state the action moves ("complaint 12's first response", "its 3rd pause"). They are UNIQUE in the database
(`inbound_delivery`), so the rule holds for double clicks, Slack's retries, replays, and across replicas.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy.orm import Session

from storage import inbound_queries

MAX_KEY = 200


class AlreadyDone(Exception):
    """This request (or its twin) already had its effect; `result` is what the first one answered."""

    def __init__(self, key: str, result: dict[str, Any] | None):
        super().__init__(key)
        self.key = key
        self.result = result or {}


def make_key(*parts: object) -> str:
    """A key from its parts; hashed when long (a hostile view id must not overflow the column)."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= MAX_KEY:
        return key
    return f"{parts[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def claim(session: Session, kind: str, user_id: str | None, now: dt.datetime, *keys: str | None) -> str | None:
    """Claim every key given (None: not claimed); AlreadyDone at the first one another delivery holds.

    Call it in the unit of work of the effect, before changing anything: when the effect fails the claim is
    rolled back with it, so a corrected resubmission is not mistaken for a repeat. Returns the first key."""
    first = None
    for key in keys:
        if key is None:
            continue
        key = make_key(key) if len(key) > MAX_KEY else key
        if not inbound_queries.claim_delivery(session, key, kind, user_id, now):
            raise AlreadyDone(key, inbound_queries.delivery_result(session, key))
        first = first or key
    return first


def remember(session: Session, key: str | None, result: dict[str, Any]) -> None:
    """Keep what the first delivery answered, for the repeats."""
    if key is not None:
        inbound_queries.record_delivery_result(session, key, result)
