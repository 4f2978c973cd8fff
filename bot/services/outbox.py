"""The outbox: messages the bot must deliver, stored with their cause and delivered by a worker.

A caller *enqueues* inside the unit of work that makes the change (the morning list's claim, the
escalation notices): both commit or neither does, so a crash can lose neither. The worker
(handlers/outbox_jobs.py, every few seconds in the scheduler and right after a job enqueues) *leases* a
due message (one worker per message across replicas), takes the channel's *pace* slot (at most one
message a second per channel, across replicas: a row per channel in the database), posts it with
metadata naming its key, and records the result.

What can happen to a message (times are real time, `Policy`):
* delivered → `sent`, its `effect` recorded (the digest claim's ts; the notices' ts and audit);
* Slack's answer lost (timeout, reset) or the worker died mid-post → `unknown`: before posting again
  the worker looks for the key in the channel's recent history; found → `sent` (never twice);
* a passing error (429 after the client's own retries, 5xx, …) → `pending` again after a backoff
  (`Policy.backoff`, doubling up to `max_backoff`), `failed` after `max_attempts`, kept with its last error;
* a lasting refusal (`PERMANENT`: channel_not_found, not_in_channel, is_archived) → `refused` at once, and
  the team's admins are told once each, in their language, what to fix.
`carebot outbox` lists what is not delivered; `carebot outbox retry ID` sends a failed or refused one again.
Each step that changes a message is a short unit of work with `write=True`: on SQLite it takes the write lock as
it begins, queued behind this process's other saves (storage/db.py), instead of sleeping in SQLite's busy
handler or failing at once when a read of the same transaction went stale.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.core import Services
from storage import outbox_queries
from storage.outbox_models import ChannelPace, OutboxMessage

PERMANENT = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
BAD_REQUEST = frozenset({"invalid_blocks", "invalid_blocks_format", "invalid_arguments", "msg_too_long",
                         "no_text", "too_many_attachments", "invalid_metadata_format", "invalid_auth",
                         "account_inactive", "token_revoked", "missing_scope", "not_authed"})
OPEN = ("pending", "sending", "unknown")
METADATA_TYPE = "carebot_outbox"


@dataclass(frozen=True)
class Policy:
    """Real-time knobs of delivery."""

    pace: dt.timedelta = dt.timedelta(seconds=1)  # Slack: about one message per second per channel
    lease: dt.timedelta = dt.timedelta(seconds=60)  # a worker that died gives its message back after this
    backoff: dt.timedelta = dt.timedelta(seconds=5)
    max_backoff: dt.timedelta = dt.timedelta(minutes=10)
    max_attempts: int = 8

    def delay(self, attempts: int) -> dt.timedelta:
        return min(self.backoff * (2 ** max(attempts - 1, 0)), self.max_backoff)


def utc_now() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)


@dataclass(frozen=True)
class Leased:
    id: int
    key: str
    kind: str
    team_id: str
    channel: str
    payload: dict
    effect: dict
    attempts: int
    maybe_posted: bool  # an earlier attempt's outcome is unknown: look before posting
    created_at: dt.datetime
    after_key: str | None = None  # deliver only once the message with this key is sent
    progress: dict | None = None  # the state of a step under way (an upload's file ids)
    counted: bool = False  # `attempts` counts the attempt about to be made (queued leased: queue_leased_confirmation)


def enqueue(session: Session, *, key: str, team_id: str, kind: str, channel: str, payload: dict,
            effect: dict | None = None, now: dt.datetime | None = None, after_key: str | None = None) -> int | None:
    """Add a message in the caller's unit of work; its id, or None when a message with `key` exists.
    `after_key`: delivered only once the message with that key is sent (the worker waits for it)."""
    return enqueue_many(session, [Queued(key, team_id, kind, channel, payload, effect, after_key)], now).get(key)


@dataclass(frozen=True)
class Queued:
    """One message for `enqueue_many` (the arguments of `enqueue`)."""

    key: str
    team_id: str
    kind: str
    channel: str
    payload: dict
    effect: dict | None = None
    after_key: str | None = None


def enqueue_many(session: Session, messages: list[Queued], now: dt.datetime | None = None) -> dict[str, int]:
    """`enqueue` for many messages in one statement (the sweep's catch-up: ~90 posts). key -> id of each message
    added; a key that exists already is left out."""
    now = now or utc_now()
    return outbox_queries.insert_messages(session, [
        {"key": m.key, "team_id": m.team_id, "kind": m.kind, "channel": m.channel, "payload": m.payload,
         "effect": m.effect or {}, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
         "after_key": m.after_key} for m in messages])


@dataclass(frozen=True)
class Outgoing:
    """A confirmation to queue with a change: `confirmation` (a DM, `channel` a user id) or `ephemeral` (in
    `channel`, `payload` naming the user)."""

    kind: str
    channel: str
    payload: dict


def queue_confirmation(session: Session, team_id: str, key: str, outgoing: Outgoing) -> int | None:
    """In the unit of work of the change it confirms; `key` is the change's claim (one confirmation each)."""
    return enqueue(session, key=f"confirm:{key}"[:200], team_id=team_id, kind=outgoing.kind,
                   channel=outgoing.channel, payload=outgoing.payload)


def queue_leased_confirmation(session: Session, team_id: str, key: str, outgoing: Outgoing,
                              policy: Policy | None = None) -> Leased | None:
    """`queue_confirmation`, the message already leased to the caller for `policy.lease` with its first attempt
    counted: the listener that made the change sends it right after its commit (handlers/outbox_jobs.py
    `deliver_leased`) without leasing it again (two units of work fewer on every click). If that listener dies
    first, the lease runs out and the outbox worker looks whether it was posted before posting it, as after any
    attempt whose outcome is unknown. None when the confirmation exists (the change was made before)."""
    now, lease = utc_now(), (policy or Policy()).lease
    full_key = f"confirm:{key}"[:200]
    ids = outbox_queries.insert_messages(session, [
        {"key": full_key, "team_id": team_id, "kind": outgoing.kind, "channel": outgoing.channel,
         "payload": outgoing.payload, "effect": {}, "status": "sending", "attempts": 1, "next_attempt_at": now,
         "lease_until": now + lease, "created_at": now, "after_key": None}])
    if full_key not in ids:
        return None
    return Leased(ids[full_key], full_key, outgoing.kind, team_id, outgoing.channel, outgoing.payload, {}, 1,
                  False, now, counted=True)


def confirm_after(svc: Services, team_id: str, key: str, outgoing: Outgoing) -> int | None:
    """A confirmation whose text needs what happened after the change's own unit of work (the resolved
    complaint's follow-up count): queued in a unit of work of its own, right after."""
    with svc.db.unit_of_work(write=True) as session:
        return queue_confirmation(session, team_id, key, outgoing)


def due_ids(svc: Services, now: dt.datetime, limit: int = 100, kinds: tuple[str, ...] | None = None) -> list[int]:
    query = select(OutboxMessage.id).where(
        OutboxMessage.status.in_(OPEN), OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(kinds))
    with svc.db.unit_of_work() as session:
        return list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))


def lease(svc: Services, message_id: int, policy: Policy, now: dt.datetime) -> Leased | None:
    """Take the message for `policy.lease`; None when another worker has it or it is not due."""
    with svc.db.unit_of_work(write=True) as session:
        row = session.get(OutboxMessage, message_id)
        if row is None or row.status not in OPEN:
            return None
        previous = row.status
        taken = session.execute(
            update(OutboxMessage).where(
                OutboxMessage.id == message_id, OutboxMessage.status == previous,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
            .values(status="sending", lease_until=now + policy.lease)).rowcount
        if taken != 1:
            return None
        return Leased(row.id, row.key, row.kind, row.team_id, row.channel, dict(row.payload), dict(row.effect),
                      row.attempts, previous in ("sending", "unknown"), row.created_at, row.after_key,
                      dict(row.progress) if row.progress else None)


def status_of(svc: Services, key: str) -> str | None:
    """The status of the message with `key` (None: there is none)."""
    with svc.db.unit_of_work() as session:
        return session.scalar(select(OutboxMessage.status).where(OutboxMessage.key == key))


def open_of_team(svc: Services, team_id: str, kinds: tuple[str, ...], before: dt.datetime) -> int:
    """How many messages of `kinds` for the team, enqueued before `before`, are not delivered yet."""
    with svc.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.team_id == team_id, OutboxMessage.kind.in_(kinds), OutboxMessage.status.in_(OPEN),
            OutboxMessage.created_at <= before)) or 0


def defer(svc: Services, message: Leased, until: dt.datetime, why: str) -> None:
    """Not now, and not a failed attempt (it waits for another message): free the lease, try at `until`."""
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.status == "sending")
                        .values(status="unknown" if message.maybe_posted else "pending", lease_until=None,
                                next_attempt_at=until, last_error=why[:2000]))


def save_progress(svc: Services, message: Leased, progress: dict | None) -> None:
    """Keep the state of the step under way (committed before the step that needs it)."""
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(progress=progress))


def take_pace_slot(svc: Services, channel: str, policy: Policy, now: dt.datetime) -> bool:
    """The right to post in `channel` now, across every replica. The channel stays closed while the post is
    under way (its slack_sdk retries included; at most `policy.lease` if the worker dies) and for
    `policy.pace` after it ends (`end_pace_slot`): two posts in a channel are always a pace apart."""
    closed_until = now + policy.lease
    with svc.db.unit_of_work(write=True) as session:
        moved = session.execute(update(ChannelPace).where(ChannelPace.channel == channel, ChannelPace.next_at <= now)
                                .values(next_at=closed_until)).rowcount
        if moved == 1:
            return True
        try:
            with session.begin_nested():
                session.add(ChannelPace(channel=channel, next_at=closed_until))
                session.flush()
        except IntegrityError:
            return False  # the row exists and its slot is not free yet
        return True


def end_pace_slot(svc: Services, channel: str, policy: Policy, now: dt.datetime) -> None:
    """The post is over (whatever its outcome): the next one in `channel` may go `policy.pace` from now."""
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(ChannelPace).where(ChannelPace.channel == channel).values(next_at=now + policy.pace))


def give_back(svc: Services, message: Leased) -> None:
    """Not posted (no pace slot yet): free the lease, keep the status the message had (an attempt counted in
    advance is uncounted)."""
    uncounted = {"attempts": OutboxMessage.attempts - 1} if message.counted else {}
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.status == "sending")
                        .values(status="unknown" if message.maybe_posted else "pending", lease_until=None,
                                **uncounted))


def mark_attempt(svc: Services, message: Leased) -> int:
    """Count the attempt before the call, so a worker killed mid-post still leaves a trace; returns attempts."""
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                        .values(attempts=OutboxMessage.attempts + 1))
    return message.attempts + 1


def uncount_attempt(svc: Services, message: Leased) -> None:
    """The attempt did not happen after all (the message had to wait)."""
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                        .values(attempts=OutboxMessage.attempts - 1))


def mark_sent(svc: Services, message: Leased, channel: str, ts: str, now: dt.datetime,
              record_effect: Callable[[Session, dict, str, str], None]) -> bool:
    """Record the delivery and its effect in one unit of work; False if the lease was lost meanwhile."""
    with svc.db.unit_of_work(write=True) as session:
        if not outbox_queries.mark_message_sent(session, message.id, channel, ts, now):
            return False
        record_effect(session, message.effect, channel, ts)
        return True


def mark_retry(svc: Services, message: Leased, attempts: int, error: str, policy: Policy, now: dt.datetime,
               *, answer_lost: bool) -> str:
    """A passing failure: back to pending (or unknown when the answer was lost), or failed after the last
    attempt. Returns the new status."""
    # a lost answer stays `unknown` whatever the count: the next lease looks for it before anything else
    status = "unknown" if answer_lost else ("pending" if attempts < policy.max_attempts else "failed")
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
            status=status, lease_until=None, last_error=error[:2000],
            next_attempt_at=now + policy.delay(attempts)))
    return status


def mark_failed(svc: Services, message: Leased, error: str, *, refused: bool,
                then: Callable[[Session], None] | None = None) -> None:
    """For good: `refused` (Slack will not take it there) or `failed` (a bad request). `then(session)` runs in
    the same unit of work (the admins' notices)."""
    with svc.db.unit_of_work(write=True) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
            status="refused" if refused else "failed", lease_until=None, last_error=error[:2000]))
        if then is not None:
            then(session)


# --- what operators see ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: int
    kind: str
    team_id: str
    channel: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    last_error: str | None


def undelivered(svc: Services) -> list[Row]:
    """Every message not sent: pending, sending, unknown, failed, refused; oldest first."""
    with svc.db.unit_of_work() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent")
                               .order_by(OutboxMessage.id)).all()
        return [Row(r.id, r.kind, r.team_id, r.channel, r.status, r.attempts, r.created_at, r.next_attempt_at,
                    r.last_error) for r in rows]


def retry(svc: Services, message_id: int, now: dt.datetime | None = None) -> str | None:
    """Send a failed or refused message again from its first attempt; its previous status, or None when there
    is no such message. A message already sent is left alone (returns "sent")."""
    now = now or utc_now()
    with svc.db.unit_of_work(write=True) as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            return None
        previous = row.status
        if previous in ("failed", "refused"):
            row.status, row.attempts, row.next_attempt_at, row.lease_until = "pending", 0, now, None
        return previous


def depth(svc: Services, now: dt.datetime | None = None) -> tuple[dict[str, int], float]:
    """Messages by status (sent excluded) and the age in seconds of the oldest one still to deliver."""
    now = now or utc_now()
    with svc.db.unit_of_work() as session:
        counts = {status: count for status, count in session.execute(
            select(OutboxMessage.status, func.count()).where(OutboxMessage.status != "sent")
            .group_by(OutboxMessage.status))}
        oldest = session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(OPEN)))
    counts["pending"] = sum(counts.get(s, 0) for s in OPEN)
    return counts, (now - oldest).total_seconds() if oldest is not None else 0.0


def stuck_reason(svc: Services, older_than: dt.timedelta, now: dt.datetime | None = None) -> str | None:
    """Why the outbox counts as stuck (a message to deliver waiting longer than `older_than`), or None."""
    counts, age = depth(svc, now)
    if age > older_than.total_seconds():
        return (f"outbox stuck: {counts['pending']} message(s) waiting, the oldest for {int(age)} s "
                "(`carebot outbox`)")
    return None
