"""The escalation sweep's delivery and the supervisors' actions on an escalation post.

The sweep itself (what is due, claimed once, one post per channel) is bot/services/sla_sweep.py; what a post
holds is bot/services/escalation_posts.py. Both are re-exported here.

Who may act (acknowledge, reassign, resolve, snooze): staff registered as supervisor or admin, and
members of the team's supervisor user group (usergroups.users.list). Each action brings the complaint's
attention moment forward, so the next sweep works out what it changed (a re-raise, the end of a snooze).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from typing import Any

from bot.care.escalation import snooze_until
from bot.services import outbox
from bot.services.complaints import complaint_row, resolve_complaint
from bot.services.core import Services
from bot.services.errors import CareError, Forbidden
from bot.services.escalation_posts import (  # noqa: F401 - re-exported: callers import them from here
    MAX_ITEMS_PER_POST,
    Acted,
    ChannelPost,
    NoticeItem,
    SweepRun,
)
from bot.services.once import AlreadyDone, claim, make_key
from bot.services.people import Actor, SlackProfile
from bot.services.sla_sweep import STALE_CLAIM, post_spec, sweep  # noqa: F401 - re-exported
from messages.render import pick_locale
from storage import notice_queries, queries, sla_queries
from storage.models import Complaint, Customer

log = logging.getLogger(__name__)

ACTIONS = ("acknowledged", "reassigned", "snoozed", "resolved")
Where = tuple[str | None, str | None]  # an escalation post: (channel, ts)


def _snooze_minutes(rules) -> int:
    return int(rules.escalation.snooze.total_seconds() // 60)


# --- the sweep (bot/services/sla_sweep.py) ------------------------------------------------------------


def run_sweep(svc: Services, now: dt.datetime | None = None,
              *, is_dnd: Callable[[str], bool] = lambda user_id: False,
              profile_of: Callable[[str], SlackProfile | None] = lambda user_id: None) -> SweepRun:
    """What is due claimed and queued in the outbox, one post per channel (bot/services/sla_sweep.py `sweep`)."""
    return sweep(svc, now, is_dnd=is_dnd, profile_of=profile_of)


# --- one escalation post, as it is now ---------------------------------------------------------------


def post_for_message(svc: Services, channel: str, ts: str) -> ChannelPost | None:
    """The escalation post at (channel, ts) with each complaint's current state, to update it in place."""
    with svc.db.unit_of_work() as session:
        return _post_of(svc, session, notice_queries.notices_in_post(session, channel, ts), channel, svc.clock.now())


def post_of_notices(svc: Services, notice_ids: list[int], channel: str, locale: str,
                    team_id: str) -> ChannelPost | None:
    """The post the sweep queued (`post_spec`) for `team_id`, built as the outbox delivers it: each complaint's
    state now, in `locale`, only the complaints still unresolved (one resolved or erased meanwhile needs nobody
    now). None when nothing is left to page about, or the notices are not that team's."""
    with svc.db.unit_of_work() as session:
        notices = notice_queries.notices_by_ids(session, notice_ids)
        return _post_of(svc, session, notices, channel, svc.clock.now(), locale=locale, team_id=team_id,
                        open_only=True)


def _post_of(svc: Services, session, notices, channel: str, now: dt.datetime, locale: str | None = None,
             team_id: str | None = None, open_only: bool = False) -> ChannelPost | None:
    """The post of these notices (in order; the first one's team's, or `team_id`'s) as it is now: its complaints,
    their customers, clocks, pauses and last actions read in one query each, each complaint's row built once
    however many of its clocks the post names. A notice about another team's complaint is left out, and with
    `open_only` one about a resolved complaint."""
    if not notices:
        return None
    first = session.get(Complaint, notices[0].complaint_id)
    if first is None or (team_id is not None and first.team_id != team_id):
        return None
    team = queries.ensure_team(session, first.team_id)
    rules, manager = svc.sla_rules_for(team), sla_queries.team_escalation(session, team.id)
    ids = list(dict.fromkeys(notice.complaint_id for notice in notices))
    complaints, slas = sla_queries.complaints_of_team(session, team.id, ids), sla_queries.slas_of(session, ids)
    notices = [n for n in notices if n.complaint_id in complaints
               and not (open_only and complaints[n.complaint_id].status == "resolved")]
    if not notices:
        return None
    pauses, lasts = sla_queries.pauses_of_complaints(session, ids), sla_queries.last_actions(session, ids, ACTIONS)
    if locale is None:
        locale = team.locale
        if channel.startswith("D"):  # a DM: the person it went to reads it in their language
            person = manager.manager_user_id if notices[0].level == "manager" and manager else first.owner_id
            staff = queries.staff_by_user(session, person) if person else None
            locale = pick_locale(staff.locale if staff else None, team.locale)
    post = ChannelPost(team.id, channel, locale, team.timezone, notices[0].posted_at or now,
                       group_id=team.supervisor_group, manager_id=manager.manager_user_id if manager else None,
                       snooze_minutes=_snooze_minutes(rules))
    rows: dict[int, Any] = {}
    for notice in notices:
        cid = notice.complaint_id
        if cid not in rows:
            rows[cid] = complaint_row(session, complaints[cid], slas.get(cid), rules, now, tuple(pauses[cid]))
        last = lasts.get(cid)
        acted = Acted(last.action, last.actor_id, last.at, dict(last.detail or {})) \
            if last is not None and last.at >= notice.claimed_at else None
        post.items.append(NoticeItem(notice.id, notice.clock, notice.level, notice.kind, notice.round, rows[cid],
                                     acted))
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


class AlreadyActed(AlreadyDone):
    """What the click asks for is done already: this post's button was clicked before (a double click, a colleague
    first) or the complaint is already with the chosen owner. `acted`: who did it and when (None: nobody did, it
    simply is so); `to`: the owner it is with (a reassignment). No second effect: the person is told."""

    def __init__(self, key: str, complaint_id: int, action: str, acted: Acted | None, to: str | None = None):
        super().__init__(key, None)
        self.complaint_id, self.action, self.acted, self.to = complaint_id, action, acted, to


def _last(session, complaint_id: int, action: str) -> Acted | None:
    last = sla_queries.last_action(session, complaint_id, (action,))
    return Acted(last.action, last.actor_id, last.at, dict(last.detail or {})) if last is not None else None


def _claim(session, action: str, actor: Actor, now: dt.datetime, once: str | None, complaint_id: int) -> None:
    """Claim the click's key; when it was claimed before, AlreadyActed with the action that took it."""
    try:
        claim(session, action, actor.user_id, now, once)
    except AlreadyDone as done:
        raise AlreadyActed(done.key, complaint_id, action, _last(session, complaint_id, action)) from None


def _open_complaint(session, actor: Actor, complaint_id: int):
    """The unresolved complaint, its row locked for the action (in `unit_of_work(write=True)`): two clicks at
    once take turns, and the second sees what the first did."""
    from bot.services.complaints import _load, require_open

    team, complaint, sla = _load(session, actor, complaint_id, lock=True)
    require_open(complaint)
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
    `once`: the delivery's key (the post); a repeat raises AlreadyActed, saying who acknowledged and when. `post`:
    the escalation post clicked (channel, ts), updated through the outbox."""
    _require(svc, actor, group_members)
    now = svc.clock.now()
    with svc.db.unit_of_work(write=True) as session:
        team, complaint, sla = _open_complaint(session, actor, complaint_id)
        _claim(session, "acknowledged", actor, now, once, complaint.id)
        sla.acknowledged_at, sla.acknowledged_by = now, actor.user_id
        sla_queries.look_again(session, complaint.id, now)
        sla_queries.add_audit(session, complaint.id, actor.user_id, "acknowledged", now)
        queue_post_update(session, team.id, post, _change_key("acknowledged", complaint.id, once, now))


def snooze(svc: Services, actor: Actor, complaint_id: int,
           group_members: Callable[[str], Collection[str]], once: str | None = None,
           post: Where = (None, None)) -> dt.datetime:
    """Nothing about this complaint for the snooze time of the rules (30 min by default). `once`, `post` as
    above."""
    _require(svc, actor, group_members)
    now = svc.clock.now()
    with svc.db.unit_of_work(write=True) as session:
        team, complaint, sla = _open_complaint(session, actor, complaint_id)
        _claim(session, "snoozed", actor, now, once, complaint.id)
        until = snooze_until(now, svc.sla_rules_for(team))
        sla.snoozed_until, sla.snoozed_by = until, actor.user_id
        sla_queries.look_again(session, complaint.id, now)
        sla_queries.add_audit(session, complaint.id, actor.user_id, "snoozed", now, until=until.isoformat())
        queue_post_update(session, team.id, post, _change_key("snoozed", complaint.id, once, now))
        return until


def reassign(svc: Services, actor: Actor, complaint_id: int, new_owner: str,
             group_members: Callable[[str], Collection[str]], once: str | None = None,
             post: Where = (None, None), note: Callable[[Complaint, str], dict] | None = None) -> str | None:
    """Give the complaint to a colleague of the team; counts as an acknowledgement. Returns the old owner.
    `once`, `post` as above. `note(complaint, customer name)`: the chat.postMessage arguments of the DM that
    tells the new owner, queued in the outbox with the change. The complaint already with `new_owner`: AlreadyActed
    (no change, no DM)."""
    _require(svc, actor, group_members)
    now = svc.clock.now()
    with svc.db.unit_of_work(write=True) as session:
        team, complaint, sla = _open_complaint(session, actor, complaint_id)
        _claim(session, "reassigned", actor, now, once, complaint.id)
        staff = queries.staff_by_user(session, new_owner)
        if staff is None or staff.team_id != team.id:
            raise CareError("escalation.errors.not_staff", user=new_owner)
        if complaint.owner_id == new_owner:  # a double click, or a colleague chose the same person first
            last = _last(session, complaint.id, "reassigned")
            raise AlreadyActed(make_key("owner", complaint.id, new_owner), complaint.id, "reassigned",
                               last if last is not None and last.detail.get("to") == new_owner else None, new_owner)
        old, complaint.owner_id = complaint.owner_id, new_owner
        sla.acknowledged_at, sla.acknowledged_by = now, actor.user_id
        sla_queries.look_again(session, complaint.id, now)
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
