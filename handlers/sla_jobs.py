"""The SLA sweep job (every minute): the service finds and claims what is due and queues its posts; the outbox
renders and posts them at once (handlers/outbox_kinds.py `_escalation`)."""

from __future__ import annotations

import datetime as dt
import logging

from slack_sdk import WebClient

from bot.services.core import Services
from bot.services.escalations import ChannelPost, SweepRun, run_sweep
from handlers.deps import slack_profile
from handlers.outbox_jobs import deliver_outbox
from messages.render import Message, Renderer

log = logging.getLogger(__name__)


def render_post(renderer: Renderer, post: ChannelPost) -> Message:
    if post.is_owner_warning and post.channel.startswith(("U", "W", "D")):
        return renderer.message("sla_warning.json.j2", post.locale, post=post)
    return renderer.message("escalation_post.json.j2", post.locale, post=post)


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

    run = run_sweep(services, now, is_dnd=lambda user_id: in_do_not_disturb(client, user_id, now),
                    profile_of=lambda user_id: slack_profile(client, user_id))
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
