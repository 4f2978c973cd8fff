"""`carebot serve` as its own process: health check, signed commands answered, unsigned refused."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.services.people import Role, add_staff
from bot.settings import default_workers
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.signed import SlackSender


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(services, slack, tmp_path: Path):
    served = start_serve(services, slack, tmp_path, "--host", "127.0.0.1")
    yield served
    if served.process.poll() is None:
        served.stop()


def start_serve(services, slack, tmp_path: Path, *options: str) -> Served:
    """`carebot serve [options] --port P` in its own process, once its /healthz answers on 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url, "CAREBOT_DATABASE_URL": services.db.url}
    # Its output goes to a file, never a pipe nobody reads: a full pipe blocks the server's next log line, and then
    # it never exits after SIGTERM (the teardown's wait timed out: the suite's rare "1 error").
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--log-format", "json", "serve", *options,
                                    "--port", str(port)],
                                   env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT, text=True)
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
                process.wait()
                raise AssertionError("carebot serve did not come up:\n" + log.read_text()) from None
            time.sleep(0.1)
    return Served(base, process, env, log)


@dataclass
class Served:
    base: str
    process: subprocess.Popen
    env: dict
    log: Path

    def __str__(self) -> str:
        return self.base

    def __add__(self, path: str) -> str:
        return self.base + path

    def stop(self) -> list[str]:
        """SIGTERM, wait for a graceful exit (finishing in-flight work), and return what it logged."""
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("carebot serve did not exit within 60 s of SIGTERM:\n"
                                 + self.log.read_text()[-4000:]) from None
        return self.log.read_text().splitlines()


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


def test_logs_are_json_lines_and_the_error_a_person_sees_quotes_the_request_id(served, services, slack):
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    slack.fail_next("views.open", error="fatal_error", status=500, times=3)
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    assert sender.command("log", user_id="U0AGENT", response_url=slack.response_url("cmd")).status == 200
    deadline = time.monotonic() + 10
    while not slack.responses("cmd") and time.monotonic() < deadline:
        time.sleep(0.05)
    ref = re.search(r"reference (\w+)", str(slack.responses("cmd"))).group(1)
    lines = [json.loads(line) for line in served.stop() if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == ref and ref in errors[0]["message"]
    assert "Traceback" in errors[0]["exc"]


def test_a_second_serve_on_the_same_sqlite_file_is_refused(served, services):
    if not services.db.url.startswith("sqlite"):
        pytest.skip("the one-process rule is SQLite's; PostgreSQL runs replicas")
    second = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(free_port())], env=served.env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert "already serving the SQLite database" in second.stderr and "PostgreSQL" in second.stderr
    assert served.process.poll() is None  # the first one goes on


def test_sigterm_finishes_the_listener_under_way_then_refuses_and_exits(served, services, slack):
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    slack.slow("views.open", 1.5)  # the listener (after the ack) is still waiting on Slack when SIGTERM comes
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    assert sender.command("log", user_id="U0AGENT", response_url=slack.response_url("cmd"),
                          trigger_id=slack.new_trigger_id()).status == 200
    slack.wait_for("views.open", 1, timeout=10)  # the listener is under way
    served.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(OSError):  # no new requests
        urllib.request.urlopen(served + "/healthz", timeout=1)
    lines = served.stop()
    assert served.process.returncode == 0, "\n".join(lines[-30:])
    [opened] = slack.calls_to("views.open")
    assert opened.ok  # the listener finished: the modal was opened
    messages = [json.loads(line)["message"] for line in lines if line.startswith("{")]
    assert any("SIGTERM" in m for m in messages) and any("exiting" in m for m in messages)


def _serve_once(env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port",
                           str(free_port())], env=env, cwd=cwd, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("fault", ["token refused", "slack unreachable"])
def test_serve_says_in_one_line_that_slack_refused_or_cannot_be_reached_and_exits_1(services, slack, tmp_path,
                                                                                   fault):
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url, "CAREBOT_DATABASE_URL": services.db.url, "CAREBOT_SLACK_TIMEOUT": "1",
           "CAREBOT_SLACK_RETRIES": "1"}
    if fault == "token refused":
        env["SLACK_BOT_TOKEN"] = "xoxb-revoked"  # the stand-in answers auth.test with invalid_auth
        expected = "Slack refused SLACK_BOT_TOKEN (invalid_auth)"
    else:
        env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"  # nobody listens there
        expected = "cannot reach Slack at http://127.0.0.1:"
    done = _serve_once(env, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and "did not start" in lines[0], done.stderr


def test_the_scheduler_and_readyz_do_not_fill_the_log(served, services, slack):
    """A few outbox runs (every 2 s) and /readyz calls: no line from APScheduler's executors, none from Alembic."""
    for _ in range(5):
        with urllib.request.urlopen(served + "/readyz", timeout=5) as reply:
            assert reply.status == 200
        time.sleep(1)
    lines = [json.loads(line) for line in served.stop() if line.startswith("{")]
    loggers = {line["logger"] for line in lines}
    assert not {name for name in loggers if name.startswith(("apscheduler.executors", "alembic"))}, loggers
    assert not [line for line in lines if "outbox" in line["logger"] and line["level"] == "INFO"]


def _answers(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def test_serve_listens_on_loopback_only_unless_told_otherwise(services, slack, tmp_path):
    """/metrics answers without credentials: by default only this machine reaches it (127.0.0.1, not another
    address of the host, here 127.0.0.2); `--host 0.0.0.0` listens on every address, as the operator chose."""
    served = start_serve(services, slack, tmp_path)
    try:
        port = int(served.base.rsplit(":", 1)[1])
        assert _answers("127.0.0.1", port)
        assert not _answers("127.0.0.2", port)
    finally:
        served.stop()
    served = start_serve(services, slack, tmp_path, "--host", "0.0.0.0")
    try:
        port = int(served.base.rsplit(":", 1)[1])
        assert _answers("127.0.0.2", port)
    finally:
        served.stop()


def _workers_of(pid: int) -> list[int]:
    """The after-ack worker processes `carebot serve` spawned (bot/offload.py)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            name = (entry / "comm").read_text().strip()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and name == "carebot-worker":
            found.append(int(entry.name))
    return found


def test_a_worker_killed_under_a_command_is_replaced_and_the_person_is_told(served, services, slack):
    """The after-ack work runs in worker processes: one that dies mid-job (OOM-killed) costs that person one
    'something went wrong' with a reference — never 'nothing was saved': the job may have committed a change
    before its process ended — and the next command is answered by a new worker."""
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    workers = _workers_of(served.process.pid)
    assert len(workers) == default_workers()  # started before serve listens
    slack.slow("response_url", 5)  # the worker posted the page and waits for Slack's answer when it is killed
    ask_due_and_wait(served, slack, "lost")
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while len(slack.responses("lost")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    told = str(slack.responses("lost")[1:])
    assert "reference" in told and "may have been made: check before you do it again" in told, told
    assert "nothing was saved" not in told, told
    slack.slow("response_url", 0)
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    assert sender.command("help", user_id="U0AGENT", response_url=slack.response_url("next")).status == 200
    deadline = time.monotonic() + 30
    while not slack.responses("next") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Carebot commands" in str(slack.responses("next"))
    assert set(_workers_of(served.process.pid)).isdisjoint(workers)
    assert served.process.poll() is None


def test_the_workers_end_with_the_serving_process_even_when_it_is_killed(served):
    workers = _workers_of(served.process.pid)
    assert workers
    served.process.kill()
    served.process.wait()
    deadline = time.monotonic() + 10
    while any(map(_still_a_worker, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _still_a_worker(pid)]


def test_a_busy_worker_ends_at_once_with_the_killed_serving_process(served, services, slack):
    """A worker in the middle of a page (its response_url slow to answer) ends the moment the serving process is
    SIGKILLed (the kernel's parent-death signal), not when its job is over: it never runs beside the next serve."""
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    workers = _workers_of(served.process.pid)
    slack.slow("response_url", 20)
    ask_due_and_wait(served, slack, "slow")
    served.process.kill()
    served.process.wait()
    deadline = time.monotonic() + 3
    while any(map(_still_a_worker, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    slack.slow("response_url", 0)
    assert not [pid for pid in workers if _still_a_worker(pid)]


def ask_due_and_wait(served, slack, hook: str) -> None:
    """U0AGENT's signed `/care due`, acked, then up to 20 s for its page to reach the response_url `hook`."""
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    assert sender.command("due", user_id="U0AGENT", response_url=slack.response_url(hook),
                          trigger_id=slack.new_trigger_id()).status == 200
    deadline = time.monotonic() + 20
    while not slack.responses(hook) and time.monotonic() < deadline:
        time.sleep(0.05)


def _still_a_worker(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "carebot-worker"
    except OSError:  # gone
        return False


def test_a_burst_of_commands_is_acked_at_once_and_each_answered_once(served, services, slack):
    """More commands than the workers take at a time (the rest wait in the serving process): each acked at
    once, each answered exactly once."""
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    names = [f"burst{n}" for n in range(12)]
    for name in names:
        assert sender.command("help", user_id="U0AGENT", response_url=slack.response_url(name)).status == 200
    deadline = time.monotonic() + 30
    while not all(slack.responses(name) for name in names) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a second answer would have come by now
    assert [len(slack.responses(name)) for name in names] == [1] * len(names)
    assert all("Carebot commands" in str(slack.responses(name)) for name in names)


def _memory_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


def test_a_worker_shares_the_serving_process_s_pages_and_not_its_lock(served, services, slack, tmp_path):
    """The workers are forked from the built serving process: the bot's modules, templates and Bolt stay pages
    shared with it, so most of its resident size is not its own (a spawned interpreter shares next to none:
    ~90% of its pages are private). Killed, the serving process leaves its SQLite lock to the next `carebot serve`
    at once, though its workers held a copy of the lock file for a moment."""
    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    ask_due_and_wait(served, slack, "due")
    assert slack.responses("due")  # a worker built the page: it has run the bot's code, not just started
    workers = _workers_of(served.process.pid)
    assert workers
    for pid in workers:  # its own pages (private) are under half of its resident size; the rest is shared
        assert _memory_kb(pid, "Private_Clean") + _memory_kb(pid, "Private_Dirty") < 0.5 * _memory_kb(pid, "Rss")
    served.process.kill()
    served.process.wait()
    again = tmp_path / "again"
    again.mkdir()
    start_serve(services, slack, again, "--host", "127.0.0.1").stop()  # the lock is free: it starts


def test_serve_migrates_in_a_child_process_and_says_in_one_line_when_it_cannot(services, slack, tmp_path):
    """`carebot serve` brings a database one migration behind to head before it serves (in a child process:
    Alembic stays out of the long-running one) and is ready. A database it cannot migrate stops it with one line
    naming the problem in the database's own words, no traceback: a revision the code does not know (a newer
    Carebot's), a migration the database refuses (an object of that name exists already)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from storage.migrate import downgrade, upgrade

    database = create_engine(services.db.url, poolclass=NullPool)  # fresh connections: the schema changes

    def version() -> str:
        with database.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    def refused(*expected: str) -> None:
        done = _serve_once(served.env, tmp_path)
        assert done.returncode == 1, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
        assert "the database migration failed" in lines[0] and "sqlalche.me" not in lines[0], lines
        assert all(word in lines[0] for word in expected), lines

    head = version()
    downgrade(services.db.url, "-1")
    behind = version()
    served = start_serve(services, slack, tmp_path, "--host", "127.0.0.1")
    try:
        with urllib.request.urlopen(served.base + "/readyz", timeout=5) as reply:
            assert (reply.status, reply.read()) == (200, b"ready")
        assert version() == head
    finally:
        served.stop()
    before_index = "0016"  # 0017 makes the index ix_callback_team_owner_open_due, whatever migrations come after
    index_gone = False
    try:
        with database.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0001'"))
        refused("f00dfeed0001")
        with database.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        downgrade(services.db.url, before_index)  # the index is gone; one of that name is made by hand
        index_gone = True
        with database.begin() as connection:
            connection.execute(text("CREATE INDEX ix_callback_team_owner_open_due ON call_log (staff_id)"))
        refused("ix_callback_team_owner_open_due", "already exists")
    finally:  # the database is the suite's (PostgreSQL: shared by the tests after it): at head again
        with database.begin() as connection:
            if index_gone:
                connection.execute(text("DROP INDEX IF EXISTS ix_callback_team_owner_open_due"))
            connection.execute(text("UPDATE alembic_version SET version_num = :at"),
                               {"at": before_index if index_gone else head})
        upgrade(services.db.url)
        assert version() == head and behind != head


def test_a_command_without_a_usable_response_url_is_answered_in_its_channel_never_posted_elsewhere(
        served, services, slack):
    """Slack always sends a response_url; a request without one, or with an address that is not Slack's (here
    another host's, as a cloud metadata service would be), is still answered — ephemeral in the channel it came
    from, by the worker process that builds the page — and nothing is ever posted to that other address."""
    from tests.slack_stand_in import SlackStandIn

    add_staff(services, "U0AGENT", Role.AGENT)
    slack.add_user("U0AGENT", locale="en-US")
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET)
    with SlackStandIn(token="xoxb-elsewhere") as elsewhere:
        # the same stand-in reached by another host name: a host the bot's Slack is not on
        foreign = elsewhere.response_url("stolen").replace("127.0.0.1", "localhost")
        for n, url in enumerate(("", "file:///etc/passwd", foreign)):
            assert sender.command("due", user_id="U0AGENT", response_url=url,
                                  trigger_id=slack.new_trigger_id()).status == 200
            deadline = time.monotonic() + 20
            while len(slack.ephemerals("C0CARE")) < n + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(0.3)
        assert elsewhere.responses() == []
    pages = slack.ephemerals("C0CARE")
    assert len(pages) == 3 and all(p["user"] == "U0AGENT" and "Nothing due today" in p["text"] for p in pages), pages
