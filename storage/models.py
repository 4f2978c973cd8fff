"""Typed tables. Every datetime is stored in UTC and comes back timezone-aware."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage import crypto


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no tz support) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Encrypted(TypeDecorator[Any]):
    """Text (or a date) sealed with AES-GCM on the way in, opened on the way out (storage/crypto.py). Never
    compare such a column in SQL: equal values have different ciphertexts. Look up by the hash columns."""

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str, kind: str = "text"):
        super().__init__()
        self.purpose, self.kind = purpose, kind

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return crypto.keyring().seal(self.purpose, crypto.as_text(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        text = crypto.keyring().open(self.purpose, value)
        return dt.date.fromisoformat(text) if self.kind == "date" else text


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document sealed with AES-GCM as a whole, stored as `{"sealed": "<ciphertext>"}` in a JSON column
    (so the schema is the same as plain JSON, and a document written before sealing still reads as it was).
    For rendered messages that name customers (the outbox): care-domain §8, no personal data in clear at rest."""

    impl = JSON
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Any) -> dict[str, str] | None:
        if value is None:
            return None
        return {"sealed": crypto.keyring().seal(self.purpose, json.dumps(value, ensure_ascii=False))}

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"sealed"}:
            return json.loads(crypto.keyring().open(self.purpose, value["sealed"]))
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Team(Base):
    """A care team and its settings (`carebot config set KEY VALUE`)."""

    __tablename__ = "team"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    digest_channel: Mapped[str | None] = mapped_column(String(64))
    supervisor_channel: Mapped[str | None] = mapped_column(String(64))
    supervisor_group: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00")
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    plan_time: Mapped[str] = mapped_column(String(5), default="02:00")  # issue 3: local time of the nightly plan


class Staff(Base):
    __tablename__ = "staff"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    locale_checked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class Customer(Base):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("team_id", "code"),
        # issue 9: exact-match lookups through keyed hashes (the values themselves are encrypted)
        Index("ix_customer_team_phone_hash", "team_id", "phone_hash"),
        Index("ix_customer_team_email_hash", "team_id", "email_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    code: Mapped[str] = mapped_column(String(64))  # the team's own code: not personal data, kept in clear
    # personal data, encrypted at rest (storage/crypto.py, issue 9); phone in E.164
    name: Mapped[str] = mapped_column(Encrypted("customer.name"))
    phone: Mapped[str | None] = mapped_column(Encrypted("customer.phone"))
    email: Mapped[str | None] = mapped_column(Encrypted("customer.email"))
    phone_hash: Mapped[str | None] = mapped_column(String(32))  # blind index, kept by storage.privacy_models
    email_hash: Mapped[str | None] = mapped_column(String(32))
    company: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(32), default="ordinary")
    tags: Mapped[list[str]] = mapped_column(default=list)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("staff.user_id"), index=True)
    first_purchase_on: Mapped[dt.date | None] = mapped_column(Date)
    last_contact_at: Mapped[dt.datetime | None]
    birthday: Mapped[dt.date | None] = mapped_column(Encrypted("customer.birthday", "date"))
    annual_spend: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    consent: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_at: Mapped[dt.datetime | None]  # issue 9: when consent was recorded (or withdrawn)
    consent_source: Mapped[str | None] = mapped_column(String(16))  # import | modal | cli
    erased_at: Mapped[dt.datetime | None]  # PIPL erasure: personal data gone, the row kept for statistics
    needs_follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    # segments as the care plan last computed them (recomputed every planning run, never typed in)
    segment_tier: Mapped[str | None] = mapped_column(String(16))
    segment_activity: Mapped[str | None] = mapped_column(String(16))
    segment_lifecycle: Mapped[str | None] = mapped_column(String(16))
    segmented_at: Mapped[dt.datetime | None]

    owner: Mapped[Staff | None] = relationship(lazy="raise")


class Callback(Base):
    """A planned touch (回访): who calls which customer, why, by when."""

    __tablename__ = "callback"
    __table_args__ = (
        Index("ix_callback_owner_open_due", "owner_id", "status", "due_at"),
        Index("ix_callback_team_open_due", "team_id", "status", "due_at"),
        # the morning list: each owner's due count, and each shown owner's first rows, from the index alone
        Index("ix_callback_team_owner_open_due", "team_id", "status", "owner_id", "due_at", "id"),
        UniqueConstraint("customer_id", "dedupe_key"),
        # at most one open callback of a kind per customer
        Index("uq_callback_open_kind", "customer_id", "kind", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("staff.user_id"))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str] = mapped_column(String(64), default="manual")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]

    customer: Mapped[Customer] = relationship(lazy="raise")


class CallLog(Base):
    """One logged call (回访记录)."""

    __tablename__ = "call_log"
    __table_args__ = (Index("ix_call_log_customer_called", "customer_id", "called_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callback.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.user_id"))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    rating: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)  # issue 13: 0-10 "would you recommend", optional
    summary: Mapped[str] = mapped_column(Encrypted("call_log.summary"), default="")
    feedback: Mapped[str] = mapped_column(Encrypted("call_log.feedback"), default="")
    next_on: Mapped[dt.date | None] = mapped_column(Date)
    called_at: Mapped[dt.datetime]


class Complaint(Base):
    """A ticket (投诉 / 咨询 / 建议) on SLA clocks.

    `status`: open | waiting (on the customer) | resolved — closed, read so by every queue, list, the sweep and the
    buttons. A complaint closed because its customer was erased (PIPL) is `resolved` with `withdrawn_at` set and
    no `resolved_at`: withdrawn, not resolved — out of the resolution rate, and its clocks judged as they stood
    when it was withdrawn (bot/care/metrics_complaints.py)."""

    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_owner_status", "owner_id", "status"),
        Index("ix_complaint_team_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("staff.user_id"))
    kind: Mapped[str] = mapped_column(String(16), default="complaint")
    category: Mapped[str] = mapped_column(String(16), default="other")
    severity: Mapped[str] = mapped_column(String(16), default="normal")
    description: Mapped[str] = mapped_column(Encrypted("complaint.description"), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[dt.datetime]
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]  # closed unresolved: its customer was erased (0018)
    first_response_due_at: Mapped[dt.datetime | None]
    resolution_due_at: Mapped[dt.datetime | None]
    resolution: Mapped[str] = mapped_column(Encrypted("complaint.resolution"), default="")
    source_link: Mapped[str | None] = mapped_column(String(500))

    customer: Mapped[Customer] = relationship(lazy="raise")


class DigestPost(Base):
    """The morning list, claimed before it is posted: one row per channel per local day."""

    __tablename__ = "digest_post"
    __table_args__ = (UniqueConstraint("channel", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    channel: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[dt.date] = mapped_column(Date)
    claimed_at: Mapped[dt.datetime]
    message_ts: Mapped[str | None] = mapped_column(String(32))


# --- issue 3: the care plan -----------------------------------------------------------------------


class TeamRules(Base):
    """A team's override of the care rules (YAML merged onto the shipped defaults), and who set it."""

    __tablename__ = "team_rules"

    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"), primary_key=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str | None] = mapped_column(String(64))
    set_at: Mapped[dt.datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change: caches compare it


class PlanRun(Base):
    """The nightly planning run, claimed before it runs: one row per team per local day."""

    __tablename__ = "plan_run"
    __table_args__ = (UniqueConstraint("team_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    claimed_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    created: Mapped[int] = mapped_column(Integer, default=0)
    planned_through: Mapped[int] = mapped_column(Integer, default=0)  # customer id: a run taken over goes on after it


# the planning queries: every callback of a team's customers (closed ones keep their dedupe key) and the
# tickets of a customer within the spike window
Index("ix_callback_team_customer", Callback.team_id, Callback.customer_id)
Index("ix_complaint_customer_opened", Complaint.customer_id, Complaint.opened_at)
# issue 9: an import merges duplicates by phone or email (storage/customer_queries.py): through the keyed
# hashes, indexed in Customer.__table_args__ (the columns themselves hold ciphertext)

import storage.inbound_models  # noqa: E402,F401  (issue 8: one effect per request from Slack)
import storage.insight_models  # noqa: E402,F401  (issue 13: report claims, metric thresholds)
import storage.outbox_models  # noqa: E402,F401  (issue 12: the outbox and channel pacing)
import storage.privacy_models  # noqa: E402,F401  (issue 9: search index, audit trail)
import storage.sla_models  # noqa: E402,F401  (issue 4: SLA and escalation tables)
