"""What each kind of outbox message is in Slack: how it is sent, where its pace is kept, how a lost answer is
looked up, and which refusals are for good (the worker, handlers/outbox_jobs.py, does the rest).

* posts (`morning_list`, `escalation`, `refusal_notice`, `confirmation`, `report_text`): chat.postMessage with
  metadata naming the key; a lost answer is looked up in the channel's history by that key. An `escalation`
  keeps only its notices and language: it is built and rendered when delivered (the complaints as they are then);
* `ephemeral`: chat.postEphemeral (a confirmation in the channel the person acted from). Slack keeps no trace
  of an ephemeral message, so a lost answer cannot be looked up: it is counted as shown rather than risk
  showing it twice (the log and `carebot outbox` keep the doubt);
* `post_update`: chat.update of an escalation post, rendered from the complaints' state *when delivered*, so
  the last update shows the last state however many clicks came before. It never posts: an update that
  fails is retried as an update. It waits while the team's escalation posts are still being delivered (the
  post it updates may be one of them) and is paced per post (one update of a post at a time);
* `report_charts`: the report's charts in keyed steps: files.getUploadURLExternal and the upload for each
  chart, the file ids kept (`progress`), then one files.completeUploadExternal sharing them in the channel.
  A lost completion is looked up with files.info on those ids; a failure before it uploads afresh (files
  never completed are never shown). The text of the report is its own message (`report_text`, the charts'
  `after_key`): a chart that fails never posts the text again.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError

from bot.services import outbox
from bot.services.core import Services
from messages.render import Renderer

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
UPDATE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
ESCALATION_KINDS = ("escalation",)


class Gone(Exception):
    """Nothing to send any more, and nothing will change that: the escalation post an update is for is not known
    (a click on a post that is not ours), the notices a queued post names were erased. Ended at once as failed,
    with the reason, never retried."""


class Wait(Exception):
    """Not yet: the message waits (not a failed attempt) — `seconds` from now."""

    def __init__(self, why: str, seconds: float):
        super().__init__(why)
        self.seconds = seconds


@dataclass(frozen=True)
class Kind:
    send: Callable[[Services, Renderer, WebClient, outbox.Leased], tuple[str, str]]  # -> (channel, ts or id)
    look: Callable[[WebClient, outbox.Leased], tuple[str, str] | None] | None  # a lost answer: was it done?
    pace_key: Callable[[outbox.Leased], str | None]  # None: not paced
    lost_means_maybe: bool = True  # False: repeating is harmless (an update renders the same state)
    for_good: frozenset[str] = frozenset()  # refusals that end it at once, besides outbox.BAD_REQUEST
    tell_admins: bool = False  # a for-good refusal of the channel: the admins are told what to fix


# --- posts ------------------------------------------------------------------------------------------------


def _post(services: Services, renderer: Renderer, client: WebClient, message: outbox.Leased) -> tuple[str, str]:
    response = client.chat_postMessage(channel=message.channel, **message.payload, metadata={
        "event_type": outbox.METADATA_TYPE, "event_payload": {"key": message.key}})
    return response["channel"], response["ts"]


def find_posted(client: WebClient, message: outbox.Leased) -> tuple[str, str] | None:
    """(channel id, ts) of the message carrying `message.key` in its metadata, posted since it was enqueued."""
    channel = message.channel
    if not CHANNEL_ID.match(channel):  # a user id: the DM channel
        channel = client.conversations_open(users=channel)["channel"]["id"]
    oldest = f"{message.created_at.timestamp() - 60:.6f}"
    history = client.conversations_history(channel=channel, oldest=oldest, limit=200, include_all_metadata=True)
    for posted in history.get("messages", []):
        meta = posted.get("metadata") or {}
        if meta.get("event_type") == outbox.METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == \
                message.key:
            return channel, posted["ts"]
    return None


def _escalation(services: Services, renderer: Renderer, client: WebClient,
                message: outbox.Leased) -> tuple[str, str]:
    """An escalation post, built and rendered now from the notices the sweep queued (bot/services/escalations.py
    `post_spec`): it shows each complaint as it is when it goes out, however long Slack's pace held it."""
    if "notices" not in message.payload:  # queued rendered, before an upgrade: posted as it was
        return _post(services, renderer, client, message)
    from bot.services.escalations import post_of_notices
    from handlers.sla_jobs import render_post
    from messages.render import LOCALES

    notices, locale = message.payload.get("notices"), message.payload.get("locale")
    if not (isinstance(notices, list) and notices and all(type(n) is int for n in notices) and locale in LOCALES):
        raise Gone(f"escalation post {message.key} names no notices to build it from")
    post = post_of_notices(services, notices, message.channel, locale, message.team_id)
    if post is None:
        raise Gone(f"nothing to page about in escalation post {message.key}: its complaints were resolved or "
                   "erased before it was sent (or are not this team's)")
    response = client.chat_postMessage(channel=message.channel, **render_post(renderer, post).as_kwargs(), metadata={
        "event_type": outbox.METADATA_TYPE, "event_payload": {"key": message.key}})
    return response["channel"], response["ts"]


# --- ephemeral confirmations ----------------------------------------------------------------------------


def _ephemeral(services: Services, renderer: Renderer, client: WebClient, message: outbox.Leased) -> tuple[str, str]:
    response = client.chat_postEphemeral(channel=message.channel, **message.payload)
    return message.channel, str(response.get("message_ts") or "")


def _shown(client: WebClient, message: outbox.Leased) -> tuple[str, str] | None:
    return message.channel, ""  # nothing to look at: counted as shown, never shown twice


# --- updates of escalation posts ------------------------------------------------------------------------


def _update(services: Services, renderer: Renderer, client: WebClient, message: outbox.Leased) -> tuple[str, str]:
    from bot.services.escalations import post_for_message
    from handlers.sla_jobs import render_post

    ts = message.payload["ts"]
    post = post_for_message(services, message.channel, ts)
    if post is None:
        if outbox.open_of_team(services, message.team_id, ESCALATION_KINDS, message.created_at):
            raise Wait("waits for the team's escalation posts still being delivered (the post it updates)", 1.0)
        raise Gone(f"no escalation post known at {message.channel} {ts}")
    client.chat_update(channel=message.channel, ts=ts, **render_post(renderer, post).as_kwargs())
    return message.channel, ts


# --- a report's charts ----------------------------------------------------------------------------------


def charts_payload(charts) -> dict:
    return {"charts": [{"filename": c.name, "title": c.title, "content": base64.b64encode(c.png).decode()}
                       for c in charts]}


def _charts(services: Services, renderer: Renderer, client: WebClient, message: outbox.Leased) -> tuple[str, str]:
    charts = message.payload["charts"]
    ids = []
    for chart in charts:
        data = base64.b64decode(chart["content"])
        step = client.files_getUploadURLExternal(filename=chart["filename"], length=len(data))
        done = client._upload_file(url=step["upload_url"], data=data, logger=client.logger, timeout=client.timeout,
                                   proxy=client.proxy, ssl=client.ssl)
        if done.status != 200:
            raise SlackRequestError(f"upload of {chart['filename']} refused (HTTP {done.status}: {done.body})")
        ids.append(step["file_id"])
    outbox.save_progress(services, message, {"file_ids": ids})  # a lost completion is looked up by these
    client.files_completeUploadExternal(files=[{"id": i, "title": c["title"]} for i, c in zip(ids, charts,
                                                                                                 strict=True)],
                                        channel_id=message.channel)
    return message.channel, ",".join(ids)[:32]


def find_uploaded(client: WebClient, message: outbox.Leased) -> tuple[str, str] | None:
    """The charts were shared in the channel by the completion whose answer was lost: files.info says so."""
    ids = (message.progress or {}).get("file_ids") or []
    if not ids:
        return None  # the attempt died before completing: nothing was shown
    found = client.files_info(file=ids[0])["file"]
    if message.channel in (found.get("channels") or []) + (found.get("groups") or []) + (found.get("ims") or []):
        return message.channel, ",".join(ids)[:32]
    return None


KINDS: dict[str, Kind] = {
    "ephemeral": Kind(_ephemeral, _shown, lambda m: None, for_good=frozenset(
        {"channel_not_found", "not_in_channel", "is_archived", "user_not_in_channel"})),
    "post_update": Kind(_update, None, lambda m: f"{m.channel}:{m.payload['ts']}"[:64], lost_means_maybe=False,
                        for_good=UPDATE_GONE | outbox.PERMANENT),
    "report_charts": Kind(_charts, find_uploaded, lambda m: m.channel, for_good=outbox.PERMANENT, tell_admins=True),
}
POST = Kind(_post, find_posted, lambda m: m.channel, for_good=outbox.PERMANENT, tell_admins=True)
KINDS["escalation"] = Kind(_escalation, find_posted, lambda m: m.channel, for_good=outbox.PERMANENT, tell_admins=True)
KINDS["confirmation"] = Kind(_post, find_posted, lambda m: m.channel, for_good=outbox.PERMANENT)  # a DM


def kind_of(message: outbox.Leased) -> Kind:
    return KINDS.get(message.kind, POST)
