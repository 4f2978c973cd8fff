"""Buttons: log a call from a queue row, show the next page of the queue."""

from __future__ import annotations

from slack_bolt import App

from bot.services.calls import target_for_callback, target_for_customer
from bot.services.errors import CareError, FormErrors
from bot.services.queue import my_queue
from handlers.deps import Deps, actor_of, channel_of
from handlers.errors import guarded
from handlers.ids import Action
from handlers.views_common import PAGE_SIZE, log_call_view, parse_more_value, queue_page


def parse_row_value(value: str) -> tuple[str, int]:
    """'cb:12' -> ('cb', 12); anything else is a stale or forged button."""
    prefix, _, number = (value or "").partition(":")
    if prefix not in ("cb", "cu") or not number.isdigit():
        raise CareError("errors.stale_page")
    return prefix, int(number)


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)

    @app.action(Action.LOG_CALL.value)
    @guard
    def log_call(ack, body, action, client, context, **_):
        ack()
        actor = actor_of(context)
        prefix, number = parse_row_value(action.get("value", ""))
        try:
            target = target_for_callback(svc, actor, number) if prefix == "cb" \
                else target_for_customer(svc, actor, number)
        except FormErrors as exc:
            key, params = next(iter(exc.errors.values()))
            raise CareError(key, **params) from None
        client.views_open(trigger_id=body["trigger_id"],
                          view=log_call_view(renderer, actor.locale, target, channel_of(body)))

    @app.action(Action.SHOW_MORE.value)
    @guard
    def show_more(ack, action, respond, context, **_):
        ack()
        actor = actor_of(context)
        first, segment = parse_more_value(action.get("value", ""))
        page = queue_page(renderer, actor.locale, my_queue(svc, actor, segment, first=first, limit=PAGE_SIZE),
                          segment=segment)
        respond(**page.as_kwargs(), response_type="ephemeral", replace_original=True)
