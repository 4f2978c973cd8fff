"""The escalation sweep: what is due now, claimed once, grouped one post per channel (split out of
bot/services/escalations.py, which re-exports `sweep`).

Exactly once per step, across restarts and replicas: every notification is CLAIMED by inserting its
`escalation_notice` row (UNIQUE step_key) with the channel its post goes to, and its post is queued in the
outbox, in one unit of work; only the replica whose insert succeeded queues it, and a sweep that dies part-way
leaves nothing behind. The outbox builds each post as it sends it. A claim without a channel (written by an
earlier version, which claimed and queued in two units of work) is given back after STALE_CLAIM.

A sweep reads only what is due: each complaint's `attention_at` is the next moment anything can fall due for
it (bot.care.escalation.next_look: the owner's warning point, the next breach level, the next re-raise, the end
of a snooze or of the quiet time), stored by the sweep that looked at it; an acknowledgement, a snooze, a
claim given back or a change of the clocks brings it forward again. So a sweep with nothing due is one indexed
query, and one with work reads its complaints' pauses and steps in one query each and writes its claims and
the next moments in one statement each.

Quiet time: in the team's quiet hours (and on its days off) every level that respects them holds
its notices about non-urgent complaints until the quiet time ends; urgent ones (the rules' `urgent`, by
severity or tier) break through. The owner's warning also waits for their Slack do-not-disturb.

Routing: the owner's warning goes to the owner by DM; supervisors' breaches go to
`team.supervisor_channel` (else the digest channel) mentioning `team.supervisor_group`; the manager
level goes to the team's manager channel or the manager by DM (`carebot escalation manager`), else to
the supervisors' channel. Several notices for one channel in one sweep become one post.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Row
from sqlalchemy.orm import Session

from bot.care.escalation import ComplaintSla as Facts
from bot.care.escalation import Notification, due_notifications, group_by_channel, next_look
from bot.care.sla_rules import CLOCKS, SlaRules
from bot.services import outbox
from bot.services.core import Services
from bot.services.escalation_posts import MAX_ITEMS_PER_POST, ChannelPost, ComplaintRef, NoticeItem, SweepRun
from bot.services.outbox_effects import notices_effect
from bot.services.people import SlackProfile, locales_in
from bot.services.sla_clocks import snapshot_of
from storage import notice_queries, queries, sla_queries
from storage.db import waiting_at_most
from storage.models import Team

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=10)
WARM_WAIT = 0.2  # seconds the start-up warm-up waits for a lock held elsewhere (`warm_statements`)


@dataclass
class _TeamAtNow:
    """One team's rules, quiet time and routing, at the sweep's moment."""

    team: Team
    rules: SlaRules
    quiet: bool
    quiet_until: dt.datetime | None
    manager_user: str | None
    manager_channel: str | None

    @classmethod
    def read(cls, session: Session, svc: Services, team_id: str, now: dt.datetime) -> _TeamAtNow:
        team = queries.ensure_team(session, team_id)
        rules = svc.sla_rules_for(team)
        manager = sla_queries.team_escalation(session, team.id)
        quiet = rules.calendar.in_quiet_hours(now)
        return cls(team, rules, quiet, rules.calendar.quiet_ends(now) if quiet else None,
                   manager.manager_user_id if manager else None, manager.manager_channel if manager else None)

    def route(self, notification: Notification, complaint: Row) -> str | None:
        supervisors = self.team.supervisor_channel or self.team.digest_channel
        if notification.level == "owner":
            return complaint.owner_id or supervisors
        if notification.level == "manager":
            return self.manager_channel or self.manager_user or supervisors
        return supervisors

    @property
    def snooze_minutes(self) -> int:
        return int(self.rules.escalation.snooze.total_seconds() // 60)


@dataclass
class _Looked:
    """One complaint the sweep looked at: its facts, what fell due, and whether an announcement waits."""

    complaint: Row  # the complaint's and its SLA's columns (sla_queries.complaints_needing_attention)
    at_now: _TeamAtNow
    facts: Facts
    pauses: tuple
    due: list[tuple[Notification, str]]  # with the channel each goes to
    announce: bool


def sweep(svc: Services, now: dt.datetime | None = None, *,
          is_dnd: Callable[[str], bool] = lambda user_id: False,
          profile_of: Callable[[str], SlackProfile | None] = lambda user_id: None) -> SweepRun:
    """Find what is due, CLAIM it, and queue it in the outbox one post per channel, in one unit of work (nothing
    is posted here: the outbox builds and sends each post, bot/services/escalations.py `post_of_notices`).

    `is_dnd(user_id)`: the person's Slack do-not-disturb is on (dnd.info); asked only for owners who
    have a warning due. `profile_of(user_id)`: their Slack profile (users.info): a DM speaks the
    person's language, a channel post the team's. Both are asked before the sweep writes anything."""
    now = now or svc.clock.now()
    owner_in_dnd = _dnd_cache(is_dnd)
    work = sla_queries.sweep_has_work(svc.db.engine, now, now - STALE_CLAIM)
    if not work:  # most sweeps: one query
        return SweepRun()
    with svc.db.unit_of_work() as session:
        if work.stale:
            released = notice_queries.release_stale_claims(session, now - STALE_CLAIM, now)
            log.warning("gave back %d escalation claim(s) that were never posted", released)
        due = sla_queries.complaints_needing_attention(session, now)
        if not due:
            return SweepRun()
        ids = [complaint.id for complaint in due]
        pauses = sla_queries.pauses_of_complaints(session, ids)
        steps = sla_queries.latest_steps_of_complaints(session, ids)
        teams: dict[str, _TeamAtNow] = {}
        looked = []
        for complaint in due:  # a row of the complaint's and its SLA's columns
            at_now = teams.get(complaint.team_id) or teams.setdefault(
                complaint.team_id, _TeamAtNow.read(session, svc, complaint.team_id, now))
            history = steps[complaint.id]  # every clock's latest steps, 'opened' (the announcement) among them
            announce = complaint.announce and not any(clock == "opened" for clock, *_ in history)
            looked.append(_look(complaint, at_now, tuple(pauses[complaint.id]), history, announce, now,
                                owner_in_dnd))
        languages = _dm_languages(session, looked, now, profile_of)
        claimed = notice_queries.claim_notices(session, [
            {"complaint_id": one.complaint.id, "step_key": n.step_key, "clock": n.clock, "level": n.level,
             "kind": n.kind, "round": n.round, "channel": channel} for one in looked for n, channel in one.due], now)
        sla_queries.set_attention(session, _next_moments(looked, claimed, now))
        channel_of: dict[str, str] = {}
        items: dict[str, tuple[_TeamAtNow, NoticeItem]] = {}
        notified: list[Notification] = []
        for one in looked:
            row = ComplaintRef(one.complaint.id)  # the outbox builds the row as it renders the post
            for notification, channel in one.due:
                if notification.step_key not in claimed:
                    continue  # another sweep (a restart, a replica) has it
                channel_of[notification.step_key] = channel
                items[notification.step_key] = (one.at_now, NoticeItem(
                    claimed[notification.step_key], notification.clock, notification.level, notification.kind,
                    notification.round, row))
                notified.append(notification)
        return _queue(session, _posts(notified, channel_of, items, now, languages))


def _queue(session: Session, posts: list[ChannelPost]) -> SweepRun:
    """Each post in the outbox (one statement for all), in the sweep's unit of work: the outbox builds and
    renders it when it sends it, then records the notices' ts and the audit (bot/services/outbox_effects.py)."""
    run = SweepRun()
    if not posts:
        return run
    queued = [outbox.Queued(post_key(post), post.team_id, "escalation", post.channel, post_spec(post),
                            notices_effect(post.notice_ids, post.now, [
                                {"complaint": item.complaint.id, "level": item.level, "clock": item.clock,
                                 "kind": item.kind, "round": item.round} for item in post.items]))
              for post in posts]
    ids = outbox.enqueue_many(session, queued)
    run.queued.extend((post.channel, ids.get(post_key(post)), len(post.items)) for post in posts)
    return run


def post_spec(post: ChannelPost) -> dict:
    """What the outbox keeps of a post to build it when it delivers it: its notices, in order, and its language."""
    return {"notices": post.notice_ids, "locale": post.locale}


def post_key(post: ChannelPost) -> str:
    return "escalation:" + ",".join(str(i) for i in sorted(post.notice_ids))


def warm_statements(svc: Services) -> None:
    """Have the engine compile the statements of a sweep with work before the first one comes (`carebot serve`
    at start-up, beside the templates and holiday tables): SQLAlchemy compiles each statement the first time a
    process runs it, ~30 ms of a process's first catch-up (issue 14). The sweep's reads run matching nothing;
    its writes that SQL alone cannot make match nothing (the outbox's insert of several posts) run in a
    transaction rolled back. Claims and queued marks need nothing: their statements are written once as text.
    A lock held elsewhere (SQLite's one writer: an import, a shell) is waited for WARM_WAIT at most, then
    OperationalError: start-up is not held for it."""
    never = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
    with waiting_at_most(WARM_WAIT), svc.db.unit_of_work() as session:
        notice_queries.release_stale_claims(session, never, never)
        sla_queries.complaints_needing_attention(session, never)
        sla_queries.pauses_of_complaints(session, [0])
        sla_queries.latest_steps_of_complaints(session, [0])
        sla_queries.team_escalation(session, "")
        queries.staff_by_users(session, {""})
    with waiting_at_most(WARM_WAIT), svc.db.rehearsal() as session:
        sla_queries.set_attention(session, {0: None, -1: never})
        outbox.enqueue_many(session, [outbox.Queued(f"warm-up:{n}", "", "escalation", "", {}) for n in (1, 2)],
                            never)


def _look(complaint: Row, at_now: _TeamAtNow, pauses: tuple, steps: list, announce: bool, now: dt.datetime,
          owner_in_dnd: Callable[[str], bool]) -> _Looked:
    rules = at_now.rules
    facts = snapshot_of(complaint, complaint, rules, now, pauses, steps)  # the row holds the SLA's columns too
    due = due_notifications(facts, rules, now, quiet=at_now.quiet)
    if any(n.level == "owner" for n in due) and complaint.owner_id is not None and owner_in_dnd(complaint.owner_id):
        due = due_notifications(facts, rules, now, quiet=at_now.quiet, owner_dnd=True)
    supervisors = rules.escalation.level("supervisors")
    held = at_now.quiet and not facts.urgent and (supervisors is None or supervisors.respects_quiet_hours)
    if announce and not held:
        due.insert(0, Notification(str(complaint.id), "opened", "supervisors", "alert",
                                   f"sla:{complaint.id}:opened:supervisors"))
    routed = []
    for notification in due:
        channel = at_now.route(notification, complaint)
        if channel is None:
            log.warning("no channel for the %s of complaint %s: set supervisor_channel", notification.level,
                        complaint.id)
            continue
        routed.append((notification, channel))
    return _Looked(complaint, at_now, facts, pauses, routed, announce)


def _next_moments(looked: list[_Looked], claimed: dict[str, int], now: dt.datetime
                  ) -> dict[int, dt.datetime | None]:
    """Each complaint's next attention moment, with the steps claimed now counted as sent at `now`; only those
    that change (a complaint held until the next sweep keeps a moment already past)."""
    moments: dict[int, dt.datetime | None] = {}
    for one in looked:
        sent = [n.sent(now) for n, _ in one.due if n.step_key in claimed and n.clock in CLOCKS]
        facts = dataclasses.replace(one.facts, sent=(*one.facts.sent, *sent))
        pending = one.announce and f"sla:{one.complaint.id}:opened:supervisors" not in claimed
        moment = next_look(facts, one.at_now.rules, now, quiet_until=one.at_now.quiet_until,
                           announce_pending=pending)
        if moment is not None and moment <= now:
            continue  # still due (do-not-disturb, no channel, another sweep's claim): the next sweep looks again
        moments[one.complaint.id] = moment
    return moments


def _dnd_cache(is_dnd: Callable[[str], bool]) -> Callable[[str], bool]:
    known: dict[str, bool] = {}

    def owner_in_dnd(user_id: str) -> bool:
        if user_id not in known:
            try:
                known[user_id] = bool(is_dnd(user_id))
            except Exception:  # noqa: BLE001 - unknown DND: do not hold the warning back
                log.warning("could not read do-not-disturb of %s", user_id, exc_info=True)
                known[user_id] = False
        return known[user_id]

    return owner_in_dnd


def _dm_languages(session: Session, looked: list[_Looked], now: dt.datetime,
                  profile_of: Callable[[str], SlackProfile | None]) -> dict[tuple[str, str], str]:
    """The language of each person a DM is due to, (team, user id) -> language: one query a team, Slack asked
    (`profile_of`) for those whose language was checked over a week ago, before the sweep writes anything."""
    persons: dict[str, tuple[_TeamAtNow, set[str]]] = {}
    for one in looked:
        for _, channel in one.due:
            if is_person(channel):
                persons.setdefault(one.at_now.team.id, (one.at_now, set()))[1].add(channel)
    return {(team_id, user_id): language for team_id, (at_now, users) in persons.items()
            for user_id, language in locales_in(session, now, users, at_now.team.locale, profile_of).items()}


def _posts(notified: list[Notification], channel_of: dict[str, str], items: dict[str, tuple[_TeamAtNow, NoticeItem]],
           now: dt.datetime, languages: dict[tuple[str, str], str]) -> list[ChannelPost]:
    """One post per channel, several when a channel has more than MAX_ITEMS_PER_POST complaints (a complaint
    is never split). A channel post speaks the team's language, a DM the person's (`languages`)."""
    out: list[ChannelPost] = []
    for channel, group in group_by_channel(notified, lambda n: channel_of[n.step_key]).items():
        at_now, _ = items[group[0].step_key]
        team = at_now.team
        locale = languages[(team.id, channel)] if is_person(channel) else team.locale
        post = ChannelPost(team.id, channel, locale, team.timezone, now, group_id=team.supervisor_group,
                           manager_id=at_now.manager_user, snooze_minutes=at_now.snooze_minutes)
        post.items = [items[n.step_key][1] for n in group]
        groups = post.complaints
        for start in range(0, len(groups), MAX_ITEMS_PER_POST):
            chunk = [item for group in groups[start:start + MAX_ITEMS_PER_POST] for item in group]
            out.append(ChannelPost(post.team_id, post.channel, post.locale, post.timezone, post.now,
                                   chunk, post.group_id, post.manager_id, post.snooze_minutes))
    return out


def is_person(channel: str) -> bool:
    """A user id (a DM), not a channel."""
    return channel.startswith(("U", "W"))
