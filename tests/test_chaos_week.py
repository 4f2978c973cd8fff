"""A simulated week against a Slack that fails a seeded 20 % of calls (429 with Retry-After, 500, hangs past
the client timeout after or before taking effect), with two replicas on PostgreSQL (one on SQLite, which
runs one process): every morning list, warning and escalation arrives exactly once, every update of an
escalation post after a supervisor's click (acknowledge, snooze) lands on that post and never as a new one,
Monday's weekly report is posted once per team with its charts shared once, and no channel gets two messages
less than a second apart."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter

import pytest
from sqlalchemy import select

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
from handlers.report_jobs import post_reports
from handlers.sla_jobs import run_sla_sweep
from storage import sla_queries
from storage.db import Database
from storage.outbox_models import OutboxMessage
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI

pytestmark = pytest.mark.slow
NOT_POSTS = ("post_update", "report_charts")  # an update edits a post, the charts are files: no key in metadata
TEAMS = {"default": ("C0LISTA", "C0SUPA", "U0OWNA"), "east": ("C0LISTB", "C0SUPB", "U0OWNB")}
SUPERVISOR = {"default": "U0SUPA", "east": "U0SUPB"}
MONDAY = dt.date(2026, 11, 23)
MOMENTS = ((9, 5), (10, 0), (10, 49), (11, 1), (11, 20), (11, 31))  # local: list, open, warn, page, click, manager
CLICK = (11, 20)  # on Monday, Wednesday and Friday the supervisors acknowledge (team default) or snooze (east)
FAULTY = ("chat.postMessage", "chat.update", "conversations.history", "conversations.open", "dnd.info",
          "files.getUploadURLExternal", "files.completeUploadExternal", "files.info")
POLICY = Policy(backoff=dt.timedelta(seconds=0.2), max_backoff=dt.timedelta(seconds=1),
                lease=dt.timedelta(seconds=3), max_attempts=50)


def setup_teams(svc: Services, slack) -> None:
    for team_id, (digest, supervisors, owner) in TEAMS.items():
        set_setting(svc, "digest_channel", digest, team_id=team_id)
        set_setting(svc, "supervisor_channel", supervisors, team_id=team_id)
        set_setting(svc, "locale", "en", team_id=team_id)
        add_staff(svc, owner, Role.AGENT, team_id=team_id)
        slack.add_user(owner, locale="en-US")
        add_staff(svc, SUPERVISOR[team_id], Role.SUPERVISOR, team_id=team_id)
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


def click_on_todays_pages(svc: Services, slack, day: int) -> list[tuple[str, str, int]]:
    """What a supervisor sees in Slack and clicks: each page of the day's complaint found in the channel (by the
    key in its metadata, whether or not the outbox has recorded it yet); (channel, ts, complaint) clicked."""
    from sqlalchemy import select

    from storage.outbox_models import OutboxMessage

    clicked = []
    for team_id, (_, supervisors, _) in TEAMS.items():
        with svc.db.unit_of_work() as session:
            pages = session.execute(select(OutboxMessage.key, OutboxMessage.effect).where(
                OutboxMessage.kind == "escalation", OutboxMessage.channel == supervisors)).all()
        in_slack = {(m.get("metadata") or {}).get("event_payload", {}).get("key"): m["ts"]
                    for m in slack.messages(supervisors)}
        actor = Actor(SUPERVISOR[team_id], team_id, Role.SUPERVISOR, "en", "Asia/Shanghai")
        for key, effect in pages:
            complaints = {item["complaint"] for item in effect.get("audit", []) if item["level"] == "supervisors"}
            with svc.db.unit_of_work() as session:
                from storage.models import Complaint, Customer

                todays = [c for c in complaints if session.get(Customer, session.get(Complaint, c).customer_id)
                          .code.endswith(f"{day:03d}")]
            if key not in in_slack or not todays:
                continue
            where = (supervisors, in_slack[key])
            act = escalations.acknowledge if team_id == "default" else escalations.snooze
            act(svc, actor, todays[0], lambda group: [], once=f"post:chaos:{todays[0]}:{where[1]}", post=where)
            clicked.append((supervisors, where[1], todays[0]))
    return clicked


def test_a_week_of_faults_nothing_lost_nothing_twice_one_message_a_second(services, slack, database_url):
    setup_teams(services, slack)
    clock = ManualClock(dt.datetime.combine(MONDAY, dt.time(8, 0), SHANGHAI))
    count = 1 if database_url.startswith("sqlite") else 2
    replicas = [Services(db=Database(database_url), clock=clock, outbox_policy=POLICY) for _ in range(count)]
    clients = [build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=1))
               for _ in replicas]
    slack.chaos(seed=20261123, share=0.2, hang_seconds=1.3, retry_after=1, methods=FAULTY)
    # besides the seeded 20 %: of Monday's two report uploads, one completion's answer is lost after it took effect
    # and the other's completion fails with 500 (three times: the client's own retries too)
    slack.hang_next("files.completeUploadExternal", 1.3, after_effect=True)
    slack.fail_next("files.completeUploadExternal", "internal_error", 500, times=3)
    errors: list[BaseException] = []

    def tick(svc, client) -> None:
        try:
            post_morning_lists(svc, svc_renderer, client)
            post_reports(svc, svc_renderer, client)
            run_sla_sweep(svc, svc_renderer, client)
            deliver_outbox(svc, svc_renderer, client, budget_seconds=3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    from messages.render import Renderer

    svc_renderer = Renderer()
    clicks: list[tuple[str, str, int]] = []
    try:
        for day in range(7):
            date = MONDAY + dt.timedelta(days=day)
            for hour, minute in MOMENTS:
                clock.set(dt.datetime.combine(date, dt.time(hour, minute), SHANGHAI))
                if (hour, minute) == (10, 0) and date.weekday() < 5:
                    open_complaints(services, day)
                if (hour, minute) == CLICK and day in (0, 2, 4):
                    # besides the seeded 20 %, the first update of each click day surely fails: lost answer, 429, 500
                    if day == 0:
                        slack.hang_next("chat.update", 1.3, after_effect=True)
                    else:
                        slack.fail_next("chat.update", *(("ratelimited", 429) if day == 2 else ("internal_error", 500)),
                                        times=3)
                    clicks += click_on_todays_pages(replicas[0], slack, day)  # at the week's clock
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
        expected = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.kind.not_in(NOT_POSTS))))
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
    # the clicks: each update landed on the post clicked (never a new post: the keys above are all posts)
    assert len(clicks) >= 4, clicks
    for channel, ts, complaint in clicks:
        [post] = [m for m in posted[channel] if m["ts"] == ts]
        shown = json.dumps(post["blocks"])
        assert ("Acknowledged by" in shown) if channel == "C0SUPA" else ("Snoozed" in shown), (
            complaint, ts, shown, escalations.audit_trail(services, complaint),
            [(c.ok, c.error, c.args.get("ts")) for c in slack.calls_to("chat.update")])
    with services.db.unit_of_work() as session:
        updates = session.execute(select(OutboxMessage.key, OutboxMessage.status)
                                  .where(OutboxMessage.kind == "post_update")).all()
    assert len(updates) == len(clicks) and {status for _, status in updates} == {"sent"}
    # Monday's weekly report (W47), once per team: its text once (a key above), its 4 charts shared once
    reports = sorted(k for k in keys if k.startswith("report:"))
    assert reports == ["report:default:week:2026-W47:text", "report:east:week:2026-W47:text"], reports
    for _, supervisors, _ in TEAMS.values():
        names = sorted(f["filename"] for f in slack.files(supervisors))
        assert len(names) == 4 and len(set(names)) == 4, names
    print("faults served:", sorted(Counter(slack.faults).items()), "clicks:", len(clicks))  # for the note (-s)
    kinds = {fault for _, fault in slack.faults}
    assert kinds == {"429", "500", "hang_after", "hang_before"}, slack.faults
    faulted = {method for method, _ in slack.faults}
    assert {"chat.update", "files.getUploadURLExternal", "files.completeUploadExternal"} <= faulted, faulted
