"""Tables and hooks of customer data protection (issue 9, care-domain §8).

- `customer_search_token`: the blind index of customer names. Every 1-, 2- and 3-character piece of a
  name, hashed with the team's key (storage/crypto.py), one row each, indexed by (team, token): the name
  search finds candidates by hash and confirms them on the decrypted name. No plaintext is stored.
- `audit_event`: who viewed (a card, an export) or changed a customer's personal data, and when. The detail
  names fields, never their values.

The hooks below keep the hash columns and the name index in step with every write through the ORM
(imports, the demo, modals, erasure, key rotation): code that sets `customer.phone` need not know.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, delete, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import crypto
from storage.models import Base, Customer


class CustomerSearchToken(Base):
    __tablename__ = "customer_search_token"
    __table_args__ = (Index("ix_customer_search_token_lookup", "team_id", "token", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One look at or change of personal data. `actor_id` is a Slack user id, `cli:<login>` for the
    command line, or None for the bot itself."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_customer_at", "customer_id", "at"),
        Index("ix_audit_event_team_at", "team_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # viewed | exported | created | changed | erased | imported …
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[dt.datetime]


# --- hooks: hash columns and the name index follow the encrypted values ---------------------------


@event.listens_for(Customer.phone, "set")
def _phone_hash(target: Customer, value: str | None, _old: Any, _initiator: Any) -> None:
    target.phone_hash = crypto.keyring().token("phone", value) if value else None


@event.listens_for(Customer.email, "set")
def _email_hash(target: Customer, value: str | None, _old: Any, _initiator: Any) -> None:
    target.email_hash = crypto.keyring().token("email", crypto.normal_email(value)) if value else None


def name_tokens(team_id: str, name: str | None) -> set[str]:
    """The hashed pieces of a name as stored (current key)."""
    ring = crypto.keyring()
    return {ring.token(f"name:{team_id}", gram) for gram in crypto.name_grams(name or "")}


@event.listens_for(Session, "before_flush")
def _note_renamed(session: Session, _context: Any, _instances: Any) -> None:
    renamed = session.info.setdefault("carebot_renamed", set())
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Customer) and (obj in session.new or inspect(obj).attrs.name.history.has_changes()):
            renamed.add(obj)


def reindex_on_flush(session: Session, customer: Customer) -> None:
    """Rebuild this customer's name index at the next flush (key rotation, erasure)."""
    session.info.setdefault("carebot_renamed", set()).add(customer)


@event.listens_for(Session, "after_flush")
def _reindex_names(session: Session, _context: Any) -> None:
    renamed = session.info.pop("carebot_renamed", set())
    if not renamed:
        return
    connection = session.connection()
    ids = [c.id for c in renamed]
    connection.execute(delete(CustomerSearchToken).where(CustomerSearchToken.customer_id.in_(ids)))
    rows = [{"customer_id": c.id, "team_id": c.team_id, "token": token}
            for c in renamed if c.erased_at is None for token in name_tokens(c.team_id, c.name)]
    if rows:
        connection.execute(insert(CustomerSearchToken), rows)
