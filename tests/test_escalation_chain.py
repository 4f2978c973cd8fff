"""The SLA sweep with a controllable clock: owner warning -> supervisors -> manager, acknowledgement,
snooze, restarts, business-hour clocks across weekends and holidays. The job runs against the Slack
stand-in exactly as the scheduler runs it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from slack_sdk import WebClient

from bot.clock import ManualClock
from bot.services import escalations
from bot.services.complaints import ComplaintForm, open_complaint, record_first_response
from bot.services.core import Services
from bot.services.people import Actor, Role
from bot.services.teams import set_setting
from handlers.sla_jobs import run_sla_sweep
from storage import notice_queries
from storage.db import Database
from tests import seed
from tests.conftest import BOT_TOKEN, SHANGHAI

AGENT = Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai")
SUPER = Actor("U0SUPER", "default", Role.SUPERVISOR, "zh-CN", "Asia/Shanghai")


def at(hour, minute=0, day=24, month=11):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def desk(team, slack):
    """The default team with a supervisors' channel and user group, a manager, and their Slack users."""
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "supervisor_group", "S0SUPERS")
    set_setting(team, "locale", "en")
    escalations.set_manager(team, "default", "U0BOSS", None)
    for user in ("U0AGENT", "U0AGENT2", "U0SUPER", "U0ADMIN", "U0BOSS"):
        slack.add_user(user, locale="en-US")
    slack.add_usergroup("S0SUPERS", "care-supervisors", ["U0SUPER"])
    return team


@pytest.fixture
def client(slack):
    return WebClient(token=BOT_TOKEN, base_url=slack.api_url)


def sweep_at(svc, renderer, client, moment):
    svc.clock.set(moment)
    return run_sla_sweep(svc, renderer, client)


def open_one(svc, name="Alice Wang", severity="normal", kind="complaint"):
    cid = seed.customer(svc, f"K{abs(hash(name)) % 10000:04d}", name)
    return open_complaint(svc, AGENT, ComplaintForm(customer_id=cid, kind=kind, category="quality",
                                                    severity=severity, description="The kettle leaks")).id


def posted_texts(slack, channel):
    return [m["text"] for m in slack.messages(channel)]


def test_breach_goes_owner_then_supervisors_then_manager(desk, renderer, client, slack):
    complaint = open_one(desk)  # Tue 10:00: first response due 11:00 (1 working hour)

    sweep_at(desk, renderer, client, at(10, 47))
    assert slack.messages("U0AGENT") == [] and slack.messages("C0SUPER") == []

    sweep_at(desk, renderer, client, at(10, 48))  # 80 % of the target: the owner is warned by DM
    [warning] = slack.messages("U0AGENT")
    assert "soon be past their SLA" in warning["text"]
    assert f"#{complaint}" in str(warning["blocks"])
    assert slack.messages("C0SUPER") == []

    sweep_at(desk, renderer, client, at(11, 0))  # exactly at due: not yet a breach
    assert slack.messages("C0SUPER") == []
    sweep_at(desk, renderer, client, at(11, 1))
    [page] = slack.messages("C0SUPER")
    assert page["text"].startswith("<!subteam^S0SUPERS>")
    assert "First response is past its SLA" in str(page["blocks"])

    sweep_at(desk, renderer, client, at(11, 30))
    assert slack.messages("U0BOSS") == []
    sweep_at(desk, renderer, client, at(11, 31))  # nobody acknowledged within 30 min: the manager
    [manager] = slack.messages("U0BOSS")
    assert manager["text"].startswith("<@U0BOSS>")
    assert "nobody acknowledged" in str(manager["blocks"])

    sweep_at(desk, renderer, client, at(12, 0))  # every level once, no repeats
    assert len(slack.messages("U0AGENT")) == 1 and len(slack.messages("C0SUPER")) == 1
    assert len(slack.messages("U0BOSS")) == 1
    trail = [a.action for a in escalations.audit_trail(desk, complaint)]
    assert trail == ["opened", "notified", "notified", "notified"]


def test_acknowledgement_stops_the_chain_and_retriggers_while_unresolved(desk, renderer, client, slack):
    complaint = open_one(desk)
    sweep_at(desk, renderer, client, at(11, 1))
    assert len(slack.messages("C0SUPER")) == 1
    desk.clock.set(at(11, 5))
    escalations.acknowledge(desk, SUPER, complaint, group_members=lambda g: [])

    sweep_at(desk, renderer, client, at(11, 31))
    assert slack.messages("U0BOSS") == [], "an acknowledged complaint does not go to the manager"
    sweep_at(desk, renderer, client, at(11, 34))
    assert len(slack.messages("C0SUPER")) == 1
    sweep_at(desk, renderer, client, at(11, 35))  # re-trigger 30 min after the acknowledgement
    reminders = slack.messages("C0SUPER")
    assert len(reminders) == 2 and "Still not resolved after the acknowledgement" in str(reminders[1]["blocks"])

    desk.clock.set(at(11, 40))
    record_first_response(desk, AGENT, complaint)  # the first-response clock stops: no more reminders
    sweep_at(desk, renderer, client, at(12, 30))
    assert len(slack.messages("C0SUPER")) == 2 and slack.messages("U0BOSS") == []


def test_snooze_delays_the_next_level(desk, renderer, client, slack):
    complaint = open_one(desk)
    sweep_at(desk, renderer, client, at(11, 1))
    desk.clock.set(at(11, 10))
    until = escalations.snooze(desk, SUPER, complaint, group_members=lambda g: [])
    assert until == at(11, 40)

    sweep_at(desk, renderer, client, at(11, 31))  # the manager would be due now, but it is snoozed
    sweep_at(desk, renderer, client, at(11, 39))
    assert slack.messages("U0BOSS") == []
    sweep_at(desk, renderer, client, at(11, 40))
    assert len(slack.messages("U0BOSS")) == 1


def test_no_second_ping_for_the_same_level_after_a_restart(desk, renderer, client, slack, database_url):
    open_one(desk)
    sweep_at(desk, renderer, client, at(11, 1))
    assert len(slack.messages("C0SUPER")) == 1

    # A restarted bot (or a second replica): new services, new clock, same database.
    restarted = Services(db=Database(database_url), clock=ManualClock(at(11, 1)), default_team="default")
    try:
        run_sla_sweep(restarted, renderer, client)
        restarted.clock.set(at(11, 2))
        run_sla_sweep(restarted, renderer, client)
        sweep_at(desk, renderer, client, at(11, 3))
    finally:
        restarted.db.dispose()
    assert len(slack.messages("C0SUPER")) == 1


def test_a_failed_post_is_retried_by_the_outbox_once(desk, renderer, client, slack):
    from bot.services.outbox import Policy
    from handlers.outbox_jobs import deliver_outbox

    open_one(desk)
    desk.outbox_policy = Policy(backoff=dt.timedelta(0))  # retry at once (the default waits 5 s, doubling)
    sweep_at(desk, renderer, client, at(10, 48))  # the owner's warning, delivered
    slack.fail_next("chat.postMessage", error="fatal_error", status=200, times=1)
    client.retry_handlers.clear()
    run = sweep_at(desk, renderer, client, at(11, 1))
    assert run.failed and slack.messages("C0SUPER") == []
    sweep_at(desk, renderer, client, at(11, 2))  # nothing claimed twice
    assert deliver_outbox(desk, renderer, client).sent
    sweep_at(desk, renderer, client, at(11, 3))
    assert len(slack.messages("C0SUPER")) == 1


def test_several_breaches_in_one_sweep_are_one_post_per_channel(desk, renderer, client, slack):
    ids = [open_one(desk, name=f"Customer {n}") for n in range(4)]
    sweep_at(desk, renderer, client, at(11, 1))
    [page] = slack.messages("C0SUPER")
    for complaint in ids:
        assert f"#{complaint}" in str(page["blocks"])
    assert len(slack.messages("U0AGENT")) == 1, "the owner's warnings come as one DM as well"


def test_owner_warning_waits_for_do_not_disturb_but_the_breach_does_not(desk, renderer, client, slack):
    open_one(desk)
    slack.set_dnd("U0AGENT", snooze_enabled=True, snooze_endtime=int(at(11, 30).timestamp()))
    sweep_at(desk, renderer, client, at(10, 50))
    assert slack.messages("U0AGENT") == []
    sweep_at(desk, renderer, client, at(11, 1))
    assert len(slack.messages("C0SUPER")) == 1, "supervisors' pages break through"
    sweep_at(desk, renderer, client, at(11, 30))  # DND over: the warning is delivered, late but not lost
    assert len(slack.messages("U0AGENT")) == 1


@pytest.mark.parametrize(("opened", "due"), [
    (at(17, 30, day=27), at(9, 30, day=30)),  # Friday evening -> Monday morning, the weekend skipped
    (at(17, 30, day=30, month=9), at(9, 30, day=8, month=10)),  # 国庆 2026: 1-7 October off
    (at(17, 30, day=9, month=10), at(9, 30, day=10, month=10)),  # 调休: Saturday 10 October is a working day
], ids=["weekend", "national-day", "adjusted-saturday"])
def test_business_hour_clock_over_days_off(desk, renderer, client, slack, opened, due):
    """The first response (1 working hour) runs only in working windows; the 24 h resolution clock is in
    calendar hours and breaches over the days off, as the rules say."""
    from bot.services.complaints import complaint_for

    desk.clock.set(opened)
    complaint = open_one(desk)
    [first_response, resolution] = complaint_for(desk, AGENT, complaint).clocks
    assert first_response.due_at == due
    assert resolution.due_at == opened + dt.timedelta(hours=24)

    def first_response_pages():
        return [m for m in slack.messages("C0SUPER") if "First response is past its SLA" in str(m["blocks"])]

    for moment in (opened + dt.timedelta(hours=2), opened + dt.timedelta(hours=30), due - dt.timedelta(minutes=1)):
        if moment < due:  # the evening, the days off, the minute before the due time
            sweep_at(desk, renderer, client, moment)
    assert first_response_pages() == []
    sweep_at(desk, renderer, client, due + dt.timedelta(minutes=1))
    assert len(first_response_pages()) == 1


def test_the_page_mentions_the_group_and_nobody_else(desk, renderer, client, slack):
    name = "<!channel> <!here> <@U0ADMIN> Zhang"
    seed.customer(desk, "X666", name, phone="+8613812345678")
    cid = seed.customer(desk, "X667", "张伟")
    open_complaint(desk, AGENT, ComplaintForm(customer_id=cid - 1, description="<!everyone> refund now"))
    open_complaint(desk, AGENT, ComplaintForm(customer_id=cid, description="late delivery"))
    sweep_at(desk, renderer, client, at(11, 1))
    [page] = slack.messages("C0SUPER")
    raw = page["text"] + str(page["blocks"])
    assert re.findall(r"<[@!][^>]*>", raw) == ["<!subteam^S0SUPERS>", "<!subteam^S0SUPERS>"]
    assert "张*" in raw and "张伟" not in raw, "customer names are masked in a channel"
    assert "138****5678" in raw and "13812345678" not in raw
    assert "&lt;*" in raw  # the customer named <!channel>… is escaped and masked


def test_low_rated_call_opens_a_follow_up_that_supervisors_hear_about(desk, renderer, client, slack):
    from bot.care.call_form import CallForm
    from bot.services.calls import log_call

    cid = seed.customer(desk, "R001", "Rita Liu")
    log_call(desk, AGENT, CallForm(customer_id=cid, callback_id=None, channel="phone", outcome="satisfied",
                                   rating=2, summary="", feedback="Rude courier", next_on=None))
    sweep_at(desk, renderer, client, at(10, 1))
    [page] = slack.messages("C0SUPER")
    assert "low-rated call" in str(page["blocks"]) and "Rude courier" in str(page["blocks"])
    sweep_at(desk, renderer, client, at(10, 2))
    assert len(slack.messages("C0SUPER")) == 1
    with desk.db.unit_of_work() as session:
        assert notice_queries.notice_count(session) == 1


def test_two_replicas_sweeping_at_once_post_each_step_once(desk, renderer, client, slack, database_url):
    import threading

    for n in range(3):
        open_one(desk, name=f"Replica {n}")
    replicas = [Services(db=Database(database_url), clock=ManualClock(at(11, 1)), default_team="default")
                for _ in range(2)]
    start = threading.Barrier(len(replicas))
    errors = []

    def run(svc):
        try:
            start.wait()
            run_sla_sweep(svc, renderer, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(svc,)) for svc in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for svc in replicas:
        svc.db.dispose()
    assert errors == []
    pages = slack.messages("C0SUPER")
    paged = [f"#{n}" for page in pages for n in re.findall(r"#(\d+)\*", str(page["blocks"]))]
    assert len(paged) == 3 and len(set(paged)) == 3, "each complaint paged exactly once across both replicas"
    with desk.db.unit_of_work() as session:
        assert notice_queries.notice_count(session) == 6  # 3 owner warnings + 3 supervisor pages


def test_the_page_speaks_the_teams_language(desk, renderer, client, slack):
    set_setting(desk, "locale", "zh-CN")
    cid = seed.customer(desk, "2024001", "张女士")
    open_complaint(desk, AGENT, ComplaintForm(customer_id=cid, category="logistics", severity="high",
                                              description="快递三天未到"))
    sweep_at(desk, renderer, client, at(11, 1))
    [page] = slack.messages("C0SUPER")
    shown = page["text"] + str(page["blocks"])
    assert "需要客服主管处理" in shown and "投诉" in shown and "首次响应已超时" in shown and "张*" in shown
    assert "确认" in shown and "暂缓 30 分钟" in shown


def test_owner_warning_waits_for_the_end_of_quiet_hours(desk, renderer, client, slack):
    open_one(desk)  # resolution: 24 calendar hours, due Wednesday 10:00; 80 % is 05:12, inside 21:00-08:00
    sweep_at(desk, renderer, client, at(10, 48))
    assert len(slack.messages("U0AGENT")) == 1  # the first-response warning
    sweep_at(desk, renderer, client, at(5, 12, day=25))
    sweep_at(desk, renderer, client, at(7, 59, day=25))
    assert len(slack.messages("U0AGENT")) == 1
    sweep_at(desk, renderer, client, at(8, 0, day=25))
    warnings = slack.messages("U0AGENT")
    assert len(warnings) == 2 and "Resolution" in str(warnings[1]["blocks"])


def test_a_failed_announcement_of_a_low_rating_is_retried(desk, renderer, client, slack):
    from bot.care.call_form import CallForm
    from bot.services.calls import log_call

    cid = seed.customer(desk, "R002", "Rex Ma")
    log_call(desk, AGENT, CallForm(customer_id=cid, callback_id=None, channel="phone", outcome="satisfied",
                                   rating=1, summary="", feedback="Never again", next_on=None))
    slack.fail_next("chat.postMessage", error="fatal_error", status=200, times=1)
    client.retry_handlers.clear()
    from bot.services.outbox import Policy
    from handlers.outbox_jobs import deliver_outbox

    desk.outbox_policy = Policy(backoff=dt.timedelta(0))
    sweep_at(desk, renderer, client, at(10, 1))
    assert slack.messages("C0SUPER") == []
    sweep_at(desk, renderer, client, at(10, 2))
    deliver_outbox(desk, renderer, client)  # the outbox worker's next run
    sweep_at(desk, renderer, client, at(10, 3))
    [page] = slack.messages("C0SUPER")
    assert "Never again" in str(page["blocks"])


def test_a_post_shows_the_complaint_as_it_is_when_it_goes_out(desk, renderer, client, slack):
    """The sweep queues its posts; the outbox builds and renders each one as it sends it. Acknowledged between
    the two (Slack's pace held the post), the post goes out saying who acknowledged it, in the team's language."""
    from handlers.outbox_jobs import deliver_outbox

    complaint = open_one(desk)  # Tue 10:00: first response due 11:00
    sweep_at(desk, renderer, client, at(10, 48))  # the owner's warning, sent
    desk.clock.set(at(11, 1))
    queued = escalations.run_sweep(desk)  # the supervisors' breach: claimed and queued, not sent yet
    assert [channel for channel, _, _ in queued.queued] == ["C0SUPER"] and slack.messages("C0SUPER") == []
    desk.clock.set(at(11, 3))
    escalations.acknowledge(desk, SUPER, complaint, group_members=lambda g: [])
    deliver_outbox(desk, renderer, client)
    [post] = slack.messages("C0SUPER")
    assert f"#{complaint}" in str(post["blocks"])
    assert "Acknowledged by <@U0SUPER>" in str(post["blocks"])


def test_a_post_about_a_complaint_resolved_before_it_goes_out_is_not_sent(desk, renderer, client, slack):
    """Queued by the sweep, then the complaint is resolved (or its customer erased) before Slack's pace lets the
    post out: nobody is paged about it; the outbox keeps the message as ended, saying why."""
    from bot.services import outbox
    from bot.services.complaints import resolve_complaint
    from handlers.outbox_jobs import deliver_outbox

    complaint = open_one(desk)
    sweep_at(desk, renderer, client, at(10, 48))  # the owner's warning, sent
    desk.clock.set(at(11, 1))
    queued = escalations.run_sweep(desk)  # the supervisors' breach: queued, not sent yet
    assert [channel for channel, _, _ in queued.queued] == ["C0SUPER"]
    desk.clock.set(at(11, 3))
    resolve_complaint(desk, AGENT, complaint, "Replaced the kettle")
    deliver_outbox(desk, renderer, client)
    assert not [m for m in slack.messages("C0SUPER") if f"#{complaint}" in str(m.get("blocks"))]
    [ended] = [row for row in outbox.undelivered(desk) if row.kind == "escalation"]
    assert ended.status == "failed" and "resolved or erased before it was sent" in ended.last_error


def test_an_escalation_row_naming_another_team_s_notices_posts_nothing(desk, renderer, client, slack):
    """An outbox row is only as good as the database it is in: a row written for another team (or with a payload
    that is not a list of notices) posts nothing and ends at once, saying why."""
    from sqlalchemy import select

    from bot.services import outbox
    from handlers.outbox_jobs import deliver_outbox
    from storage.sla_models import EscalationNotice

    open_one(desk)
    sweep_at(desk, renderer, client, at(10, 48))  # the owner's warning: its notice exists now
    with desk.db.unit_of_work() as session:
        [notice] = session.scalars(select(EscalationNotice.id)).all()
        outbox.enqueue(session, key="forged:1", team_id="other", kind="escalation", channel="C0OTHER",
                       payload={"notices": [notice], "locale": "en"})
        outbox.enqueue(session, key="forged:2", team_id="default", kind="escalation", channel="C0OTHER",
                       payload={"notices": "1,2", "locale": "en"})
    deliver_outbox(desk, renderer, client)
    assert slack.messages("C0OTHER") == []
    ended = {row.status for row in outbox.undelivered(desk) if row.kind == "escalation"}
    assert ended == {"failed"}


def test_a_slow_slack_does_not_hold_a_catch_up_and_every_warning_still_goes(desk, renderer, client, slack):
    """Twelve owners have a warning due at once and Slack takes 5 s to answer dnd.info and users.info: the sweep
    asks within its budget (handlers/sla_jobs.SlackLookups: one short try each, 3 s in all), takes the rest as not
    in do-not-disturb and in their stored language, and every owner is warned in this sweep — not after 12 × 2
    slow answers with the sweep's transaction open and the supervisors' pages waiting behind it."""
    import time

    from bot.services.people import add_staff

    owners = [f"U0OWN{n:02d}" for n in range(12)]
    for n, owner in enumerate(owners):
        add_staff(desk, owner, Role.AGENT)
        slack.add_user(owner, locale="en-US")
        cid = seed.customer(desk, f"W{n:03d}", f"Customer {n}", owner=owner)
        open_complaint(desk, Actor(owner, "default", Role.AGENT, "en", "Asia/Shanghai"),
                       ComplaintForm(customer_id=cid, description="The kettle leaks"))
    slack.slow("dnd.info", 5)
    slack.slow("users.info", 5)
    started = time.monotonic()
    run = sweep_at(desk, renderer, client, at(10, 50))  # each owner's warning point (0.8 of 1 working hour)
    took = time.monotonic() - started
    slack.slow("dnd.info", 0)
    slack.slow("users.info", 0)
    assert took < 15, took
    assert sum(count for _, _, count in run.posted) == len(owners)
    assert all(len(slack.messages(owner)) == 1 for owner in owners)
    assert len(slack.calls_to("dnd.info")) + len(slack.calls_to("users.info")) <= 4  # the budget, not 24 asks


def test_a_language_slack_did_not_tell_is_asked_again_soon_not_in_a_week(desk, renderer, client, slack):
    """A sweep that could not ask users.info (Slack slow: its budget spent) warns new owners in the team's
    language, and asks again 15 minutes later rather than keeping that language for the week a real answer is
    kept: an hour on, with Slack answering, each owner is spoken to in their own Slack language."""
    from bot.services.people import actor_for, add_staff
    from handlers.deps import slack_profile

    owners = [f"U0NEW{n:02d}" for n in range(4)]
    for n, owner in enumerate(owners):
        add_staff(desk, owner, Role.AGENT)  # registered, language not asked yet
        slack.add_user(owner, locale="zh-CN")  # the team speaks English
        cid = seed.customer(desk, f"L{n:03d}", f"Customer {n}", owner=owner)
        open_complaint(desk, Actor(owner, "default", Role.AGENT, "en", "Asia/Shanghai"),
                       ComplaintForm(customer_id=cid, description="The kettle leaks"))
    slack.slow("dnd.info", 5)
    slack.slow("users.info", 5)
    sweep_at(desk, renderer, client, at(10, 50))
    slack.slow("dnd.info", 0)
    slack.slow("users.info", 0)
    assert all(len(slack.messages(owner)) == 1 for owner in owners)
    desk.clock.set(at(11, 50))
    spoken = {owner: actor_for(desk, owner, lambda uid: slack_profile(client, uid)).locale for owner in owners}
    assert spoken == {owner: "zh-CN" for owner in owners}
