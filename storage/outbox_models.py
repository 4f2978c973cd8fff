"""Tables of the outbox (issue 12). Datetimes are UTC-aware, as in storage.models, and REAL time (Slack's
limits and retries are about real seconds, not a team's clock).

- `outbox_message`: every message the bot must deliver, written in the same transaction as the change
  that causes it (the morning list's claim, the escalation notices it carries). `key` is UNIQUE: one
  message per cause, across replicas. `status`: pending → sending (leased by one worker until
  `lease_until`) → sent; `unknown` when Slack's answer was lost (the worker looks for the message in the
  channel by its metadata before posting again); `failed` after its retries (kept with `last_error`,
  `carebot outbox retry ID`); `refused` when Slack refuses for good (channel_not_found …). `effect` says
  what to record once it is delivered (the digest claim's ts, the escalation notices' ts and audit, the report's
  ts). `after_key`: wait until that message is sent (a report's charts after its text). `progress`: the state
  of a step under way that a retry must know (the file ids of an upload being completed).
- `channel_pace`: per channel, the earliest moment the next message may be posted (1 per second across
  every replica: Slack's limit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, EncryptedJSON


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    team_id: Mapped[str] = mapped_column(String(64))
    # morning_list | escalation | refusal_notice | confirmation (a DM) | ephemeral | post_update (chat.update of an
    # escalation post, rendered when delivered) | report_text | report_charts (the upload in keyed steps)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))  # a channel id, or a user id for a DM
    # chat.postMessage arguments (text, blocks): they name customers (a DM to an owner in full), so sealed at rest
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("outbox.payload"))
    effect: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    posted_channel: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    after_key: Mapped[str | None] = mapped_column(String(200))  # delivered only once that message is sent
    progress: Mapped[dict[str, Any] | None]  # a step under way: {"file_ids": [...]} before the upload's completion


class ChannelPace(Base):
    __tablename__ = "channel_pace"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[dt.datetime]
