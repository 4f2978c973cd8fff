"""The customer in Slack: `/care customer <code | name | phone | email>` shows a card, `/care customer add` and the
card's **Edit** open a modal (issue 9). Who sees a card in full and who may change it is the access policy's
(bot/care/access.py); everyone else of the team sees it masked. Every look and every change is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.care import access
from bot.care.customer_rows import normalise_code, normalise_email, normalise_name, normalise_tags
from bot.care.privacy import mask_name, mask_phone, normalise_phone
from bot.care.scrub import mask_email
from bot.services import scope
from bot.services.core import Services
from bot.services.errors import CareError, FormErrors
from bot.services.once import claim, saving
from bot.services.people import Actor
from bot.services.privacy import record_audit
from storage import book_locks, crypto, queries
from storage.models import Customer

log = logging.getLogger(__name__)

LAST_CALLS = 5
CHOICES = 10
MAX_TAGS, MAX_TAG = 20, 32
_TAG_SPLIT = re.compile(r"[,，;；、\n]+")


@dataclass(frozen=True)
class CallLine:
    called_at: dt.datetime
    staff_id: str
    channel: str
    outcome: str
    rating: int | None
    summary: str  # empty unless the card is shown in full


@dataclass(frozen=True)
class CallbackLine:
    kind: str
    due_at: dt.datetime
    rule: str
    params: dict
    owner_id: str | None


@dataclass(frozen=True)
class ComplaintLine:
    id: int
    kind: str
    severity: str
    status: str
    opened_at: dt.datetime


@dataclass(frozen=True)
class CustomerCard:
    """What the card shows. `full`: the viewer is in the authorised circle (name, phone, email, notes as they
    are); otherwise every personal field is masked and notes are left out."""

    id: int
    code: str
    full: bool
    name: str
    phone: str
    email: str
    company: str
    tier: str
    segments: tuple[str | None, str | None, str | None]
    tags: list[str]
    owner_id: str | None
    consent: bool
    consent_at: dt.datetime | None
    consent_source: str | None
    needs_follow_up: bool
    calls: list[CallLine] = field(default_factory=list)
    callbacks: list[CallbackLine] = field(default_factory=list)
    complaints: list[ComplaintLine] = field(default_factory=list)


@dataclass(frozen=True)
class Choice:
    id: int
    code: str
    name: str


def _find(session, actor: Actor, text: str) -> Customer | list[Customer] | None:
    """An exact code, an exact phone or email (keyed hash), else names among the customers the actor may act on."""
    text = text.strip()
    customer = queries.customer_by_code(session, actor.team_id, text)
    if customer is None and "@" in text:
        customer = queries.customer_by_email(session, actor.team_id, text)
    if customer is None and sum(ch.isdigit() for ch in text) >= 7:
        try:
            customer = queries.customer_by_phone(session, actor.team_id, normalise_phone(text))
        except ValueError:
            customer = None
    if customer is not None:
        return customer
    matches = list(scope.customers_for_search(session, actor, text, limit=CHOICES + 1))
    return matches[0] if len(matches) == 1 else matches


def customer_card(svc: Services, actor: Actor, text: str | int) -> CustomerCard | list[Choice]:
    """The card of the one customer `text` names (a code, phone, email or part of a name; or an id from a
    button), or the choices when a name matches several. CareError when nothing matches or the customer was
    erased. The look is audited ("viewed", via card, full or masked)."""
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        if isinstance(text, int):
            found = queries.customer_by_id(session, actor.team_id, text)
        else:
            found = _find(session, actor, text)
        if found is None or found == []:
            raise CareError("customer.errors.not_found", query=str(text))
        if isinstance(found, list):
            return [Choice(c.id, c.code, c.name) for c in found[:CHOICES]]
        customer = found
        if customer.erased_at is not None:
            raise CareError("customer.errors.erased", code=customer.code)
        full = access.can_view_full(actor, customer)
        card = _card(session, customer, full)
        record_audit(session, actor, "viewed", customer.id, {"via": "card", "full": full}, at=now)
        return card


def _card(session, customer: Customer, full: bool) -> CustomerCard:
    calls = list(queries.call_logs_of_customer(session, customer.id))[-LAST_CALLS:]
    return CustomerCard(
        id=customer.id, code=customer.code, full=full,
        name=customer.name if full else mask_name(customer.name),
        phone=(customer.phone or "") if full else mask_phone(customer.phone),
        email=(customer.email or "") if full else mask_email(customer.email),
        company=(customer.company or "") if full else "",
        tier=customer.tier, segments=(customer.segment_tier, customer.segment_activity, customer.segment_lifecycle),
        tags=list(customer.tags or []), owner_id=customer.owner_id, consent=customer.consent,
        consent_at=customer.consent_at, consent_source=customer.consent_source,
        needs_follow_up=customer.needs_follow_up,
        calls=[CallLine(c.called_at, c.staff_id, c.channel, c.outcome, c.rating, c.summary if full else "")
               for c in reversed(calls)],
        callbacks=[CallbackLine(cb.kind, cb.due_at, cb.rule, cb.params, cb.owner_id)
                   for cb in queries.open_callbacks_of_customer(session, customer.id)],
        complaints=[ComplaintLine(c.id, c.kind, c.severity, c.status, c.opened_at)
                    for c in queries.open_complaints_of_customer(session, customer.id)],
    )


# --- the modal: add and edit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerForm:
    """What the modal sends. `code` only when adding (a code never changes). consent: True given, False
    withdrawn, None not said."""

    code: str | None
    name: str
    phone: str
    email: str
    owner_id: str | None
    tags: str
    consent: bool | None


@dataclass(frozen=True)
class EditTarget:
    id: int
    code: str
    name: str
    phone: str
    email: str
    owner_id: str | None
    tags: list[str]
    consent: bool


def edit_target(svc: Services, actor: Actor, customer_id: int) -> EditTarget:
    """The customer's details for the Edit modal; Forbidden unless the actor may act on them."""
    with svc.db.unit_of_work() as session:
        customer = scope.customer_to_act_on(session, actor, customer_id)
        if customer is None:
            raise CareError("customer.errors.not_found", query=str(customer_id))
        scope.require_customer(actor, customer)
        record_audit(session, actor, "viewed", customer.id, {"via": "edit", "full": True}, at=svc.clock.now())
        return EditTarget(customer.id, customer.code, customer.name, customer.phone or "", customer.email or "",
                          customer.owner_id, list(customer.tags or []), customer.consent)


@dataclass(frozen=True)
class Saved:
    id: int
    code: str
    created: bool
    changed: list[str]


def save_customer(svc: Services, actor: Actor, form: CustomerForm, customer_id: int | None = None,
                  then: Callable[[Session, Saved], None] | None = None, once: str | None = None) -> Saved:
    """Add a customer (`customer_id` None) or change one. FormErrors name the modal's blocks (code, name,
    phone, email, owner, tags); Forbidden when the actor may not act on the customer. Consent changes record
    when and how (`modal`). The change is audited with the names of the fields changed, never their values.
    The caller plans the customer afterwards (`plan_saved`), once Slack has its answer. `then(session, saved)`
    runs in the same unit of work (the confirmation the outbox delivers). `once`: the delivery's key (the modal's
    view id and hash); a second delivery with it (a double click, Slack's retry) raises AlreadyDone and changes
    nothing — it is not told that its own code is taken (bot/services/once.py)."""
    now = svc.clock.now()
    errors: dict[str, tuple[str, dict]] = {}
    name = normalise_name(form.name)  # as an import reads it
    if not name:
        errors["name"] = ("customer.errors.name_missing", {})
    elif len(name) > 200:
        errors["name"] = ("customer.errors.too_long", {"max": 200})
    phone = None
    if form.phone.strip():
        try:
            phone = normalise_phone(form.phone)
        except ValueError:
            errors["phone"] = ("customer.errors.bad_phone", {"value": form.phone.strip()})
    email = None
    if form.email.strip():
        try:
            email = normalise_email(form.email)  # as an import reads it: NFKC, email-validator, lower case
        except ValueError:
            errors["email"] = ("customer.errors.bad_email", {"value": form.email.strip()})
    tags = list(normalise_tags(_TAG_SPLIT.split(form.tags or "")))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
        errors["tags"] = ("customer.errors.bad_tags", {"count": MAX_TAGS, "max": MAX_TAG})
    tags = list(dict.fromkeys(tags))
    with saving(svc.db, once) as session:  # reads, then writes: SQLite's writer from the start; twins wait
        claim(session, "customer_saved", actor.user_id, now, once)  # rolled back with the save if it is refused
        book_locks.hold_for_save(session, actor.team_id, phone if "phone" not in errors else None,
                                 email if "email" not in errors else None)
        if form.owner_id:
            staff = queries.staff_by_user(session, form.owner_id)
            if staff is None or staff.team_id != actor.team_id:
                errors["owner"] = ("customer.errors.owner_unknown", {})
            elif form.owner_id != actor.user_id and not access.is_team_lead(actor):
                errors["owner"] = ("customer.errors.owner_leads_only", {})
        if customer_id is None:
            code = normalise_code(form.code)
            if not code:
                errors["code"] = ("customer.errors.code_missing", {})
            elif len(code) > 64:
                errors["code"] = ("customer.errors.too_long", {"max": 64})
            elif queries.customer_by_code(session, actor.team_id, code) is not None:
                errors["code"] = ("customer.errors.code_taken", {"code": code})
            customer = None
        else:
            customer = scope.customer_to_act_on(session, actor, customer_id)
            if customer is None:
                raise CareError("customer.errors.not_found", query=str(customer_id))
            scope.require_customer(actor, customer)
            if (form.owner_id or None) != customer.owner_id and not access.is_team_lead(actor) \
                    and form.owner_id not in (None, actor.user_id):
                errors["owner"] = ("customer.errors.owner_leads_only", {})
        if phone and "phone" not in errors:  # a colleague's save of it, now, waited for or waits (book_locks)
            other = queries.customer_by_phone(session, actor.team_id, phone)
            if other is not None and (customer is None or other.id != customer.id):
                errors["phone"] = ("customer.errors.phone_taken", {"code": other.code})
        if email and "email" not in errors and (customer is None or crypto.normal_email(customer.email) != email):
            other = queries.customer_by_email(session, actor.team_id, email)  # one person, as an import reads it
            if other is not None and (customer is None or other.id != customer.id):
                errors["email"] = ("customer.errors.email_taken", {"code": other.code})
        if errors:
            raise FormErrors(errors)
        created = customer is None
        if customer is None:
            customer = Customer(team_id=actor.team_id, code=normalise_code(form.code), created_at=now,
                                consent=bool(form.consent), consent_at=now, consent_source="modal")
            session.add(customer)
        values = {"name": name, "phone": phone, "email": email, "owner_id": form.owner_id or None, "tags": tags}
        changed = [key for key, value in values.items() if created or getattr(customer, key) != value]
        for key in changed:
            setattr(customer, key, values[key])
        customer.needs_follow_up = customer.needs_follow_up and phone is None
        if form.consent is not None and not created and form.consent != customer.consent:
            customer.consent, customer.consent_at, customer.consent_source = form.consent, now, "modal"
            changed.append("consent")
        try:
            session.flush()
        except IntegrityError as exc:  # PostgreSQL: a colleague's save took the code between our check and here
            if created and "code" in str(exc.orig):
                raise FormErrors({"code": ("customer.errors.code_taken", {"code": customer.code})}) from None
            raise
        if created or changed:
            record_audit(session, actor, "created" if created else "changed", customer.id,
                         {"fields": sorted(set(changed) | ({"consent"} if created else set()))}, at=now)
        saved = Saved(customer.id, customer.code, created, changed)
        if then is not None:
            then(session, saved)
        return saved


def plan_saved(svc: Services, actor: Actor, saved: Saved) -> None:
    """Plan a customer just added, or whose consent or owner changed, at once; a failure is logged and the
    nightly run catches up."""
    if not (saved.created or {"consent", "owner_id"} & set(saved.changed)):
        return
    from bot.services.planning import plan_customers_now

    try:
        plan_customers_now(svc, actor.team_id, {saved.id})
    except Exception:
        log.exception("planning customer %s after a change failed; the nightly run catches up", saved.id)
