"""Logging a call: store it, close the callback, plan the next one by the outcome rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.care import access
from bot.care.call_form import CallForm, check_call
from bot.care.outcomes import Outcome, effective_outcome, is_reached, next_step
from bot.care.plan import OutcomeStep
from bot.services import scope
from bot.services.core import Services
from bot.services.errors import CareError, Forbidden, FormErrors
from bot.services.next_callback import schedule_next, still_needs_follow_up
from bot.services.once import claim, remember, saving
from bot.services.people import Actor
from storage import call_queries, queries
from storage.models import Callback


@dataclass(frozen=True)
class LoggedCall:
    call_id: int
    customer_code: str
    customer_name: str
    outcome: str
    next_kind: str
    next_due_on: dt.date | None
    flagged: bool
    attempts: int


@dataclass(frozen=True)
class CallTarget:
    """What the log-a-call modal is prefilled with."""

    customer_id: int
    customer_code: str
    customer_name: str
    phone: str | None
    callback_id: int | None
    callback_kind: str | None
    callback_rule: str | None
    callback_params: dict[str, str] | None
    segments: tuple[str, str, str] | None = None  # tier, activity, lifecycle as last computed


def target_for_callback(svc: Services, actor: Actor, callback_id: int) -> CallTarget:
    with svc.db.unit_of_work() as session:
        callback = queries.callback_by_id(session, actor.team_id, callback_id)
        if callback is None:
            raise FormErrors({"customer": ("errors.callback_gone", {})})
        scope.require_customer(actor, callback.customer, callback)
        return _target(callback.customer, callback)


def target_for_customer(svc: Services, actor: Actor, customer_id: int) -> CallTarget:
    with svc.db.unit_of_work() as session:
        customer = scope.customer_to_act_on(session, actor, customer_id)
        if customer is None:
            raise FormErrors({"customer": ("form.errors.customer_unknown", {})})
        scope.require_customer(actor, customer)
        return _target(customer, _callback_to_close(session, actor, customer.id))


def _callback_to_close(session: Session, actor: Actor, customer_id: int) -> Callback | None:
    """The open callback a call on the customer closes when it names none (bot/care/access.callback_to_close)."""
    return access.callback_to_close(actor, queries.open_callbacks_of_customer(session, customer_id))


def find_customer(svc: Services, actor: Actor, text: str) -> CallTarget | None:
    """`/care log 2024001` or `/care log 张女士`: an exact code, else a unique name match among the customers
    the actor may act on. Forbidden when the code is a colleague's customer (bot/care/access.py); CareError
    `customer.errors.erased` when it is an erased customer's (nobody to call or complain about: said before the
    person fills a form in, not on Save)."""
    with svc.db.unit_of_work() as session:
        customer = queries.customer_by_code(session, actor.team_id, text.strip())
        if customer is not None and customer.erased_at is not None:
            raise CareError("customer.errors.erased", code=customer.code)
        if customer is None:
            matches = scope.customers_for_search(session, actor, text, limit=2)
            customer = matches[0] if len(matches) == 1 else None
        if customer is None:
            return None
        scope.require_customer(actor, customer)
        return _target(customer, _callback_to_close(session, actor, customer.id))


def _target(customer, callback: Callback | None) -> CallTarget:
    return CallTarget(customer_id=customer.id, customer_code=customer.code, customer_name=customer.name,
                      phone=customer.phone, callback_id=callback.id if callback else None,
                      callback_kind=callback.kind if callback else None,
                      callback_rule=callback.rule if callback else None,
                      callback_params=dict(callback.params) if callback else None,
                      segments=(customer.segment_tier, customer.segment_activity, customer.segment_lifecycle)
                      if customer.segmented_at else None)


def log_call(svc: Services, actor: Actor, form: CallForm, once: str | None = None,
             then: Callable[[Session, LoggedCall], None] | None = None) -> LoggedCall:
    """Store the call, close the callback, plan the next one and the customer's care plan (one transaction; a
    failure of the care plan is logged and rolled back alone: bot/services/planning.plan_customers_within).
    `once`: the delivery's key (the modal's view id and hash); a second delivery with it raises AlreadyDone and
    changes nothing (bot/services/once.py).
    `then(session, logged)` runs in the same unit of work (the confirmation the outbox delivers)."""
    now = svc.clock.now()
    with saving(svc.db, once) as session:  # reads, then writes: the write lock from the start; twins wait
        team = queries.ensure_team(session, actor.team_id)
        calendar, rules = svc.calendar_for(team), svc.outcome_rules_for(team)
        today = calendar.local_date(now)
        errors = check_call(form, today)
        customer = scope.customer_to_act_on(session, actor, form.customer_id) if form.customer_id is not None else None
        if form.customer_id is not None and customer is None:  # a forged id of an erased person too
            errors["customer"] = ("form.errors.customer_unknown", {})
        if errors:
            raise FormErrors(errors)
        assert customer is not None
        callback = queries.callback_by_id(session, actor.team_id, form.callback_id, with_customer=False) \
            if form.callback_id else None  # its customer is read above
        if callback is None or callback.customer_id != customer.id or callback.status != "open":
            callback = _callback_to_close(session, actor, customer.id)
        try:
            scope.require_customer(actor, customer, callback)
        except Forbidden as refused:
            raise FormErrors({"customer": (refused.key, refused.params)}) from None
        claimed = claim(session, "log_call", actor.user_id, now, once)

        outcome = effective_outcome(Outcome(form.outcome), form.rating, rules)
        call_id = call_queries.insert_call(
            session, team_id=team.id, customer_id=customer.id, callback_id=callback.id if callback else None,
            staff_id=actor.user_id, channel=form.channel, outcome=outcome.value, rating=form.rating, nps=form.nps,
            summary=form.summary, feedback=form.feedback, next_on=form.next_on, called_at=now)
        attempts = (callback.attempts if callback else 0) + 1
        step = next_step(outcome, called_on=today, attempts=attempts, requested_on=form.next_on,
                         rules=rules, calendar=calendar)
        reached = is_reached(outcome)
        if callback is not None:
            status = "done" if reached else ("skipped" if step.flag else "rescheduled")
            call_queries.close_callback(session, callback, status, attempts, now)
        if step.flag:
            follow_up = True
        else:
            follow_up = still_needs_follow_up(svc, team, customer) if reached else customer.needs_follow_up
        call_queries.customer_called(session, customer, now if reached else customer.last_contact_at, follow_up)
        from bot.services.complaints import open_low_rating_follow_up  # issue 4: a low rating is a problem
        open_low_rating_follow_up(svc, session, team.id, customer, call_id, outcome, form.rating, form.feedback,
                                  actor.user_id)
        from bot.services.planning import plan_customers_within, read_few  # issue 3: a call is a change that matters

        # once, for the next callback and the care plan; the customer as changed above, not read again
        few = read_few(svc, session, team, {customer.id}, now, customers=[customer])
        next_due = None  # issue 11: every next callback passes the care plan's etiquette, caps and consent
        if step.kind and step.due_on:
            retry = outcome is Outcome.UNREACHABLE
            kind = callback.kind if (retry and callback) else step.kind
            next_due = schedule_next(session, team, customer,
                                     OutcomeStep(kind, step.due_on, step.rule, step.params, call_id, retry),
                                     customer.owner_id or actor.user_id, attempts if retry else 0, few)
        session.flush()
        plan_customers_within(svc, session, team, {customer.id}, now, few)  # in this transaction, not a second one
        logged = LoggedCall(call_id=call_id, customer_code=customer.code, customer_name=customer.name,
                            outcome=outcome.value, next_kind=step.kind if next_due else "",
                            next_due_on=calendar.local_date(next_due) if next_due else None, flagged=step.flag,
                            attempts=attempts)
        remember(session, claimed, {"call_id": call_id})
        if then is not None:
            then(session, logged)
    return logged

