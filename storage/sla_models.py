"""Tables of complaint SLA clocks and escalation (issue 4). Datetimes are UTC-aware, as in storage.models.

- `complaint_sla`: one row per complaint on SLA clocks: the customer's tier when it was opened (targets
  depend on it), `attention_at` (the earliest moment the sweep must look at it: the next moment anything can fall
  due, stored by the sweep that last looked; NULL while it waits on the customer, once resolved, and while
  nothing can fall due until someone acts; indexed: the sweep's query), the acknowledgement and the snooze.
- `complaint_pause`: waiting on the customer; the clocks do not run between paused_at and resumed_at.
- `escalation_notice`: one row per notification step, claimed BEFORE it is posted. `step_key` is
  UNIQUE ("sla:<complaint>:<clock>:<level>[:r<round>]"): whichever replica inserts it first posts it,
  the others get an IntegrityError and skip. A failed post deletes the claim so the next sweep retries.
- `escalation_audit`: every escalation action (notified, acknowledged, reassigned, snoozed, resolved …),
  who and when.
- `team_escalation`: per team, the manager level's target (a user to mention, and/or a channel) and the
  team's SLA rules file (targets, calendar, escalation levels), validated before it is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Encrypted


class ComplaintSla(Base):
    __tablename__ = "complaint_sla"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(32), default="ordinary")
    attention_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    snoozed_until: Mapped[dt.datetime | None]
    snoozed_by: Mapped[str | None] = mapped_column(String(32))
    announce: Mapped[bool] = mapped_column(Boolean, default=False)  # tell supervisors as soon as it opens
    source: Mapped[str] = mapped_column(String(32), default="slack")  # slack | message | import | low_rating
    call_id: Mapped[int | None] = mapped_column(Integer)  # the low-rated call it came from


class ComplaintPause(Base):
    __tablename__ = "complaint_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    paused_at: Mapped[dt.datetime]
    resumed_at: Mapped[dt.datetime | None]
    paused_by: Mapped[str | None] = mapped_column(String(32))
    resumed_by: Mapped[str | None] = mapped_column(String(32))


class EscalationNotice(Base):
    __tablename__ = "escalation_notice"
    __table_args__ = (Index("ix_escalation_notice_post", "channel", "message_ts"),
                      # claims neither posted nor queued, for the sweep's stale-claim check (issue 14): usually empty
                      Index("ix_escalation_notice_unqueued", "claimed_at",
                            sqlite_where=text("posted_at IS NULL AND channel IS NULL"),
                            postgresql_where=text("posted_at IS NULL AND channel IS NULL")))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(160), unique=True)
    clock: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime]
    channel: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[dt.datetime | None]


class EscalationAudit(Base):
    __tablename__ = "escalation_audit"
    __table_args__ = (Index("ix_escalation_audit_complaint_at", "complaint_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    actor_id: Mapped[str | None] = mapped_column(String(32))  # None: the bot itself (a sweep)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Encrypted("escalation_audit.note"), default="")  # free text (issue 9)
    at: Mapped[dt.datetime]


class TeamEscalation(Base):
    __tablename__ = "team_escalation"

    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"), primary_key=True)
    manager_user_id: Mapped[str | None] = mapped_column(String(32))
    manager_channel: Mapped[str | None] = mapped_column(String(64))
    sla_rules: Mapped[str | None] = mapped_column(Text)  # the team's SLA rules file (YAML over sla_default.yaml)
    sla_rules_set_by: Mapped[str | None] = mapped_column(String(64))
    sla_rules_set_at: Mapped[dt.datetime | None]
