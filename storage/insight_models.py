"""Tables of insight (issue 13): the report claims, the team's metric thresholds, and the indexes the
period queries read. Datetimes are UTC-aware, as in storage.models.

- `report_post`: the weekly or monthly report, claimed BEFORE it is posted; UNIQUE (team, kind, period label)
  so it goes out once per team per period across restarts and replicas. A failed post deletes the claim.
- `team_insight`: per team, the thresholds of the metrics (`carebot report settings`), defaults in
  bot.care.metrics.MetricSettings.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Callback, CallLog, Complaint


class ReportPost(Base):
    __tablename__ = "report_post"
    __table_args__ = (UniqueConstraint("team_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"))
    kind: Mapped[str] = mapped_column(String(8))  # week | month
    period: Mapped[str] = mapped_column(String(16))  # 2026-W48 | 2026-11
    channel: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime]
    message_ts: Mapped[str | None] = mapped_column(String(32))


class TeamInsight(Base):
    __tablename__ = "team_insight"

    team_id: Mapped[str] = mapped_column(ForeignKey("team.id"), primary_key=True)
    nps_min_answers: Mapped[int] = mapped_column(Integer)
    reopen_days: Mapped[int] = mapped_column(Integer)
    repeat_days: Mapped[int] = mapped_column(Integer)
    # 0019: NULL until the team sets one (then the default is the code's, MetricSettings)
    csat_satisfied_min: Mapped[int | None] = mapped_column(Integer)
    nps_promoter_min: Mapped[int | None] = mapped_column(Integer)
    nps_detractor_max: Mapped[int | None] = mapped_column(Integer)


# the period queries: a team's calls, callbacks and complaints by time
Index("ix_call_log_team_called", CallLog.team_id, CallLog.called_at)
# the last reaching call of every customer before a moment (churn risk), read from this index alone (0013)
Index("ix_call_log_team_called_reach", CallLog.team_id, CallLog.called_at, CallLog.customer_id, CallLog.outcome)
Index("ix_callback_team_due", Callback.team_id, Callback.due_at)
Index("ix_complaint_team_opened", Complaint.team_id, Complaint.opened_at)
