"""The services container: the database, the clock, and each team's rules and calendar."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy.orm import object_session

from bot.care.calendar import WorkCalendar
from bot.care.outcomes import OutcomeRules
from bot.care.rules import CareRules, default_rules, load_rules
from bot.clock import Clock
from storage import plan_queries
from storage.db import Database
from storage.models import Team


@lru_cache(maxsize=32)
def _calendar(timezone: str) -> WorkCalendar:
    # One calendar per timezone: its holiday table is built once, not on every request.
    return WorkCalendar(timezone=timezone)


@dataclass
class Services:
    db: Database
    clock: Clock
    default_team: str = "default"
    # team id -> (rules version in the database, effective rules); a version bump (rules set on any
    # replica) makes the next read reload them
    _rules: dict[str, tuple[int, CareRules]] = field(default_factory=dict, repr=False, compare=False)
    _rules_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def calendar_for(self, team: Team) -> WorkCalendar:
        return _calendar(team.timezone)

    def care_rules_for(self, team: Team | str) -> CareRules:
        """The team's effective care rules: the shipped defaults with the team's override merged in."""
        team_id = team if isinstance(team, str) else team.id
        session = None if isinstance(team, str) else object_session(team)
        if session is not None:
            return self._effective_rules(session, team_id)
        with self.db.unit_of_work() as fresh:
            return self._effective_rules(fresh, team_id)

    def _effective_rules(self, session, team_id: str) -> CareRules:
        version = plan_queries.team_rules_version(session, team_id)
        cached = self._rules.get(team_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        override = plan_queries.team_rules(session, team_id) if version else None
        # a newline keeps load_rules from reading a one-line text as a file name
        rules = load_rules(override.yaml_text + "\n") if override is not None else default_rules()
        with self._rules_lock:
            self._rules[team_id] = (version, rules)
        return rules

    def forget_rules(self, team_id: str) -> None:
        with self._rules_lock:
            self._rules.pop(team_id, None)

    def outcome_rules_for(self, team: Team) -> OutcomeRules:
        return self.care_rules_for(team).outcomes
