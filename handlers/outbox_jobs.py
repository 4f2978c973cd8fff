"""The outbox worker (bot/services/outbox.py): lease, pace, look, post, record — in the scheduler every
few seconds, and right after a job has enqueued something."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.services import outbox
from bot.services.core import Services
from bot.services.outbox_effects import record
from messages.render import Mrkdwn, Renderer, catalog
from storage import queries

log = logging.getLogger(__name__)
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
SETTING_OF_KIND = {"morning_list": "digest_channel", "escalation": "supervisor_channel"}
WHAT_OF_KIND = {"morning_list": "outbox.what.morning_list", "escalation": "outbox.what.escalation"}
REFUSAL_TEXT = {"channel_not_found": "outbox.refused.channel_not_found",
                "not_in_channel": "outbox.refused.not_in_channel", "is_archived": "outbox.refused.is_archived"}


@dataclass
class DeliveryRun:
    sent: list[tuple[int, str, str]] = field(default_factory=list)  # id, channel, ts
    found: list[int] = field(default_factory=list)  # posted by an attempt whose answer was lost
    retrying: list[tuple[int, str]] = field(default_factory=list)  # id, error
    failed: list[tuple[int, str]] = field(default_factory=list)  # id, error (failed or refused)


def deliver_outbox(services: Services, renderer: Renderer, client: WebClient,
                   policy: outbox.Policy | None = None, *, budget_seconds: float = 20.0,
                   wall: Callable = outbox.utc_now) -> DeliveryRun:
    """Deliver what is due; waits for channels' pace slots up to `budget_seconds` (real time). The policy
    is `policy`, else the services' `outbox_policy`, else the defaults."""
    policy = policy or services.outbox_policy or outbox.Policy()
    run = DeliveryRun()
    deadline = time.monotonic() + budget_seconds
    while True:
        blocked = False
        for message_id in outbox.due_ids(services, wall()):
            message = outbox.lease(services, message_id, policy, wall())
            if message is None:
                continue
            if not _deliver_one(services, renderer, client, policy, message, run, wall):
                blocked = True
        if not blocked or time.monotonic() > deadline:
            return run
        time.sleep(min(policy.pace.total_seconds() / 4, 0.25))


def _deliver_one(services: Services, renderer: Renderer, client: WebClient, policy: outbox.Policy,
                 message: outbox.Leased, run: DeliveryRun, wall: Callable) -> bool:
    """False when the channel's pace slot was not free (the message waits); True when it was handled."""
    if message.maybe_posted:
        try:
            posted = find_posted(client, message)
        except Exception as exc:  # noqa: BLE001 - cannot tell: do not post blindly, try again later
            error = f"could not check whether it was posted: {_describe(exc)}"
            status = outbox.mark_retry(services, message, message.attempts, error, policy, wall(), answer_lost=True)
            run.retrying.append((message.id, error))
            log.warning("outbox %s (%s to %s): %s; %s", message.id, message.kind, message.channel, error, status)
            return True
        if posted is not None:
            outbox.mark_sent(services, message, posted[0], posted[1], wall(), record)
            run.found.append(message.id)
            metrics.OUTBOX_SENT.labels(message.kind).inc()
            log.info("outbox %s was already in %s (ts %s): recorded, not posted again", message.id, *posted)
            return True
        if message.attempts >= policy.max_attempts:
            outbox.mark_failed(services, message, "no answer from Slack after every attempt", refused=False)
            run.failed.append((message.id, "no answer"))
            return True
    if not outbox.take_pace_slot(services, message.channel, policy, wall()):
        outbox.give_back(services, message)
        return False
    attempts = outbox.mark_attempt(services, message)
    try:
        response = client.chat_postMessage(channel=message.channel, **message.payload, metadata={
            "event_type": outbox.METADATA_TYPE, "event_payload": {"key": message.key}})
    except SlackApiError as exc:
        outbox.end_pace_slot(services, message.channel, policy, wall())
        error = str(exc.response.get("error") or "unknown_error")
        if error in outbox.PERMANENT or error in outbox.BAD_REQUEST:
            refused = error in outbox.PERMANENT
            notify = _tell_admins(services, renderer, message, error) if refused else None
            outbox.mark_failed(services, message, _describe(exc), refused=refused, then=notify)
            run.failed.append((message.id, error))
            log.error("outbox %s (%s to %s) %s for good: %s", message.id, message.kind, message.channel,
                      "refused" if refused else "failed", error)
        else:
            status = outbox.mark_retry(services, message, attempts, _describe(exc), policy, wall(), answer_lost=False)
            (run.failed if status == "failed" else run.retrying).append((message.id, error))
            log.warning("outbox %s (%s to %s) attempt %d: %s; now %s", message.id, message.kind, message.channel,
                        attempts, error, status)
        return True
    except Exception as exc:  # noqa: BLE001 - the answer was lost: it may have been posted
        outbox.end_pace_slot(services, message.channel, policy, wall())
        outbox.mark_retry(services, message, attempts, _describe(exc), policy, wall(), answer_lost=True)
        run.retrying.append((message.id, _describe(exc)))
        log.warning("outbox %s (%s to %s) attempt %d: no answer (%s); will look before posting again",
                    message.id, message.kind, message.channel, attempts, _describe(exc))
        return True
    outbox.end_pace_slot(services, message.channel, policy, wall())
    outbox.mark_sent(services, message, response["channel"], response["ts"], wall(), record)
    run.sent.append((message.id, response["channel"], response["ts"]))
    metrics.OUTBOX_SENT.labels(message.kind).inc()
    return True


def find_posted(client: WebClient, message: outbox.Leased) -> tuple[str, str] | None:
    """(channel id, ts) of the message carrying `message.key` in its metadata, posted since it was enqueued."""
    channel = message.channel
    if not _CHANNEL.match(channel):  # a user id: the DM channel
        channel = client.conversations_open(users=channel)["channel"]["id"]
    oldest = f"{message.created_at.timestamp() - 60:.6f}"
    history = client.conversations_history(channel=channel, oldest=oldest, limit=200, include_all_metadata=True)
    for posted in history.get("messages", []):
        meta = posted.get("metadata") or {}
        if meta.get("event_type") == outbox.METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == \
                message.key:
            return channel, posted["ts"]
    return None


def _tell_admins(services: Services, renderer: Renderer, message: outbox.Leased, error: str):
    """Once per channel, error and admin (the key is unique), in each admin's language."""
    if message.kind == "refusal_notice":
        return None  # an admin's DM refused: nobody else to tell; the log and `carebot outbox` show it

    def enqueue_notices(session) -> None:
        team = queries.ensure_team(session, message.team_id)
        setting = SETTING_OF_KIND.get(message.kind, "digest_channel")
        where = Mrkdwn(f"<#{message.channel}>") if _CHANNEL.match(message.channel) else message.channel
        for person in queries.staff_of_team(session, message.team_id):
            if person.role != "admin":
                continue
            locale = person.locale or team.locale
            what = catalog(locale)[WHAT_OF_KIND.get(message.kind, WHAT_OF_KIND["morning_list"])]
            notice = renderer.message("notice.json.j2", locale, key=REFUSAL_TEXT[error],
                                      params={"channel": where, "what": what, "setting": setting, "id": message.id})
            outbox.enqueue(session, key=f"refused:{message.channel}:{error}:{person.user_id}", team_id=team.id,
                           kind="refusal_notice", channel=person.user_id, payload=notice.as_kwargs())

    return enqueue_notices


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"{exc.response.get('error')} (HTTP {exc.response.status_code})"
    return f"{type(exc).__name__}: {exc}"[:500]
