"""What a logged call leads to: the next callback by outcome (care-domain §4, "worksheet")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from bot.care.calendar import WorkCalendar


class Outcome(StrEnum):
    SATISFIED = "satisfied"
    PROBLEM = "problem"
    POTENTIAL = "potential"
    UNREACHABLE = "unreachable"


class Channel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    VISIT = "visit"
    EMAIL = "email"
    WECHAT = "wechat"
    VIDEO = "video"


_Days = Annotated[int, Field(strict=True, ge=1, le=366)]


@dataclass(frozen=True)
class OutcomeRules:
    """Defaults from the templates (care-domain §4, "worksheet"); a team's rules file overrides them, each checked
    where the file is read (bot/care/rules.py: a whole number in range, else RulesError naming the key)."""

    satisfied_after_days: _Days = 30
    problem_after_days: _Days = 3
    potential_after_days: _Days = 7
    unreachable_max_tries: Annotated[int, Field(strict=True, ge=1, le=20)] = 3
    # a rating (1–5) at or below this counts as a problem and opens a follow-up complaint; 0: none does. 5 would
    # make a 5-star call a problem, so 4 is the most a team may set
    low_rating_max: Annotated[int, Field(strict=True, ge=0, le=4)] = 2


@dataclass(frozen=True)
class NextStep:
    kind: str  # callback kind of the next callback, "" when none
    due_on: dt.date | None
    rule: str
    flag: bool = False  # true when the customer needs a human decision (e.g. unreachable too often)
    params: tuple[tuple[str, str], ...] = ()


def is_reached(outcome: Outcome) -> bool:
    return outcome is not Outcome.UNREACHABLE


def is_low_rating(outcome: Outcome, rating: int | None, rules: OutcomeRules) -> bool:
    """A reached customer rated the call (1–5) at or below the team's low-rating line (`low_rating_max`): a problem
    (care-domain §4, the call's outcome; a follow-up complaint is opened). A rating without anyone reached is none."""
    return is_reached(outcome) and rating is not None and rating <= rules.low_rating_max


def effective_outcome(outcome: Outcome, rating: int | None, rules: OutcomeRules) -> Outcome:
    """A reached customer who rates the call at or below the low-rating line is a problem."""
    return Outcome.PROBLEM if is_low_rating(outcome, rating, rules) else outcome


def next_step(
    outcome: Outcome,
    *,
    called_on: dt.date,
    attempts: int,
    requested_on: dt.date | None,
    rules: OutcomeRules,
    calendar: WorkCalendar,
) -> NextStep:
    """The callback a call's outcome creates.

    `attempts` counts the tries on the callback so far, this call included. A date the agent asked
    for wins over the rule's date, except for an unreachable customer whose retries are fixed.
    """
    if outcome is Outcome.UNREACHABLE:
        if attempts >= rules.unreachable_max_tries:
            return NextStep("", None, "outcome.unreachable_gave_up", flag=True,
                            params=(("tries", str(attempts)),))
        return NextStep("retry", calendar.next_working_day(called_on), "outcome.unreachable",
                        params=(("try", str(attempts + 1)), ("of", str(rules.unreachable_max_tries))))
    days = {
        Outcome.SATISFIED: rules.satisfied_after_days,
        Outcome.PROBLEM: rules.problem_after_days,
        Outcome.POTENTIAL: rules.potential_after_days,
    }[outcome]
    kind = {Outcome.SATISFIED: "light_touch", Outcome.PROBLEM: "problem_followup",
            Outcome.POTENTIAL: "progress_sync"}[outcome]
    if requested_on is not None:
        return NextStep(kind, requested_on, "outcome.requested", params=(("outcome", outcome.value),))
    due = calendar.on_or_after_working_day(called_on + dt.timedelta(days=days))
    return NextStep(kind, due, f"outcome.{outcome.value}",
                    params=(("days", str(days)), ("anchor", called_on.isoformat())))
