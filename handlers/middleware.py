"""Loads the registered person (and their language) for every request."""

from __future__ import annotations

from slack_bolt import App

from bot.services.errors import NotRegistered
from bot.services.people import actor_for, team_locale_for_user
from handlers.deps import Deps, slack_profile


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def load_actor(context, client, next):
        user_id = context.user_id
        context["actor"] = None
        try:
            if not user_id:
                raise NotRegistered()
            actor = actor_for(deps.services, user_id, lambda uid: slack_profile(client, uid))
            context["actor"], context["locale"] = actor, actor.locale
        except NotRegistered:
            context["locale"] = team_locale_for_user(deps.services, user_id)
        next()
