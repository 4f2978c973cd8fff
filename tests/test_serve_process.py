"""`carebot serve` as its own process: health check, signed commands answered, unsigned refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.services.people import Role, add_staff
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.signed import SlackSender


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(services, slack, tmp_path: Path):
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url, "CAREBOT_DATABASE_URL": services.db.url}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as reply:
                assert reply.read() == b"ok"
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError("carebot serve did not come up:\n" + (process.stdout.read() or "")) from None
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)


def test_carebot_serve_answers_signed_commands_and_refuses_unsigned(served, services, slack):
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    url = slack.response_url("cmd")
    assert sender.command("help", user_id="U0AGENT", response_url=url).status == 200
    deadline = time.monotonic() + 10
    while not slack.responses("cmd") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Carebot commands" in str(slack.responses("cmd"))

    forged = SlackSender(served + "/slack/events", "not-the-secret")
    assert forged.command("help", user_id="U0AGENT", response_url=slack.response_url("forged")).status == 401
