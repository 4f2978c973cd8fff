"""Plain rows for templates: dates in the team's timezone, lateness in whole days, masked phones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.care.due import OpenComplaint, QueueItem
from bot.care.privacy import mask_phone


def queue_row(item: QueueItem, now: dt.datetime, timezone: str) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    due_local, today = item.due_at.astimezone(zone), now.astimezone(zone).date()
    entity = item.item
    row: dict[str, Any] = {
        "id": entity.id,
        "is_complaint": isinstance(entity, OpenComplaint),
        "customer_id": entity.customer.id,
        "name": entity.customer.name,
        "code": entity.customer.code,
        "phone": mask_phone(entity.customer.phone) or "—",
        "due_at": item.due_at,
        "days_late": max((today - due_local.date()).days, 0),
        "overdue": item.overdue,
        "late_by": item.late_by,
        "clock_late": item.clock_late if item.clock_late is not None else item.late_by,
        "business_hours": item.business_hours,
        "clock": item.clock,
        "owner_id": entity.owner_id,
    }
    if isinstance(entity, OpenComplaint):
        row.update(ticket=entity.kind, kind="", rule="", params={})
    else:
        row.update(ticket="", kind=entity.kind, rule=entity.rule, params=entity.params)
    return row
