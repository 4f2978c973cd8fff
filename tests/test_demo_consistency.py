"""The demo leaves its database as the bot would have it that morning (tryout): the list `carebot demo` prints is
the list `carebot digest --dry-run` prints on that database at that moment, also after `carebot serve` starting
then has run what its scheduler runs (the nightly plan); and its customer cards agree with themselves: no calls
to a customer without a phone, the last contact is the last call that reached them (and the one a periodic
touch's reason names), the segment agrees with the reason of the customer's churn-risk or reactivation
callback."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.clock import ManualClock
from bot.demo import CUSTOMERS, DEMO_TEAM, load_demo
from bot.plaintext import blocks_to_text
from bot.services.core import Services
from bot.services.customer_card import customer_card
from bot.services.people import Actor, Role
from bot.services.queue import morning_list
from handlers.jobs import render_morning_list
from handlers.plan_jobs import run_nightly_plan_job
from messages.render import Renderer
from storage import queries
from storage.db import Database
from storage.models import Customer
from tests.conftest import SHANGHAI

SUPERVISOR = Actor("U0DEMOSUP", DEMO_TEAM, Role.SUPERVISOR, "en", "Asia/Shanghai")


def digest_dry_run(services: Services) -> str:
    """What `carebot digest --dry-run` prints for the demo team at the services' clock (bot/cli.py digest)."""
    with services.db.unit_of_work() as session:
        row = queries.ensure_team(session, DEMO_TEAM)
        names = {s.user_id: s.display_name or s.user_id for s in queries.staff_of_team(session, DEMO_TEAM)}
    now = services.clock.now()
    return blocks_to_text(render_morning_list(Renderer(), morning_list(services, row, now,
                                                                       services.calendar_for(row))).blocks, names)


@pytest.mark.parametrize("today, shown", [
    ("2026-12-01", dt.date(2026, 12, 1)),  # the tryout's Tuesday
    ("2026-11-28", dt.date(2026, 11, 30)),  # a Saturday: the demo lays out Monday's list
])
def test_the_list_the_demo_prints_is_the_list_the_bot_posts_that_morning(tmp_path, today, shown):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = CliRunner().invoke(main, ["demo", "--today", today, "--database-url", url])
    assert demo.exit_code == 0, demo.output
    printed = demo.stdout.strip()
    assert f"{shown.year}年{shown.month}月{shown.day}日" in printed
    morning = dt.datetime.combine(shown, dt.time(9, 0), tzinfo=SHANGHAI)  # the team's digest_time
    services = Services(db=Database(url), clock=ManualClock(morning), default_team=DEMO_TEAM)
    try:
        # `carebot serve` started on the demo's database that morning: its scheduler's nightly plan adds nothing
        run = run_nightly_plan_job(services)
        assert run.planned == [], f"the nightly plan created callbacks the demo did not show: {run}"
        assert digest_dry_run(services).strip() == printed
    finally:
        services.db.dispose()


@pytest.mark.parametrize("morning", [
    dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI),
    dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI),  # the tryout's
    dt.datetime(2027, 3, 10, 9, 0, tzinfo=SHANGHAI),
])
def test_the_demo_customers_cards_agree_with_themselves(services, clock, renderer, morning):
    clock.set(morning)
    load_demo(services)
    run_nightly_plan_job(services)  # what `carebot serve` would run that morning changes none of it
    with services.db.unit_of_work() as session:
        last_contact = {c.code: c.last_contact_at for c in session.query(Customer)}
    seeded = {code: phone for code, _, phone, *_ in CUSTOMERS}
    for code, phone in seeded.items():
        card = customer_card(services, SUPERVISOR, code)
        shown = blocks_to_text(renderer.message("customer_card.json.j2", "en", card=card,
                                                timezone="Asia/Shanghai").blocks, {})
        if phone is None:
            assert card.calls == [], f"{code} has no phone, yet its card lists calls:\n{shown}"
        reached = [c.called_at for c in card.calls if c.outcome != "unreachable"]
        contact = last_contact[code]
        assert all(contact is not None and at <= contact for at in reached), \
            f"{code}: a call reached them after their last contact {contact}:\n{shown}"
        if reached and contact is not None and contact >= morning - dt.timedelta(weeks=9):
            assert max(reached) == contact, f"{code}: last contact {contact}, last call {max(reached)}"
        if contact is not None:  # the reason of a periodic touch names the last contact the card's calls show
            for callback in card.callbacks:
                if callback.rule == "periodic.touch":
                    assert callback.params["anchor"] >= contact.astimezone(SHANGHAI).date().isoformat(), \
                        f"{code}: last contact {contact}, yet its touch says 'last contact {callback.params['anchor']}'"
        activity = card.segments[1]
        for callback in card.callbacks:
            if callback.rule == "churn_risk.intervention":
                assert activity == "churn_risk", f"{code}: {activity} with a churn-risk callback:\n{shown}"
            if callback.rule == "silent.reactivation":
                assert activity == "silent", f"{code}: {activity} with a reactivation callback:\n{shown}"
    # the tryout's two cards
    silent, churn = customer_card(services, SUPERVISOR, "U900"), customer_card(services, SUPERVISOR, "E100")
    assert silent.calls == [] and silent.segments[1] == "silent"
    assert churn.calls == [] and churn.segments[1] == "churn_risk"
    assert [cb.params.get("reason") for cb in churn.callbacks if cb.rule == "churn_risk.intervention"] == ["inactive"]
