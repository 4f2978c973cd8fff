"""Events: the App Home tab shows the person's queue."""

from __future__ import annotations

from slack_bolt import App

from bot.services.queue import my_queue
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.ids import Event
from messages.present import queue_row

HOME_ROWS = 40  # Home tabs take 100 blocks; keep room for the header and help


def register(app: App, deps: Deps) -> None:
    renderer, svc = deps.renderer, deps.services
    guard = guarded(deps)

    @app.event(Event.APP_HOME_OPENED.value)
    @guard
    def home_opened(event, client, context, **_):
        if event.get("tab") != "home":
            return
        actor = context.get("actor")
        if actor is None:
            view = renderer.view("home_notice.json.j2", context["locale"], key="errors.not_registered")
        else:
            queue = my_queue(svc, actor)
            rows = [queue_row(item, queue.now, queue.timezone) for item in queue.items[:HOME_ROWS]]
            view = renderer.view("home.json.j2", actor.locale, user_id=actor.user_id, rows=rows,
                                 total=len(queue.items), overdue=queue.overdue_count,
                                 complaints=sum(i.is_complaint for i in queue.items), timezone=queue.timezone)
        client.views_publish(user_id=event["user"], view=view)
