"""Who is who: staff registration, roles, and the language each person reads."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.services.core import Services
from bot.services.errors import CareError, Forbidden, NotRegistered
from bot.settings import not_a_team_id
from messages.render import pick_locale
from storage import queries
from storage.db import waiting_at_most
from storage.models import Staff

log = logging.getLogger(__name__)

LOCALE_CACHE_FOR = dt.timedelta(days=7)
LOCALE_ASK_AGAIN = dt.timedelta(minutes=15)  # after Slack did not say (slow, refused, a sweep's budget spent)
ACTOR_CACHE_SECONDS = 30.0  # a person's role, team and language are read again after this (another process's change)
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """The registered person behind a request."""

    user_id: str
    team_id: str
    role: Role
    locale: str
    timezone: str

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class SlackProfile:
    locale: str | None
    timezone: str | None


class ActorCache:
    """Who a user id is, for `ACTOR_CACHE_SECONDS` (of the process's clock and of the service clock): the request
    path's first lookup costs two queries, the next ones none. A change made here (`add_staff`, a refreshed
    language) replaces or drops the entry at once; a change made by another process (the CLI, a replica) is
    seen within the TTL."""

    def __init__(self, ttl: float = ACTOR_CACHE_SECONDS):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, dt.datetime, Actor]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str, now: dt.datetime) -> Actor | None:
        with self._lock:
            entry = self._entries.get(user_id)
        if entry is None:
            return None
        seen, seen_at, actor = entry
        if time.monotonic() - seen > self.ttl or abs((now - seen_at).total_seconds()) > self.ttl:
            return None
        return actor

    def put(self, actor: Actor, now: dt.datetime) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[actor.user_id] = (time.monotonic(), now, actor)

    def forget(self, user_id: str | None = None) -> None:
        with self._lock:
            if user_id is None:
                self._entries.clear()
            else:
                self._entries.pop(user_id, None)


def parse_user_id(text: str) -> str:
    """Accepts U123, <@U123> or <@U123|name> (how Slack sends a mention in command text)."""
    match = re.fullmatch(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>|([UW][A-Z0-9]+)", text.strip())
    user_id = match and (match.group(1) or match.group(3))
    if not user_id or not _USER_ID.match(user_id):
        raise CareError("errors.bad_user", value=text)
    return user_id


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise CareError("errors.bad_role", value=text, roles=", ".join(r.value for r in Role)) from None


def add_staff(svc: Services, user_id: str, role: Role, team_id: str | None = None,
              display_name: str = "", move: bool = False) -> bool:
    """Register or re-role a person in `team_id` (default: the default team); True when newly added.

    A person registered in another team is not taken from it: CareError `errors.staff_other_team` — one team's
    admin can neither remove another team's people (its only admin, say) nor see that team's book through them.
    `move=True` (the operator's `carebot staff add … --move`) moves them on purpose. A team's last admin is neither
    given another role nor moved out (CareError `errors.last_admin`): register another admin first."""
    team_id = team_id or svc.default_team
    if not_a_team_id(team_id):  # a new team begins here: its id as the column and every command can hold it
        raise CareError("errors.bad_team_id", team=team_id[:80])
    try:
        with svc.db.unit_of_work() as session:
            queries.ensure_team(session, team_id)
            staff = queries.staff_by_user(session, user_id)
            if staff is None:
                session.add(Staff(user_id=user_id, team_id=team_id, role=role.value, display_name=display_name,
                                  created_at=svc.clock.now()))
                return True
            if staff.team_id != team_id and not move:
                raise CareError("errors.staff_other_team", user=user_id)
            if staff.role == Role.ADMIN.value and (role is not Role.ADMIN or staff.team_id != team_id) \
                    and not any(other.role == Role.ADMIN.value and other.user_id != user_id
                                for other in queries.staff_of_team(session, staff.team_id)):
                raise CareError("errors.last_admin", user=user_id)  # nobody could register anyone there again
            staff.role, staff.team_id = role.value, team_id
            if display_name:
                staff.display_name = display_name
            return False
    finally:
        svc.actors.forget(user_id)  # the new role counts from the next request on


def work_left_in_old_team(svc: Services, user_id: str, team_id: str | None = None) -> tuple[str, int, int, int] | None:
    """Before moving `user_id` into `team_id` (default: the default team): (their current team, customers, open
    callbacks, unresolved complaints they own there), or None when they are not registered elsewhere. The work
    stays in that team's book, still theirs: its supervisors reassign it (the mover no longer sees it)."""
    team_id = team_id or svc.default_team
    with svc.db.unit_of_work() as session:
        staff = queries.staff_by_user(session, user_id)
        if staff is None or staff.team_id == team_id:
            return None
        return (staff.team_id, *queries.work_owned_in_team(session, staff.team_id, user_id))


@dataclass(frozen=True)
class StaffLine:
    """One registered person as `carebot staff list` shows them: Slack user id, role, display name (may be "")."""
    user_id: str
    role: str
    display_name: str


def staff_list(svc: Services, team_id: str | None = None) -> list[StaffLine]:
    """Everyone registered in the team (default: the default team), ordered by user id; [] when nobody is."""
    with svc.db.unit_of_work() as session:
        return [StaffLine(s.user_id, s.role, s.display_name or "")
                for s in queries.staff_of_team(session, team_id or svc.default_team)]


def actor_for(svc: Services, user_id: str, fetch_profile: Callable[[str], SlackProfile | None]) -> Actor:
    """The registered person, with their language (Slack's users.info, cached a week), or NotRegistered.

    Only reads, except once a week per person when the cached language is refreshed: that write is brief
    (waits 0.2 s at most for a lock) and best-effort, so a busy or read-only database still serves the
    request (issue 8 §3). Kept a few seconds (`ActorCache`)."""
    now = svc.clock.now()
    known = svc.actors.get(user_id, now)
    if known is not None:
        return known
    with svc.db.unit_of_work() as session:
        staff = queries.staff_by_user(session, user_id)
        if staff is None:
            raise NotRegistered()
        team = queries.team_by_id(session, staff.team_id)
        team_locale, timezone = (team.locale, team.timezone) if team else ("zh-CN", "Asia/Shanghai")
        checked = staff.locale_checked_at
        locale, stale = staff.locale, checked is None or now - checked > LOCALE_CACHE_FOR
        actor = Actor(user_id=staff.user_id, team_id=staff.team_id, role=Role(staff.role),
                      locale=pick_locale(locale, team_locale), timezone=timezone)
    if not stale:
        svc.actors.put(actor, now)
        return actor
    profile = fetch_profile(user_id)
    if profile is not None and profile.locale:
        actor = replace(actor, locale=pick_locale(profile.locale, team_locale))
    try:
        with waiting_at_most(0.2), svc.db.unit_of_work() as session:
            staff = queries.staff_by_user(session, user_id)
            if staff is not None:
                if profile is not None:
                    staff.locale = profile.locale or staff.locale
                    staff.timezone = profile.timezone or staff.timezone
                staff.locale_checked_at = _checked_at(now, profile)
        svc.actors.put(actor, now)
    except SQLAlchemyError as exc:  # busy or read-only: the language is asked again next time
        log.warning("could not keep the language of %s: %s", user_id, str(exc).splitlines()[0])
    return actor


def _checked_at(now: dt.datetime, profile: SlackProfile | None) -> dt.datetime:
    """When a person's language counts as checked: now when Slack said it; when it did not, as if checked long
    enough ago to be asked again LOCALE_ASK_AGAIN from now — not a week of the team's language for someone whose
    Slack speaks another, nor users.info on every request while Slack is down."""
    return now if profile is not None else now - LOCALE_CACHE_FOR + LOCALE_ASK_AGAIN


def _refresh_profile(staff: Staff, now: dt.datetime, fetch_profile: Callable[[str], SlackProfile | None]) -> None:
    if staff.locale_checked_at is None or now - staff.locale_checked_at > LOCALE_CACHE_FOR:
        profile = fetch_profile(staff.user_id)
        if profile is not None:
            staff.locale = profile.locale or staff.locale
            staff.timezone = profile.timezone or staff.timezone
        staff.locale_checked_at = _checked_at(now, profile)


def locale_of(svc: Services, user_id: str, team_locale: str | None,
              fetch_profile: Callable[[str], SlackProfile | None]) -> str:
    """The language of a message to this one person: their Slack language (users.info, cached a week like
    `actor_for`), else `team_locale` (None: their team's). For people who are not registered (a manager
    outside the team), users.info is asked every time."""
    with svc.db.unit_of_work() as session:
        staff = queries.staff_by_user(session, user_id)
        if staff is not None:
            _refresh_profile(staff, svc.clock.now(), fetch_profile)
            if team_locale is None:
                team_locale = queries.ensure_team(session, staff.team_id).locale
            return pick_locale(staff.locale, team_locale or "zh-CN")
    profile = fetch_profile(user_id)
    return pick_locale(profile.locale if profile else None, team_locale or "zh-CN")


def locales_in(session: Session, now: dt.datetime, user_ids: Collection[str], team_locale: str,
               fetch_profile: Callable[[str], SlackProfile | None]) -> dict[str, str]:
    """`locale_of` for many people, in the caller's unit of work and one query (the sweep's DMs to ~80 owners):
    {user id: language}. Slack is asked before anything is written: the checks stamped on the people are flushed
    with the caller's next statement, so on SQLite the write lock is never held while Slack answers."""
    wanted = set(user_ids)
    found: dict[str, str] = {}
    for staff in queries.staff_by_users(session, wanted):
        _refresh_profile(staff, now, fetch_profile)
        found[staff.user_id] = pick_locale(staff.locale, team_locale)
    for user_id in wanted - found.keys():  # not registered: users.info every time
        profile = fetch_profile(user_id)
        found[user_id] = pick_locale(profile.locale if profile else None, team_locale)
    return found


def team_locale_for_user(svc: Services, user_id: str | None) -> str:
    """The language to refuse an unregistered person in: the default team's."""
    with svc.db.unit_of_work() as session:
        team = queries.team_by_id(session, svc.default_team)
        return pick_locale(None, team.locale if team else "zh-CN")


def require_supervisor(actor: Actor) -> None:
    if not actor.is_supervisor:
        raise Forbidden("errors.supervisors_only")


def require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("errors.admins_only")
