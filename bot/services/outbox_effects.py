"""What a delivered outbox message records, in the same unit of work that marks it sent.

* `{"digest": {"channel", "day"}}` — the morning list's claim gets the message ts (care-domain: one list per
  channel per local day; the claim was taken when the message was enqueued).
* `{"notices": [ids], "at": iso, "audit": [{complaint, level, clock, kind, round}]}` — the escalation
  notices get channel and ts (buttons on the post find them by it) and each complaint's audit trail a
  "notified" entry.
* `{"report": {"team", "kind", "period"}}` — the weekly or monthly report's claim gets the ts of its text.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot import metrics
from storage import insight_queries, notice_queries, queries, sla_queries


def digest_effect(channel: str, day: dt.date) -> dict:
    return {"digest": {"channel": channel, "day": day.isoformat()}}


def notices_effect(notice_ids: list[int], at: dt.datetime, audit: list[dict]) -> dict:
    return {"notices": list(notice_ids), "at": at.isoformat(), "audit": audit}


def record(session: Session, effect: dict, channel: str, ts: str) -> None:
    digest = effect.get("digest")
    if digest:
        queries.record_digest_ts(session, digest["channel"], dt.date.fromisoformat(digest["day"]), ts)
        metrics.MORNING_LISTS.inc()
    report = effect.get("report")
    if report:
        insight_queries.record_report_ts(session, report["team"], report["kind"], report["period"], ts)
    if effect.get("notices"):
        at = dt.datetime.fromisoformat(effect["at"])
        notice_queries.record_notices_posted(session, effect["notices"], channel, ts, at)
        for item in effect.get("audit", []):
            sla_queries.add_audit(session, item["complaint"], None, "notified", at, level=item["level"],
                                  clock=item["clock"], kind=item["kind"], round=item["round"], channel=channel,
                                  ts=ts)
            metrics.ESCALATIONS.labels(item["level"]).inc()
