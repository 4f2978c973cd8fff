"""Requests from Slack that had an effect (issue 8): one row per effect, claimed in the same transaction.

`inbound_delivery.key` is UNIQUE, built from what the payload carries (a modal's view id + hash, a
button's message ts or action_ts) or from the state the action moves (complaint 12's first response, its
3rd pause). The service inserts the key before it changes anything; a second delivery of the same request
(a double click, Slack's retry, a replay, another replica) fails on the key, changes nothing and is
answered like the first from `result`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class Delivery(Base):
    __tablename__ = "inbound_delivery"
    __table_args__ = (Index("ix_inbound_delivery_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # log_call | complaint | first_response | waiting | …
    user_id: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the first delivery answered
    created_at: Mapped[dt.datetime]
