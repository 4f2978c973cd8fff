"""Masking outside the authorised circle (issue 9, care-domain §8): every payload the bot sends to a channel —
the morning list, the supervisors' list, escalation posts, the low-rated call announcement — shows names as
张* and phones as 139****5678, even where people typed them into free text."""

from __future__ import annotations

import datetime as dt
import json

from bot.care.call_form import CallForm
from bot.services import escalations
from bot.services.calls import log_call
from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from handlers.jobs import post_morning_lists
from handlers.sla_jobs import run_sla_sweep
from storage.models import Customer
from tests import seed
from tests.conftest import DEFAULT_NOW, SHANGHAI

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
PEOPLE = [  # code, name, phone, email
    ("M001", "欧阳娜娜", "+8613912345601", "nana.ouyang@example.cn"),
    ("M002", "Alice Wang", "+8613912345602", "alice.wang@example.com"),
    ("M003", "Hong Kong Ho", "+85291234567", "ho@example.hk"),
]


def channel_payloads(slack) -> list[str]:
    return [json.dumps(c.args, ensure_ascii=False) for method in ("chat.postMessage", "chat.update")
            for c in slack.ok_calls_to(method) if str(c.args.get("channel", "")).startswith(("C", "G"))]


def test_every_channel_post_masks_names_phones_and_emails(team, renderer, bot, clock):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    set_setting(team, "locale", "en")
    escalations.set_manager(team, "default", None, "C0BOSS")
    bot.slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    for user in ("U0AGENT", "U0SUPER"):
        bot.slack.add_user(user, locale="en-US")
    ids = {}
    for code, name, phone, email in PEOPLE:
        ids[code] = seed.customer(team, code, name, phone=phone)
        with team.db.unit_of_work() as session:
            session.get(Customer, ids[code]).email = email
        seed.callback(team, ids[code], DEFAULT_NOW - dt.timedelta(days=1))
    seed.callback(team, ids["M002"], DEFAULT_NOW - dt.timedelta(hours=2), kind="churn_intervention", owner="U0SUPER")
    open_complaint(team, AGENT, ComplaintForm(
        customer_id=ids["M001"], kind="complaint", category="service", severity="high",
        description="欧阳娜娜 says call her on 139 1234 5601 or mail nana.ouyang@example.cn; order 20241234567890"))
    post_morning_lists(team, renderer, bot.app.client)
    log_call(team, AGENT, CallForm(customer_id=ids["M003"], callback_id=None, channel="phone", outcome="satisfied",
                                   rating=1, summary="", feedback="Hong Kong Ho: call back on +852 9123 4567",
                                   next_on=None))
    for hour in (10, 11, 12, 15):  # the low-rated call at once, then breaches up to the manager level
        clock.set(dt.datetime(2026, 11, 24, hour, 1, tzinfo=SHANGHAI))
        run_sla_sweep(team, renderer, bot.app.client)

    posts = channel_payloads(bot.slack)
    channels = {json.loads(p)["channel"] for p in posts}
    assert {"C0DIGEST", "C0SUPER", "C0BOSS"} <= channels, bot.slack.describe_calls()
    everything = "\n".join(posts)
    for code, name, phone, email in PEOPLE:
        national = phone[3:] if phone.startswith("+86") else phone[4:]
        leaks = [v for v in (name, phone, national, email) if v in everything]
        assert leaks == [], f"{code} shown unmasked in a channel: {leaks}"
        assert code in everything
    assert "欧*" in everything and "A*" in everything and "n***@example.cn" in everything
    assert "Hong Kong Ho" not in everything and "H*" in everything
    assert "139****5601" in everything and "20241234567890" in everything  # an order number is no phone
