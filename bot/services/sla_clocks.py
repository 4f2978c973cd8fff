"""SLA clocks of stored complaints: the team's rules file, each clock's state and due time, the sweep's
attention moment, and the row every surface shows (one `ClockView` per clock: time left or over in the
clock's own time, with the calendar time beside it for a working-time clock — issue 10 §4).

Split out of bot/services/complaints.py (which re-exports these names); targets come from the team's
SLA rules (bot/care/sla_rules.py, care-domain §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.care.escalation import ComplaintSla as SlaSnapshot
from bot.care.escalation import SentStep
from bot.care.sla import ClockState, clock_state
from bot.care.sla_rules import CLOCKS, RulesError, SlaRules, Target, load_sla_rules
from bot.services.core import Services
from storage import queries, sla_queries
from storage.models import Complaint
from storage.sla_models import ComplaintSla

# --- rules and clocks -----------------------------------------------------------------------------


def check_sla_rules(text: str) -> SlaRules:
    """The rules a team file makes; RulesError names each bad key and its line."""
    if not text.strip():
        raise RulesError("the rules file is empty")
    return load_sla_rules(text)


def set_sla_rules(svc: Services, text: str, set_by: str | None, team_id: str | None = None) -> SlaRules:
    """Validate and store the team's SLA rules, then move the open complaints' clocks to them."""
    rules = check_sla_rules(text)
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        row = sla_queries.ensure_team_escalation(session, team.id)
        row.sla_rules, row.sla_rules_set_by, row.sla_rules_set_at = text, set_by, now
        session.flush()
        for complaint in sla_queries.unresolved_complaints(session, team.id):
            sla = sla_queries.sla_of(session, complaint.id)
            if sla is not None:
                refresh_clocks(session, complaint, sla, rules, now)
    return rules


def team_sla_rules_text(svc: Services, team_id: str | None = None) -> str | None:
    with svc.db.unit_of_work() as session:
        row = sla_queries.team_escalation(session, team_id or svc.default_team)
        return row.sla_rules if row is not None else None


def _tier(tier: str | None) -> str:
    return tier if tier in ("high_value", "potential", "ordinary") else "ordinary"


def _pauses(rows) -> tuple[tuple[dt.datetime, dt.datetime | None], ...]:
    return tuple((p.paused_at, p.resumed_at) for p in rows)


def _stops(complaint: Complaint) -> dict[str, dt.datetime | None]:
    """When each clock stopped: the first response, the resolution — or, for both still running then, the moment
    the complaint was withdrawn (its customer erased): a withdrawn complaint's clocks do not run on."""
    withdrawn = complaint.withdrawn_at
    return {"first_response": complaint.first_response_at or withdrawn,
            "resolution": complaint.resolved_at or withdrawn}


def clocks_of(complaint: Complaint, tier: str, pauses, rules: SlaRules, now: dt.datetime
              ) -> dict[str, ClockState | None]:
    calendar = rules.work_calendar()
    stops = _stops(complaint)
    clocks: dict[str, ClockState | None] = {}
    for clock in CLOCKS:
        target = rules.target_for(complaint.kind, complaint.severity, _tier(tier), clock)
        if target is None:
            clocks[clock] = None
            continue
        stopped = stops[clock]
        if stopped is not None and stopped < complaint.opened_at:
            stopped = complaint.opened_at
        clocks[clock] = clock_state(complaint.opened_at, target, pauses, stopped, calendar, now)
    return clocks


def clocks_of_stored(session: Session, complaint: Complaint, rules: SlaRules, now: dt.datetime
                     ) -> dict[str, ClockState | None]:
    """`clocks_of` for a stored complaint: its tier and pauses read from the store."""
    sla = sla_queries.sla_of(session, complaint.id)
    tier = sla.tier if sla is not None else _tier(complaint.customer.tier)
    return clocks_of(complaint, tier, _pauses(sla_queries.pauses_of(session, complaint.id)), rules, now)


def _attention_at(complaint: Complaint, tier: str, pauses, rules: SlaRules, now: dt.datetime,
                  announce: bool) -> dt.datetime | None:
    """The earliest moment the sweep must look: the owner's warning point of each running clock."""
    if complaint.status != "open":
        return None
    if announce:
        return complaint.opened_at
    owner = rules.escalation.level("owner")
    fraction = owner.warn_at if owner is not None and owner.warn_at else 1.0
    calendar = rules.work_calendar()
    moments = []
    for clock, state in clocks_of(complaint, tier, pauses, rules, now).items():
        if state is None or state.stopped:
            continue
        target = rules.target_for(complaint.kind, complaint.severity, _tier(tier), clock)
        assert target is not None
        minutes = max(1, int(target.duration.total_seconds() / 60 * fraction))
        early = Target(duration=dt.timedelta(minutes=minutes), business_hours=target.business_hours)
        moments.append(clock_state(complaint.opened_at, early, pauses, None, calendar, now).due_at)
    return min(moments) if moments else None


def refresh_clocks(session: Session, complaint: Complaint, sla: ComplaintSla, rules: SlaRules,
                   now: dt.datetime) -> None:
    """Store the due times and the sweep's attention moment after anything that moves the clocks."""
    pauses = _pauses(sla_queries.pauses_of(session, complaint.id))
    clocks = clocks_of(complaint, sla.tier, pauses, rules, now)
    fr, res = clocks["first_response"], clocks["resolution"]
    complaint.first_response_due_at = fr.due_at if fr is not None else None
    complaint.resolution_due_at = res.due_at if res is not None else None
    announce = sla.announce and not sla_queries.was_announced(session, complaint.id)
    sla.attention_at = _attention_at(complaint, sla.tier, pauses, rules, now, announce)


def snapshot(session: Session, complaint: Complaint, sla: ComplaintSla, rules: SlaRules,
             now: dt.datetime) -> SlaSnapshot:
    """What the pure escalation chain needs to know about one complaint, from the store."""
    return snapshot_of(complaint, sla, rules, now, _pauses(sla_queries.pauses_of(session, complaint.id)),
                       sla_queries.latest_steps(session, complaint.id))


def snapshot_of(complaint: Complaint, sla: ComplaintSla, rules: SlaRules, now: dt.datetime, pauses,
                steps: list[tuple[str, str, int, dt.datetime]]) -> SlaSnapshot:
    """`snapshot` from rows already read: the complaint's pauses and its latest steps (clock, level, round,
    claimed at)."""
    sent = [SentStep(clock, level, round, claimed_at) for clock, level, round, claimed_at in steps if clock in CLOCKS]
    return SlaSnapshot(complaint_id=complaint.id, owner=complaint.owner_id,
                       clocks=clocks_of(complaint, sla.tier, pauses, rules, now),
                       acknowledged_at=sla.acknowledged_at, acknowledged_by=sla.acknowledged_by,
                       snoozed_until=sla.snoozed_until, sent=tuple(sent),
                       resolved=complaint.status == "resolved",
                       urgent=rules.escalation.is_urgent(complaint.severity, sla.tier))


# --- lists ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockView:
    clock: str
    due_at: dt.datetime
    left: dt.timedelta  # in the clock's own time (working time for a business-hours clock); negative: over
    breached: bool
    paused: bool
    stopped: bool
    business_hours: bool = False
    calendar_left: dt.timedelta | None = None  # due_at minus now (or the stop): the same in calendar time

    @property
    def over(self) -> dt.timedelta:
        """How late, in the clock's own time (zero when not over)."""
        return max(-self.left, dt.timedelta(0))

    @property
    def calendar_over(self) -> dt.timedelta:
        """How late by the calendar (shown beside a working-time lateness)."""
        left = self.calendar_left if self.calendar_left is not None else self.left
        return max(-left, dt.timedelta(0))


@dataclass(frozen=True)
class ComplaintRow:
    id: int
    kind: str
    category: str
    severity: str
    status: str
    customer_id: int
    customer_code: str
    customer_name: str
    customer_phone: str | None
    owner_id: str | None
    opened_at: dt.datetime
    description: str
    first_response_at: dt.datetime | None
    source_link: str | None
    clocks: list[ClockView] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        return self.status == "waiting"

    @property
    def running(self) -> ClockView | None:
        """The clock that matters now: the first one not stopped."""
        return next((c for c in self.clocks if not c.stopped), None)


def complaint_row(session: Session, complaint: Complaint, sla: ComplaintSla | None, rules: SlaRules,
                  now: dt.datetime, pauses=None) -> ComplaintRow:
    """The row every surface shows; `pauses` when they are read already (else from the store)."""
    tier = sla.tier if sla is not None else _tier(complaint.customer.tier)
    if pauses is None:
        pauses = _pauses(sla_queries.pauses_of(session, complaint.id))
    views = []
    stops = _stops(complaint)
    for clock, state in clocks_of(complaint, tier, pauses, rules, now).items():
        if state is None:
            continue
        # clock time: working time for a business-hours clock, so "2 h left" means two working hours
        end = min(stops[clock], now) if state.stopped and stops[clock] is not None else now
        views.append(ClockView(clock, state.due_at, state.remaining, state.breached, state.paused, state.stopped,
                               state.business_hours, state.due_at - end))
    customer = complaint.customer
    return ComplaintRow(complaint.id, complaint.kind, complaint.category, complaint.severity, complaint.status,
                        customer.id, customer.code, customer.name, customer.phone, complaint.owner_id,
                        complaint.opened_at, complaint.description, complaint.first_response_at,
                        complaint.source_link, views)
