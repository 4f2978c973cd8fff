"""What listeners are given: the services and the renderer, plus small request helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.background import ListenerPool
from bot.services.core import Services
from bot.services.errors import NotRegistered
from bot.services.outbox import Outgoing
from bot.services.people import Actor, SlackProfile
from bot.slack_client import ReplyLost, Responder, counted
from messages.render import Message, Renderer, translate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    services: Services
    renderer: Renderer
    pool: ListenerPool = field(default_factory=ListenerPool)  # listeners, after-ack slots, background jobs


def actor_of(context: dict[str, Any]) -> Actor:
    """The registered person behind this request (set by the actor middleware)."""
    actor = context.get("actor")
    if actor is None:
        raise NotRegistered()
    return actor


PROFILE_WAIT = 1.5  # seconds a request (before its ack, Slack's 3 s) waits for users.info; then: no profile


def short_client(client: WebClient, wait: float) -> WebClient:
    """`client` with a timeout of `wait` seconds and none of its retry handlers (no waiting out a rate limit):
    for a lookup whose answer may go unknown rather than hold what waits for it."""
    return counted(WebClient(token=client.token, base_url=client.base_url, timeout=wait, ssl=client.ssl,
                             proxy=client.proxy, headers=client.headers))


def slack_profile(client: WebClient, user_id: str, wait: float | None = None) -> SlackProfile | None:
    """The person's Slack language and timezone (users.info), or None when Slack cannot say: it refused, it could
    not be reached, or it took longer than `wait` seconds (the request path passes PROFILE_WAIT; by default the
    client's own timeout, with its retries)."""
    if wait is not None:  # one try within `wait`: the request's ack must not wait for a slow Slack
        client = short_client(client, wait)
    try:
        user = client.users_info(user=user_id, include_locale=True)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return None
    except (OSError, HTTPException) as exc:  # timeout, refused, cut: the person's language from elsewhere
        log.warning("users.info did not answer for %s: %s", user_id, exc)
        return None
    return SlackProfile(locale=user.get("locale"), timezone=user.get("tz"))


class FallbackResponder:
    """`respond` for a request that came without a usable response_url (none, not a string, not an http(s)
    address): the answer goes where that reply would have gone — ephemeral to the person in the channel they
    clicked in, in the thread when they clicked a reply in one (chat.postEphemeral: seen by them only, and not kept,
    as a response_url's reply) — else, with no channel or one Slack refuses, by DM (`tell_by_dm`); a reply is never
    dropped unseen. An ephemeral reply that may have been shown (a timeout, a cut connection) is a ReplyLost, as
    through a response_url: never sent again, its person told by DM that it may arrive late. Replacing or deleting
    an original means nothing there: a bare delete sends nothing, a replacement arrives as a new message."""

    def __init__(self, client: WebClient, user_id: str, channel_id: str | None = None, thread_ts: str | None = None):
        self.client, self.user_id, self.channel_id, self.thread_ts = client, user_id, channel_id, thread_ts

    def __call__(self, text: str = "", blocks: Any = None, attachments: Any = None, response_type: str | None = None,
                 replace_original: bool | None = None, delete_original: bool | None = None,
                 **_ignored: Any) -> None:
        if not (text or blocks or attachments):
            return
        message = {name: value for name, value in (("text", text), ("blocks", blocks), ("attachments", attachments))
                   if value}
        if self.channel_id and not self.channel_id.startswith("D"):
            try:
                where = {"thread_ts": self.thread_ts} if self.thread_ts else {}
                self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, **where, **message)
                return
            except SlackApiError as exc:  # refused, so not shown: by DM
                log.warning("no usable response_url, and %s refused an ephemeral reply (%s): telling %s by DM",
                            self.channel_id, exc.response.get("error") if exc.response is not None else exc,
                            self.user_id)
            except (OSError, HTTPException) as exc:  # it may have been shown: never sent twice (a card kept in a DM)
                raise ReplyLost(f"the ephemeral reply in {self.channel_id} may not have reached Slack: {exc}") from exc
        else:
            log.info("the request carried no usable response_url: the reply goes to %s by DM", self.user_id)
        tell_by_dm(self.client, self.user_id, message)


def user_of(body: Any) -> str | None:
    """The Slack user id a payload names (an interaction's `user.id`, a command's `user_id`), None if none."""
    if not isinstance(body, dict):
        return None
    user = body.get("user")
    found = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return found if isinstance(found, str) and found else None


def posting_url(url: Any, client: WebClient) -> str | None:
    """`url` when a reply may be posted to it: https on slack.com (Slack's response_urls are on hooks.slack.com),
    or the scheme and host name of the Web API base this process uses (SLACK_API_URL: a stand-in, a proxy; any
    port of it); else None — an address anywhere else (a cloud metadata service, an intranet host) is never
    posted to."""
    if not isinstance(url, str):
        return None
    try:
        parts, api = urlsplit(url), urlsplit(client.base_url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
        return url
    return url if host and (parts.scheme, host) == (api.scheme, (api.hostname or "").lower()) else None


def responder_of(body: Any, client: WebClient) -> Responder | FallbackResponder | None:
    """Our `respond` for the request's response_url (bot/slack_client.Responder); without a usable one (none,
    not a string, not an address of Slack's: `posting_url`), a `FallbackResponder` to the person who acted, in the
    channel (and thread) they acted in; None when the payload names nobody either."""
    from handlers.inputs import thread_of

    raw = body.get("response_url") if isinstance(body, dict) else None
    url = posting_url(raw, client)
    if url is not None:
        return Responder(url, client.timeout)
    if raw:
        log.warning("the request's response_url is not an address of Slack's: the reply goes another way")
    user_id = user_of(body)
    return FallbackResponder(client, user_id, channel_of(body), thread_of(body)) if user_id else None


def tell_by_dm(client: Any, user_id: str, message: Any) -> None:
    """A notice (a Message, or keyword arguments of chat.postMessage) by DM; what keeps it from the person is
    logged in one line (Slack's refusal), never raised."""
    kwargs = message.as_kwargs() if hasattr(message, "as_kwargs") else dict(message)
    try:
        client.chat_postMessage(channel=user_id, **kwargs)
    except SlackApiError as exc:
        log.warning("could not tell %s by DM: Slack answered %s", user_id,
                    exc.response.get("error") if exc.response is not None else exc)
    except Exception:  # noqa: BLE001 - Slack unreachable: nothing more to try
        log.warning("could not tell %s by DM", user_id, exc_info=True)


def channel_of(body: dict[str, Any]) -> str | None:
    """Where an interaction happened (a channel, or none for the App Home); checked by handlers/inputs.py."""
    from handlers.inputs import where

    return where(body)[0]


def modal_errors(locale: str, view: dict[str, Any], errors: dict[str, tuple[str, dict]],
                 fallback: str) -> dict[str, str]:
    """FormErrors as Slack's `response_action: errors`: an error on a block the modal does not show as an
    input (a prefilled customer) goes on `fallback`, a block that is always there."""
    shown = {block.get("block_id") for block in view.get("blocks", []) if block.get("type") == "input"}
    return {(block if block in shown else fallback): str(translate(locale, key, **params))
            for block, (key, params) in errors.items()}


def confirm_where_they_were(user_id: str, channel_id: str | None, message: Message) -> Outgoing:
    """Ephemeral in the channel the modal was opened from; a DM when it came from the App Home or a DM. Queued
    in the outbox with the change it confirms (`then=` of the service), delivered at once by
    `deliver_confirmations`, retried by the outbox worker if Slack fails."""
    if channel_id and not channel_id.startswith("D"):
        return Outgoing("ephemeral", channel_id, {"user": user_id, **message.as_kwargs()})
    return Outgoing("confirmation", user_id, message.as_kwargs())


class confirm_with:
    """A service's `then(session, result)` that queues `outgoing(result)` in the change's unit of work, leased to
    this listener for the outbox policy's lease (bot/services/outbox.queue_leased_confirmation; `policy`: the
    services' `outbox_policy`, None for the defaults): `deliver_confirmations(deps, client, it)` sends it after
    the commit."""

    def __init__(self, team_id: str, key: str | None, outgoing: Callable[[Any], Outgoing], policy: Any = None):
        self.team_id, self.key, self.outgoing, self.policy = team_id, key, outgoing, policy  # the outbox's Policy
        self.leased: list = []

    def __call__(self, session, result) -> None:
        from bot.services.outbox import queue_leased_confirmation

        if self.key is not None:
            message = queue_leased_confirmation(session, self.team_id, self.key, self.outgoing(result), self.policy)
            if message is not None:
                self.leased.append(message)


def deliver_confirmations(deps: Deps, client: WebClient, confirmed: confirm_with | None = None) -> None:
    """What the change queued for Slack goes out now; the worker retries. With `confirmed` (the `then=` the
    change ran): its leased confirmation alone; without: every confirmation and post update that is due."""
    from handlers.outbox_jobs import AFTER_A_CLICK, deliver_leased, deliver_outbox

    if confirmed is not None:
        deliver_leased(deps.services, deps.renderer, client, confirmed.leased)
        return
    deliver_outbox(deps.services, deps.renderer, client, budget_seconds=2, kinds=AFTER_A_CLICK)
