"""The next callback of a logged call (care-domain §4, "worksheet" §4): the outcome's rule or the date the
agent picked, placed by the same etiquette as every planned callback (bot.care.etiquette.place), within the
tier's monthly cap, never for a customer without consent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.care.plan import OpenCallback, OutcomeStep, plan_outcome
from bot.services.core import Services
from bot.services.plan_batches import FewCustomers
from bot.services.planning import missing_fields
from storage import call_queries, queries
from storage.models import Customer, Team


def schedule_next(session: Session, team: Team, customer: Customer, step: OutcomeStep, owner_id: str,
                  attempts: int, few: FewCustomers) -> dt.datetime | None:
    """Create the next callback in `session` and return its due time; None when none is made (no consent).
    If one of that kind is already open, the earlier of the two due times is kept. `few`: what planning read of
    the customer after the call was stored (bot/services/plan_batches.read_few), kept true for the care plan
    that follows in the same unit of work."""
    facts = few.facts(customer.id)
    if facts is None:
        return None
    planned = plan_outcome(facts, few.segments(facts), step, few.existing(customer.id), few.contacts(customer.id),
                           few.rules, few.calendar, few.now)
    if planned is None:
        return None
    # `few` knows the customer's callbacks as of now: the open one of this kind is read only when there is one
    has_open = any(c.kind == planned.kind and c.status == "open" for c in few.existing(customer.id))
    existing = queries.open_callback_of_kind(session, customer.id, planned.kind) if has_open else None
    if existing is not None:
        if planned.due_at < existing.due_at:
            existing.due_at, existing.rule, existing.params = planned.due_at, planned.rule, dict(planned.params)
            few.add_callback(OpenCallback(customer.id, existing.kind, existing.due_at, "open",
                                          existing.dedupe_key or ""))
        return min(planned.due_at, existing.due_at)
    call_queries.insert_callback(session, team_id=team.id, customer_id=customer.id, owner_id=owner_id,
                                 kind=planned.kind, due_at=planned.due_at, status="open", attempts=attempts,
                                 rule=planned.rule, params=dict(planned.params), dedupe_key=planned.dedupe_key,
                                 created_at=few.now)
    few.add_callback(OpenCallback(customer.id, planned.kind, planned.due_at, "open", planned.dedupe_key or ""))
    return planned.due_at


def still_needs_follow_up(svc: Services, team: Team, customer: Customer) -> bool:
    """After a call that reached the customer: a 待跟进 flag ends, unless a key field is still missing."""
    key_fields = svc.care_rules_for(team).triggers.record.key_fields
    return any(f in key_fields for f in missing_fields(customer))
