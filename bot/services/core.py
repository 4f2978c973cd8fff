"""The services container: the database, the clock, and each team's rules and calendar."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import object_session

from bot.care.calendar import WorkCalendar
from bot.care.outcomes import OutcomeRules
from bot.care.rules import CareRules, default_rules, load_rules
from bot.care.sla_rules import RulesError, SlaRules, default_sla_rules, load_sla_rules
from bot.clock import Clock
from storage import plan_queries, sla_queries
from storage.db import Database
from storage.models import Team

log = logging.getLogger(__name__)


@lru_cache(maxsize=32)
def _sla_rules(text: str | None, timezone: str) -> SlaRules:
    """A team's SLA rules (its file over the shipped defaults), on the team's clock. Cached: parsing YAML
    and building holiday tables on every request would dominate it."""
    rules = load_sla_rules(text) if text else default_sla_rules()
    if timezone != rules.calendar.timezone:
        rules = rules.model_copy(update={"calendar": rules.calendar.model_copy(update={"timezone": timezone})})
    return rules


@dataclass
class Services:
    db: Database
    clock: Clock
    default_team: str = "default"
    outbox_policy: Any = None  # bot.services.outbox.Policy: delivery's real-time knobs (None: the defaults)
    # team id -> (rules version in the database, effective rules); a version bump (rules set on any
    # replica) makes the next read reload them
    _rules: dict[str, tuple[int, CareRules]] = field(default_factory=dict, repr=False, compare=False)
    _rules_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # user id -> who they are, kept a short while (bot/services/people.py `actor_for`): the ack of a request
    # reads no database for someone seen in the last seconds
    actors: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.actors is None:
            from bot.services.people import ActorCache

            self.actors = ActorCache()

    def calendar_for(self, team: Team) -> WorkCalendar:
        """The team's one working calendar (windows, holidays, 调休, its own days off), shared by the care
        plan, due dates and the SLA clocks; it lives in the team's SLA rules file."""
        return self.sla_rules_for(team).work_calendar()

    def sla_rules_for(self, team: Team) -> SlaRules:
        """The team's SLA rules (`carebot escalation rules set`) over the shipped defaults (care-domain §5),
        always on the team's own timezone (`carebot config set timezone`)."""
        session = object_session(team)
        if session is not None:
            text = sla_queries.team_sla_rules_text(session, team.id)
        else:
            with self.db.unit_of_work() as own:
                text = sla_queries.team_sla_rules_text(own, team.id)
        try:
            return _sla_rules(text or None, team.timezone)
        except RulesError:  # validated when stored; a newer Carebot may read it differently
            log.exception("the SLA rules of team %s no longer validate; using the defaults", team.id)
            return _sla_rules(None, team.timezone)

    def care_rules_for(self, team: Team | str) -> CareRules:
        """The team's effective care rules: the shipped defaults with the team's override merged in."""
        team_id = team if isinstance(team, str) else team.id
        session = None if isinstance(team, str) else object_session(team)
        if session is not None:
            return self._effective_rules(session, team_id)
        with self.db.unit_of_work() as fresh:
            return self._effective_rules(fresh, team_id)

    def _effective_rules(self, session, team_id: str) -> CareRules:
        # read once per unit of work (a logged call asks 3-4 times); storing new rules forgets it (plan_queries)
        versions = session.info.setdefault(plan_queries.RULES_VERSION_SEEN, {})
        version = versions.get(team_id)
        if version is None:
            version = versions[team_id] = plan_queries.team_rules_version(session, team_id)
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
