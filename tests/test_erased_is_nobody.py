"""An erased customer is nobody to act on (care-domain §8, the right to deletion): a form that names one — an old
button, a forged view submission with their id — is refused as an unknown customer, and nothing is stored: no
call log, no complaint that would carry their name or words back into the book."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.care.call_form import CallForm
from bot.services.calls import log_call, target_for_customer
from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.errors import FormErrors
from bot.services.people import Actor, Role
from bot.services.privacy import erase_customer
from storage.models import CallLog, Complaint
from tests import seed

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")


def _erased(team) -> int:
    cid = seed.customer(team, "E001", "欧阳娜娜")
    erase_customer(team, "E001", "cli:test")
    return cid


def _count(team, model) -> int:
    with team.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("act", ["log_call", "call_target", "open_complaint"])
def test_a_form_naming_an_erased_customer_is_refused_and_stores_nothing(team, act):
    cid = _erased(team)
    with pytest.raises(FormErrors) as refused:
        if act == "log_call":
            log_call(team, AGENT, CallForm(cid, None, "phone", "satisfied", 5, "called", "欧阳娜娜 says hi", None))
        elif act == "call_target":
            target_for_customer(team, AGENT, cid)
        else:
            open_complaint(team, AGENT, ComplaintForm(customer_id=cid, description="欧阳娜娜女士来电投诉"))
    assert refused.value.errors["customer"][0] == "form.errors.customer_unknown"
    assert (_count(team, CallLog), _count(team, Complaint)) == (0, 0)


def test_a_withdrawn_complaints_clocks_stop_where_it_was_withdrawn(team):
    """An escalation post redrawn days later (a click on it, a row of /care complaints) shows a complaint closed
    by its customer's erasure with its clocks stopped at that moment, not running on into a breach."""
    import datetime as dt

    from bot.services.sla_clocks import complaint_row
    from storage import queries, sla_queries
    from tests.conftest import DEFAULT_NOW

    cid = seed.customer(team, "W001", "王五")
    opened = open_complaint(team, AGENT, ComplaintForm(customer_id=cid, description="漏水"))
    team.clock.set(DEFAULT_NOW + dt.timedelta(minutes=30))
    erase_customer(team, "W001", "cli:test")
    later = DEFAULT_NOW + dt.timedelta(days=3)
    with team.db.unit_of_work() as session:
        complaint = sla_queries.complaint_of_team(session, "default", opened.id)
        rules = team.sla_rules_for(queries.ensure_team(session, "default"))
        row = complaint_row(session, complaint, sla_queries.sla_of(session, opened.id), rules,
                            later)
    assert row.clocks and all(view.stopped and not view.breached for view in row.clocks), row.clocks
