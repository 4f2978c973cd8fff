"""Protection of customer personal data (care-domain §8, PIPL): the audit trail, erasure, key rotation.

Who may see what is decided in one place (bot/care/access.py); this module records who looked and what
changed, erases a person on request, and re-seals everything under a new key.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bot.services.core import Services
from bot.services.errors import CareError
from bot.services.people import Actor
from storage import crypto, queries
from storage.models import Callback, CallLog, Complaint, Customer
from storage.privacy_models import AuditEvent, CustomerSearchToken, reindex_on_flush
from storage.sla_models import ComplaintSla, EscalationAudit

# every column that holds personal data or free text about a person, sealed at rest (storage/crypto.py)
SEALED: tuple[tuple[type, tuple[str, ...]], ...] = (
    (Customer, ("name", "phone", "email", "birthday")),
    (CallLog, ("summary", "feedback")),
    (Complaint, ("description", "resolution")),
    (EscalationAudit, ("note",)),
)


def cli_actor() -> str:
    """How the command line appears in the audit trail: `cli:<login>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (a container without /etc/passwd entry)
        return "cli:unknown"


# --- the audit trail -------------------------------------------------------------------------------


def record_audit(session: Session, actor: Actor | str | None, action: str, customer_id: int | None,
                 detail: dict[str, Any] | None = None, *, team_id: str | None = None,
                 at: dt.datetime | None = None) -> AuditEvent:
    """Add one line to the audit trail in the caller's transaction.

    actor: the Actor, a Slack user id, `cli:<login>` (see cli_actor) or None for the bot itself.
    action: viewed | exported | created | changed | consent | erased | imported (free, ≤ 32 characters).
    detail: what was looked at or changed: field names, counts, formats — never the values themselves.
    team_id: taken from the actor or the customer when not given. at: pass the service clock's now; without
    it the wall clock (UTC) is used.
    """
    actor_id = actor.user_id if isinstance(actor, Actor) else actor
    if team_id is None:
        team_id = actor.team_id if isinstance(actor, Actor) else None
    if team_id is None and customer_id is not None:
        customer = session.get(Customer, customer_id)
        team_id = customer.team_id if customer is not None else None
    event = AuditEvent(team_id=team_id or "default", actor_id=actor_id, action=action[:32],
                       customer_id=customer_id, detail=dict(detail or {}), at=at or dt.datetime.now(dt.UTC))
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditLine:
    at: dt.datetime
    actor_id: str | None
    action: str
    customer_code: str | None
    detail: dict[str, Any]


def audit_trail(svc: Services, team_id: str | None = None, code: str | None = None,
                limit: int = 200) -> list[AuditLine]:
    """The newest `limit` lines of the team's audit trail (of one customer when `code` is given), oldest
    first. CareError when the code is unknown."""
    team_id = team_id or svc.default_team
    with svc.db.unit_of_work() as session:
        customer_id = None
        if code is not None:
            customer = queries.customer_by_code(session, team_id, code)
            if customer is None:
                raise CareError("privacy.errors.no_customer", code=code)
            customer_id = customer.id
        rows = session.execute(
            select(AuditEvent, Customer.code).outerjoin(Customer, Customer.id == AuditEvent.customer_id)
            .where(AuditEvent.team_id == team_id,
                   *([AuditEvent.customer_id == customer_id] if customer_id is not None else []))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).all()
        return [AuditLine(e.at, e.actor_id, e.action, c, e.detail) for e, c in reversed(rows)]


# --- consent ---------------------------------------------------------------------------------------------


def set_consent(svc: Services, code: str, given: bool, actor_id: str, team_id: str | None = None) -> bool:
    """Record that customer `code` gave (or withdrew) consent to be contacted, now, from the command line
    (care-domain §8). Returns whether it changed; the audit trail and the care plan follow a change.
    CareError when the code is unknown or erased."""
    team_id = team_id or svc.default_team
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        customer = queries.customer_by_code(session, team_id, code)
        if customer is None or customer.erased_at is not None:
            raise CareError("privacy.errors.no_customer", code=code)
        if customer.consent == given and customer.consent_at is not None:
            return False
        customer.consent, customer.consent_at, customer.consent_source = given, now, "cli"
        record_audit(session, actor_id, "changed", customer.id, {"fields": ["consent"]}, team_id=team_id, at=now)
        customer_id = customer.id
    from bot.services.planning import plan_customers_now

    plan_customers_now(svc, team_id, {customer_id})
    return True


# --- erasure (the PIPL right to deletion) -----------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    code: str
    calls_kept: int
    complaints_kept: int
    callbacks_cancelled: int


def erase_customer(svc: Services, code: str, actor_id: str, team_id: str | None = None) -> Erased:
    """Remove a customer's personal data from every table and from the name index, keeping the anonymous
    row (code, tier, segments, dates) so counts and statistics stay right. Free text about them (call
    notes, complaint descriptions and resolutions, escalation notes) is emptied, open callbacks are
    cancelled and open complaints closed as withdrawn (not resolved: the reports leave them out of the
    resolution rate, and judge their clocks as they stood). The audit trail records who erased and when.
    CareError when the code is unknown or already erased."""
    team_id = team_id or svc.default_team
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        customer = queries.customer_by_code(session, team_id, code)
        if customer is None:
            raise CareError("privacy.errors.no_customer", code=code)
        if customer.erased_at is not None:
            raise CareError("privacy.errors.already_erased", code=code, at=customer.erased_at.isoformat())
        customer.name, customer.phone, customer.email, customer.birthday = "", None, None, None
        customer.company, customer.tags, customer.annual_spend = None, [], None
        customer.consent, customer.consent_at, customer.consent_source = False, now, "erased"
        customer.needs_follow_up, customer.erased_at = False, now
        session.execute(update(CallLog).where(CallLog.customer_id == customer.id)
                        .values(summary="", feedback=""))
        complaint_ids = select(Complaint.id).where(Complaint.customer_id == customer.id)
        session.execute(update(EscalationAudit).where(EscalationAudit.complaint_id.in_(complaint_ids))
                        .values(note=""))
        session.execute(update(ComplaintSla).where(ComplaintSla.complaint_id.in_(complaint_ids))
                        .values(attention_at=None))
        # closed, but not resolved: withdrawn (storage.models.Complaint; the reports: metrics_complaints.py)
        session.execute(update(Complaint).where(Complaint.customer_id == customer.id, Complaint.status != "resolved")
                        .values(status="resolved", withdrawn_at=now))
        session.execute(update(Complaint).where(Complaint.customer_id == customer.id)
                        .values(description="", resolution="", source_link=None))
        cancelled = session.execute(
            update(Callback).where(Callback.customer_id == customer.id, Callback.status == "open")
            .values(status="cancelled", closed_at=now)).rowcount
        session.execute(update(Callback).where(Callback.customer_id == customer.id).values(params={}))
        session.execute(CustomerSearchToken.__table__.delete().where(CustomerSearchToken.customer_id == customer.id))
        calls = session.scalar(select(func.count()).select_from(CallLog).where(CallLog.customer_id == customer.id))
        complaints = session.scalar(select(func.count()).select_from(Complaint)
                                    .where(Complaint.customer_id == customer.id))
        record_audit(session, actor_id, "erased", customer.id,
                     {"code": code, "calls_kept": calls, "complaints_kept": complaints,
                      "callbacks_cancelled": cancelled}, team_id=team_id, at=now)
        return Erased(code, calls or 0, complaints or 0, cancelled or 0)


# --- key rotation ------------------------------------------------------------------------------------


@dataclass
class Rotation:
    pending: dict[str, int]  # table -> rows still sealed under an old key (or not sealed at all)
    done: int = 0


def _stale(model: type, columns: Sequence[str], kid: str):
    """Rows with a value not sealed under the current key (an old key, or plaintext from before 0007)."""
    prefix = f"{crypto.PREFIX}{kid}."
    checks = [and_(column.isnot(None), func.substr(type_coerce(column, Text), 1, len(prefix)) != prefix)
              for column in (getattr(model, name) for name in columns)]
    return or_(*checks)


def rotation_status(svc: Services) -> Rotation:
    kid = crypto.keyring().current.kid
    with svc.db.unit_of_work() as session:
        return Rotation({model.__tablename__: session.scalar(
            select(func.count()).select_from(model).where(_stale(model, columns, kid))) or 0
            for model, columns in SEALED})


def rotate_keys(svc: Services, batch: int = 500,
                progress: Callable[[str, int], None] | None = None) -> Rotation:
    """Re-seal every personal value under the current key (CAREBOT_SECRET_KEY) and recompute the hashes
    and the name index, `batch` rows per transaction. Values still open with CAREBOT_SECRET_KEY_OLD.
    Resumable: an interrupted run leaves whole batches done, and the next run picks up only rows that are
    not yet under the current key. `progress(table, rows)` is called after each committed batch."""
    status = rotation_status(svc)
    ring = crypto.keyring()
    for model, columns in SEALED:
        while True:
            with svc.db.unit_of_work() as session:
                rows = session.scalars(select(model).where(_stale(model, columns, ring.current.kid))
                                       .order_by(model.id).limit(batch)).all()
                for row in rows:
                    for name in columns:
                        flag_modified(row, name)
                    if isinstance(row, Customer):
                        row.phone_hash = ring.token("phone", row.phone) if row.phone else None
                        row.email_hash = ring.token("email", crypto.normal_email(row.email)) if row.email else None
                        reindex_on_flush(session, row)
            if not rows:
                break
            status.done += len(rows)
            if progress is not None:
                progress(model.__tablename__, len(rows))
    return status
