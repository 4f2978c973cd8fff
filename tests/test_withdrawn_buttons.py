"""A button pressed on a complaint withdrawn by its customer's erasure (tryout 3, finding 9) says it was
withdrawn because the customer's data was erased, in the clicker's language, not "already resolved" (it is
closed with `withdrawn_at`, never resolved: the export and the reports call it withdrawn). A complaint that was
resolved still says so."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services import complaints, escalations
from bot.services.complaints import ComplaintForm, open_complaint, record_first_response, resolve_complaint
from bot.services.errors import CareError
from bot.services.people import Actor, Role
from bot.services.privacy import erase_customer
from messages.render import translate
from tests import seed
from tests.conftest import DEFAULT_NOW
from tests.test_complaints_over_http import desk, page_supervisors, press  # noqa: F401,F811 (desk: a fixture)
from tests.test_escalation_clicks import answers, told

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
ADMIN = Actor("U0ADMIN", "default", Role.ADMIN, "zh-CN", "Asia/Shanghai")


def members(_group: str) -> set[str]:
    return {"U0SUPER"}


ACTIONS = {
    "first response": lambda svc, cid: record_first_response(svc, AGENT, cid),
    "waiting on customer": lambda svc, cid: complaints.wait_on_customer(svc, AGENT, cid),
    "resolve": lambda svc, cid: resolve_complaint(svc, AGENT, cid, "Replaced it"),
    "acknowledge": lambda svc, cid: escalations.acknowledge(svc, ADMIN, cid, members),
    "snooze": lambda svc, cid: escalations.snooze(svc, ADMIN, cid, members),
    "reassign": lambda svc, cid: escalations.reassign(svc, ADMIN, cid, "U0AGENT2", members),
}


def opened(team) -> int:
    cid = seed.customer(team, "Z001", "Zoe Zhang")
    return open_complaint(team, AGENT, ComplaintForm(customer_id=cid, description="Leaks")).id


@pytest.mark.parametrize("action", ACTIONS, ids=str)
def test_an_action_on_a_withdrawn_complaint_says_it_was_withdrawn(team, action):
    complaint = opened(team)
    team.clock.set(DEFAULT_NOW + dt.timedelta(minutes=30))
    erase_customer(team, "Z001", "cli:test")
    with pytest.raises(CareError) as refused:
        ACTIONS[action](team, complaint)
    assert (refused.value.key, refused.value.params) == ("complaint.errors.withdrawn", {"id": complaint})


@pytest.mark.parametrize("action", ["first response", "waiting on customer", "acknowledge", "snooze"])
def test_an_action_on_a_resolved_complaint_still_says_already_resolved(team, action):
    complaint = opened(team)
    resolve_complaint(team, AGENT, complaint, "Replaced it")
    with pytest.raises(CareError) as refused:
        ACTIONS[action](team, complaint)
    assert refused.value.key == "complaint.errors.already_resolved"


def test_the_text_says_withdrawn_and_erased_in_both_languages():
    assert str(translate("en", "complaint.errors.withdrawn", id=7)).startswith("Complaint #7 was withdrawn")
    assert "erased" in str(translate("en", "complaint.errors.withdrawn", id=7))
    assert str(translate("zh-CN", "complaint.errors.withdrawn", id=7)).startswith("投诉 #7 已撤销")
    assert "删除" in str(translate("zh-CN", "complaint.errors.withdrawn", id=7))


def test_the_escalation_post_s_buttons_say_withdrawn_in_the_clicker_s_language(bot, desk):  # noqa: F811
    bot.slack.add_user("U0SUPER", locale="zh-CN")
    [complaint], page = page_supervisors(bot, desk)
    desk.clock.set(DEFAULT_NOW + dt.timedelta(hours=1, minutes=5))
    erase_customer(desk, "P000", "cli:test")
    press(bot, page, "U0ADMIN", "escalation_ack", value=str(complaint))
    press(bot, page, "U0SUPER", "escalation_snooze", value=str(complaint))
    press(bot, page, "U0ADMIN", "escalation_resolve", value=str(complaint))  # its form: not opened, said why
    assert len(told(bot, f"Complaint #{complaint} was withdrawn", 2)) == 2, answers(bot)
    assert len(told(bot, f"投诉 #{complaint} 已撤销", 1)) == 1, answers(bot)
    assert not any("already resolved" in text or "已经解决" in text for text in answers(bot)), answers(bot)
