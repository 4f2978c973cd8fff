"""What the escalation sweep posts: one post per channel, its notices grouped by complaint, and what was done
on it (split out of bot/services/escalations.py, which re-exports these names)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.services.complaints import ComplaintRow

MAX_ITEMS_PER_POST = 15  # complaints per post, 3 blocks each: well inside Slack's 50 blocks per message


@dataclass(frozen=True)
class Acted:
    action: str
    actor_id: str | None
    at: dt.datetime
    detail: dict

    @property
    def until(self) -> dt.datetime | None:
        value = self.detail.get("until")
        return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ComplaintRef:
    """Which complaint a notice is about, as the sweep queues it: the outbox builds its row (ComplaintRow) when
    it renders the post."""

    id: int


@dataclass(frozen=True)
class NoticeItem:
    notice_id: int
    clock: str  # first_response | resolution | opened (a low-rated call, announced at once)
    level: str  # owner | supervisors | manager
    kind: str  # warning | breach | retrigger | alert
    round: int
    complaint: ComplaintRow | ComplaintRef  # a row to render; the sweep's queued posts carry only the reference
    acted: Acted | None = None


@dataclass
class ChannelPost:
    team_id: str
    channel: str
    locale: str
    timezone: str
    now: dt.datetime
    items: list[NoticeItem] = field(default_factory=list)
    group_id: str | None = None  # the supervisors' user group, mentioned when supervisors are paged
    manager_id: str | None = None  # mentioned when the manager is paged
    snooze_minutes: int = 30  # what the Snooze button does, from the team's rules

    @property
    def notice_ids(self) -> list[int]:
        return [item.notice_id for item in self.items]

    @property
    def complaints(self) -> list[list[NoticeItem]]:
        """The notices grouped by complaint, in first-seen order: one complaint is one item of the post,
        however many of its clocks are notified (issue 10 §3)."""
        return _by_complaint(self.items)

    @property
    def over_count(self) -> int:
        """Complaints with a clock past its SLA now (the rest are about to breach)."""
        return sum(1 for group in self.complaints if any(c.breached for c in group[0].complaint.clocks))

    @property
    def is_owner_warning(self) -> bool:
        return all(item.level == "owner" for item in self.items)

    @property
    def pages_supervisors(self) -> bool:
        return any(item.level == "supervisors" for item in self.items)

    @property
    def pages_manager(self) -> bool:
        return any(item.level == "manager" for item in self.items)


@dataclass
class SweepRun:
    posted: list[tuple[str, str, int]] = field(default_factory=list)  # channel, ts, notices (once delivered)
    failed: list[tuple[str, str]] = field(default_factory=list)  # channel, error
    queued: list[tuple[str, int | None, int]] = field(default_factory=list)  # channel, outbox id, notices


def _by_complaint(items: list[NoticeItem]) -> list[list[NoticeItem]]:
    groups: dict[int, list[NoticeItem]] = {}
    for item in items:
        groups.setdefault(item.complaint.id, []).append(item)
    return list(groups.values())
