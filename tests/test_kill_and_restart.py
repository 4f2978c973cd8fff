"""SIGKILL a worker process while it posts, restart it: everything arrives, nothing twice.

The stand-in makes each chat.postMessage take effect and then wait before answering, and the process is
killed the moment the 7th message exists in Slack: it has posted without recording it (the worst moment).
The restarted process finds that message by its key in the channel's history instead of posting it again."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from bot.services import outbox
from bot.services.complaints import ComplaintForm, open_complaint
from bot.services.people import Actor, Role, add_staff
from bot.services.teams import set_setting
from storage import queries
from tests import seed
from tests.conftest import DEFAULT_NOW

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
CHANNELS = 20
LEASE_SECONDS = 1.0


def worker(services, slack, at: dt.datetime, job: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.outbox_process", services.db.url, slack.api_url,
                             at.isoformat(), job, str(LEASE_SECONDS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kill_after(process: subprocess.Popen, slack, messages: int, channels: list[str]) -> None:
    deadline = time.monotonic() + 60
    while sum(len(slack.messages(c)) for c in channels) < messages:
        if process.poll() is not None:
            raise AssertionError("the worker ended before it was killed:\n" + process.stderr.read())
        assert time.monotonic() < deadline, "the worker never got that far"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def restart(services, slack, at: dt.datetime, job: str) -> None:
    time.sleep(LEASE_SECONDS + 0.2)  # the dead process's lease runs out
    again = worker(services, slack, at, job)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "done" in out, err


def keys(slack, channel: str) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in slack.messages(channel) if m.get("metadata")]


def test_killed_while_posting_20_morning_lists(services, slack):
    channels = [f"C0LIST{n:02d}" for n in range(CHANNELS)]
    for n, channel in enumerate(channels):
        set_setting(services, "digest_channel", channel, team_id=f"team{n:02d}")
    slack.slow("chat.postMessage", 0.4)
    first = worker(services, slack, DEFAULT_NOW, "morning")
    kill_after(first, slack, 7, channels)
    slack.slow("chat.postMessage", 0)
    assert sum(len(slack.messages(c)) for c in channels) == 7
    restart(services, slack, DEFAULT_NOW, "morning")

    for channel in channels:
        assert keys(slack, channel) == [f"digest:{channel}:2026-11-24"], channel
    assert outbox.undelivered(services) == []
    with services.db.unit_of_work() as session:
        assert all(queries.digest_posts_count(session, c, DEFAULT_NOW.date()) == 1 for c in channels)
    found = [c for c in slack.calls_to("conversations.history")]
    assert found, "the restarted worker looked for the message it could not know about"


def test_killed_while_posting_an_escalation_round_of_20(services, slack):
    owners = [f"U0OWN{n:02d}" for n in range(CHANNELS)]
    for n, owner in enumerate(owners):
        add_staff(services, owner, Role.AGENT)
        slack.add_user(owner, locale="en-US")
        cid = seed.customer(services, f"E{n:03d}", f"Customer {n}", owner=owner)
        open_complaint(services, Actor(owner, "default", Role.AGENT, "en", "Asia/Shanghai"),
                       ComplaintForm(customer_id=cid, kind="complaint", category="quality", severity="normal",
                                     description="The kettle leaks"))
    warning_time = DEFAULT_NOW + dt.timedelta(minutes=49)  # 80 % of the 1-hour first response
    dms = [slack.dm_channel_id(owner) for owner in owners]
    slack.slow("chat.postMessage", 0.4)
    first = worker(services, slack, warning_time, "sweep")
    kill_after(first, slack, 7, dms)
    slack.slow("chat.postMessage", 0)
    restart(services, slack, warning_time, "sweep")

    for dm in dms:
        assert len(slack.messages(dm)) == 1, dm
    assert outbox.undelivered(services) == []
    from storage import notice_queries

    with services.db.unit_of_work() as session:
        assert notice_queries.notice_count(session) == CHANNELS


def test_an_import_killed_while_saving_leaves_the_file_whole_or_absent(services, tmp_path):
    rows = 20_000
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone\n" + "".join(f"K{n:06d},Customer {n},+86139{n:08d}\n" for n in range(rows)),
                     encoding="utf-8")
    env = {**os.environ, "CAREBOT_DATABASE_URL": services.db.url}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "import", "customers", str(sheet), "--progress"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    seen = ""
    deadline = time.monotonic() + 120
    while "saving" not in seen:  # the bar of the save phase: the one transaction has begun
        char = process.stderr.read(1)
        assert char or process.poll() is None, "the import ended before it saved:\n" + seen
        assert time.monotonic() < deadline, seen
        seen += char
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    from sqlalchemy import func, select

    from storage.models import Customer

    with services.db.unit_of_work() as session:
        saved = session.scalar(select(func.count()).select_from(Customer).where(Customer.code.like("K%")))
    assert running
    print(f"import killed while saving: {saved} of {rows} customers stored")
    assert saved in (0, rows), f"{saved} of {rows} customers: a half import"
