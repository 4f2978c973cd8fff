"""The access policy (bot/care/access.py): who may act on and who may see a customer or complaint."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from bot.care import access


@dataclass(frozen=True)
class P:
    user_id: str
    team_id: str
    role: str


@dataclass(frozen=True)
class Thing:
    owner_id: str | None
    team_id: str


people = st.builds(P, st.sampled_from(["U1", "U2", "U3"]), st.sampled_from(["t1", "t2"]),
                   st.sampled_from(["agent", "supervisor", "admin"]))
owners = st.sampled_from([None, "U1", "U2", "U3"])
teams = st.sampled_from(["t1", "t2"])


def test_agents_act_on_their_own_and_unassigned_customers_only():
    agent = P("U1", "t1", "agent")
    assert access.can_act(agent, "U1", "t1").allowed
    assert access.can_act(agent, None, "t1").allowed
    refused = access.can_act(agent, "U2", "t1")
    assert not refused and refused.reason == "access.errors.not_yours" and refused.owner_id == "U2"
    assert access.can_act(agent, "U1", "t2").reason == "access.errors.other_team"


def test_supervisors_and_admins_act_on_the_whole_team_and_are_recorded_as_stepping_in():
    for role in ("supervisor", "admin"):
        lead = P("U9", "t1", role)
        decision = access.can_act(lead, "U2", "t1")
        assert decision.allowed and decision.on_behalf_of == "U2"
        assert access.can_act(lead, "U9", "t1").on_behalf_of is None
        assert not access.can_act(lead, "U2", "t2")


@given(people, owners, teams)
def test_nobody_ever_acts_across_teams_and_the_rule_is_the_documented_one(actor, owner, team):
    decision = access.can_act(actor, owner, team)
    expected = team == actor.team_id and (owner in (None, actor.user_id) or actor.role != "agent")
    assert decision.allowed is expected
    assert access.can_view_full(actor, Thing(owner, team)) is expected
    assert access.can_see_in_search(actor, Thing(owner, team)) is expected
    if not decision.allowed:
        assert decision.reason in ("access.errors.not_yours", "access.errors.other_team")


@given(people, owners, owners, teams)
def test_two_responsible_people_either_one_may_act(actor, customer_owner, callback_owner, team):
    decision = access.can_act_on_any(actor, (customer_owner, callback_owner), team)
    named = [o for o in (customer_owner, callback_owner) if o is not None]
    if named:
        expected = any(access.can_act(actor, o, team).allowed for o in named)
    else:
        expected = access.can_act(actor, None, team).allowed
    assert decision.allowed is expected


def test_search_owners_filter():
    assert access.search_owners(P("U1", "t1", "agent")) == ("U1",)
    assert access.search_owners(P("U1", "t1", "supervisor")) is None


def test_a_call_on_a_customer_closes_the_callers_own_or_an_unowned_callback_never_a_colleagues_task():
    """The tryout's agent on an unassigned customer whose only open callback is the admin's record task: the call
    closes nothing of the admin's (and so is not refused as the admin's); their own callback, or one nobody owns,
    soonest first, is the one closed; a supervisor steps in on the soonest of anyone's."""
    agent, supervisor = P("U1", "t1", "agent"), P("U9", "t1", "supervisor")
    admins_task, unowned, mine = Thing("U7", "t1"), Thing(None, "t1"), Thing("U1", "t1")
    assert access.callback_to_close(agent, [admins_task]) is None
    assert access.callback_to_close(agent, [admins_task, unowned, mine]) is unowned
    assert access.callback_to_close(agent, [admins_task, mine, unowned]) is mine
    assert access.callback_to_close(agent, []) is None
    assert access.callback_to_close(supervisor, [admins_task, mine]) is admins_task


@given(people, st.lists(owners, max_size=4))
def test_the_callback_a_call_closes_is_always_one_the_caller_may_act_on(actor, callback_owners):
    callbacks = [Thing(owner, actor.team_id) for owner in callback_owners]
    closed = access.callback_to_close(actor, callbacks)
    if closed is not None:
        assert access.can_act(actor, closed.owner_id, actor.team_id).allowed
        assert callbacks.index(closed) == 0 or actor.role == "agent" or closed.owner_id in (None, actor.user_id)
    assert (closed is None) == (not any(access.can_act(actor, o, actor.team_id).allowed for o in callback_owners))
