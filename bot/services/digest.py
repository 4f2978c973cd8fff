"""The morning list: which teams are due for it now, and posting it at most once per channel per day."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.care.calendar import is_past_clock_time
from bot.services import outbox
from bot.services.core import Services
from bot.services.outbox_effects import digest_effect
from bot.services.queue import MorningList, morning_list, supervisors_list
from storage import queries

log = logging.getLogger(__name__)


@dataclass
class DigestRun:
    posted: list[tuple[str, str, str]] = field(default_factory=list)  # team, channel, ts (once delivered)
    queued: list[tuple[str, str, int]] = field(default_factory=list)  # team, channel, outbox message id
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, reason


def _post_once(svc: Services, run: DigestRun, render: Callable[[MorningList], dict], digest: MorningList,
               team_id: str, day: dt.date, now: dt.datetime) -> None:
    """Claim the channel's day and put the list in the outbox, in one unit of work: a crash leaves both or
    neither. The outbox message carries the claim: its delivery records the ts (bot/services/outbox.py)."""
    channel = digest.channel
    assert channel is not None
    empty = digest.audience == "supervisors" and not digest.total
    payload = None if empty else render(digest)
    with svc.db.unit_of_work() as session:
        if not queries.claim_digest(session, team_id, channel, day, now):
            run.skipped.append((team_id, f"already posted in {channel} on {day}"))
            return
        if empty:
            # nothing for the supervisors today: the claim (with no message) marks the day as done
            queries.record_digest_ts(session, channel, day, "")
            run.skipped.append((team_id, f"nothing for the supervisors in {channel} on {day}"))
            return
        message_id = outbox.enqueue(session, key=f"digest:{channel}:{day.isoformat()}", team_id=team_id,
                                    kind="morning_list", channel=channel, payload=payload,
                                    effect=digest_effect(channel, day))
    run.queued.append((team_id, channel, message_id))


def run_morning_lists(svc: Services, render: Callable[[MorningList], dict], *, team_id: str | None = None,
                      ignore_time: bool = False) -> DigestRun:
    """Queue each due team's list (`render` gives the chat.postMessage arguments) in the outbox, and what
    supervisors own (churn-risk calls …) for the supervisors' channel. Nothing on the team's days off (weekly
    days off, public holidays, its own days off; 调休 working days are working days): overdue items wait
    for the next working morning. `ignore_time` (`carebot digest`, a person asking now) posts whatever the
    time and day. Safe to call every minute, twice, or from several replicas: the claim row is unique per
    channel and local day."""
    now = svc.clock.now()
    run = DigestRun()
    with svc.db.unit_of_work() as session:
        teams = queries.teams_to_run(session, team_id)
    for team in teams:
        calendar = svc.calendar_for(team)
        if not team.digest_channel:
            run.skipped.append((team.id, "no digest_channel configured"))
            continue
        if not ignore_time and not is_past_clock_time(calendar.local(now), team.digest_time):
            run.skipped.append((team.id, f"before {team.digest_time}"))
            continue
        day = calendar.local_date(now)
        if not ignore_time and not calendar.is_working_day(day):  # what fell due waits for the next working day
            run.skipped.append((team.id, f"{day} is a day off in the team calendar"))
            continue
        channels = [team.digest_channel]
        if team.supervisor_channel and team.supervisor_channel != team.digest_channel:
            channels.append(team.supervisor_channel)
        with svc.db.unit_of_work() as session:  # a cheap look first: the list itself is built once a day
            pending = [c for c in channels if not queries.digest_posts_count(session, c, day)]
        if not pending:
            run.skipped.append((team.id, f"already posted in {', '.join(channels)} on {day}"))
            continue
        whole = morning_list(svc, team, now, calendar)
        lists = [whole, supervisors_list(whole)] if len(channels) > 1 else [whole]
        for digest in lists:
            if digest.channel in pending:
                _post_once(svc, run, render, digest, team.id, day, now)
    return run
