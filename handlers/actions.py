"""Buttons: log a call from a queue row, show the next page of the queue."""

from __future__ import annotations

from slack_bolt import App

from bot.services.calls import target_for_callback, target_for_customer
from bot.services.errors import CareError, FormErrors
from bot.services.queue import my_queue
from handlers import inputs
from handlers.deps import Deps, actor_of, channel_of
from handlers.errors import guarded
from handlers.ids import Action
from handlers.views_common import PAGE_SIZE, log_call_view, parse_more_value, queue_page

parse_row_value = inputs.row_value  # 'cb:12' -> ('cb', 12); anything else is a stale or forged button


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)
    form_guard = guarded(deps, opens_form=True)  # views.open within the click's 3 s

    @app.action(Action.LOG_CALL.value)
    @form_guard
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
    def show_more(ack, body, action, respond, context, **_):
        ack()
        actor = actor_of(context)
        inputs.response_url(body)  # the page is replaced in place
        first, segment = parse_more_value(action.get("value", ""))
        page = queue_page(renderer, actor.locale, my_queue(svc, actor, segment, first=first, limit=PAGE_SIZE),
                          segment=segment)
        respond(**page.as_kwargs(), response_type="ephemeral", replace_original=True)
