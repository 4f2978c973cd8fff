"""What an operator sees and what a flaky Slack does to one call: /healthz vs /readyz, /metrics, request
ids quoted in error messages, and slack_sdk's retry handlers on every client (429, 5xx, timeouts)."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pytest
from slack_sdk.errors import SlackApiError

from bot.health import Health
from bot.services.core import Services
from bot.settings import Settings
from bot.slack_client import build_client
from storage.db import Database
from tests.conftest import BOT_TOKEN


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        found = re.fullmatch(r"([^{]+)(?:\{(.*)\})?", sample)
        if found and found.group(1) == name:
            have = ",".join(sorted((found.group(2) or "").split(","))) if found.group(2) else ""
            if have == wanted:
                return float(value)
    return 0.0


def test_healthz_is_live_and_readyz_says_ready(bot):
    assert get(bot.base + "/healthz") == (200, "ok")
    assert get(bot.base + "/readyz") == (200, "ready")
    assert get(bot.base + "/healthz?ready") == (200, "ready")


def test_not_ready_says_why_with_503(services):
    now = [1_000_000.0]
    health = Health(services, wall=lambda: now[0], started=now[0])
    assert health.problems() == []
    now[0] += 121  # no scheduler tick for over two minutes
    assert health.problems() == ["scheduler has not run for 121 s"]
    health.tick()
    assert health.problems() == []

    gone = Health(Services(db=Database("postgresql+psycopg://nobody@127.0.0.1:1/none"), clock=services.clock),
                  expects_scheduler=False)
    [reason] = gone.problems()
    assert reason.startswith("database does not answer")


def test_readyz_503_when_migrations_are_behind(tmp_path, clock):
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url, "0001")
    health = Health(Services(db=Database(url), clock=clock), expects_scheduler=False)
    [reason] = health.problems()
    assert "migrations not at head" in reason and "carebot db upgrade" in reason


def test_metrics_count_requests_by_kind_and_outcome_and_time_the_ack(bot, team):
    before = get(bot.base + "/metrics")[1]
    bot.slack.add_user("U0AGENT", locale="en-US")
    assert bot.command("help", user_id="U0AGENT").status == 200
    bot.responses("cmd")
    from tests.signed import SlackSender

    forged = SlackSender(bot.url, "not-the-secret")
    assert forged.command("help", user_id="U0AGENT", response_url=bot.slack.response_url("x")).status == 401
    status, after = get(bot.base + "/metrics")
    assert status == 200
    for kind, outcome in (("command", "ok"), ("command", "refused")):
        assert metric(after, "carebot_requests_total", kind=kind, outcome=outcome) == \
            metric(before, "carebot_requests_total", kind=kind, outcome=outcome) + 1
    assert metric(after, "carebot_ack_seconds_count", kind="command") == \
        metric(before, "carebot_ack_seconds_count", kind="command") + 2
    assert metric(after, "carebot_slack_api_calls_total", method="users.info", error="ok") >= 1


def test_an_internal_error_quotes_the_request_id(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.slack.fail_next("views.open", error="fatal_error", status=500, times=3)  # more than the retries
    assert bot.command("log", user_id="U0AGENT").status == 200
    [reply] = bot.responses("cmd")
    ref = re.search(r"reference (\w+)", str(reply)).group(1)
    assert len(ref) == 12  # our request id, not a fresh random one
    assert len(bot.slack.calls_to("views.open")) == 3  # one call and two retries of the 500


@pytest.fixture
def client(slack):
    return build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=1))


def test_429_is_retried_after_retry_after(client, slack):
    slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C0RETRY", text="hi")["ok"]
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9  # honoured Retry-After: 1
    assert time.monotonic() - started < 5
    assert len(slack.messages("C0RETRY")) == 1


def test_500_is_retried_and_a_lasting_500_is_an_error(client, slack):
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    assert client.chat_postMessage(channel="C0RETRY", text="hi")["ok"]
    slack.fail_next("chat.postMessage", error="internal_error", status=500, times=3)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0RETRY", text="again")
    assert len(slack.messages("C0RETRY")) == 1


def test_a_read_that_times_out_is_retried(client, slack):
    slack.add_user("U0READ", locale="en-US")
    slack.hang_next("users.info", 1.5)
    assert client.users_info(user="U0READ")["user"]["id"] == "U0READ"
    assert len(slack.calls_to("users.info")) == 2


def test_a_post_that_times_out_is_not_repeated_blindly(client, slack):
    """The answer was lost but the message exists: posting again would double it (the outbox checks first)."""
    slack.hang_next("chat.postMessage", 1.5, after_effect=True)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C0ONCE", text="hi")
    time.sleep(0.6)
    assert len(slack.messages("C0ONCE")) == 1
