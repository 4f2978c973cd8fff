"""How fast an agent's `/care due` is at 100,000 customers, as ratios against baselines measured in the same run.

    python bench/bench_due.py [--customers 100000] [--agents 50] [--repeat 30]

Reports (lower is better):
- queue / raw SQL: our service (`my_queue`: ORM + care rules) against one hand-written SQL query returning the
  same rows through the bare DB driver — the price of the ORM and the rules.
- /care due over HTTP / bare Bolt: a signed slash command through our running bot against a bare Bolt app
  on the same server stack that acks and responds with a fixed text — the price of our whole request path.
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
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.services.core import Services  # noqa: E402
from bot.services.people import Actor, Role  # noqa: E402
from bot.services.queue import my_queue  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Callback, Customer, Staff, Team  # noqa: E402

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def seed(db: Database, customers: int, agents: int) -> list[str]:
    rng = random.Random(7)
    staff = [f"U0BENCH{n:04d}" for n in range(agents)]
    with db.unit_of_work() as session:
        session.add(Team(id="default", name="bench", timezone="Asia/Shanghai", digest_time="09:00", locale="en"))
        session.flush()
        session.execute(insert(Staff), [dict(user_id=u, team_id="default", role="agent", display_name=u,
                                             created_at=NOW) for u in staff])
        session.execute(insert(Customer), [dict(
            id=n + 1, team_id="default", code=f"C{n:06d}", name=f"客户{n}", phone="+8613812345678",
            tier="ordinary", tags=[], owner_id=staff[n % agents], consent=True, needs_follow_up=False,
            created_at=NOW) for n in range(customers)])
        rows = []
        for n in range(customers):  # 1.5 callbacks a customer, spread 60 days back to 60 days ahead
            for kind in ("survey", "periodic_touch")[: 1 + (n % 2)]:
                rows.append(dict(team_id="default", customer_id=n + 1, owner_id=staff[n % agents], kind=kind,
                                 due_at=NOW + dt.timedelta(hours=rng.randint(-24 * 60, 24 * 60)), status="open",
                                 attempts=0, rule="manual", params={}, created_at=NOW))
        session.execute(insert(Callback), rows)
    return staff


RAW_QUEUE = """
SELECT cb.id, cb.kind, cb.due_at, cb.rule, cb.params, c.code, c.name, c.phone
FROM callback cb JOIN customer c ON c.id = cb.customer_id
WHERE cb.owner_id = :owner AND cb.status = 'open' AND cb.due_at < :before
ORDER BY cb.due_at, cb.id
"""


def timed(fn, repeat: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_queue(db: Database, staff: list[str], repeat: int) -> tuple[float, float]:
    services = Services(db=db, clock=ManualClock(NOW))
    actors = [Actor(u, "default", Role.AGENT, "en", "Asia/Shanghai") for u in staff]
    before = dt.datetime(2026, 11, 25, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    raw = db.engine.raw_connection()  # the bare DB-API driver: no ORM, no rules
    is_sqlite = db.url.startswith("sqlite")
    sql = RAW_QUEUE.replace(":owner", "?" if is_sqlite else "%s").replace(":before", "?" if is_sqlite else "%s")
    bound = before.astimezone(dt.UTC).replace(tzinfo=None) if is_sqlite else before
    counter = iter(range(10**9))

    def ours():
        my_queue(services, actors[next(counter) % len(actors)])

    def baseline():
        cursor = raw.cursor()
        cursor.execute(sql, (staff[next(counter) % len(staff)], str(bound) if is_sqlite else bound))
        cursor.fetchall()
        cursor.close()

    result = timed(ours, repeat), timed(baseline, repeat)
    raw.close()
    return result


def bench_http(db: Database, staff: list[str], repeat: int) -> tuple[float, float]:
    from slack_bolt import App
    from waitress.server import create_server

    from bot.app import build_app, wsgi_app
    from bot.settings import Settings
    from tests.conftest import stop_waitress
    from tests.signed import SlackSender
    from tests.slack_stand_in import SlackStandIn

    secret = "bench-secret"
    with SlackStandIn(token="xoxb-bench") as slack:
        for user in staff:
            slack.add_user(user, locale="en-US")
        settings = Settings(database_url=db.url, slack_bot_token="xoxb-bench", slack_signing_secret=secret,
                            slack_api_url=slack.api_url)
        ours = build_app(settings, Services(db=db, clock=ManualClock(NOW)))
        bare = App(client=ours.client, signing_secret=secret)

        @bare.command("/care")
        def bare_care(ack, respond):
            ack()
            respond(text="ok", response_type="ephemeral")

        results = []
        for app in (ours, bare):
            server = create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=4, asyncore_loop_timeout=0.1)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            sender = SlackSender(f"http://127.0.0.1:{server.effective_port}/slack/events", secret)
            counter = iter(range(10**9))

            def round_trip(sender=sender, counter=counter):
                n = next(counter)
                name = f"b{n}"
                sender.command("due", user_id=staff[n % len(staff)], response_url=slack.response_url(name))
                while not slack.responses(name):
                    time.sleep(0.0005)

            results.append(timed(round_trip, repeat))
            stop_waitress(server)
            thread.join(timeout=5)
        return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    pg = os.environ.get("CAREBOT_DATABASE_URL")
    if pg:
        from tests.conftest import scratch_postgres_database

        context = scratch_postgres_database(pg)
    else:
        directory = tempfile.TemporaryDirectory()
        context = _sqlite(Path(directory.name) / "bench.db")
    with context as url:
        upgrade(url)
        db = Database(url)
        start = time.perf_counter()
        staff = seed(db, args.customers, args.agents)
        print(f"seeded {args.customers:,} customers, {args.agents} agents on {db.engine.dialect.name} "
              f"in {time.perf_counter() - start:.1f} s")
        ours, raw = bench_queue(db, staff, args.repeat)
        print(f"queue of one agent   ours {ours * 1000:7.2f} ms   raw SQL  {raw * 1000:7.2f} ms   "
              f"ratio {ours / raw:5.1f}x")
        ours_http, bare_http = bench_http(db, staff, args.repeat)
        print(f"/care due over HTTP  ours {ours_http * 1000:7.2f} ms   bare Bolt {bare_http * 1000:6.2f} ms   "
              f"ratio {ours_http / bare_http:5.1f}x")
        db.dispose()


class _sqlite:
    def __init__(self, path: Path):
        self.url = f"sqlite:///{path}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc) -> None:
        pass


if __name__ == "__main__":
    main()
