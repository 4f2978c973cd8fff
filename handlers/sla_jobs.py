"""The SLA sweep job (every minute): the service finds and claims what is due and queues its posts; the outbox
renders and posts them at once (handlers/outbox_kinds.py `_escalation`)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from slack_sdk import WebClient

from bot.services.core import Services
from bot.services.escalations import ChannelPost, SweepRun, run_sweep
from bot.services.people import SlackProfile
from handlers.deps import short_client, slack_profile
from handlers.outbox_jobs import deliver_outbox
from messages.render import Message, Renderer

log = logging.getLogger(__name__)


def render_post(renderer: Renderer, post: ChannelPost) -> Message:
    if post.is_owner_warning and post.channel.startswith(("U", "W", "D")):
        return renderer.message("sla_warning.json.j2", post.locale, post=post)
    return renderer.message("escalation_post.json.j2", post.locale, post=post)


LOOKUP_WAIT = 1.5  # seconds one dnd.info / users.info of a sweep may take, one try (then: not known)
LOOKUPS_BUDGET = 3.0  # seconds of such lookups one sweep spends in all (then: not known, without asking)


class SlackLookups:
    """The sweep's questions to Slack about people — their do-not-disturb (dnd.info) and the language of a DM
    (users.info) — within one budget of real time (LOOKUPS_BUDGET s), each one try of at most LOOKUP_WAIT s and
    no waiting out a rate limit. A catch-up asks about every owner with a warning due (80 of them on a full book):
    with the client's own timeout and retries, a slow or rate-limiting Slack held the sweep — its database
    transaction, and every page to supervisors behind it — for 80 × 10 s and more. Past the budget, or when Slack
    does not answer: not in do-not-disturb (the warning goes; Slack itself mutes it for a person in DND), and the
    person's stored language, else the team's."""

    def __init__(self, client: WebClient, now: dt.datetime, budget: float = LOOKUPS_BUDGET):
        self._client = short_client(client, LOOKUP_WAIT)
        self._now, self._left, self.skipped = now, budget, 0

    def _spend(self, ask, user_id: str, unknown):
        if self._left <= 0:
            self.skipped += 1
            return unknown
        started = time.monotonic()
        try:
            return ask(user_id)
        finally:
            self._left -= time.monotonic() - started

    def is_dnd(self, user_id: str) -> bool:
        """Raises when Slack did not say (the sweep then treats it as not in DND and logs it)."""
        return self._spend(lambda uid: in_do_not_disturb(self._client, uid, self._now), user_id, False)

    def profile_of(self, user_id: str) -> SlackProfile | None:
        return self._spend(lambda uid: slack_profile(self._client, uid), user_id, None)


def in_do_not_disturb(client: WebClient, user_id: str, now: dt.datetime) -> bool:
    """Slack's dnd.info: a snooze the person turned on, or their scheduled DND hours, at `now`."""
    info = client.dnd_info(user=user_id)
    moment = now.timestamp()
    if info.get("snooze_enabled") and (info.get("snooze_endtime") is None or info["snooze_endtime"] > moment):
        return True
    start, end = info.get("next_dnd_start_ts") or 0, info.get("next_dnd_end_ts") or 0
    return bool(info.get("dnd_enabled")) and start <= moment < end


def run_sla_sweep(services: Services, renderer: Renderer, client: WebClient,
                  now: dt.datetime | None = None) -> SweepRun:
    now = now or services.clock.now()

    lookups = SlackLookups(client, now)
    run = run_sweep(services, now, is_dnd=lookups.is_dnd, profile_of=lookups.profile_of)
    if lookups.skipped:
        log.warning("SLA sweep: Slack was slow to answer about people; %d lookup(s) of do-not-disturb or language "
                    "skipped (not in DND, the stored or the team's language)", lookups.skipped)
    if run.queued:  # deliver at once; the outbox worker retries what fails now
        delivered = deliver_outbox(services, renderer, client)
        sent = {message_id: (channel, ts) for message_id, channel, ts in delivered.sent}
        problems = dict(delivered.retrying + delivered.failed)
        for channel, message_id, count in run.queued:
            if message_id in sent:
                run.posted.append((*sent[message_id], count))
                log.info("SLA sweep: %d notice(s) posted in %s (ts %s)", count, *sent[message_id])
            elif message_id in problems:
                run.failed.append((channel, problems[message_id]))
    return run
