"""Who may act on, and who may see, a customer and the work attached to it (calls, callbacks, complaints).

Pure rules: plain data in, a decision out; no database, no Slack. The services enforce them in one place
(`bot/services/scope.py`) for logging calls, complaints and the customer search, and the privacy code asks
`can_view_full` before showing a customer's unmasked details.

The policy (care-domain §1 "each customer has one owner"; README "Who may do what"):

- an **agent** works their own customers and the unassigned ones (no owner yet: whoever picks them up);
- a **supervisor** works every customer of their team;
- an **admin** works every customer of their team too, and may administer it;
- anything else is refused with a message naming the owner. Covering for a colleague is not done by
  quietly acting under one's own name: a supervisor (who may act on any customer of the team) steps in or
  reassigns the customer. When a supervisor or admin acts on a customer owned by someone else, the
  decision says so (`on_behalf_of`), and the caller records both names (the call log's `staff_id` is who
  called; the customer's owner is unchanged).

People of another team never act on or see a customer (teams are separate books).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "admin"


class Person(Protocol):
    """Who asks: any object with these attributes (`bot.services.people.Actor` is one)."""

    @property
    def user_id(self) -> str: ...

    @property
    def team_id(self) -> str: ...

    @property
    def role(self) -> str: ...


class Owned(Protocol):
    """What is asked about: a customer, complaint or callback (owner_id None = unassigned)."""

    @property
    def owner_id(self) -> str | None: ...

    @property
    def team_id(self) -> str: ...


OwnedT = TypeVar("OwnedT", bound=Owned)


@dataclass(frozen=True)
class Decision:
    """`allowed`: may act. When refused, `reason` is the catalog key of the refusal and `owner_id` is whom to ask.
    When allowed on someone else's customer (a supervisor stepping in), `on_behalf_of` is that owner."""

    allowed: bool
    reason: str | None = None
    owner_id: str | None = None
    on_behalf_of: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _role(person: Person) -> str:
    return str(getattr(person.role, "value", person.role))


def is_team_lead(person: Person) -> bool:
    """Supervisors and admins: they work every customer of their team."""
    return _role(person) in (SUPERVISOR, ADMIN)


def can_act(actor: Person, owner_id: str | None, team_id: str) -> Decision:
    """May `actor` act (log a call, open / change a complaint) on something owned by `owner_id` in `team_id`?

    Returns a Decision; refusals carry `reason` = "access.errors.other_team" (not the actor's team) or
    "access.errors.not_yours" (a colleague's customer; `owner_id` says whose)."""
    if team_id != actor.team_id:
        return Decision(False, "access.errors.other_team")
    if owner_id is None or owner_id == actor.user_id:
        return Decision(True, owner_id=owner_id)
    if is_team_lead(actor):
        return Decision(True, owner_id=owner_id, on_behalf_of=owner_id)
    return Decision(False, "access.errors.not_yours", owner_id=owner_id)


def can_act_on_any(actor: Person, owner_ids: tuple[str | None, ...], team_id: str) -> Decision:
    """Like `can_act` when two people are responsible (a customer's owner and the owner of one of its
    callbacks, e.g. a supervisor's churn-risk call): allowed if either would allow it; an unassigned owner
    counts only when nobody is named."""
    named = tuple(owner for owner in owner_ids if owner is not None)
    if not named:
        return can_act(actor, None, team_id)
    decisions = [can_act(actor, owner, team_id) for owner in named]
    return next((d for d in decisions if d.allowed and d.on_behalf_of is None),
                next((d for d in decisions if d.allowed), decisions[0]))


def callback_to_close(actor: Person, callbacks: Sequence[OwnedT]) -> OwnedT | None:
    """Of a customer's open callbacks (soonest first; anything with an `owner_id`), the one a call that `actor`
    logs on the customer closes when the call names none: the soonest that is theirs or nobody's; for a team
    lead, else the soonest of anyone's (on that colleague's behalf). A colleague's own task — a supervisor's
    churn-risk call, an admin's "complete the record" — is left to them: an agent's call on an unassigned
    customer is logged without closing it, rather than refused as the colleague's."""
    mine = next((c for c in callbacks if c.owner_id is None or c.owner_id == actor.user_id), None)
    if mine is not None or not callbacks or not is_team_lead(actor):
        return mine
    return callbacks[0]


def can_view_full(actor: Person, thing: Owned) -> bool:
    """May `actor` see the customer's full details (unmasked name, phone, email, notes)? Exactly those who may
    act on it; everyone else in the team sees the masked form (张*, 138****5678), other teams nothing."""
    return can_act(actor, thing.owner_id, thing.team_id).allowed


def can_see_in_search(actor: Person, thing: Owned) -> bool:
    """Does the customer show up in `actor`'s customer search (`/care log`, the modal's customer picker)?
    Only customers they may act on: a search result is an invitation to act."""
    return can_act(actor, thing.owner_id, thing.team_id).allowed


def search_owners(actor: Person) -> tuple[str, ...] | None:
    """The owners whose customers `actor` may act on, for a query filter: None = any owner of the team
    (supervisors, admins); else the actor's own id (unassigned customers are included by the query)."""
    return None if is_team_lead(actor) else (actor.user_id,)
