"""The morning list: which teams are due for it now, and posting it at most once per channel per day."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.care.calendar import is_past_clock_time
from bot.services.core import Services
from bot.services.queue import MorningList, morning_list
from storage import queries

log = logging.getLogger(__name__)


@dataclass
class DigestRun:
    posted: list[tuple[str, str, str]] = field(default_factory=list)  # team, channel, ts
    skipped: list[tuple[str, str]] = field(default_factory=list)  # team, reason


def run_morning_lists(svc: Services, publish: Callable[[MorningList], str], *, team_id: str | None = None,
                      ignore_time: bool = False) -> DigestRun:
    """Post each due team's list via `publish` (returns the message ts). Safe to call every minute,
    twice, or from several replicas: the claim row is unique per channel and local day."""
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
        with svc.db.unit_of_work() as session:
            claimed = queries.claim_digest(session, team.id, team.digest_channel, day, now)
        if not claimed:
            run.skipped.append((team.id, f"already posted in {team.digest_channel} on {day}"))
            continue
        try:
            ts = publish(morning_list(svc, team, now, calendar))
        except Exception as exc:
            log.exception("morning list for team %s failed; releasing the claim so it is retried", team.id)
            with svc.db.unit_of_work() as session:
                queries.release_digest_claim(session, team.digest_channel, day)
            run.skipped.append((team.id, f"posting failed: {exc}"))
            continue
        with svc.db.unit_of_work() as session:
            queries.record_digest_ts(session, team.digest_channel, day, ts)
        run.posted.append((team.id, team.digest_channel, ts))
    return run
