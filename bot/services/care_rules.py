"""Each team's care rules (care-domain §3–§4): the rules in effect (shipped defaults with the team's override
merged in), checking and storing an override, and how the rules combine, as `carebot rules show` and
`/care rules` print it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.care.rules import CareRules, RulesError, dump_effective, load_rules
from bot.services.core import Services
from bot.services.errors import CareError
from storage import plan_queries, queries

# --- rules ---------------------------------------------------------------------------------------------


def effective_rules(svc: Services, team_id: str | None = None) -> CareRules:
    return svc.care_rules_for(team_id or svc.default_team)


HOW_RULES_COMBINE = """\
# How the rules combine (README "The care plan"):
# - each trigger plans its own callbacks; when several apply, the customer is touched at the earliest date
#   any of them gives;
# - the tier cadence (triggers.periodic) is a ceiling on the gap between two touches: a callback planned
#   sooner (a problem follow-up, a greeting) counts as a touch and the cadence counts on from it; one planned
#   later (an outcome's light touch in 30 days) never holds the periodic touch back;
# - every callback, from a trigger, a call's outcome or a date the agent picked, passes the same etiquette:
#   days off and avoid slots are skipped in the rule's `align` direction (earlier: the last allowed slot
#   before, e.g. Friday morning instead of Monday morning; later: the next allowed one), and the tier's
#   monthly cap holds (a trigger waits for room; an outcome's callback moves to the first month with room);
# - no care callback without consent; a record missing a key field gets a "complete the record" task.
"""


def effective_rules_yaml(svc: Services, team_id: str | None = None) -> str:
    return HOW_RULES_COMBINE + dump_effective(effective_rules(svc, team_id))


def read_rules_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CareError("errors.bad_encoding", path=str(path)) from None


def check_rules(text: str) -> CareRules:
    """The rules `text` makes of the shipped defaults; RulesError (key path, line) when it is not valid."""
    return load_rules(text + "\n")  # the newline keeps a one-line text from being taken for a file name


def set_rules(svc: Services, text: str, set_by: str | None, team_id: str | None = None) -> CareRules:
    """Validate, then store as the team's override. Nothing is stored when the text is invalid."""
    rules = check_rules(text)
    team_id = team_id or svc.default_team
    with svc.db.unit_of_work() as session:
        queries.ensure_team(session, team_id)
        plan_queries.store_team_rules(session, team_id, text, set_by, svc.clock.now())
    svc.forget_rules(team_id)
    return rules


@dataclass(frozen=True)
class RulesOverview:
    team_id: str
    yaml_text: str  # the effective rules
    set_by: str | None  # None: the shipped defaults
    set_at: dt.datetime | None


def rules_overview(svc: Services, team_id: str | None = None) -> RulesOverview:
    team_id = team_id or svc.default_team
    with svc.db.unit_of_work() as session:
        override = plan_queries.team_rules(session, team_id)
        set_by, set_at = (override.set_by or "?", override.set_at) if override is not None else (None, None)
    return RulesOverview(team_id, effective_rules_yaml(svc, team_id), set_by, set_at)


def describe_rules_error(error: RulesError) -> list[str]:
    return [f"line {line}: {path}: {message}" for path, line, message in error.issues]
