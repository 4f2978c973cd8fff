"""The weekly and monthly reports as Slack sees them: one post per team per period in supervisor_channel, on
Monday (the month's first working day) from digest_time on, then the charts through the two-step upload."""

from __future__ import annotations

import datetime as dt
import io
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.insight_charts import HEIGHT, WIDTH
from bot.services import outbox
from bot.services.outbox import Policy
from bot.services.reports import due_periods
from bot.services.teams import set_setting
from bot.settings import Settings
from bot.slack_client import build_client
from handlers.outbox_jobs import deliver_outbox
from handlers.report_jobs import post_reports
from storage.models import CallLog
from tests import seed
from tests.conftest import BOT_TOKEN

SH = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


# --- the stand-in's two-step upload ---------------------------------------------------------------------


def test_the_stand_in_takes_an_upload_in_two_steps_and_refuses_a_wrong_length(slack):
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    done = client.files_upload_v2(channel="C0SUPER", content=b"\x89PNG fake", filename="a.png", title="A")
    assert done["files"][0]["title"] == "A"
    assert [c.method for c in slack.calls] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [shared] = slack.files("C0SUPER")
    assert shared["content"] == b"\x89PNG fake" and shared["filename"] == "a.png"

    step = client.files_getUploadURLExternal(filename="b.png", length=10)
    request = urllib.request.Request(step["upload_url"], data=b"12345", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400 and b"length_mismatch" in refused.value.read()
    with pytest.raises(SlackApiError) as incomplete:  # nothing accepted was uploaded: it cannot be shared
        client.files_completeUploadExternal(files=[{"id": step["file_id"], "title": "B"}], channel_id="C0SUPER")
    assert incomplete.value.response["error"] == "file_upload_incomplete"
    with pytest.raises(SlackApiError) as twice:
        client.files_completeUploadExternal(files=[{"id": done["files"][0]["id"]}], channel_id="C0SUPER")
    assert twice.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError):
        client.files_getUploadURLExternal(filename="c.png", length=0)


# --- when a report is due -------------------------------------------------------------------------------


def test_reports_fall_on_the_first_working_day_of_the_week_and_of_the_month():
    tz = "Asia/Shanghai"
    assert [p.label for p in due_periods(dt.date(2026, 11, 30), dt.date(2026, 11, 30), dt.date(2026, 11, 2), tz)] \
        == ["2026-W48"]
    assert due_periods(dt.date(2026, 11, 24), dt.date(2026, 11, 23), dt.date(2026, 11, 2), tz) == []
    assert [p.label for p in due_periods(dt.date(2026, 12, 1), dt.date(2026, 11, 30), dt.date(2026, 12, 1), tz)] \
        == ["2026-11"]
    # 4 January 2027 is a Monday and the first working day after New Year's Day: both
    assert [p.label for p in due_periods(dt.date(2027, 1, 4), dt.date(2027, 1, 4), dt.date(2027, 1, 4), tz)] \
        == ["2026-W53", "2026-12"]
    # Spring Festival 2027: Monday 8 February is a day off, the team is back on Thursday the 11th
    assert due_periods(dt.date(2027, 2, 8), dt.date(2027, 2, 11), dt.date(2027, 2, 1), tz) == []
    assert [p.label for p in due_periods(dt.date(2027, 2, 11), dt.date(2027, 2, 11), dt.date(2027, 2, 1), tz)] \
        == ["2027-W05"]


# --- posting --------------------------------------------------------------------------------------------


@pytest.fixture
def reporting(team, clock):
    set_setting(team, "supervisor_channel", "C0SUPER")
    set_setting(team, "name", "华东客服组")
    alice = seed.customer(team, "A1", "Alice", owner="U0AGENT")
    with team.db.unit_of_work() as session:
        for when, rating, nps in ((at(2026, 11, 23, 10), 5, 10), (at(2026, 11, 29, 23, 30), 4, 9),
                                  (at(2026, 11, 17, 10), 2, 3)):
            session.add(CallLog(team_id="default", customer_id=alice, staff_id="U0AGENT", channel="phone",
                                outcome="satisfied", rating=rating, nps=nps, called_at=when))
    return team


def test_the_weekly_report_is_posted_once_on_monday_with_its_charts(reporting, clock, renderer, bot):
    clock.set(at(2026, 11, 30, 8, 59))  # Monday, before the digest time
    assert post_reports(reporting, renderer, bot.app.client).posted == []
    clock.set(at(2026, 11, 30, 9, 0))
    run = post_reports(reporting, renderer, bot.app.client)
    assert [(team, label) for team, label, _ in run.posted] == [("default", "2026-W48")]
    [post] = bot.slack.ok_calls_to("chat.postMessage")
    assert post.args["channel"] == "C0SUPER"
    shown = str(post.args["blocks"])
    assert "周报 2026-W48" in shown and "华东客服组" in shown
    # W48: 5 and 4 (the Sunday 23:30 call counts) = 4.50 against W47's 2
    assert "*满意度（均分）*\\n4.50 · ▲ +2.50" in shown
    assert "变化最大" in shown
    assert "各层级客户满意度：普通 4.50 (n=2)" in shown
    # the charts: four files through the two steps, shared in the same channel
    assert len(bot.slack.ok_calls_to("files.getUploadURLExternal")) == 4
    assert len(bot.slack.ok_calls_to("upload")) == 4
    [complete] = bot.slack.ok_calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C0SUPER"
    files = bot.slack.files("C0SUPER")
    assert sorted(f["filename"] for f in files) == ["callbacks-on-time-2026-W48.png",
                                                     "complaints-by-category-2026-W48.png",
                                                     "csat-trend-2026-W48.png", "sla-by-week-2026-W48.png"]
    for f in files:
        assert Image.open(io.BytesIO(f["content"])).size == (WIDTH, HEIGHT)
    # again, later that day or from another replica: nothing more
    clock.set(at(2026, 11, 30, 15, 0))
    assert post_reports(reporting, renderer, bot.app.client).posted == []
    assert len(bot.slack.ok_calls_to("chat.postMessage")) == 1
    clock.set(at(2026, 12, 2, 9, 30))  # a Wednesday: no weekly report
    assert post_reports(reporting, renderer, bot.app.client).posted == []


def test_the_monthly_report_on_the_first_working_day(reporting, clock, renderer, bot):
    set_setting(reporting, "locale", "en")
    clock.set(at(2026, 12, 1, 9, 30))  # Tuesday 1 December: the first working day
    run = post_reports(reporting, renderer, bot.app.client)
    assert [label for _, label, _ in run.posted] == ["2026-11"]
    [post] = bot.slack.ok_calls_to("chat.postMessage")
    assert "Monthly report 2026-11" in str(post.args["blocks"]) and "compared with 2026-10" in str(post.args["blocks"])
    assert {f["filename"] for f in bot.slack.files("C0SUPER")} >= {"csat-trend-2026-11.png"}


FAST = Policy(backoff=dt.timedelta(seconds=0.1), max_backoff=dt.timedelta(seconds=0.2))


def deliver_after_backoff(services, renderer, client, rounds: int = 5):
    for _ in range(rounds):
        time.sleep(0.25)
        deliver_outbox(services, renderer, client, FAST, budget_seconds=3)
        if not outbox.undelivered(services):
            return
    raise AssertionError(f"still undelivered: {outbox.undelivered(services)}")


def test_a_failed_post_is_retried_by_the_outbox_and_the_next_tick_queues_nothing_more(reporting, clock, renderer,
                                                                                      bot):
    reporting.outbox_policy = FAST  # the worker's backoff in tenths of a second
    clock.set(at(2026, 11, 30, 9, 5))
    bot.slack.fail_next("chat.postMessage", error="internal_error", status=500, times=3)  # the client's 2 retries too
    first = post_reports(reporting, renderer, bot.app.client)
    assert first.posted == [] and "posting failed: internal_error" in first.skipped[0][1]
    assert bot.slack.ok_calls_to("files.completeUploadExternal") == []  # the charts wait for the text
    second = post_reports(reporting, renderer, bot.app.client)  # the next tick: claimed, in the outbox
    assert second.posted == [] and "already posted" in second.skipped[0][1]
    deliver_after_backoff(reporting, renderer, bot.app.client)
    assert len(bot.slack.ok_calls_to("chat.postMessage")) == 1
    assert len(bot.slack.files("C0SUPER")) == 4
    texts = [m for m in bot.slack.messages("C0SUPER") if m.get("metadata")]
    files_after_text = bot.slack.ok_calls_to("files.completeUploadExternal")[0].at > \
        bot.slack.ok_calls_to("chat.postMessage")[0].at
    assert len(texts) == 1 and files_after_text


@pytest.mark.parametrize("fault", ["500", "upload url lost", "completion lost after effect",
                                   "completion lost before effect"])
def test_a_chart_upload_that_fails_is_retried_later_without_the_text_twice(reporting, clock, renderer, bot, slack,
                                                                           fault):
    reporting.outbox_policy = FAST
    client = build_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url, slack_timeout=1))
    if fault == "500":
        slack.fail_next("files.completeUploadExternal", error="internal_error", status=500, times=3)
    elif fault == "upload url lost":
        slack.hang_next("files.getUploadURLExternal", 1.5, after_effect=True, times=3)
    else:
        slack.hang_next("files.completeUploadExternal", 1.5, after_effect=fault.endswith("after effect"))
    clock.set(at(2026, 11, 30, 9, 5))
    run = post_reports(reporting, renderer, client)
    assert [label for _, label, _ in run.posted] == ["2026-W48"]  # the text is out
    deliver_after_backoff(reporting, renderer, client)
    assert len(slack.ok_calls_to("chat.postMessage")) == 1  # never twice
    files = slack.files("C0SUPER")
    assert sorted(f["filename"] for f in files) == ["callbacks-on-time-2026-W48.png",
                                                     "complaints-by-category-2026-W48.png",
                                                     "csat-trend-2026-W48.png", "sla-by-week-2026-W48.png"]
    completions = slack.ok_calls_to("files.completeUploadExternal")
    assert len(completions) == 1  # one completion took effect: each chart shared once
    if fault == "completion lost after effect":
        assert slack.ok_calls_to("files.info"), "the lost completion was looked up"


def test_no_supervisor_channel_no_report(team, clock, renderer, bot):
    clock.set(at(2026, 11, 30, 9, 5))
    run = post_reports(team, renderer, bot.app.client)
    assert run.posted == [] and "no supervisor_channel" in run.skipped[0][1]
    assert [c.method for c in bot.slack.calls if c.method != "auth.test"] == []
