"""The services container: the database, the clock, and each team's rules and calendar."""

from __future__ import annotations

from dataclasses import dataclass

from bot.care.calendar import WorkCalendar
from bot.care.outcomes import OutcomeRules
from bot.clock import Clock
from storage.db import Database
from storage.models import Team


@dataclass
class Services:
    db: Database
    clock: Clock
    default_team: str = "default"

    def calendar_for(self, team: Team) -> WorkCalendar:
        return WorkCalendar(timezone=team.timezone)

    def outcome_rules_for(self, team: Team) -> OutcomeRules:
        return OutcomeRules()
