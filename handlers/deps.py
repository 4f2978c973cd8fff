"""What listeners are given: the services and the renderer, plus small request helpers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services.core import Services
from bot.services.errors import NotRegistered
from bot.services.people import Actor, SlackProfile
from messages.render import Renderer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    services: Services
    renderer: Renderer


def actor_of(context: dict[str, Any]) -> Actor:
    """The registered person behind this request (set by the actor middleware)."""
    actor = context.get("actor")
    if actor is None:
        raise NotRegistered()
    return actor


def slack_profile(client: WebClient, user_id: str) -> SlackProfile | None:
    """The person's Slack language and timezone (users.info), or None when Slack cannot say."""
    try:
        user = client.users_info(user=user_id, include_locale=True)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return None
    return SlackProfile(locale=user.get("locale"), timezone=user.get("tz"))


def channel_of(body: dict[str, Any]) -> str | None:
    """Where an interaction happened (a channel, or none for the App Home)."""
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") \
        or body.get("channel_id")
