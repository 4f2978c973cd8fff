"""The one place the access policy (`bot/care/access.py`) is enforced: every service that loads a customer,
a callback or a complaint to act on it or show it goes through here — logging calls, opening and changing
complaints, and the customer search.

Refusals are `Forbidden` errors with a catalog key (`access.errors.*`) naming the owner to ask, so the person
reads why in their language; nothing about the customer (name, code, description) is in the refusal.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.care import access
from bot.services.errors import Forbidden
from bot.services.people import Actor
from messages.render import mention
from storage import queries
from storage.models import Callback, Complaint, Customer


def refuse(decision: access.Decision) -> Forbidden:
    """The error a refused decision becomes (the owner as a mention when there is one)."""
    params = {"owner": mention(decision.owner_id)} if decision.owner_id else {"owner": "—"}
    return Forbidden(decision.reason or "access.errors.not_yours", **params)


def require_customer(actor: Actor, customer: Customer, callback: Callback | None = None) -> access.Decision:
    """Raise Forbidden unless `actor` may act on `customer` (and, when given, on its `callback`: the callback's
    owner — a supervisor's churn-risk call — may act too)."""
    owners = (customer.owner_id,) if callback is None else (customer.owner_id, callback.owner_id)
    decision = access.can_act_on_any(actor, owners, customer.team_id)
    if not decision:
        raise refuse(decision)
    return decision


def require_complaint(actor: Actor, complaint: Complaint) -> access.Decision:
    """Raise Forbidden unless `actor` may act on (or see the details of) `complaint`."""
    decision = access.can_act(actor, complaint.owner_id, complaint.team_id)
    if not decision:
        raise refuse(decision)
    return decision


def customer_to_act_on(session: Session, actor: Actor, customer_id: int) -> Customer | None:
    """The actor's team's customer with this id, to act on (a form, a button); None when there is none or it was
    erased (PIPL: an erased person is nobody to call or complain about, whatever id a payload names)."""
    customer = queries.customer_by_id(session, actor.team_id, customer_id)
    return customer if customer is not None and customer.erased_at is None else None


def customers_for_search(session: Session, actor: Actor, text: str, limit: int) -> Sequence[Customer]:
    """The customers matching `text` that `actor` may act on (agents: their own and unassigned ones)."""
    return queries.customers_matching(session, actor.team_id, text, limit, owners=access.search_owners(actor))
