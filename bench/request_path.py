"""The request path of issue 14, served as Slack calls it: `/care due` acks and log-call submissions, the bot
and a bare Bolt app each in its own process (bench/serve.py), 1 and 8 requests at a time.

Besides latency and rate, each measure keeps the server process's CPU time per request (user + system, from
/proc; `cpu_ms_each`) and its worker processes' (`workers_cpu_ms_each`: pages and App Homes built after the ack,
bot/offload.py): on a machine shared with other work they move far less than wall-clock numbers do."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from typing import Any

from bench.book import Book
from bench.run import SECRET, Measure, _children_cpu_seconds, _count, _cpu_seconds, _load, _wait_count, p99, served


def served_apps(db, book: Book, kinds: tuple[str, ...] = ("bare", "ours")) -> Iterator[tuple[str, Any, Any, Any]]:
    """The Slack stand-in knowing the book's agents, then each of `kinds` (bench/serve.py: "bare" Bolt, the
    "floor" of a log-call submission, "ours") served in its own process in turn: (kind, the stand-in, a signed
    sender to the served app, its process). Each app is stopped when the loop moves on."""
    from tests.signed import SlackSender
    from tests.slack_stand_in import SlackStandIn

    with SlackStandIn(token="xoxb-bench") as slack:
        for user in book.agents:
            slack.add_user(user, locale="en-US")
        for kind in kinds:
            with served(kind, db.url, slack.api_url) as (url, child):
                yield kind, slack, SlackSender(url, SECRET), child


def measure_due_ack(db, book: Book, requests: int) -> list[Measure]:
    results: dict[str, dict[int, dict]] = {"bare": {}, "ours": {}}
    for kind, slack, sender, child in served_apps(db, book):
        for concurrency in (1, 8):
            name = f"{kind}-{concurrency}"
            count = requests if concurrency == 1 else 2 * requests
            warm = [f"{name}-warm{n}" for n in range(8)]
            for n, hook in enumerate(warm):
                sender.command("due", user_id=book.agents[n % len(book.agents)],
                               response_url=slack.response_url(hook))
            for hook in warm:
                _wait_count(slack, 1, 60, response=hook)
            hooks = [slack.response_url(name) for _ in range(count)]
            calls = [(lambda n=n, sender=sender, hook=hook: _expect_ok(sender.command(
                "due", user_id=book.agents[n % len(book.agents)], response_url=hook)))
                for n, hook in enumerate(hooks)]
            cpu, workers = _cpu_seconds(child.pid), _children_cpu_seconds(child.pid)
            start = time.perf_counter()
            latencies = _load(calls, concurrency)
            acked = time.perf_counter()
            done = _wait_count(slack, count, 300, response=name)
            results[kind][concurrency] = {
                "p99": p99(latencies), "p50": statistics.median(latencies), "requests": count,
                "acks_per_s": count / (acked - start), "per_s": count / (done - start),
                "cpu_ms_each": 1000 * (_cpu_seconds(child.pid) - cpu) / count,
                "workers_cpu_ms_each": 1000 * (_children_cpu_seconds(child.pid) - workers) / count}
    out = []
    for concurrency in (1, 8):
        mine, bare = results["ours"][concurrency], results["bare"][concurrency]
        out.append(Measure(
            f"due_ack_c{concurrency}", f"`/care due` ack p99, {concurrency} at a time", "s", mine["p99"],
            bare["p99"], "bare Bolt", "≤ 1.2 × bare Bolt", mine["p99"] <= 1.2 * bare["p99"],
            detail={"ours": mine, "bare": bare}))
    return out


def _expect_ok(reply) -> None:
    if reply.status != 200:
        raise RuntimeError(f"the bot answered {reply.status}: {reply.body[:200]}")


def measure_log_call(db, book: Book, submissions: int) -> list[Measure]:
    """Submissions a second until each one's App Home refresh reached Slack (the whole work of a submission);
    `acks_per_s` in the detail: until the last submission was answered (saved, planned, modal closed). Besides
    bare Bolt (acking, nothing else), the detail's `floor`: bench/floor.py, the least a submission must do,
    hand-written in raw SQL — the rate no implementation of the same effects beats much on this machine."""
    from tests.signed import form_values

    # distinct due callbacks, spread over the agents: each submission closes one
    queue = [(agent, cb, cu) for agent in book.agents for cb, cu in book.due_callbacks[agent][:12]]
    queue.sort(key=lambda t: (book.due_callbacks[t[0]].index((t[1], t[2])), t[0]))
    results: dict[str, dict[int, dict]] = {"bare": {}, "floor": {}, "ours": {}}
    for kind, slack, sender, child in served_apps(db, book, ("bare", "floor", "ours")):
        for concurrency in (1, 8):
            count = submissions if concurrency == 1 else 2 * submissions
            batch, queue = queue[:count], queue[count:]
            if len(batch) < count:
                raise RuntimeError("the book has too few due callbacks for this many submissions")

            refused: list[str] = []

            def submit(agent=None, cb=None, cu=None, sender=sender, refused=refused):
                # each submission is its own modal (view id): Slack's retries of one are dropped as one;
                # one refused as busy (the modal stays open) is submitted again, as the person would
                view = {"id": f"V0B{cb:07d}", "type": "modal", "callback_id": "log_call_modal", "blocks": [],
                        "private_metadata": json.dumps({"cb": cb, "cu": cu, "ch": "C0CARE"})}
                for _ in range(5):
                    reply = sender.view_submission(user_id=agent, view=view, values=form_values(
                        outcome="satisfied", rating=5, summary="bench"))
                    _expect_ok(reply)
                    if "response_action" not in (reply.body or ""):
                        return
                    refused.append(agent)
                raise RuntimeError(f"a submission of {agent} was refused 5 times: {reply.body[:200]}")

            before = _count(slack, method="views.publish")
            cpu, workers = _cpu_seconds(child.pid), _children_cpu_seconds(child.pid)
            start = time.perf_counter()
            latencies = _load([lambda t=t: submit(*t) for t in batch], concurrency)
            acked = time.perf_counter()
            done = acked if kind == "bare" else \
                _wait_count(slack, before + count, 300, method="views.publish")
            results[kind][concurrency] = {
                "per_s": count / (done - start), "acks_per_s": count / (acked - start),
                "ack_p99": p99(latencies), "submissions": count, "refused_then_resubmitted": len(refused),
                "cpu_ms_each": 1000 * (_cpu_seconds(child.pid) - cpu) / count,
                "workers_cpu_ms_each": 1000 * (_children_cpu_seconds(child.pid) - workers) / count}
    out = []
    for concurrency in (1, 8):
        mine, bare = results["ours"][concurrency], results["bare"][concurrency]
        out.append(Measure(
            f"log_call_c{concurrency}", f"log-call submissions, {concurrency} at a time", "/s", mine["per_s"],
            bare["per_s"], "bare Bolt",
            "≥ 300 per s", mine["per_s"] >= 300, higher_is_better=True,
            detail={"ours": mine, "bare": bare, "floor": results["floor"][concurrency]}))
    return out
