"""Complaints (投诉 / 咨询 / 建议) on SLA clocks: open, first response, wait on the customer, resolve.

Targets come from the team's SLA rules (bot/care/sla_rules.py; for now the shipped defaults in the
team's timezone). Each complaint has a `complaint_sla` row whose `attention_at` is the earliest moment
the escalation sweep must look at it (the owner's warning point of the earliest running clock).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.care.outcomes import Outcome, is_low_rating
from bot.care.sla_rules import KINDS, SEVERITIES
from bot.services import scope
from bot.services.core import Services
from bot.services.errors import CareError, FormErrors
from bot.services.once import claim, remember, saving
from bot.services.people import Actor
from bot.services.plan_book import value_tier
from bot.services.planning import on_complaint_resolved
from bot.services.sla_clocks import (  # noqa: F401 - re-exported: callers import them from here
    ClockView,
    ComplaintRow,
    _pauses,
    _tier,
    check_sla_rules,
    clocks_of,
    complaint_row,
    refresh_clocks,
    set_sla_rules,
    snapshot,
    team_sla_rules_text,
)
from storage import queries, sla_queries
from storage.models import Complaint, Customer, Team
from storage.sla_models import ComplaintPause, ComplaintSla

log = logging.getLogger(__name__)

CATEGORIES = ("quality", "service", "logistics", "price", "other")
MAX_DESCRIPTION = 3000


# --- opening --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintForm:
    customer_id: int | None
    kind: str | None = "complaint"
    category: str | None = "other"
    severity: str | None = "normal"
    description: str = ""
    source_link: str | None = None


def check_form(form: ComplaintForm) -> dict[str, tuple[str, dict]]:
    errors: dict[str, tuple[str, dict]] = {}
    if form.customer_id is None:
        errors["customer"] = ("complaint.errors.customer_missing", {})
    if form.kind not in KINDS:
        errors["kind"] = ("complaint.errors.kind_missing", {})
    if form.category not in CATEGORIES:
        errors["category"] = ("complaint.errors.category_missing", {})
    if form.severity not in SEVERITIES:
        errors["severity"] = ("complaint.errors.severity_missing", {})
    if not form.description.strip():
        errors["description"] = ("complaint.errors.description_missing", {})
    elif len(form.description) > MAX_DESCRIPTION:
        errors["description"] = ("complaint.errors.too_long", {"max": MAX_DESCRIPTION})
    return errors


@dataclass(frozen=True)
class OpenedComplaint:
    id: int
    kind: str
    customer_name: str
    customer_code: str
    owner_id: str | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    timezone: str


def open_complaint(svc: Services, actor: Actor, form: ComplaintForm, once: str | None = None,
                   then: Callable[[Session, OpenedComplaint], None] | None = None) -> OpenedComplaint:
    """A complaint from Slack (modal or message shortcut), owned by the customer's owner or the caller.
    `once`: the delivery's key (view id + hash); a repeat raises AlreadyDone with the first one's id.
    `then(session, opened)` runs in the same unit of work (the confirmation the outbox delivers)."""
    errors = check_form(form)
    now = svc.clock.now()
    with saving(svc.db, once) as session:  # its twins (retries, double clicks) wait for it, never for the lock
        team = queries.ensure_team(session, actor.team_id)
        customer = scope.customer_to_act_on(session, actor, form.customer_id) if form.customer_id else None
        if form.customer_id is not None and customer is None:  # a forged id of an erased person too
            errors["customer"] = ("form.errors.customer_unknown", {})
        if errors:
            raise FormErrors(errors)
        assert customer is not None
        try:
            scope.require_customer(actor, customer)
        except CareError as refused:
            raise FormErrors({"customer": (refused.key, refused.params)}) from None
        claimed = claim(session, "complaint", actor.user_id, now, once)
        complaint = create_complaint(
            session, svc, team, customer, kind=form.kind or "complaint", category=form.category or "other",
            severity=form.severity or "normal", description=form.description.strip(), opened_at=now,
            owner_id=customer.owner_id or actor.user_id, actor_id=actor.user_id, now=now,
            source="message" if form.source_link else "slack", source_link=form.source_link)
        remember(session, claimed, {"complaint_id": complaint.id})
        opened = OpenedComplaint(complaint.id, complaint.kind, customer.name, customer.code, complaint.owner_id,
                                 complaint.first_response_due_at, complaint.resolution_due_at, team.timezone)
        if then is not None:
            then(session, opened)
        return opened


def create_complaint(session: Session, svc: Services, team: Team, customer: Customer, *, kind: str, category: str,
                     severity: str, description: str, opened_at: dt.datetime, owner_id: str | None,
                     actor_id: str | None, now: dt.datetime, first_response_at: dt.datetime | None = None,
                     source: str = "slack", source_link: str | None = None, announce: bool = False,
                     call_id: int | None = None) -> Complaint:
    """Insert a complaint with its SLA row and due times (also used by the import and by low ratings). The SLA row
    keeps the customer's value tier as the care plan sees it (plan_book.value_tier), for its targets and urgency."""
    rules = svc.sla_rules_for(team)
    complaint = Complaint(team_id=team.id, customer_id=customer.id, owner_id=owner_id, kind=kind, category=category,
                          severity=severity, description=description, status="open", opened_at=opened_at,
                          first_response_at=first_response_at, resolution="", source_link=source_link)
    session.add(complaint)
    session.flush()
    sla = ComplaintSla(complaint_id=complaint.id, tier=value_tier(customer, svc.care_rules_for(team)),
                       announce=announce, source=source,
                       call_id=call_id)
    session.add(sla)
    session.flush()
    refresh_clocks(session, complaint, sla, rules, now)
    sla_queries.add_audit(session, complaint.id, actor_id, "opened", now, source=source, kind=kind,
                          severity=severity)
    return complaint


def open_low_rating_follow_up(svc: Services, session: Session, team_id: str, customer: Customer, call_id: int,
                              outcome: Outcome, rating: int | None, feedback: str, actor_id: str) -> int | None:
    """A reached customer's rating at or below the team's low-rating line (`outcomes.low_rating_max`, default 2;
    care-domain §4, bot.care.outcomes.is_low_rating) is a problem: a follow-up complaint that supervisors hear
    about at the next sweep. Its id, or None."""
    team = queries.ensure_team(session, team_id)
    if not is_low_rating(outcome, rating, svc.outcome_rules_for(team)):
        return None
    now = svc.clock.now()
    complaint = create_complaint(
        session, svc, team, customer, kind="complaint", category="service", severity="high",
        description=feedback.strip() or f"rating {rating}/5", opened_at=now,
        owner_id=customer.owner_id or actor_id, actor_id=actor_id, now=now, source="low_rating", announce=True,
        call_id=call_id)
    return complaint.id


# --- changing one complaint -----------------------------------------------------------------------


def _load(session: Session, actor: Actor, complaint_id: int, *, lock: bool = False
          ) -> tuple[Team, Complaint, ComplaintSla]:
    """The actor's team, the complaint and its SLA row (given one if it was written before SLA clocks), else
    CareError `complaint.errors.gone`. `lock`: the complaint's row is locked for the unit of work (an action:
    call it in `unit_of_work(write=True)`, SQLite's writer), so concurrent actions on it take turns."""
    team = queries.ensure_team(session, actor.team_id)
    find = sla_queries.lock_complaint if lock else sla_queries.complaint_of_team
    complaint = find(session, team.id, complaint_id)
    if complaint is None:
        raise CareError("complaint.errors.gone", id=complaint_id)
    return team, complaint, sla_queries.ensure_sla(session, complaint.id, _tier(complaint.customer.tier))


def _may_work_on(actor: Actor, complaint: Complaint) -> None:
    scope.require_complaint(actor, complaint)


def require_open(complaint: Complaint) -> None:
    """CareError when the complaint is closed, the answer to any action on it: withdrawn when its customer was
    erased (closed with `withdrawn_at`, never resolved: bot/services/privacy.py), else already resolved."""
    if complaint.status != "resolved":
        return
    if complaint.withdrawn_at is not None:
        raise CareError("complaint.errors.withdrawn", id=complaint.id)
    raise CareError("complaint.errors.already_resolved", id=complaint.id)


def record_first_response(svc: Services, actor: Actor, complaint_id: int, once: str | None = None) -> None:
    """Stop the first-response clock (once per complaint; `once`: the click's key, for replays)."""
    now = svc.clock.now()
    with svc.db.unit_of_work(write=True) as session:
        team, complaint, sla = _load(session, actor, complaint_id, lock=True)
        _may_work_on(actor, complaint)
        require_open(complaint)
        if complaint.first_response_at is None:
            claim(session, "first_response", actor.user_id, now, f"complaint:{complaint.id}:first_response", once)
            complaint.first_response_at = now
            sla_queries.add_audit(session, complaint.id, actor.user_id, "first_response", now)
        refresh_clocks(session, complaint, sla, svc.sla_rules_for(team), now)


def wait_on_customer(svc: Services, actor: Actor, complaint_id: int, once: str | None = None) -> None:
    """Pause the clocks until the customer replies (one open pause at most: the n-th pause is claimed)."""
    now = svc.clock.now()
    with svc.db.unit_of_work(write=True) as session:
        team, complaint, sla = _load(session, actor, complaint_id, lock=True)
        _may_work_on(actor, complaint)
        require_open(complaint)
        # count first, then look for an open pause: a pause committed in between is then seen by the second read
        # (no-op), and a stale count only repeats the other click's key (AlreadyDone) -- never a second pause
        nth = len(sla_queries.pauses_of(session, complaint.id)) + 1
        if sla_queries.open_pause_of(session, complaint.id) is None:
            claim(session, "waiting", actor.user_id, now, f"complaint:{complaint.id}:pause:{nth}", once)
            session.add(ComplaintPause(complaint_id=complaint.id, paused_at=now, paused_by=actor.user_id))
            session.flush()
            sla_queries.add_audit(session, complaint.id, actor.user_id, "waiting", now)
        complaint.status = "waiting"
        refresh_clocks(session, complaint, sla, svc.sla_rules_for(team), now)


def customer_replied(svc: Services, actor: Actor, complaint_id: int, once: str | None = None) -> None:
    """Resume the clocks: the due times move by the time spent waiting (each pause ends once)."""
    now = svc.clock.now()
    with svc.db.unit_of_work(write=True) as session:
        team, complaint, sla = _load(session, actor, complaint_id, lock=True)
        _may_work_on(actor, complaint)
        pause = sla_queries.open_pause_of(session, complaint.id)
        if pause is not None:
            claim(session, "resumed", actor.user_id, now, f"complaint:{complaint.id}:resume:{pause.id}", once)
            pause.resumed_at, pause.resumed_by = now, actor.user_id
            session.flush()
            sla_queries.add_audit(session, complaint.id, actor.user_id, "resumed", now)
        if complaint.status == "waiting":
            complaint.status = "open"
        refresh_clocks(session, complaint, sla, svc.sla_rules_for(team), now)


def resolve_complaint(svc: Services, actor: Actor, complaint_id: int, resolution: str,
                      *, supervisors_only: bool = False, once: str | None = None,
                      then: Callable[[Session, Complaint], None] | None = None) -> list[int]:
    """Close the complaint with its resolution and start the care plan's post-complaint callbacks.
    `then(session, complaint)` runs in the resolution's unit of work (what the outbox must deliver for it).

    Returns the ids of the callbacks created."""
    resolution = resolution.strip()
    if not resolution:
        raise FormErrors({"resolution": ("complaint.errors.resolution_missing", {})})
    if len(resolution) > MAX_DESCRIPTION:
        raise FormErrors({"resolution": ("complaint.errors.too_long", {"max": MAX_DESCRIPTION})})
    now = svc.clock.now()
    with saving(svc.db, once) as session:
        team, complaint, sla = _load(session, actor, complaint_id, lock=True)
        if not supervisors_only:
            _may_work_on(actor, complaint)
        claim(session, "resolved", actor.user_id, now, once)  # the same modal again: answered like the first
        require_open(complaint)
        claim(session, "resolved", actor.user_id, now, f"complaint:{complaint.id}:resolved")
        pause = sla_queries.open_pause_of(session, complaint.id)
        if pause is not None:
            pause.resumed_at, pause.resumed_by = now, actor.user_id
        complaint.status, complaint.resolved_at, complaint.resolution = "resolved", now, resolution
        if complaint.first_response_at is None:
            complaint.first_response_at = now
        sla.attention_at = None
        sla_queries.add_audit(session, complaint.id, actor.user_id, "resolved", now, note=resolution)
        if then is not None:
            then(session, complaint)
    try:
        return on_complaint_resolved(svc, complaint_id)
    except Exception:  # the resolution stands; the nightly care-plan run plans the follow-up instead
        log.exception("planning the follow-up of complaint %s failed; the nightly run catches up", complaint_id)
        return []


# --- lists ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintList:
    rows: list[ComplaintRow]
    now: dt.datetime
    timezone: str
    whole_team: bool


def list_complaints(svc: Services, actor: Actor) -> ComplaintList:
    """The caller's unresolved complaints (supervisors: the team's), the most urgent clock first."""
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, actor.team_id)
        rules = svc.sla_rules_for(team)
        found = sla_queries.unresolved_complaints(session, team.id, None if actor.is_supervisor else actor.user_id)
        rows = [complaint_row(session, c, sla_queries.sla_of(session, c.id), rules, now) for c in found]
    far = dt.timedelta(days=3650)
    rows.sort(key=lambda r: (r.waiting, r.running.left if r.running else far, r.id))
    return ComplaintList(rows=rows, now=now, timezone=team.timezone, whole_team=actor.is_supervisor)


def complaint_for(svc: Services, actor: Actor, complaint_id: int, *, checked: bool = False,
                  open_only: bool = False) -> ComplaintRow:
    """One complaint with its clocks, for someone who may act on it (bot/care/access.py), else Forbidden.
    `checked`: the caller already allowed the actor by another rule (supervisors' group on an escalation).
    `open_only`: a closed complaint is a CareError (`require_open`: withdrawn, or already resolved), as for the
    Resolve form."""
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team, complaint, sla = _load(session, actor, complaint_id)
        if not checked:
            _may_work_on(actor, complaint)
        if open_only:
            require_open(complaint)
        return complaint_row(session, complaint, sla, svc.sla_rules_for(team), now)
