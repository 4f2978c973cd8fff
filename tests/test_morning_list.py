"""The morning list: posted by the real scheduler at the team's time, once per channel per day."""

from __future__ import annotations

import datetime as dt
import time

from bot.scheduler import build_scheduler
from bot.services.outbox import Policy
from bot.services.teams import set_setting
from handlers.jobs import post_morning_lists
from handlers.outbox_jobs import deliver_outbox
from tests import seed
from tests.conftest import DEFAULT_NOW, SHANGHAI


def seed_book(services):
    a = seed.customer(services, "A001", "Alice Wang", owner="U0AGENT")
    b = seed.customer(services, "2024001", "张女士", owner="U0AGENT2", phone="+8613900001111")
    c = seed.customer(services, "X666", "<!channel>", owner="U0AGENT")
    seed.callback(services, a, DEFAULT_NOW - dt.timedelta(days=2), kind="first_use")
    seed.callback(services, b, DEFAULT_NOW + dt.timedelta(hours=2), kind="birthday", owner="U0AGENT2")
    seed.callback(services, c, DEFAULT_NOW - dt.timedelta(hours=1), kind="welcome")
    seed.callback(services, b, DEFAULT_NOW + dt.timedelta(days=2), kind="survey", owner="U0AGENT2")  # not today
    seed.complaint(services, a, DEFAULT_NOW - dt.timedelta(hours=30), DEFAULT_NOW - dt.timedelta(hours=6))


def test_posted_once_per_channel_per_day_even_when_triggered_twice(team, renderer, slack, bot):
    seed_book(team)
    first = post_morning_lists(team, renderer, bot.app.client)
    second = post_morning_lists(team, renderer, bot.app.client)
    assert len(first.posted) == 1 and second.posted == []
    assert "already posted" in second.skipped[0][1]
    [post] = slack.ok_calls_to("chat.postMessage")
    assert post.args["channel"] == "C0DIGEST"
    text = "\n".join(b.get("text", {}).get("text", "") for b in post.args["blocks"] if "text" in b)
    assert "<@U0AGENT>" in text and "<@U0AGENT2>" in text
    assert "A*（A001）" in text and "张*（2024001）" in text, "names are masked in a channel post"
    assert "Alice" not in text and "13900001111" not in text
    assert "<!channel>" not in str(post.args) and "&lt;*" in text
    assert "待办 *4* 项" in text and "逾期 *3* 项" in text and "超时投诉 *1* 项" in text


def test_english_team_and_the_next_day(team, renderer, bot, clock):
    set_setting(team, "locale", "en")
    seed_book(team)
    post_morning_lists(team, renderer, bot.app.client)
    clock.advance(dt.timedelta(days=1))
    post_morning_lists(team, renderer, bot.app.client)
    first, second = bot.slack.ok_calls_to("chat.postMessage")
    assert "Morning list" in first.args["text"] and "4* to do today" in first.args["text"]
    assert "Nov 25, 2026" in second.args["text"]


def test_a_failed_post_stays_in_the_outbox_and_its_worker_delivers_it_once(team, renderer, bot):
    seed_book(team)
    team.outbox_policy = Policy(backoff=dt.timedelta(0))  # retry at once (the default waits 5 s, doubling)
    bot.slack.fail_next("chat.postMessage", error="internal_error", status=200)
    failed = post_morning_lists(team, renderer, bot.app.client)
    assert failed.posted == [] and "posting failed: internal_error" in failed.skipped[0][1]
    assert post_morning_lists(team, renderer, bot.app.client).posted == []  # the claim holds: not queued twice
    assert len(deliver_outbox(team, renderer, bot.app.client).sent) == 1
    assert len(bot.slack.messages("C0DIGEST")) == 1
    assert deliver_outbox(team, renderer, bot.app.client).sent == []


def test_the_real_scheduler_posts_at_the_team_time_and_only_once(team, renderer, bot, clock):
    seed_book(team)
    set_setting(team, "digest_time", "09:30")
    clock.set(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    scheduler = build_scheduler(team, renderer, bot.app.client, every_seconds=0.2)
    scheduler.start()
    try:
        time.sleep(1.0)
        assert bot.slack.ok_calls_to("chat.postMessage") == [], "09:00 is before the team's 09:30"
        clock.set(dt.datetime(2026, 11, 24, 9, 31, tzinfo=SHANGHAI))
        bot.slack.wait_for("chat.postMessage", timeout=5)
        time.sleep(1.0)  # several more ticks
        assert len(bot.slack.ok_calls_to("chat.postMessage")) == 1
    finally:
        scheduler.shutdown(wait=True)


def test_no_digest_channel_means_no_post_and_a_reason(services, renderer, bot):
    from bot.services.people import Role, add_staff

    add_staff(services, "U0AGENT", Role.AGENT)
    run = post_morning_lists(services, renderer, bot.app.client)
    assert run.posted == [] and "no digest_channel" in run.skipped[0][1]


def test_a_big_team_stays_within_one_message_and_says_who_is_left_out(team, renderer, bot):
    from bot.services.people import Role, add_staff

    for n in range(50):
        user = f"U0BIG{n:03d}"
        add_staff(team, user, Role.AGENT)
        cid = seed.customer(team, f"B{n:03d}", f"Customer {n}", owner=user)
        seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(hours=1), owner=user)
    post_morning_lists(team, renderer, bot.app.client)
    [post] = bot.slack.ok_calls_to("chat.postMessage")
    assert len(post.args["blocks"]) <= 50
    texts = str(post.args["blocks"])
    assert "另有 7 位同事今天有待办" in texts and texts.count("<@U0BIG") == 43


def test_supervisors_get_their_own_list_in_their_channel_once(team, renderer, bot):
    set_setting(team, "supervisor_channel", "C0SUPER")
    seed_book(team)
    risk = seed.customer(team, "R001", "Risky Customer", owner="U0AGENT")
    seed.callback(team, risk, DEFAULT_NOW - dt.timedelta(hours=2), kind="churn_intervention", owner="U0SUPER")
    post_morning_lists(team, renderer, bot.app.client)
    post_morning_lists(team, renderer, bot.app.client)
    posts = {c.args["channel"]: c.args for c in bot.slack.ok_calls_to("chat.postMessage")}
    assert set(posts) == {"C0DIGEST", "C0SUPER"} and len(bot.slack.ok_calls_to("chat.postMessage")) == 2
    theirs = str(posts["C0SUPER"]["blocks"])
    assert "主管今日清单" in theirs and "<@U0SUPER>" in theirs and "R*（R001）" in theirs
    assert "<@U0AGENT>" not in theirs, "only what supervisors own"
    assert "R*（R001）" in str(posts["C0DIGEST"]["blocks"]), "the team list still has everything"


def test_no_supervisor_items_means_no_supervisor_post(team, renderer, bot):
    set_setting(team, "supervisor_channel", "C0SUPER")
    seed_book(team)
    post_morning_lists(team, renderer, bot.app.client)
    post_morning_lists(team, renderer, bot.app.client)
    assert [c.args["channel"] for c in bot.slack.ok_calls_to("chat.postMessage")] == ["C0DIGEST"]


def test_a_supervisor_below_the_43_people_shown_still_has_their_rows_in_the_supervisors_list(team, renderer, bot):
    """The team's list shows the 43 people with the most overdue; the supervisors' list shows its own people, whose
    rows are read too even when the team's list leaves them out (it names them only in 'N more people')."""
    from bot.services.people import Role, add_staff

    set_setting(team, "supervisor_channel", "C0SUPER")
    for n in range(45):
        user = f"U0BIG{n:03d}"
        add_staff(team, user, Role.AGENT)
        for k in range(2):  # two overdue each: all ahead of the supervisor, who has one
            cid = seed.customer(team, f"B{n:03d}{k}", f"Customer {n}", owner=user)
            seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(hours=1 + k), owner=user)
    risk = seed.customer(team, "R001", "Risky Customer", owner="U0AGENT")
    seed.callback(team, risk, DEFAULT_NOW - dt.timedelta(hours=2), kind="churn_intervention", owner="U0SUPER")
    post_morning_lists(team, renderer, bot.app.client)
    posts = {c.args["channel"]: str(c.args["blocks"]) for c in bot.slack.ok_calls_to("chat.postMessage")}
    assert "<@U0SUPER>" not in posts["C0DIGEST"] and "另有 3 位同事今天有待办" in posts["C0DIGEST"]
    assert "<@U0SUPER>" in posts["C0SUPER"] and "R*（R001）" in posts["C0SUPER"], posts["C0SUPER"]


def test_a_callback_due_earlier_today_says_so_on_its_line_as_the_count_does(team, renderer, bot):
    """The list counts a callback due at 09:00 as overdue when it is posted at 10:00 (or later, with a later
    digest_time): its line says so too, with the time, not only whole days late (tryout finding: a person's
    "4 overdue" beside two lines that showed no lateness)."""
    seed_book(team)  # X666's welcome call was due at 09:00; the list goes out at 10:00
    post_morning_lists(team, renderer, bot.app.client)
    [posted] = bot.slack.messages("C0DIGEST")
    [line] = _lines_about(posted, "X666")
    assert line.endswith("今天 09:00 到期，已逾期_"), line


def test_the_english_line_of_a_callback_due_earlier_today(team, renderer, bot):
    set_setting(team, "locale", "en")
    seed_book(team)
    post_morning_lists(team, renderer, bot.app.client)
    [posted] = bot.slack.messages("C0DIGEST")
    [line] = _lines_about(posted, "X666")
    assert line.replace("\u202f", " ").endswith("due 9:00 AM today, overdue_"), line


def _lines_about(posted: dict, code: str) -> list[str]:
    return [line for block in posted["blocks"] if isinstance(block.get("text"), dict)
            for line in block["text"]["text"].split("\n") if code in line]
