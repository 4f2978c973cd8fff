"""Every measure of issue 14 against its baseline, in the same run, on SQLite (and PostgreSQL).

    python -m bench                      # the full book (100,000 customers …) on SQLite
    python -m bench --small              # 10,000 customers, 1,000 complaints: a few minutes
    python -m bench --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres   # SQLite, then PG
    python -m bench --only morning_list --only sla_sweep --json out.json

Each database gets a fresh book (a temporary SQLite file; a scratch PostgreSQL database created beside the
URL's and dropped at the end), seeded the same way. The bot and the bare Bolt app it is compared with are each
served in a child process (waitress, 8 threads, signed requests over loopback, the Slack stand-in of the test
suite as Web API) at a pinned clock; in-process measures are medians of `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import kept
from bench.book import DIGEST_CHANNEL, NOW, SIZES, TEAM, Book, Size, seed
from bench.table import _line, machine, table

SECRET = "bench-signing-secret"
# customer data is sealed at rest (storage/crypto.py): the served bot needs a key; the book is seeded in clear,
# which the keyring reads as written before encryption
os.environ.setdefault("CAREBOT_SECRET_KEY", "bench-only-key-" + "x" * 32)


@dataclass
class Measure:
    """One row of the table: ours against its baseline (lower is better unless `higher_is_better`)."""

    name: str
    label: str
    unit: str
    ours: float | None
    baseline: float | None = None
    baseline_label: str = ""
    goal: str = ""
    met: bool | None = None
    higher_is_better: bool = False
    detail: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline


# --- helpers ------------------------------------------------------------------------------------------


def median_of(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds(pid: int) -> float:
    """CPU (user + system) of the live child processes of `pid`: the served bot's worker processes
    (bot/offload.py), which build pages and App Homes after the ack."""
    total = 0.0
    for child in _children(pid):
        try:
            total += _cpu_seconds(child)
        except OSError:
            continue
    return total


@contextlib.contextmanager
def served(kind: str, url: str, api_url: str, timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m bench.serve kind …` in a child process; yields its events URL and the process."""
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen([sys.executable, "-m", "bench.serve", kind, url, api_url, SECRET], cwd=root,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + timeout
        line = ""
        while not line.startswith("PORT ") and time.monotonic() < deadline:
            line = child.stdout.readline() if child.stdout else ""
            if not line and child.poll() is not None:
                raise RuntimeError(f"bench.serve {kind} exited with {child.returncode}")
        port = int(line.split()[1])
        yield f"http://127.0.0.1:{port}/slack/events", child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _count(slack, *, response: str | None = None, method: str | None = None) -> int:
    """How many response_url posts named `response` / ok calls to `method` the stand-in saw (no copies)."""
    with slack._lock:
        if response is not None:
            return sum(1 for name, _ in slack._responses if name == response)
        return sum(1 for call in slack._calls if call.method == method and call.ok)


def _wait_count(slack, want: int, timeout: float, **what) -> float:
    deadline = time.monotonic() + timeout
    while _count(slack, **what) < want:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {_count(slack, **what)} of {want} {what} within {timeout:.0f} s")
        time.sleep(0.002)
    return time.perf_counter()


def _load(requests: list[Callable[[], object]], concurrency: int) -> list[float]:
    """Run the requests `concurrency` at a time; each one's latency in seconds."""
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(requests)

    def worker():
        while True:
            with lock:
                request = next(todo, None)
            if request is None:
                return
            start = time.perf_counter()
            request()
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


# --- the measures -------------------------------------------------------------------------------------


def measure_morning_list(db, book: Book, rounds: int) -> list[Measure]:
    from bot.clock import ManualClock
    from bot.services.core import Services
    from bot.services.queue import morning_list, supervisors_list
    from handlers.jobs import render_morning_list
    from messages.render import Renderer
    from storage import queries

    svc, renderer = Services(db=db, clock=ManualClock(NOW)), Renderer()
    with db.unit_of_work() as session:
        team = queries.ensure_team(session, TEAM)
    calendar = svc.calendar_for(team)
    rows = 0

    def ours():
        nonlocal rows
        whole = morning_list(svc, team, NOW, calendar)
        for digest in (whole, supervisors_list(whole)):
            render_morning_list(renderer, digest)
        rows = whole.total

    sql, params = _raw_team_due_sql(db)

    def raw():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()

    ours(), raw()  # warm: templates compiled, caches filled, pages in memory
    mine, base = median_of(ours, rounds), median_of(raw, rounds)
    return [Measure("morning_list", f"morning lists of {book.size.agents} agents", "s", mine, base,
                    "one raw SQL query", "≤ 2 × raw SQL and < 1 s", mine <= 2 * base and mine < 1.0,
                    detail={"due_rows": rows})]


def _raw_team_due_sql(db) -> tuple[str, tuple]:
    from bot.care.due import end_of_local_day
    from bot.services.core import Services

    sqlite = db.engine.dialect.name == "sqlite"
    before = end_of_local_day(NOW, _calendar(Services(db=db, clock=None)))  # type: ignore[arg-type]
    mark = "?" if sqlite else "%s"
    sql = ("SELECT cb.id, cb.owner_id, cb.kind, cb.due_at, cb.attempts, cb.rule, cb.params, c.id, c.code, c.name, "
           "c.phone FROM callback cb JOIN customer c ON c.id = cb.customer_id "
           f"WHERE cb.team_id = {mark} AND cb.status = 'open' AND cb.due_at < {mark} "
           "ORDER BY cb.owner_id, cb.due_at, cb.id")
    return sql, (TEAM, _bound(before, sqlite))


def _bound(moment: dt.datetime, sqlite: bool):
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment


def _calendar(svc):
    from storage import queries

    with svc.db.unit_of_work() as session:
        return svc.calendar_for(queries.ensure_team(session, TEAM))


def measure_sla_sweep(db, book: Book, rounds: int) -> list[Measure]:
    from bot.app import freeze_startup_heap, warm_calendars
    from bot.clock import ManualClock
    from bot.services.core import Services
    from bot.services.escalations import post_of_notices, run_sweep
    from bot.services.sla_sweep import warm_statements
    from handlers.sla_jobs import render_post
    from messages.render import Renderer
    from storage.outbox_models import OutboxMessage

    svc, renderer = Services(db=db, clock=ManualClock(NOW)), Renderer().warm()  # as `carebot serve` starts:
    warm_calendars(svc)  # templates compiled, holiday tables filled, the sweep's statements compiled,
    warm_statements(svc)
    freeze_startup_heap()  # the start-up heap out of the collector's sight

    start = time.perf_counter()
    run = run_sweep(svc, NOW)  # claims, and queues each post in the outbox, which renders it when it sends it
    first = time.perf_counter() - start
    notices = sum(count for _, _, count in run.queued)
    start = time.perf_counter()  # what the outbox adds as it sends them (Slack paces each channel anyway)
    for _, message_id, _ in run.queued:
        with db.unit_of_work() as session:
            message = session.get(OutboxMessage, message_id)
        render_post(renderer, post_of_notices(svc, message.payload["notices"], message.channel,
                                              message.payload["locale"], message.team_id))
    rendering = time.perf_counter() - start
    minute = iter(range(1, 10_000))
    steady = median_of(lambda: run_sweep(svc, NOW + dt.timedelta(minutes=next(minute))), rounds)

    sqlite = db.engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = ("SELECT c.id, c.team_id, c.customer_id, c.owner_id, c.kind, c.severity, c.status, c.opened_at, "
           "c.first_response_at, c.first_response_due_at, c.resolution_due_at, s.tier, s.attention_at, "
           "s.acknowledged_at, s.snoozed_until, s.announce FROM complaint_sla s JOIN complaint c "
           f"ON c.id = s.complaint_id WHERE s.attention_at <= {mark} AND c.status = 'open' "
           "ORDER BY s.attention_at, c.id")
    at = _bound(NOW + dt.timedelta(minutes=30), sqlite)

    def raw():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, (at,))
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()

    raw()
    base = median_of(raw, rounds)
    size = book.size
    label = f"SLA sweep, {size.complaints:,} open, {size.complaints_due} due"
    return [Measure("sla_sweep_first", f"{label}: first sweep", "s", first, base,
                    "indexed SQL", "≤ 1.5 × raw SQL, < 50 ms", first <= 1.5 * base and first < 0.05,
                    detail={"notices": notices, "posts": len(run.queued), "rendered_at_delivery_s": rendering}),
            Measure("sla_sweep", f"{label}: each sweep after", "s", steady, base, "indexed SQL",
                    "≤ 1.5 × raw SQL, < 50 ms", steady <= 1.5 * base and steady < 0.05)]


def measure_first_start(db, book: Book, timeout: float, settle: float = 2.0) -> list[Measure]:
    from sqlalchemy import text

    from tests.slack_stand_in import SlackStandIn

    day = NOW.date()
    with SlackStandIn(token="xoxb-bench") as slack:
        for user in [*book.agents, *book.supervisors]:
            slack.add_user(user, locale="en-US")
        with served("bare", db.url, slack.api_url) as (_, bare):
            time.sleep(settle / 2)
            bare_rss = _proc_status(bare.pid)["VmRSS"]
        with served("first-start", db.url, slack.api_url) as (_, child):
            start = time.perf_counter()
            finished = None
            while time.perf_counter() - start < timeout:
                with db.engine.connect() as connection:
                    planned = connection.execute(text(
                        "SELECT count(*) FROM plan_run WHERE team_id = :t AND local_date = :d "
                        "AND finished_at IS NOT NULL"), {"t": TEAM, "d": day}).scalar()
                    # the day's list claimed and built (the outbox of issue 12 posts it afterwards)
                    listed = connection.execute(text(
                        "SELECT count(*) FROM digest_post WHERE channel = :c AND local_date = :d"),
                        {"c": DIGEST_CHANNEL, "d": day}).scalar()
                if planned and listed:
                    finished = time.perf_counter() - start
                    break
                time.sleep(0.2)
            time.sleep(settle)  # let the collector settle: what the process keeps afterwards
            status = _proc_status(child.pid)
            workers = [(_proc_status(pid), _pss_kb(pid)) for pid in _children(child.pid)]
            serving_pss = _pss_kb(child.pid)
    peak, after = status["VmHWM"] / 1024, status["VmRSS"] / 1024
    took = f"done in {finished:.1f} s" if finished is not None else f"unfinished after {timeout:.0f} s"
    # the jobs run in the serving process; its worker processes (bot/offload.py: /care pages, App Homes) are
    # separate processes with their own imports: their peaks and the proportional share (PSS) of all of them
    workers_peak = [w["VmHWM"] / 1024 for w, _ in workers]
    total_pss = (serving_pss + sum(pss for _, pss in workers)) / 1024
    return [Measure("first_start_rss", "RSS, first start of the day (peak, the serving process)", "MB", peak,
                    bare_rss / 1024, "bare Bolt idle", "≤ 150 MB", finished is not None and peak <= 150,
                    detail={"peak_mb": peak, "after_mb": after, "seconds": finished, "note": took,
                            "worker_processes_peak_mb": workers_peak, "all_processes_pss_mb_after": total_pss})]


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (the served bot's worker processes)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _pss_kb(pid: int) -> int:
    """Proportional set size of `pid` in KiB: its private pages plus its share of pages shared with others."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def measure_import(size: Size, directory: Path, url: str) -> list[Measure]:
    """`carebot import customers FILE` (issue 9's streaming import) on a seeded workbook of `size.customers` rows
    into an empty database, in its own process, against openpyxl merely reading every cell of the same file."""
    from bench.bench_import import write_workbook

    root = Path(__file__).resolve().parent.parent
    book = directory / f"customers-{size.customers}.xlsx"
    write_workbook(book, size.customers, 9)
    env = {**os.environ, "CAREBOT_DATABASE_URL": url, "CAREBOT_TEAM": "default"}
    carebot = Path(sys.executable).with_name("carebot")

    def timed(*command: str, refusals_ok: bool = False) -> tuple[float, float, str]:
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], cwd=root, env=env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0 and not (refusals_ok and done.returncode == 1 and "refused" in done.stdout):
            raise RuntimeError(f"{command[:3]} failed: {done.stderr[-2000:]}")
        seconds, kilobytes = done.stderr.strip().splitlines()[-1].split()
        return float(seconds), int(kilobytes) / 1024, done.stdout

    subprocess.run([str(carebot), "db", "upgrade"], cwd=root, env=env, capture_output=True, check=True)
    # the workbook has 1 % bad rows and 2 % duplicates on purpose: the import reports them and exits 1
    seconds, peak, out = timed(str(carebot), "import", "customers", str(book), refusals_ok=True)
    base, base_peak, _ = timed(sys.executable, str(root / "bench" / "bench_import.py"), "--child", "baseline",
                               str(book), "")
    return [Measure("import", f"import {size.customers:,} rows from XLSX (`carebot import customers`)", "s", seconds,
                    base, "openpyxl reading every cell", "< 30 s, < 300 MB", seconds < 30 and peak < 300,
                    detail={"peak_mb": peak, "baseline_peak_mb": base_peak, "output": out.strip()[-500:]})]


MEASURES = ("morning_list", "sla_sweep", "due_ack", "log_call", "first_start", "import")


# --- one database -------------------------------------------------------------------------------------


def run_on(url: str, size: Size, args) -> dict:
    from bench import request_path
    from storage.db import Database
    from storage.migrate import upgrade

    start = time.perf_counter()
    book = kept.restore(url, size, args.keep) if args.keep else None
    upgrade(url)
    db = Database(url)
    verb = "copied the kept book of" if book else "seeded"
    if book is None:
        book = seed(db, size)
        if args.keep:
            db.dispose()
            kept.store(url, book, args.keep)
    seeded = time.perf_counter() - start
    name = db.engine.dialect.name
    print(f"[{name}] {verb} {size.customers:,} customers, {size.callbacks:,} callbacks, {size.agents} agents, "
          f"{size.call_logs:,} call logs, {size.complaints:,} open complaints in {seeded:.1f} s", flush=True)
    measures: list[Measure] = []
    wanted = args.only or MEASURES
    small = size.name != "full"
    steps = {
        "morning_list": lambda: measure_morning_list(db, book, args.rounds),
        "sla_sweep": lambda: measure_sla_sweep(db, book, args.rounds),
        "due_ack": lambda: request_path.measure_due_ack(db, book, args.requests),
        "log_call": lambda: request_path.measure_log_call(db, book, args.submissions),
        "first_start": lambda: measure_first_start(db, book, 180 if small else 900,
                                                   0.5 if size.name == "tiny" else 2.0),
        "import": lambda: _import_beside(url, size),
    }
    for key in MEASURES:
        if key in wanted:
            start = time.perf_counter()
            got = steps[key]()
            measures.extend(got)
            for m in got:
                print(f"[{name}] {_line(m)}  ({time.perf_counter() - start:.0f} s)", flush=True)
    db.dispose()
    return {"database": name, "version": _db_version(url), "seed_seconds": seeded,
            "measures": [asdict(m) | {"ratio": m.ratio} for m in measures]}


def _import_beside(url: str, size: Size) -> list[Measure]:
    """The import goes into its own empty database of the same kind (a team's first import)."""
    with tempfile.TemporaryDirectory() as directory:
        if url.startswith("sqlite"):
            return measure_import(size, Path(directory), f"sqlite:///{Path(directory) / 'import.db'}")
        from sqlalchemy import make_url

        from tests.conftest import scratch_postgres_database

        server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
        with scratch_postgres_database(server) as scratch:
            return measure_import(size, Path(directory), scratch)


def _db_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar()).join(("PostgreSQL ", ""))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--small", action="store_const", const="small", dest="size",
                       help="10,000 customers, 15,000 callbacks, 200 agents, 100,000 call logs, 1,000 complaints")
    sizes.add_argument("--tiny", action="store_const", const="tiny", dest="size",
                       help="a few hundred rows: proves the bench works (the test suite runs it)")
    parser.add_argument("--database-url", help="also measure on this PostgreSQL (in a scratch database)")
    parser.add_argument("--no-sqlite", action="store_true", help="only the --database-url database")
    parser.add_argument("--only", action="append", choices=MEASURES, help="only these measures (repeatable)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the in-process measures (median)")
    parser.add_argument("--requests", type=int, default=200, help="/care due requests at concurrency 1 (×2 at 8)")
    parser.add_argument("--submissions", type=int, default=100, help="log-call submissions at concurrency 1 (×2 at 8)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the seeded book in DIR and start later runs from a copy of it (bench/kept.py)")
    parser.add_argument("--json", default="bench-result.json", help="where to write the results")
    args = parser.parse_args(argv)
    size = SIZES[args.size or "full"]
    if size.name == "tiny":
        args.requests, args.submissions, args.rounds = min(args.requests, 5), min(args.submissions, 2), 1
    report = {"size": asdict(size), "machine": machine(), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "runs": []}
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            report["runs"].append(run_on(f"sqlite:///{Path(directory) / 'bench.db'}", size, args))
    if args.database_url:
        from tests.conftest import scratch_postgres_database

        with scratch_postgres_database(args.database_url) as url:
            report["runs"].append(run_on(url, size, args))
    text = table(report)
    report["table"] = text
    print(f"\n{size.name} book: {size.customers:,} customers, {size.callbacks:,} callbacks, {size.agents} agents, "
          f"{size.call_logs:,} call logs, {size.complaints:,} open complaints; "
          + ", ".join(r["version"] for r in report["runs"]))
    m = report["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Python {m['python']}\n")
    print(text)
    Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return report
