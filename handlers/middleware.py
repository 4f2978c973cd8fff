"""Loads the registered person (and their language) for every request."""

from __future__ import annotations

import logging

from slack_bolt import App
from sqlalchemy.exc import SQLAlchemyError

from bot.logs import REQUEST_ID, REQUEST_ID_HEADER, new_request_id
from bot.services.errors import NotRegistered
from bot.services.people import SlackProfile, actor_for, team_locale_for_user
from bot.slack_client import counted
from handlers import unavailable
from handlers.deps import PROFILE_WAIT, Deps, responder_of, slack_profile
from messages.render import pick_locale
from storage.db import waiting_at_most

log = logging.getLogger(__name__)
READ_WAIT = 1.0  # seconds the person's row may wait for a lock: the ack must go out within Slack's 3 s


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
    def load_actor(context, client, body, respond, next):
        context["verified"] = True  # Bolt (and bot/request_gate.py) checked the signature before any middleware
        user_id = context.user_id
        context["actor"] = None
        try:
            with waiting_at_most(READ_WAIT):
                try:
                    if not user_id:
                        raise NotRegistered()
                    actor = actor_for(deps.services, user_id, lambda uid: slack_profile(client, uid, PROFILE_WAIT))
                    context["actor"], context["locale"] = actor, actor.locale
                    unavailable.remember_locale(user_id, actor.locale)
                except NotRegistered:  # told so in their own Slack language when Slack can say it
                    profile = slack_profile(client, user_id, PROFILE_WAIT) if user_id else None
                    context["locale"] = pick_locale(profile.locale if profile else None,
                                                    team_locale_for_user(deps.services, user_id))
        except SQLAlchemyError as exc:  # the database is away: answer now, in the person's language
            log.warning("database unavailable for a request of %s: %s", user_id, str(exc).splitlines()[0])
            locale = unavailable.locale_without_database(
                user_id, lambda uid: (slack_profile(client, uid, PROFILE_WAIT) or SlackProfile(None, None)).locale)
            respond = responder_of(body, client) or respond  # our timeout, not Bolt's 30 s
            return unavailable.answer(body, locale, respond, client, user_id, later=lambda tell: deps.pool.background
                                      .submit(("database away", user_id, str(body.get("response_url"))), tell))
        next()
