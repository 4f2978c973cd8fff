"""The outbox worker (bot/services/outbox.py): lease, wait for what comes first, look, pace, send, record — in
the scheduler every few seconds, and right after a job or a listener has enqueued something. How each kind
of message is sent and looked up: handlers/outbox_kinds.py."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot import metrics
from bot.services import outbox
from bot.services.core import Services
from bot.services.outbox_effects import record
from handlers.outbox_kinds import CHANNEL_ID, Gone, Wait, find_posted, kind_of
from messages.render import Mrkdwn, Renderer, catalog
from storage import queries

log = logging.getLogger(__name__)
_CHANNEL = CHANNEL_ID
__all__ = ["DeliveryRun", "deliver_leased", "deliver_now", "deliver_outbox", "find_posted"]
AFTER_A_CLICK = ("post_update", "confirmation", "ephemeral")  # what a listener delivers at once after its change
SETTING_OF_KIND = {"morning_list": "digest_channel", "escalation": "supervisor_channel",
                   "report_text": "supervisor_channel", "report_charts": "supervisor_channel"}
WHAT_OF_KIND = {"morning_list": "outbox.what.morning_list", "escalation": "outbox.what.escalation",
                "report_text": "outbox.what.report", "report_charts": "outbox.what.report"}
REFUSAL_TEXT = {"channel_not_found": "outbox.refused.channel_not_found",
                "not_in_channel": "outbox.refused.not_in_channel", "is_archived": "outbox.refused.is_archived"}


@dataclass
class DeliveryRun:
    sent: list[tuple[int, str, str]] = field(default_factory=list)  # id, channel, ts
    found: list[int] = field(default_factory=list)  # posted by an attempt whose answer was lost
    retrying: list[tuple[int, str]] = field(default_factory=list)  # id, error
    failed: list[tuple[int, str]] = field(default_factory=list)  # id, error (failed or refused)


def deliver_now(services: Services, renderer: Renderer, client: WebClient, run: Any, what: str,
                kinds: tuple[str, ...] | None = None) -> None:
    """A job's claimed posts, delivered now: the outbox is delivered at once (of `kinds`, default all) and each of
    `run.queued` (team, label, outbox message id) is accounted in `run.posted` (team, label, ts) once Slack took
    it, or in `run.skipped` (team, why) when it failed — the outbox worker retries it. `what` names the posts in
    the log ("morning list", "report"). For the morning lists (bot/services/digest.py) and the reports."""
    if not run.queued:
        return
    delivered = deliver_outbox(services, renderer, client, kinds=kinds)
    sent = {message_id: ts for message_id, _, ts in delivered.sent}
    problems = dict(delivered.retrying + delivered.failed)
    for team, label, message_id in run.queued:
        if message_id in sent:
            run.posted.append((team, label, sent[message_id]))
            log.info("%s %s of %s posted (ts %s)", what, label, team, sent[message_id])
        elif message_id in problems:
            run.skipped.append((team, f"posting failed: {problems[message_id]} (the outbox retries it; "
                                      "`carebot outbox`)"))


def deliver_outbox(services: Services, renderer: Renderer, client: WebClient,
                   policy: outbox.Policy | None = None, *, budget_seconds: float = 20.0,
                   wall: Callable = outbox.utc_now, kinds: tuple[str, ...] | None = None) -> DeliveryRun:
    """Deliver what is due (of `kinds`, default all); waits for channels' pace slots up to `budget_seconds`
    (real time). The policy is `policy`, else the services' `outbox_policy`, else the defaults."""
    policy = policy or services.outbox_policy or outbox.Policy()
    run = DeliveryRun()
    deadline = time.monotonic() + budget_seconds
    while True:
        blocked = False
        for message_id in outbox.due_ids(services, wall(), kinds=kinds):
            message = outbox.lease(services, message_id, policy, wall())
            if message is None:
                continue
            if not _deliver_one(services, renderer, client, policy, message, run, wall):
                blocked = True
        if not blocked or time.monotonic() > deadline:
            return run
        time.sleep(min(policy.pace.total_seconds() / 4, 0.25))


def deliver_leased(services: Services, renderer: Renderer, client: WebClient, messages: list[outbox.Leased],
                   policy: outbox.Policy | None = None, wall: Callable = outbox.utc_now) -> DeliveryRun:
    """Messages this process queued already leased (`outbox.queue_leased_confirmation`), sent now, in order. One
    that must wait (its channel's pace slot) is given back to the outbox worker, which sends it shortly."""
    policy = policy or services.outbox_policy or outbox.Policy()
    run = DeliveryRun()
    for message in messages:
        _deliver_one(services, renderer, client, policy, message, run, wall)
    return run


def _deliver_one(services: Services, renderer: Renderer, client: WebClient, policy: outbox.Policy,
                 message: outbox.Leased, run: DeliveryRun, wall: Callable) -> bool:
    """False when the message must wait a moment (its channel's pace slot, the message it comes after); True
    when it was handled."""
    kind = kind_of(message)
    if message.after_key is not None:
        before = outbox.status_of(services, message.after_key)
        if before is not None and before != "sent":
            # failed/refused: it waits for an operator's `carebot outbox retry` of that one
            in_flight = before == "sending"  # another worker is on it: worth waiting a moment in this run
            outbox.defer(services, message, wall() + (policy.pace / 4 if in_flight else policy.pace),
                         f"waits for {message.after_key} ({before})")
            return not in_flight
    if message.maybe_posted and kind.look is not None:
        try:
            posted = kind.look(client, message)
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
            log.warning("outbox %s (%s) was already in %s (%s): recorded, not sent again", message.id, message.kind,
                        *posted)
            return True
        if message.attempts >= policy.max_attempts:
            outbox.mark_failed(services, message, "no answer from Slack after every attempt", refused=False)
            run.failed.append((message.id, "no answer"))
            return True
    pace = kind.pace_key(message)
    if pace is not None and not outbox.take_pace_slot(services, pace, policy, wall()):
        outbox.give_back(services, message)
        return False
    attempts = message.attempts if message.counted else outbox.mark_attempt(services, message)
    try:
        channel, ts = kind.send(services, renderer, client, message)
    except Wait as wait:
        _end_pace(services, pace, policy, wall)
        outbox.uncount_attempt(services, message)
        outbox.defer(services, message, wall() + dt.timedelta(seconds=wait.seconds), str(wait))
        return True
    except Gone as gone:
        _end_pace(services, pace, policy, wall)
        outbox.mark_failed(services, message, str(gone), refused=False)
        run.failed.append((message.id, str(gone)))
        log.warning("outbox %s (%s to %s) ended: %s", message.id, message.kind, message.channel, gone)
        return True
    except SlackApiError as exc:
        _end_pace(services, pace, policy, wall)
        error = str(exc.response.get("error") or "unknown_error")
        if error in kind.for_good or error in outbox.BAD_REQUEST:
            refused = error in outbox.PERMANENT
            notify = _tell_admins(services, renderer, message, error) if refused and kind.tell_admins else None
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
    except SlackRequestError as exc:  # refused before reaching Slack's API (an upload, a post no longer known)
        _end_pace(services, pace, policy, wall)
        status = outbox.mark_retry(services, message, attempts, _describe(exc), policy, wall(), answer_lost=False)
        (run.failed if status == "failed" else run.retrying).append((message.id, str(exc)))
        log.warning("outbox %s (%s to %s) attempt %d: %s; now %s", message.id, message.kind, message.channel,
                    attempts, exc, status)
        return True
    except Exception as exc:  # noqa: BLE001 - the answer was lost: it may have been done
        _end_pace(services, pace, policy, wall)
        lost = kind.lost_means_maybe
        status = outbox.mark_retry(services, message, attempts, _describe(exc), policy, wall(), answer_lost=lost)
        run.retrying.append((message.id, _describe(exc)))
        log.warning("outbox %s (%s to %s) attempt %d: no answer (%s); %s", message.id, message.kind, message.channel,
                    attempts, _describe(exc), "will look before sending again" if lost else f"now {status}")
        return True
    _end_pace(services, pace, policy, wall)
    outbox.mark_sent(services, message, channel, ts, wall(), record)
    run.sent.append((message.id, channel, ts))
    metrics.OUTBOX_SENT.labels(message.kind).inc()
    log.debug("outbox %s (%s) delivered to %s (%s)", message.id, message.kind, channel, ts)
    return True


def _end_pace(services: Services, pace: str | None, policy: outbox.Policy, wall: Callable) -> None:
    if pace is not None:
        outbox.end_pace_slot(services, pace, policy, wall())


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
