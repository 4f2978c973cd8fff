"""The outbox against a Slack that fails: lost answers looked up before posting again, lasting refusals
told to the admins once in their language, pacing per channel across replicas, what operators see."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.services import outbox
from bot.services.core import Services
from bot.services.outbox import Policy
from bot.services.people import Role, add_staff
from bot.settings import Settings
from bot.slack_client import build_client
from handlers.jobs import post_morning_lists
from handlers.outbox_jobs import deliver_outbox
from storage.db import Database
from storage.models import Staff
from tests.conftest import BOT_TOKEN
from tests.test_morning_list import seed_book

FAST = Policy(backoff=dt.timedelta(0), lease=dt.timedelta(seconds=2))


@pytest.fixture
def client(slack):
    return build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=1))


def keys_in(slack, channel: str) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in slack.messages(channel) if m.get("metadata")]


def test_a_lost_answer_is_looked_up_and_never_posted_twice(team, renderer, client, slack):
    seed_book(team)
    team.outbox_policy = FAST
    slack.hang_next("chat.postMessage", 1.5, after_effect=True)  # Slack posts it; the answer never arrives
    run = post_morning_lists(team, renderer, client)
    assert run.posted == [] and "posting failed" in run.skipped[0][1]
    assert [r.status for r in outbox.undelivered(team)] == ["unknown"]
    again = deliver_outbox(team, renderer, client)
    assert again.found and again.sent == []  # found by its key in the channel's history
    assert keys_in(slack, "C0DIGEST") == ["digest:C0DIGEST:2026-11-24"]
    assert outbox.undelivered(team) == []
    with team.db.unit_of_work() as session:
        from storage import queries

        assert queries.digest_posts_count(session, "C0DIGEST", dt.date(2026, 11, 24)) == 1


def test_a_lost_request_is_looked_up_then_posted(team, renderer, client, slack):
    seed_book(team)
    team.outbox_policy = FAST
    slack.hang_next("chat.postMessage", 1.5, after_effect=False)  # the request never reached Slack
    post_morning_lists(team, renderer, client)
    assert slack.messages("C0DIGEST") == []
    again = deliver_outbox(team, renderer, client)
    assert again.found == [] and len(again.sent) == 1
    assert keys_in(slack, "C0DIGEST") == ["digest:C0DIGEST:2026-11-24"]


def test_a_refused_channel_is_told_to_each_admin_once_in_their_language(team, renderer, client, slack, clock):
    seed_book(team)
    add_staff(team, "U0ADMIN2", Role.ADMIN)
    with team.db.unit_of_work() as session:
        session.get(Staff, "U0ADMIN2").locale = "en"  # as users.info said; U0ADMIN speaks the team's zh-CN
    for user in ("U0ADMIN", "U0ADMIN2"):
        slack.add_user(user)
    slack.add_channel("C0DIGEST", "care", is_archived=True)
    run = post_morning_lists(team, renderer, client)
    assert "is_archived" in run.skipped[0][1]
    clock.advance(dt.timedelta(days=1))
    post_morning_lists(team, renderer, client)  # refused again the next day: nobody is told twice
    deliver_outbox(team, renderer, client)
    [zh] = slack.messages(slack.dm_channel_id("U0ADMIN"))
    [en] = slack.messages(slack.dm_channel_id("U0ADMIN2"))
    assert "已归档" in zh["text"] and "<#C0DIGEST>" in zh["text"]
    assert "archived" in en["text"] and "carebot outbox retry" in en["text"]
    refused = [r for r in outbox.undelivered(team) if r.status == "refused"]
    assert len(refused) == 2 and all(r.last_error.startswith("is_archived") for r in refused)
    assert len(slack.calls_to("chat.postMessage")) == 4  # 2 refused lists + 2 admin DMs: no blind retries

    slack.add_channel("C0DIGEST", "care", is_archived=False)  # the admin unarchived it
    listing = CliRunner().invoke(main, ["outbox"], env={"CAREBOT_DATABASE_URL": team.db.url})
    assert listing.exit_code == 0 and "refused" in listing.output and "is_archived" in listing.output
    for row in refused:
        result = CliRunner().invoke(main, ["outbox", "retry", str(row.id)], env={"CAREBOT_DATABASE_URL": team.db.url})
        assert result.exit_code == 0 and "queued again" in result.output
    team.outbox_policy = FAST
    assert len(deliver_outbox(team, renderer, client).sent) == 2
    assert sorted(keys_in(slack, "C0DIGEST")) == ["digest:C0DIGEST:2026-11-24", "digest:C0DIGEST:2026-11-25"]
    assert "outbox empty" in CliRunner().invoke(main, ["outbox"], env={"CAREBOT_DATABASE_URL": team.db.url}).output


def test_one_message_a_second_per_channel_across_two_replicas(team, renderer, slack, database_url):
    with team.db.unit_of_work() as session:
        for n in range(4):
            outbox.enqueue(session, key=f"test:{n}", team_id="default", kind="morning_list", channel="C0BUSY",
                           payload={"text": f"message {n}"})
            outbox.enqueue(session, key=f"other:{n}", team_id="default", kind="morning_list", channel="C0CALM",
                           payload={"text": f"message {n}"})
    replicas = [Services(db=Database(database_url), clock=team.clock, outbox_policy=Policy()) for _ in range(2)]
    start = threading.Barrier(2)

    def work(svc):
        start.wait()
        client = build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=2))
        deliver_outbox(svc, renderer, client, budget_seconds=15)

    threads = [threading.Thread(target=work, args=(svc,)) for svc in replicas]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for svc in replicas:
        svc.db.dispose()
    for channel in ("C0BUSY", "C0CALM"):
        stamps = sorted(float(m["ts"]) for m in slack.messages(channel))
        assert len(stamps) == 4 and len(set(keys_in(slack, channel))) == 4
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        assert min(gaps) >= 1.0, gaps
    assert time.monotonic() - started < 12  # the two channels were paced side by side, not one after the other


def test_readyz_says_when_the_outbox_is_stuck_and_metrics_show_its_depth(bot, team):
    import urllib.request

    from tests.test_operations import get, metric

    old = outbox.utc_now() - dt.timedelta(minutes=16)
    with team.db.unit_of_work() as session:
        outbox.enqueue(session, key="stuck", team_id="default", kind="morning_list", channel="C0X",
                       payload={"text": "x"}, now=old)
    status, body = get(bot.base + "/readyz")
    assert status == 503 and "outbox stuck: 1 message(s) waiting, the oldest for 96" in body
    with urllib.request.urlopen(bot.base + "/metrics") as reply:
        text = reply.read().decode()
    assert metric(text, "carebot_outbox_depth", status="pending") == 1
    assert metric(text, "carebot_outbox_oldest_age_seconds") >= 960


def test_a_queued_message_is_sealed_at_rest_and_delivered_in_full(team, renderer, client, slack):
    from sqlalchemy import text

    team.outbox_policy = FAST
    words = "客户 欧阳娜娜 13912345601 的投诉即将超时"  # a DM to the owner names the customer in full
    with team.db.unit_of_work() as session:
        outbox.enqueue(session, key="test:sealed", team_id="default", kind="escalation", channel="C0DIGEST",
                       payload={"text": words})
    with team.db.engine.connect() as connection:
        stored = str(connection.execute(text("SELECT payload FROM outbox_message")).scalar_one())
    assert "sealed" in stored and "欧阳娜娜" not in stored and "13912345601" not in stored
    assert "\\u6b27" not in stored  # nor JSON-escaped
    assert [r.status for r in outbox.undelivered(team)] == ["pending"]
    deliver_outbox(team, renderer, client)
    assert [m["text"] for m in slack.messages("C0DIGEST")] == [words]


def test_a_confirmation_queued_leased_is_sent_once_by_the_outbox_after_its_listener_died(team, renderer, client,
                                                                                            slack):
    """A listener queues its confirmation already leased to itself (one lease fewer per click) and sends it after
    the commit. When it dies first, nobody else sends it while the lease lasts (the listener may still be at it),
    then the outbox worker looks whether it was posted and posts it, once."""
    from bot.services.outbox import Outgoing, queue_leased_confirmation, utc_now

    slack.add_user("U0AGENT")
    text = {"text": "Call logged.", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Call logged."}}]}
    with team.db.unit_of_work(write=True) as session:
        leased = queue_leased_confirmation(session, team.default_team, "log_call:V1:h1",
                                           Outgoing("confirmation", "U0AGENT", text), FAST)
    with team.db.unit_of_work(write=True) as session:  # the same change's repeat queues nothing
        assert queue_leased_confirmation(session, team.default_team, "log_call:V1:h1",
                                         Outgoing("confirmation", "U0AGENT", text), FAST) is None
    assert leased is not None and leased.attempts == 1 and leased.counted
    assert [r.status for r in outbox.undelivered(team)] == ["sending"]
    early = deliver_outbox(team, renderer, client)  # the listener's lease still runs
    assert early.sent == [] and slack.messages("U0AGENT") == []
    later = deliver_outbox(team, renderer, client, wall=lambda: utc_now() + FAST.lease + dt.timedelta(seconds=1))
    assert len(later.sent) == 1 and later.found == []
    assert [m["text"] for m in slack.messages("U0AGENT")] == ["Call logged."]
    assert outbox.undelivered(team) == []
    again = deliver_outbox(team, renderer, client, wall=lambda: utc_now() + 10 * FAST.lease)
    assert again.sent == [] and len(slack.messages("U0AGENT")) == 1
