"""Modal submissions: the log-a-call form."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App
from sqlalchemy.exc import SQLAlchemyError

from bot.care.call_form import CallForm
from bot.services.calls import log_call
from bot.services.errors import FormErrors
from bot.services.once import AlreadyDone
from handlers import inputs
from handlers.delivery import view_key
from handlers.deps import Deps, actor_of, confirm_where_they_were, confirm_with, deliver_confirmations, modal_errors
from handlers.errors import guarded, saved
from handlers.home import publish_home
from handlers.ids import Action, Field, ViewId
from handlers.unavailable import SAVE_WAIT, inline
from messages.render import translate
from storage.db import waiting_at_most

log = logging.getLogger(__name__)


def read_call_form(view: dict[str, Any]) -> CallForm:
    """The modal's state as a CallForm, through the one parser (handlers/inputs.py): what is missing becomes None
    for the checks to name; what is malformed (a date like 2026-02-30, a rating "³", 5,000 characters) is a
    FormErrors for the modal to show inline."""
    values, meta, fields = inputs.state_values(view), inputs.metadata(view), inputs.Fields()
    customer = inputs.chosen(values, Field.CUSTOMER.value, Action.CUSTOMER_SELECT.value)
    customer_id = fields.read(_optional_customer, customer) if customer is not None else None
    if customer is None:
        customer_id = fields.read(_optional_customer, meta.get("cu"))
    form = CallForm(
        customer_id=customer_id,
        callback_id=fields.read(_optional_customer, meta.get("cb")),
        channel=inputs.chosen(values, Field.CHANNEL.value),
        outcome=inputs.chosen(values, Field.OUTCOME.value),
        rating=fields.read(inputs.small_number, inputs.chosen(values, Field.RATING.value), 1, 5, Field.RATING.value,
                           "form.errors.rating_range"),
        summary=fields.read(inputs.typed, values, Field.SUMMARY.value) or "",
        feedback=fields.read(inputs.typed, values, Field.FEEDBACK.value) or "",
        next_on=fields.read(inputs.picked_date, values, Field.NEXT_ON.value),
        nps=fields.read(inputs.small_number, inputs.chosen(values, Field.NPS.value), 0, 10, Field.NPS.value,
                        "insight.form.nps_range"),
    )
    fields.check()
    return form


def _optional_customer(value: Any) -> int | None:
    """An id in the metadata or a picked option; a malformed one reads as "pick a customer" on the modal."""
    try:
        return inputs.optional_id(value)
    except inputs.NotUnderstood:
        raise FormErrors({Field.CUSTOMER.value: ("form.errors.customer_unknown", {})}) from None


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)

    @app.view(ViewId.LOG_CALL.value)
    @guard
    def submit_log_call(ack, view, client, context, **_):
        actor = actor_of(context)
        try:
            form = read_call_form(view)
            with waiting_at_most(SAVE_WAIT):
                where = inputs.channel_id(inputs.metadata(view).get("ch"))
                confirm = confirm_with(actor.team_id, view_key(view), lambda logged: confirm_where_they_were(
                    actor.user_id, where, renderer.message("call_logged.json.j2", actor.locale, call=logged)),
                    svc.outbox_policy)
                log_call(svc, actor, form, once=view_key(view), then=confirm)
        except AlreadyDone:  # the same submission again (double click, retry): closed like the first, no 2nd note
            return ack()
        except FormErrors as exc:
            return ack(response_action="errors",
                       errors=modal_errors(actor.locale, view, exc.errors, Field.SUMMARY.value))
        except SQLAlchemyError as exc:  # busy or away: refused inline, the modal keeps what was typed
            return ack(**inline(actor.locale, Field.SUMMARY.value, exc))
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("saving a call failed (ref %s)", ref)
            return ack(response_action="errors",
                       errors={Field.SUMMARY.value: str(translate(actor.locale, "errors.internal", ref=ref))})
        ack()
        saved()
        deliver_confirmations(deps, client, confirm)
        # the App Home lists the queue and my week too: without this, the call just logged would still show there
        publish_home(deps, client, actor)
