"""The escalation sweep and the supervisors' actions on an escalation post.

Exactly once per step, across restarts and replicas: every notification is first CLAIMED by inserting
its `escalation_notice` row (UNIQUE step_key) and committing; only the replica whose insert succeeded
posts it. When posting fails the claim is deleted so the next sweep retries; a claim never posted (the
process died in between) is given back after STALE_CLAIM.

Quiet time: in the team's quiet hours (and on its days off) every level that respects them holds
its notices about non-urgent complaints until the quiet time ends; urgent ones (the rules' `urgent`, by
severity or tier) break through. The owner's warning also waits for their Slack do-not-disturb.

Routing: the owner's warning goes to the owner by DM; supervisors' breaches go to
`team.supervisor_channel` (else the digest channel) mentioning `team.supervisor_group`; the manager
level goes to the team's manager channel or the manager by DM (`carebot escalation manager`), else to
the supervisors' channel. Several notices for one channel in one sweep become one post.

Who may act (acknowledge, reassign, resolve, snooze): staff registered as supervisor or admin, and
members of the team's supervisor user group (usergroups.users.list).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from bot.care.escalation import Notification, due_notifications, group_by_channel, snooze_until
from bot.services import outbox
from bot.services.complaints import (
    ComplaintRow,
    complaint_row,
    refresh_clocks,
    resolve_complaint,
    snapshot,
)
from bot.services.core import Services
from bot.services.errors import CareError, Forbidden
from bot.services.once import claim, make_key
from bot.services.outbox_effects import notices_effect
from bot.services.people import Actor, SlackProfile, locale_of
from messages.render import pick_locale
from storage import queries, sla_queries
from storage.models import Complaint, Customer, Team

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=10)
MAX_ITEMS_PER_POST = 15  # complaints per post, 3 blocks each: well inside Slack's 50 blocks per message
ACTIONS = ("acknowledged", "reassigned", "snoozed", "resolved")
Where = tuple[str | None, str | None]  # an escalation post: (channel, ts)


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
class NoticeItem:
    notice_id: int
    clock: str  # first_response | resolution | opened (a low-rated call, announced at once)
    level: str  # owner | supervisors | manager
    kind: str  # warning | breach | retrigger | alert
    round: int
    complaint: ComplaintRow
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


# --- the sweep --------------------------------------------------------------------------------------


def _routing(team: Team, manager_user: str | None, manager_channel: str | None
             ) -> Callable[[Notification, Complaint], str | None]:
    supervisors = team.supervisor_channel or team.digest_channel

    def route(notification: Notification, complaint: Complaint) -> str | None:
        if notification.level == "owner":
            return complaint.owner_id or supervisors
        if notification.level == "manager":
            return manager_channel or manager_user or supervisors
        return supervisors

    return route


def sweep(svc: Services, now: dt.datetime | None = None, *,
          is_dnd: Callable[[str], bool] = lambda user_id: False,
          profile_of: Callable[[str], SlackProfile | None] = lambda user_id: None) -> list[ChannelPost]:
    """Find what is due, CLAIM it, and return it grouped one post per channel (nothing is posted here).

    `is_dnd(user_id)`: the person's Slack do-not-disturb is on (dnd.info); asked only for owners who
    have a warning due. `profile_of(user_id)`: their Slack profile (users.info): a DM speaks the
    person's language, a channel post the team's."""
    now = now or svc.clock.now()
    with svc.db.unit_of_work() as session:
        released = sla_queries.release_stale_claims(session, now - STALE_CLAIM)
        if released:
            log.warning("gave back %d escalation claim(s) that were never posted", released)
    dnd_cache: dict[str, bool] = {}

    def owner_in_dnd(user_id: str) -> bool:
        if user_id not in dnd_cache:
            try:
                dnd_cache[user_id] = bool(is_dnd(user_id))
            except Exception:  # noqa: BLE001 - unknown DND: do not hold the warning back
                log.warning("could not read do-not-disturb of %s", user_id, exc_info=True)
                dnd_cache[user_id] = False
        return dnd_cache[user_id]

    claimed: list[Notification] = []
    quiet_of: dict[str, bool] = {}  # team -> its quiet time now
    channel_of: dict[str, str] = {}
    items: dict[str, tuple[Team, NoticeItem]] = {}
    with svc.db.unit_of_work() as session:
        teams: dict[str, tuple[Team, object, Callable]] = {}
        for complaint in sla_queries.complaints_needing_attention(session, now):
            if complaint.team_id not in teams:
                team = queries.ensure_team(session, complaint.team_id)
                manager = sla_queries.team_escalation(session, team.id)
                teams[team.id] = (team, svc.sla_rules_for(team), _routing(
                    team, manager.manager_user_id if manager else None, manager.manager_channel if manager else None))
            team, rules, route = teams[complaint.team_id]
            sla = sla_queries.sla_of(session, complaint.id)
            assert sla is not None
            facts = snapshot(session, complaint, sla, rules, now)
            quiet = quiet_of.setdefault(team.id, rules.calendar.in_quiet_hours(now))
            due = due_notifications(facts, rules, now, quiet=quiet)
            if any(n.level == "owner" for n in due) and complaint.owner_id is not None \
                    and owner_in_dnd(complaint.owner_id):
                due = due_notifications(facts, rules, now, quiet=quiet, owner_dnd=True)
            supervisors = rules.escalation.level("supervisors")
            held = quiet and not facts.urgent and (supervisors is None or supervisors.respects_quiet_hours)
            if sla.announce and not held and not sla_queries.was_announced(session, complaint.id):
                due.insert(0, Notification(str(complaint.id), "opened", "supervisors", "alert",
                                           f"sla:{complaint.id}:opened:supervisors"))
            for notification in due:
                channel = route(notification, complaint)
                if channel is None:
                    log.warning("no channel for the %s of complaint %s: set supervisor_channel",
                                notification.level, complaint.id)
                    continue
                notice_id = sla_queries.claim_notice(
                    session, complaint_id=complaint.id, step_key=notification.step_key, clock=notification.clock,
                    level=notification.level, kind=notification.kind, round=notification.round, now=now)
                if notice_id is None:
                    continue  # another sweep (a restart, a replica) has it
                channel_of[notification.step_key] = channel
                items[notification.step_key] = (team, NoticeItem(
                    notice_id, notification.clock, notification.level, notification.kind, notification.round,
                    complaint_row(session, complaint, sla, rules, now)))
                claimed.append(notification)
            if sla.announce:
                refresh_clocks(session, complaint, sla, rules, now)
        managers = {team_id: sla_queries.team_escalation(session, team_id) for team_id in teams}
    posts: list[ChannelPost] = []
    for channel, group in group_by_channel(claimed, lambda n: channel_of[n.step_key]).items():
        team, _ = items[group[0].step_key]
        manager = managers.get(team.id)
        locale = locale_of(svc, channel, team.locale, profile_of) if _is_person(channel) else team.locale
        post = ChannelPost(team.id, channel, locale, team.timezone, now, group_id=team.supervisor_group,
                           manager_id=manager.manager_user_id if manager else None,
                           snooze_minutes=_snooze_minutes(teams[team.id][1]))
        post.items = [items[n.step_key][1] for n in group]
        posts.append(post)
    out: list[ChannelPost] = []
    for post in posts:  # long lists: several posts rather than a refused one, a complaint never split
        groups = post.complaints
        for start in range(0, len(groups), MAX_ITEMS_PER_POST):
            chunk = [item for group in groups[start:start + MAX_ITEMS_PER_POST] for item in group]
            out.append(ChannelPost(post.team_id, post.channel, post.locale, post.timezone, post.now,
                                   chunk, post.group_id, post.manager_id, post.snooze_minutes))
    return out


def _is_person(channel: str) -> bool:
    return channel.startswith(("U", "W"))


def _snooze_minutes(rules) -> int:
    return int(rules.escalation.snooze.total_seconds() // 60)


def deliver(svc: Services, posts: list[ChannelPost], render: Callable[[ChannelPost], dict]) -> SweepRun:
    """Put each claimed group in the outbox (`render` gives the chat.postMessage arguments), and mark its
    notices as queued in the same unit of work so no stale-claim cleanup gives them back; the outbox
    delivers it, then records the notices' ts and the audit (bot/services/outbox_effects.py)."""
    run = SweepRun()
    for post in posts:
        payload = render(post)
        audit = [{"complaint": item.complaint.id, "level": item.level, "clock": item.clock, "kind": item.kind,
                  "round": item.round} for item in post.items]
        with svc.db.unit_of_work() as session:
            sla_queries.mark_notices_queued(session, post.notice_ids, post.channel)
            message_id = outbox.enqueue(
                session, key="escalation:" + ",".join(str(i) for i in sorted(post.notice_ids)), team_id=post.team_id,
                kind="escalation", channel=post.channel, payload=payload,
                effect=notices_effect(post.notice_ids, post.now, audit))
        run.queued.append((post.channel, message_id, len(post.items)))
    return run


def run_sweep(svc: Services, render: Callable[[ChannelPost], dict], now: dt.datetime | None = None,
              *, is_dnd: Callable[[str], bool] = lambda user_id: False,
              profile_of: Callable[[str], SlackProfile | None] = lambda user_id: None) -> SweepRun:
    return deliver(svc, sweep(svc, now, is_dnd=is_dnd, profile_of=profile_of), render)


# --- one escalation post, as it is now ---------------------------------------------------------------


def post_for_message(svc: Services, channel: str, ts: str) -> ChannelPost | None:
    """The escalation post at (channel, ts) with each complaint's current state, to update it in place."""
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        notices = sla_queries.notices_in_post(session, channel, ts)
        if not notices:
            return None
        post: ChannelPost | None = None
        for notice in notices:
            complaint = session.get(Complaint, notice.complaint_id)
            assert complaint is not None
            team = queries.ensure_team(session, complaint.team_id)
            complaint = sla_queries.complaint_of_team(session, team.id, complaint.id)  # with its customer
            assert complaint is not None
            if post is None:
                manager = sla_queries.team_escalation(session, team.id)
                locale = team.locale
                if channel.startswith("D"):  # a DM: the person it went to reads it in their language
                    person = manager.manager_user_id if notice.level == "manager" and manager else complaint.owner_id
                    staff = queries.staff_by_user(session, person) if person else None
                    locale = pick_locale(staff.locale if staff else None, team.locale)
                post = ChannelPost(team.id, channel, locale, team.timezone, notice.posted_at or now,
                                   group_id=team.supervisor_group,
                                   manager_id=manager.manager_user_id if manager else None,
                                   snooze_minutes=_snooze_minutes(svc.sla_rules_for(team)))
            last = sla_queries.last_action(session, complaint.id, ACTIONS)
            acted = Acted(last.action, last.actor_id, last.at, dict(last.detail or {})) \
                if last is not None and last.at >= notice.claimed_at else None
            row = complaint_row(session, complaint, sla_queries.sla_of(session, complaint.id),
                                svc.sla_rules_for(team), now)
            post.items.append(NoticeItem(notice.id, notice.clock, notice.level, notice.kind, notice.round, row, acted))
        return post


# --- what supervisors do on the post -------------------------------------------------------------------


def may_act(svc: Services, actor: Actor, group_members: Callable[[str], Collection[str]]) -> bool:
    """Supervisors and admins, and members of the team's supervisor user group."""
    if actor.is_supervisor:
        return True
    with svc.db.unit_of_work() as session:
        group = queries.ensure_team(session, actor.team_id).supervisor_group
    if not group:
        return False
    try:
        return actor.user_id in set(group_members(group))
    except Exception:  # noqa: BLE001 - unknown membership: refuse
        log.warning("could not list the members of %s", group, exc_info=True)
        return False


def _require(svc: Services, actor: Actor, group_members: Callable[[str], Collection[str]]) -> None:
    if not may_act(svc, actor, group_members):
        raise Forbidden("escalation.errors.supervisors_only")


def _open_complaint(session, actor: Actor, complaint_id: int):
    from bot.services.complaints import _load

    team, complaint, sla = _load(session, actor, complaint_id)
    if complaint.status == "resolved":
        raise CareError("complaint.errors.already_resolved", id=complaint.id)
    return team, complaint, sla


def queue_post_update(session, team_id: str, post: Where, key: str) -> None:
    """In the unit of work of the change: the escalation post at `post` (channel, ts) is updated by the outbox,
    rendered from the complaints' state when delivered (handlers/outbox_kinds.py). `key`: the change's claim."""
    channel, ts = post
    if channel and ts:
        outbox.enqueue(session, key=make_key("update", key), team_id=team_id, kind="post_update", channel=channel,
                       payload={"ts": ts})


def _change_key(action: str, complaint_id: int, once: str | None, now: dt.datetime) -> str:
    return once or f"{action}:{complaint_id}:{now.isoformat()}"


def acknowledge(svc: Services, actor: Actor, complaint_id: int,
                group_members: Callable[[str], Collection[str]], once: str | None = None,
                post: Where = (None, None)) -> None:
    """Stop the chain; the acknowledged level is reminded after its re-trigger time while unresolved.
    `once`: the delivery's key (the post); a repeat raises AlreadyDone (bot/services/once.py). `post`: the
    escalation post clicked (channel, ts), updated through the outbox."""
    _require(svc, actor, group_members)
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team, complaint, sla = _open_complaint(session, actor, complaint_id)
        claim(session, "acknowledged", actor.user_id, now, once)
        sla.acknowledged_at, sla.acknowledged_by = now, actor.user_id
        sla_queries.add_audit(session, complaint.id, actor.user_id, "acknowledged", now)
        queue_post_update(session, team.id, post, _change_key("acknowledged", complaint.id, once, now))


def snooze(svc: Services, actor: Actor, complaint_id: int,
           group_members: Callable[[str], Collection[str]], once: str | None = None,
           post: Where = (None, None)) -> dt.datetime:
    """Nothing about this complaint for the snooze time of the rules (30 min by default). `once`, `post` as
    above."""
    _require(svc, actor, group_members)
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team, complaint, sla = _open_complaint(session, actor, complaint_id)
        claim(session, "snoozed", actor.user_id, now, once)
        until = snooze_until(now, svc.sla_rules_for(team))
        sla.snoozed_until, sla.snoozed_by = until, actor.user_id
        sla_queries.add_audit(session, complaint.id, actor.user_id, "snoozed", now, until=until.isoformat())
        queue_post_update(session, team.id, post, _change_key("snoozed", complaint.id, once, now))
        return until


def reassign(svc: Services, actor: Actor, complaint_id: int, new_owner: str,
             group_members: Callable[[str], Collection[str]], once: str | None = None,
             post: Where = (None, None), note: Callable[[Complaint, str], dict] | None = None) -> str | None:
    """Give the complaint to a colleague of the team; counts as an acknowledgement. Returns the old owner.
    `once`, `post` as above. `note(complaint, customer name)`: the chat.postMessage arguments of the DM that
    tells the new owner, queued in the outbox with the change."""
    _require(svc, actor, group_members)
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team, complaint, sla = _open_complaint(session, actor, complaint_id)
        claim(session, "reassigned", actor.user_id, now, once)
        staff = queries.staff_by_user(session, new_owner)
        if staff is None or staff.team_id != team.id:
            raise CareError("escalation.errors.not_staff", user=new_owner)
        old, complaint.owner_id = complaint.owner_id, new_owner
        sla.acknowledged_at, sla.acknowledged_by = now, actor.user_id
        sla_queries.add_audit(session, complaint.id, actor.user_id, "reassigned", now, **{"from": old, "to": new_owner})
        key = _change_key("reassigned", complaint.id, once, now)
        queue_post_update(session, team.id, post, key)
        if note is not None:
            name = session.get(Customer, complaint.customer_id).name
            outbox.enqueue(session, key=make_key("confirm", key), team_id=team.id, kind="confirmation",
                           channel=new_owner, payload=note(complaint, name))
        return old


def resolve(svc: Services, actor: Actor, complaint_id: int, resolution: str,
            group_members: Callable[[str], Collection[str]], once: str | None = None,
            post: Where = (None, None)) -> list[int]:
    """`once`, `post` as above."""
    _require(svc, actor, group_members)

    def then(session, complaint: Complaint) -> None:
        queue_post_update(session, complaint.team_id, post,
                          _change_key("resolved", complaint.id, once, svc.clock.now()))

    return resolve_complaint(svc, actor, complaint_id, resolution, supervisors_only=True, once=once, then=then)


def set_manager(svc: Services, team_id: str, user_id: str | None, channel: str | None) -> None:
    with svc.db.unit_of_work() as session:
        queries.ensure_team(session, team_id)
        row = sla_queries.ensure_team_escalation(session, team_id)
        row.manager_user_id, row.manager_channel = user_id, channel


def audit_trail(svc: Services, complaint_id: int) -> list[Acted]:
    with svc.db.unit_of_work() as session:
        return [Acted(a.action, a.actor_id, a.at, dict(a.detail or {}))
                for a in sla_queries.audit_of(session, complaint_id)]
