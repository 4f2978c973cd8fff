"""A simulated week against a Slack that fails a seeded 20 % of calls (429 with Retry-After, 500, hangs past
the client timeout after or before taking effect), with two replicas on PostgreSQL (one on SQLite, which
runs one process): every morning list, warning and escalation arrives exactly once, and no channel gets
two messages less than a second apart."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest

from bot.clock import ManualClock
from bot.services import escalations, outbox
from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.core import Services
from bot.services.outbox import Policy
from bot.services.people import Actor, Role, add_staff
from bot.services.teams import set_setting
from bot.settings import Settings
from bot.slack_client import build_client
from handlers.jobs import post_morning_lists
from handlers.outbox_jobs import deliver_outbox
from handlers.sla_jobs import run_sla_sweep
from storage import sla_queries
from storage.db import Database
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI

pytestmark = pytest.mark.slow
TEAMS = {"default": ("C0LISTA", "C0SUPA", "U0OWNA"), "east": ("C0LISTB", "C0SUPB", "U0OWNB")}
MONDAY = dt.date(2026, 11, 23)
MOMENTS = ((9, 5), (10, 0), (10, 49), (11, 1), (11, 31))  # local: list, open, warn, page, manager
POLICY = Policy(backoff=dt.timedelta(seconds=0.2), max_backoff=dt.timedelta(seconds=1),
                lease=dt.timedelta(seconds=3), max_attempts=50)


def setup_teams(svc: Services, slack) -> None:
    for team_id, (digest, supervisors, owner) in TEAMS.items():
        set_setting(svc, "digest_channel", digest, team_id=team_id)
        set_setting(svc, "supervisor_channel", supervisors, team_id=team_id)
        set_setting(svc, "locale", "en", team_id=team_id)
        add_staff(svc, owner, Role.AGENT, team_id=team_id)
        slack.add_user(owner, locale="en-US")
    escalations.set_manager(svc, "default", "U0BOSS", None)
    slack.add_user("U0BOSS", locale="en-US")


def open_complaints(svc: Services, day: int) -> None:
    for team_id, (_, _, owner) in TEAMS.items():
        cid = seed.customer(svc, f"{team_id[:1].upper()}{day:03d}", f"Customer {day}", owner=owner)
        if team_id != "default":  # seed writes to the default team
            with svc.db.unit_of_work() as session:
                from storage.models import Customer

                session.get(Customer, cid).team_id = team_id
        open_complaint(svc, Actor(owner, team_id, Role.AGENT, "en", "Asia/Shanghai"),
                       ComplaintForm(customer_id=cid, kind="complaint", category="quality", severity="normal",
                                     description=f"Day {day}: the kettle leaks"))


def test_a_week_of_faults_nothing_lost_nothing_twice_one_message_a_second(services, slack, database_url):
    setup_teams(services, slack)
    clock = ManualClock(dt.datetime.combine(MONDAY, dt.time(8, 0), SHANGHAI))
    count = 1 if database_url.startswith("sqlite") else 2
    replicas = [Services(db=Database(database_url), clock=clock, outbox_policy=POLICY) for _ in range(count)]
    clients = [build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=1))
               for _ in replicas]
    slack.chaos(seed=20261123, share=0.2, hang_seconds=1.3, retry_after=1,
                methods=("chat.postMessage", "conversations.history", "conversations.open", "dnd.info"))
    errors: list[BaseException] = []

    def tick(svc, client) -> None:
        try:
            post_morning_lists(svc, svc_renderer, client)
            run_sla_sweep(svc, svc_renderer, client)
            deliver_outbox(svc, svc_renderer, client, budget_seconds=3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    from messages.render import Renderer

    svc_renderer = Renderer()
    try:
        for day in range(7):
            date = MONDAY + dt.timedelta(days=day)
            for hour, minute in MOMENTS:
                clock.set(dt.datetime.combine(date, dt.time(hour, minute), SHANGHAI))
                if (hour, minute) == (10, 0) and date.weekday() < 5:
                    open_complaints(services, day)
                threads = [threading.Thread(target=tick, args=pair) for pair in zip(replicas, clients, strict=True)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
        slack.chaos_off()
        for _ in range(20):  # what the faults left behind: the worker's next runs
            for svc, client in zip(replicas, clients, strict=True):
                deliver_outbox(svc, svc_renderer, client, budget_seconds=3)
            if not outbox.undelivered(services):
                break
            import time

            time.sleep(POLICY.lease.total_seconds() / 3)
    finally:
        slack.chaos_off()
        for svc in replicas:
            svc.db.dispose()
    assert errors == []
    assert outbox.undelivered(services) == []

    channels = [c for digest, sup, _ in TEAMS.values() for c in (digest, sup)]
    channels += [slack.dm_channel_id(user) for user in ("U0OWNA", "U0OWNB", "U0BOSS")]
    posted = {c: slack.messages(c) for c in channels}
    keys = Counter(m["metadata"]["event_payload"]["key"] for msgs in posted.values() for m in msgs)
    assert keys and max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    with services.db.unit_of_work() as session:
        from sqlalchemy import select

        from storage.outbox_models import OutboxMessage

        expected = set(session.scalars(select(OutboxMessage.key)))
        notices = session.scalars(select(sla_queries.EscalationNotice)).all()
    assert set(keys) == expected
    lists = [k for k in keys if k.startswith(("digest:C0LISTA", "digest:C0LISTB"))]
    assert len(lists) == 2 * 5, sorted(lists)  # two teams, Monday to Friday; nothing on the weekend
    assert notices and all(n.posted_at is not None and n.message_ts for n in notices)
    steps: dict[int, set] = {}
    for notice in notices:
        steps.setdefault(notice.complaint_id, set()).add((notice.clock, notice.level))
    assert len(steps) == 2 * 5  # every complaint of the week: its owner warned, then the supervisors paged
    assert all({("first_response", "owner"), ("first_response", "supervisors")} <= s for s in steps.values())
    for channel, messages in posted.items():
        stamps = sorted(float(m["ts"]) for m in messages)
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        assert not gaps or min(gaps) >= 1.0, (channel, gaps)
    kinds = {fault for _, fault in slack.faults}
    assert kinds == {"429", "500", "hang_after", "hang_before"}, slack.faults
