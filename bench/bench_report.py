"""How fast a report is at 100,000 customers and 1,000,000 calls (issue 13: under 5 s), with a baseline from the
same run.

    python bench/bench_report.py [--customers 100000] [--calls 1000000] [--agents 50] [--repeat 3]

Seeds two years of history (calls, callbacks, complaints with SLA rows and pauses), then measures:
- the weekly report: `build_insight` (every metric, by agent and tier, this week and the one before, the 8-week
  trends, churn risk at both ends) plus the four PNG charts and the CSV/XLSX of every number;
- the monthly report the same way;
- one agent's own numbers, as `/care stats` builds them (their calls and customers only);
- the baseline: the same window's calls read with one hand-written SQL query through the bare DB driver (the
  least any report must do), so the ratio says what the metrics cost on top of reading the rows.
Each is timed as wall time and as CPU time of this process (SQLite runs inside it): on a shared machine the wall
time follows the load average, which is printed with the results.
Set CAREBOT_DATABASE_URL to a PostgreSQL URL to measure there (a scratch database is created and dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# customer data is stored encrypted (issue 11): the bench's made-up book gets a fixed key of its own
os.environ.setdefault("CAREBOT_SECRET_KEY", "carebot-bench-key-not-for-production-use")

from sqlalchemy import insert, text  # noqa: E402

from bot.care.metrics import Period  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.insight_charts import write_charts  # noqa: E402
from bot.insight_files import write_csv, write_xlsx  # noqa: E402
from bot.services.core import Services  # noqa: E402
from bot.services.insight import build_insight  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Callback, CallLog, Complaint, Customer, Staff, Team  # noqa: E402
from storage.sla_models import ComplaintPause, ComplaintSla  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
DAYS = 730
OUTCOMES = ("satisfied", "satisfied", "satisfied", "problem", "potential", "unreachable")
TIERS = ("high_value", "potential", "ordinary", "ordinary", "ordinary")
CATEGORIES = ("quality", "service", "logistics", "price", "other")


def _chunks(rows, size=50_000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def seed(db: Database, customers: int, calls: int, agents: int) -> None:
    rng = random.Random(13)
    staff = [f"U0BENCH{n:04d}" for n in range(agents)]
    start = NOW - dt.timedelta(days=DAYS)
    span = int((NOW - start).total_seconds())
    with db.unit_of_work() as session:
        session.add(Team(id="default", name="bench", timezone="Asia/Shanghai", digest_time="09:00", locale="zh-CN"))
        session.flush()
        session.execute(insert(Staff), [dict(user_id=u, team_id="default", role="agent", display_name=f"客服{i}",
                                             created_at=start) for i, u in enumerate(staff)])
        session.execute(insert(Customer), [dict(
            id=n + 1, team_id="default", code=f"C{n:06d}", name=f"客户{n}", phone="+8613812345678",
            tier=TIERS[n % len(TIERS)], tags=[], owner_id=staff[n % agents], consent=True, needs_follow_up=False,
            first_purchase_on=(start + dt.timedelta(days=rng.randint(0, DAYS))).date(),
            created_at=start) for n in range(customers)])
    print(f"seeding {calls:,} calls …", flush=True)
    rows = []
    for _ in range(calls):
        customer = rng.randint(1, customers)
        outcome = rng.choice(OUTCOMES)
        reached = outcome != "unreachable"
        rows.append(dict(team_id="default", customer_id=customer, staff_id=staff[(customer - 1) % agents],
                         channel="phone", outcome=outcome, rating=rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if reached
                         else None, nps=rng.randint(0, 10) if reached and rng.random() < 0.3 else None,
                         summary="", feedback="", called_at=start + dt.timedelta(seconds=rng.randint(0, span))))
    for chunk in _chunks(rows):
        with db.unit_of_work() as session:
            session.execute(insert(CallLog), chunk)
    rows, open_for = [], set()
    for _ in range(calls // 6):  # callbacks: a sixth of the calls; one open of a kind per customer, due ahead
        customer = rng.randint(1, customers)
        due = start + dt.timedelta(seconds=rng.randint(0, span + 30 * 86400))
        if due > NOW and customer in open_for:
            continue
        if due > NOW:
            open_for.add(customer)
        status = "open" if due > NOW else rng.choice(("done", "done", "done", "rescheduled", "cancelled", "expired"))
        rows.append(dict(team_id="default", customer_id=customer, owner_id=staff[(customer - 1) % agents],
                         kind="periodic_touch", due_at=due, status=status, attempts=0, rule="manual", params={},
                         created_at=start, closed_at=due + dt.timedelta(hours=rng.randint(0, 60))
                         if status in ("done", "rescheduled") else None))
    for chunk in _chunks(rows):
        with db.unit_of_work() as session:
            session.execute(insert(Callback), chunk)
    complaints, slas, pauses = [], [], []
    for n in range(calls // 50):  # 20,000 complaints over two years
        customer = rng.randint(1, customers)
        opened = start + dt.timedelta(seconds=rng.randint(0, span))
        first = opened + dt.timedelta(minutes=rng.randint(5, 240))
        resolved = opened + dt.timedelta(hours=rng.randint(1, 96)) if rng.random() < 0.9 else None
        complaints.append(dict(id=n + 1, team_id="default", customer_id=customer,
                               owner_id=staff[(customer - 1) % agents], kind=rng.choice(("complaint", "inquiry")),
                               category=rng.choice(CATEGORIES), severity="normal", description="",
                               status="resolved" if resolved else "open", opened_at=opened,
                               first_response_at=first if first <= NOW else None,
                               resolved_at=resolved if resolved and resolved <= NOW else None, resolution=""))
        slas.append(dict(complaint_id=n + 1, tier=TIERS[(customer - 1) % len(TIERS)], announce=False,
                         source="slack"))
        if rng.random() < 0.1:
            pauses.append(dict(complaint_id=n + 1, paused_at=first, resumed_at=first + dt.timedelta(hours=5)))
    with db.unit_of_work() as session:
        session.execute(insert(Complaint), complaints)
        session.execute(insert(ComplaintSla), slas)
        session.execute(insert(ComplaintPause), pauses)


BASELINE = """
SELECT cl.called_at, cl.staff_id, cl.customer_id, c.tier, cl.outcome, cl.rating, cl.nps
FROM call_log cl JOIN customer c ON c.id = cl.customer_id
WHERE cl.team_id = 'default' AND cl.called_at >= :start AND cl.called_at < :end
"""


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        begin, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - begin)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="SQLite file to keep the seeded book in and reuse (seeding 1M calls "
                                                "takes minutes)")
    args = parser.parse_args()

    url = os.environ.get("CAREBOT_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        if url:
            from tests.conftest import scratch_postgres_database

            with scratch_postgres_database(url) as scratch:
                run(scratch, args, Path(folder))
        else:
            run(f"sqlite:///{args.db or Path(folder) / 'bench.db'}", args, Path(folder))


def run(url: str, args, folder: Path) -> None:
    reuse = args.db is not None and args.db.exists()
    upgrade(url)
    db = Database(url)
    began = time.perf_counter()
    if not reuse:
        seed(db, args.customers, args.calls, args.agents)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    if not reuse:
        print(f"seeded {args.customers:,} customers, {args.calls:,} calls in {time.perf_counter() - began:.0f} s")
    svc = Services(db=db, clock=ManualClock(NOW), default_team="default")
    week, month = Period.parse("2026-W48", "Asia/Shanghai"), Period.parse("2026-11", "Asia/Shanghai")

    def report(period: Period):
        def go():
            insight = build_insight(svc, period=period)
            write_charts(insight, folder, "zh-CN")
            write_csv(insight, folder / "r.csv")
            write_xlsx(insight, folder / "r.xlsx")
            return insight
        return go

    def baseline(period: Period):
        window_start = min(Period.week_of(period.last, period.timezone).back(8)[0].start, period.previous().start)

        def go():
            raw = db.engine.raw_connection()
            try:
                cursor = raw.cursor()
                sql = BASELINE.replace(":start", "%(start)s" if "psycopg" in url else ":start").replace(
                    ":end", "%(end)s" if "psycopg" in url else ":end")
                start, end = window_start.astimezone(dt.UTC), period.end.astimezone(dt.UTC)
                if db.engine.dialect.name == "sqlite":
                    start, end = (v.replace(tzinfo=None).isoformat(" ") for v in (start, end))
                cursor.execute(sql, {"start": start, "end": end})
                return len(cursor.fetchall())
            finally:
                raw.close()
        return go

    report(week)()  # warm up: fonts, holiday tables
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for name, period in (("week 2026-W48", week), ("month 2026-11", month)):
        ours, ours_cpu = timed(report(period), args.repeat)
        base, base_cpu = timed(baseline(period), args.repeat)
        rows = baseline(period)()
        print(f"{name}: report {ours:.2f} s wall, {ours_cpu:.2f} s CPU (target < 5 s) · baseline read of the "
              f"window's {rows:,} calls {base:.3f} s wall, {base_cpu:.3f} s CPU · ratio {ours / base:.1f}× wall, "
              f"{ours_cpu / max(base_cpu, 1e-6):.1f}× CPU")
    agent = "U0BENCH0007"
    mine, mine_cpu = timed(lambda: build_insight(svc, period=week, agent=agent), args.repeat)
    print(f"/care stats of one agent ({agent}, week): {mine:.2f} s wall, {mine_cpu:.2f} s CPU")
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    db.dispose()


if __name__ == "__main__":
    main()
