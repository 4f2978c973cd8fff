"""Events: the App Home tab shows the person's queue."""

from __future__ import annotations

from slack_bolt import App

from handlers import inputs
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.home import home_for
from handlers.ids import Event


def register(app: App, deps: Deps) -> None:
    renderer = deps.renderer
    guard = guarded(deps)

    @app.event(Event.APP_HOME_OPENED.value)
    @guard
    def home_opened(event, client, context, **_):
        if event.get("tab") != "home" or not inputs.is_user_id(event.get("user")):
            return
        actor = context.get("actor")
        if actor is None:
            view = renderer.view("home_notice.json.j2", context["locale"], key="errors.not_registered")
        else:
            view = home_for(deps, actor)
        client.views_publish(user_id=event["user"], view=view)
