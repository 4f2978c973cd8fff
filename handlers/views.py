"""Modal submissions: the log-a-call form."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from slack_bolt import App

from bot.care.call_form import CallForm
from bot.services.calls import log_call
from bot.services.errors import FormErrors
from bot.services.once import AlreadyDone
from handlers.delivery import view_key
from handlers.deps import Deps, actor_of, confirm_where_they_were, modal_errors
from handlers.errors import guarded
from handlers.home import publish_home
from handlers.ids import INPUT_ACTION, Action, Field, ViewId
from messages.render import translate

log = logging.getLogger(__name__)


def read_call_form(view: dict[str, Any]) -> CallForm:
    """The modal's state as a CallForm; missing or malformed values become None for the checks to name."""
    values = view.get("state", {}).get("values", {})
    meta = json.loads(view.get("private_metadata") or "{}")

    def chosen(block: Field, action: str = INPUT_ACTION) -> str | None:
        element = values.get(block.value, {}).get(action) or {}
        option = element.get("selected_option") or {}
        return option.get("value")

    def typed(block: Field) -> str:
        return ((values.get(block.value, {}).get(INPUT_ACTION) or {}).get("value") or "").strip()

    customer = chosen(Field.CUSTOMER, Action.CUSTOMER_SELECT.value) or meta.get("cu")
    rating = chosen(Field.RATING)
    recommend = chosen(Field.NPS)
    date = (values.get(Field.NEXT_ON.value, {}).get(INPUT_ACTION) or {}).get("selected_date")
    return CallForm(
        customer_id=int(customer) if customer is not None and str(customer).isdigit() else None,
        callback_id=meta.get("cb"),
        channel=chosen(Field.CHANNEL),
        outcome=chosen(Field.OUTCOME),
        rating=int(rating) if rating and rating.isdigit() else None,
        summary=typed(Field.SUMMARY),
        feedback=typed(Field.FEEDBACK),
        next_on=dt.date.fromisoformat(date) if date else None,
        nps=int(recommend) if recommend and recommend.isdigit() else None,
    )


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)

    @app.view(ViewId.LOG_CALL.value)
    @guard
    def submit_log_call(ack, view, client, context, **_):
        actor = actor_of(context)
        form = read_call_form(view)
        try:
            logged = log_call(svc, actor, form, once=view_key(view))
        except AlreadyDone:  # the same submission again (double click, retry): closed like the first, no 2nd note
            return ack()
        except FormErrors as exc:
            return ack(response_action="errors",
                       errors=modal_errors(actor.locale, view, exc.errors, Field.SUMMARY.value))
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("saving a call failed (ref %s)", ref)
            return ack(response_action="errors",
                       errors={Field.SUMMARY.value: str(translate(actor.locale, "errors.internal", ref=ref))})
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        message = renderer.message("call_logged.json.j2", actor.locale, call=logged)
        confirm_where_they_were(client, actor.user_id, meta.get("ch"), message)
        # the App Home lists the queue and my week too: without this, the call just logged would still show there
        publish_home(deps, client, actor)
