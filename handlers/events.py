"""Events: the App Home tab shows the person's queue."""

from __future__ import annotations

from slack_bolt import App

from bot.services.queue import my_queue
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.ids import Event
from handlers.views_common import home_view


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
            view = home_view(renderer, my_queue(svc, actor), actor)
        client.views_publish(user_id=event["user"], view=view)
