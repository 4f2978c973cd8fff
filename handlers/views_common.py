"""Rendering helpers shared by listeners: the queue page and the log-call modal."""

from __future__ import annotations

import json
from typing import Any

from bot.care.outcomes import Channel, Outcome
from bot.services.calls import CallTarget
from bot.services.people import Actor
from bot.services.queue import Queue
from messages.present import queue_row
from messages.render import Message, Renderer

PAGE_SIZE = 20  # rows per /care due page: well inside Slack's 50 blocks per message
HOME_ROWS = 40  # Home tabs take 100 blocks; keep room for the header and help


def queue_page(renderer: Renderer, locale: str, queue: Queue, segment: tuple[str, str] | None = None) -> Message:
    """A page of /care due: the queue's window (`my_queue(…, first=…, limit=PAGE_SIZE)`) with its counts."""
    if not queue.total:
        return renderer.message("due_empty.json.j2", locale)
    rows = [queue_row(item, queue.now, queue.timezone) for item in queue.items[:PAGE_SIZE]]
    return renderer.message(
        "due_list.json.j2", locale, rows=rows, total=queue.total, overdue=queue.overdue_count,
        complaints=queue.complaint_count, first=queue.first, timezone=queue.timezone,
        today=queue.now.astimezone(_zone(queue.timezone)).date(), segment=segment)


def home_view(renderer: Renderer, queue: Queue, actor: Actor, week: dict | None = None,
              team_week: dict | None = None) -> dict:
    """The Home tab of the queue's first HOME_ROWS rows (`my_queue(…, limit=HOME_ROWS)`) and the queue's counts;
    `week` (my week) and `team_week` (supervisors) come from handlers/home.py (issue 13)."""
    rows = [queue_row(item, queue.now, queue.timezone) for item in queue.items[:HOME_ROWS]]
    return renderer.view("home.json.j2", actor.locale, user_id=actor.user_id, rows=rows, total=queue.total,
                         overdue=queue.overdue_count, complaints=queue.complaint_count,
                         timezone=queue.timezone, week=week, team_week=team_week,
                         more=max(queue.total - HOME_ROWS, 0))


def parse_more_value(value: Any) -> tuple[int, tuple[str, str] | None]:
    """The Show more button's value: "<offset>" or "<offset>|<segment field>:<segment value>" (NotUnderstood
    when it is neither: handlers/inputs.py)."""
    from handlers import inputs

    if not isinstance(value, str):
        raise inputs.NotUnderstood()
    offset, _, segment = value.partition("|")
    field, _, name = segment.partition(":")
    if segment and (field not in ("tier", "activity", "lifecycle") or not name or len(name) > 32):
        raise inputs.NotUnderstood()
    return inputs.offset(offset or "0"), ((field, name) if segment else None)


def log_call_view(renderer: Renderer, locale: str, target: CallTarget | None, channel_id: str | None) -> dict:
    metadata = json.dumps({"cb": target.callback_id if target else None,
                           "cu": target.customer_id if target else None, "ch": channel_id})
    return renderer.view("log_call_modal.json.j2", locale, target=target, metadata=metadata,
                         channels=[c.value for c in Channel], outcomes=[o.value for o in Outcome])


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
