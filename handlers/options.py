"""Options for the customer search in the log-call modal (external_select)."""

from __future__ import annotations

from slack_bolt import App

from bot.services.customers import search_customers
from handlers import inputs
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.ids import Action


def register(app: App, deps: Deps) -> None:
    guard = guarded(deps)

    @app.options(Action.CUSTOMER_SELECT.value)
    @guard
    def customer_options(ack, payload, context, **_):
        actor = context.get("actor")
        if actor is None:  # unregistered people see no customer data
            return ack(options=[])
        found = search_customers(deps.services, actor, inputs.query(payload.get("value")), limit=50)
        ack(options=deps.renderer.options("customer_options.json.j2", actor.locale, customers=found))
