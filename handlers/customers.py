"""The customer in Slack (issue 9): `/care customer <code | name | phone | email>` answers with an ephemeral card,
`/care customer add` and the card's **Edit** open the customer modal; **Log call** and **Open complaint** open
those modals for the customer. Thin: parse, call bot/services/customer_card.py, render, ack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.services.calls import target_for_customer
from bot.services.customer_card import CustomerForm, customer_card, edit_target, plan_saved, save_customer
from bot.services.errors import CareError, FormErrors
from bot.services.once import AlreadyDone
from bot.services.people import Actor
from handlers import inputs
from handlers.complaints import complaint_view
from handlers.delivery import view_key
from handlers.deps import (
    Deps,
    actor_of,
    channel_of,
    confirm_where_they_were,
    confirm_with,
    deliver_confirmations,
    modal_errors,
)
from handlers.errors import guarded
from handlers.errors import saved as mark_saved
from handlers.ids import INPUT_ACTION, Action, CustomerField, ViewId
from handlers.unavailable import SAVE_WAIT, inline
from messages.render import Message, Renderer, translate
from storage.db import waiting_at_most


def card_message(renderer: Renderer, deps: Deps, actor: Actor, query: str | int) -> Message:
    found = customer_card(deps.services, actor, query)
    if isinstance(found, list):
        return renderer.message("customer_choices.json.j2", actor.locale, query=str(query), choices=found)
    return renderer.message("customer_card.json.j2", actor.locale, card=found, timezone=actor.timezone)


def customer_view(renderer: Renderer, locale: str, target, channel_id: str | None) -> dict:
    metadata = json.dumps({"cu": target.id if target else None, "ch": channel_id})
    return renderer.view("customer_modal.json.j2", locale, target=target, metadata=metadata)


CUSTOMER_ADD_WORDS = ("add", "new", "新增")  # `/care customer add`: the new-customer form


def customer_command(deps: Deps, actor: Actor, rest: str, command: dict, client: WebClient, respond: Callable,
                     **_: Any) -> None:
    """`/care customer …` (called from handlers/commands.py)."""
    if rest.lower() in CUSTOMER_ADD_WORDS:
        client.views_open(trigger_id=command["trigger_id"],
                          view=customer_view(deps.renderer, actor.locale, None, command.get("channel_id")))
        return
    if not rest:
        respond(**deps.renderer.message("notice.json.j2", actor.locale, key="customer.usage", params={}).as_kwargs(),
                response_type="ephemeral")
        return
    respond(**card_message(deps.renderer, deps, actor, rest).as_kwargs(), response_type="ephemeral")


def read_customer_form(view: dict[str, Any]) -> tuple[int | None, CustomerForm]:
    values = inputs.state_values(view)  # hostile shapes read as empty (handlers/inputs.py)
    meta = inputs.metadata(view)

    def element(block: CustomerField) -> dict[str, Any]:
        found = inputs.element(values, block.value, INPUT_ACTION)
        return {k: v for k, v in found.items() if isinstance(v, str) or k == "selected_option"}

    consent = inputs.chosen(values, CustomerField.CONSENT.value, INPUT_ACTION)
    customer_id = inputs.optional_id(meta.get("cu"))  # in range, not a bool: else NotUnderstood
    if customer_id is None and CustomerField.CODE.value not in values:
        raise inputs.NotUnderstood()  # an Edit form (no code field) that lost its customer: never a new one
    return customer_id, CustomerForm(
        code=element(CustomerField.CODE).get("value"), name=element(CustomerField.NAME).get("value") or "",
        phone=element(CustomerField.PHONE).get("value") or "", email=element(CustomerField.EMAIL).get("value") or "",
        owner_id=element(CustomerField.OWNER).get("selected_user"), tags=element(CustomerField.TAGS).get("value") or "",
        consent=None if consent is None else consent == "yes")


_customer_id = inputs.record_id  # a button's customer id: ASCII digits in range, else "not understood"


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)
    form_guard = guarded(deps, opens_form=True)  # views.open within the click's 3 s

    @app.action(Action.CUSTOMER_CARD.value)
    @guard
    def show_card(ack, action, respond, context, **_):
        ack()
        actor = actor_of(context)
        respond(**card_message(renderer, deps, actor, _customer_id(action.get("value"))).as_kwargs(),
                response_type="ephemeral", replace_original=True)

    @app.action(Action.CUSTOMER_EDIT.value)
    @form_guard
    def edit(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        target = edit_target(svc, actor, _customer_id(action.get("value")))
        client.views_open(trigger_id=body["trigger_id"],
                          view=customer_view(renderer, actor.locale, target, channel_of(body)))

    @app.action(Action.CUSTOMER_COMPLAINT.value)
    @form_guard
    def complaint(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        try:
            target = target_for_customer(svc, actor, _customer_id(action.get("value")))
        except FormErrors as exc:
            key, params = next(iter(exc.errors.values()))
            raise CareError(key, **params) from None
        client.views_open(trigger_id=body["trigger_id"],
                          view=complaint_view(renderer, actor.locale, target, channel_of(body)))

    @app.view(ViewId.CUSTOMER.value)
    @guard
    def submit(ack, view, client, context, **_):
        actor = actor_of(context)
        try:
            customer_id, form = read_customer_form(view)
            where = inputs.channel_id(inputs.metadata(view).get("ch"))  # else confirmed by DM
            confirm = confirm_with(actor.team_id, view_key(view), lambda saved: confirm_where_they_were(
                actor.user_id, where,
                renderer.message("notice.json.j2", actor.locale, **_saved_text(actor.locale, saved))),
                svc.outbox_policy)
            with waiting_at_most(SAVE_WAIT):
                saved = save_customer(svc, actor, form, customer_id, then=confirm, once=view_key(view))
        except AlreadyDone:  # the same submission again (double click, retry): closed like the first, no 2nd note
            return ack()
        except SQLAlchemyError as exc:  # busy or away: refused inline, the modal keeps what was typed
            return ack(**inline(actor.locale, CustomerField.NAME.value, exc))
        except FormErrors as exc:
            return ack(response_action="errors",
                       errors=modal_errors(actor.locale, view, exc.errors, CustomerField.NAME.value))
        except CareError as exc:
            return ack(response_action="errors",
                       errors={CustomerField.NAME.value: str(translate(actor.locale, exc.key, **exc.params))})
        ack()
        mark_saved()
        deliver_confirmations(deps, client, confirm)
        plan_saved(svc, actor, saved)


def _saved_text(locale: str, saved) -> dict:
    if saved.created:
        return {"key": "customer.saved_created", "params": {"code": saved.code}}
    if saved.changed:
        fields = ", ".join(str(translate(locale, f"customer.{_LABEL[f]}")) for f in saved.changed)
        return {"key": "customer.saved_changed", "params": {"code": saved.code, "fields": fields}}
    return {"key": "customer.saved_nothing", "params": {"code": saved.code}}


# what the confirmation calls each changed field (catalog keys under customer.)
_LABEL = {"name": "name", "phone": "phone", "email": "email", "owner_id": "owner_label", "tags": "tags_label",
          "consent": "consent_label"}
