"""Loads the registered person (and their language) for every request."""

from __future__ import annotations

from slack_bolt import App

from bot.logs import REQUEST_ID, REQUEST_ID_HEADER, new_request_id
from bot.services.errors import NotRegistered
from bot.services.people import actor_for, team_locale_for_user
from bot.slack_client import counted
from handlers.deps import Deps, slack_profile
from messages.render import pick_locale


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def request_id(request, context, next):
        """The id our WSGI layer gave this request (bot/observe.py): logs and error messages quote it.
        The request's Slack client is the counted one (bot/slack_client.py)."""
        ids = request.headers.get(REQUEST_ID_HEADER.lower()) or []
        context["request_id"] = ids[0] if ids else new_request_id()
        if context.get("client") is not None:
            context["client"] = counted(context["client"])  # Slack calls counted for /metrics
        token = REQUEST_ID.set(context["request_id"])
        try:
            next()
        finally:
            REQUEST_ID.reset(token)

    @app.middleware
    def load_actor(context, client, next):
        context["verified"] = True  # Bolt (and bot/request_gate.py) checked the signature before any middleware
        user_id = context.user_id
        context["actor"] = None
        try:
            if not user_id:
                raise NotRegistered()
            actor = actor_for(deps.services, user_id, lambda uid: slack_profile(client, uid))
            context["actor"], context["locale"] = actor, actor.locale
        except NotRegistered:  # told so in their own Slack language when Slack can say it
            profile = slack_profile(client, user_id) if user_id else None
            context["locale"] = pick_locale(profile.locale if profile else None,
                                            team_locale_for_user(deps.services, user_id))
        next()
