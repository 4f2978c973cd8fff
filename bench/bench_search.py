"""How fast the customer search is at 100,000 encrypted customers, against the plaintext search it replaced,
measured in the same run on the same database.

    python bench/bench_search.py [--customers 100000] [--repeat 20]

The search is what the log-call modal's customer picker (external_select, 50 options) and `/care log NAME`
run: `scope.customers_for_search` -> `queries.customers_matching` (code prefix in clear, names through the blind
index of hashed pieces, each candidate decrypted and checked). The baseline is the search before encryption:
one `ILIKE '%query%'` over plaintext code and name columns (a copy of the same names in a plain table), through
the bare driver. Reports the median in milliseconds and the ratio (lower is better); the target is < 100 ms.
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
os.environ.setdefault("CAREBOT_SECRET_KEY", "bench-only-key-" + "x" * 32)

from sqlalchemy import insert, text  # noqa: E402

from bot.services import scope  # noqa: E402
from bot.services.people import Actor, Role  # noqa: E402
from storage import crypto  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Customer, Staff, Team  # noqa: E402
from storage.privacy_models import CustomerSearchToken, name_tokens  # noqa: E402

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢" \
           "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志林晨阳欣怡子涵梓轩浩然雨桐诗雅思远嘉"
FIRST = ["Alice", "Bob", "Carol", "David", "Emily", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kevin", "Linda",
         "Michael", "Nina", "Oscar", "Peter", "Queenie", "Rachel", "Steven", "Tina"]
LAST = ["Wang", "Li", "Zhang", "Liu", "Chen", "Smith", "Brown", "Ho", "Chan", "Wong", "Lee", "Ng"]
PLAIN_TABLE = "bench_plain_customer"


def names(count: int) -> list[str]:
    rng = random.Random(9)
    out = []
    for n in range(count):
        if n % 5 == 4:
            out.append(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
        else:
            out.append(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))))
    return out


def seed(db: Database, count: int, agents: int) -> None:
    staff = [f"U0BENCH{n:04d}" for n in range(agents)]
    every = names(count)
    ring = crypto.keyring()
    with db.unit_of_work() as session:
        session.add(Team(id="default", name="bench", timezone="Asia/Shanghai", locale="en"))
        session.flush()
        session.execute(insert(Staff), [dict(user_id=u, team_id="default", role="agent", display_name=u,
                                             created_at=NOW) for u in staff])
        for start in range(0, count, 10_000):
            chunk = range(start, min(start + 10_000, count))
            phones = {n: f"+86139{n:08d}" for n in chunk}
            session.execute(insert(Customer), [dict(
                id=n + 1, team_id="default", code=f"C{n:06d}", name=every[n], phone=phones[n],
                phone_hash=ring.token("phone", phones[n]), tier="ordinary", tags=[], owner_id=staff[n % agents],
                consent=True, needs_follow_up=False, created_at=NOW) for n in chunk])
            session.execute(insert(CustomerSearchToken), [dict(customer_id=n + 1, team_id="default", token=token)
                                                          for n in chunk for token in name_tokens("default", every[n])])
        session.execute(text(f"CREATE TABLE {PLAIN_TABLE} (id INTEGER PRIMARY KEY, team_id VARCHAR(64), "
                             "code VARCHAR(64), name VARCHAR(200), owner_id VARCHAR(32))"))
        session.execute(text(f"INSERT INTO {PLAIN_TABLE} VALUES (:id, 'default', :code, :name, :owner)"),
                        [dict(id=n + 1, code=f"C{n:06d}", name=every[n], owner=staff[n % agents])
                         for n in range(count)])
        session.execute(text(f"CREATE UNIQUE INDEX ix_{PLAIN_TABLE} ON {PLAIN_TABLE} (team_id, code)"))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()


BASELINE = f"""
SELECT id, code, name FROM {PLAIN_TABLE}
WHERE team_id = 'default' AND {{owner}} (code {{like}} :pattern OR name {{like}} :pattern)
ORDER BY code LIMIT 50
"""


def timed(fn, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench(db: Database, repeat: int) -> None:
    lead = Actor("U0LEAD", "default", Role.SUPERVISOR, "en", "Asia/Shanghai")
    agent = Actor("U0BENCH0001", "default", Role.AGENT, "en", "Asia/Shanghai")
    like = "ILIKE" if db.engine.dialect.name == "postgresql" else "LIKE"
    raw = db.engine.raw_connection()
    placeholder = "%(pattern)s" if db.engine.dialect.name == "postgresql" else ":pattern"

    def baseline(query: str, owner: str | None):
        cursor = raw.cursor()
        owner_clause = f"(owner_id = '{owner}' OR owner_id IS NULL) AND " if owner else ""
        sql = BASELINE.format(owner=owner_clause, like=like).replace(":pattern", placeholder)
        cursor.execute(sql, {"pattern": f"%{query}%"})
        return cursor.fetchall()

    def ours(query: str, actor: Actor):
        with db.unit_of_work() as session:
            return [(c.code, c.name) for c in scope.customers_for_search(session, actor, query, 50)]

    print(f"{'query':14} {'who':10} {'found':>5} {'ours ms':>9} {'plain ms':>9} {'ratio':>7}")
    for query in ("王", "欧阳", "李娜", "张伟芳", "alice", "Alice Wang", "C0123", "C09999", "nobody here"):
        for who, actor in (("supervisor", lead), ("agent", agent)):
            found = len(ours(query, actor))
            mine = timed(lambda q=query, a=actor: ours(q, a), repeat)
            plain = timed(lambda q=query, a=actor: baseline(q, a.user_id if a.role is Role.AGENT else None), repeat)
            print(f"{query:14} {who:10} {found:5d} {mine * 1000:9.2f} {plain * 1000:9.2f} {mine / plain:6.1f}x")
    raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    pg = os.environ.get("CAREBOT_DATABASE_URL")
    if pg:
        from tests.conftest import scratch_postgres_database

        context = scratch_postgres_database(pg)
    else:
        directory = tempfile.TemporaryDirectory()
        context = _Sqlite(Path(directory.name) / "bench.db")
    with context as url:
        upgrade(url)
        db = Database(url)
        start = time.perf_counter()
        seed(db, args.customers, args.agents)
        print(f"seeded {args.customers:,} encrypted customers on {db.engine.dialect.name} "
              f"in {time.perf_counter() - start:.1f} s")
        bench(db, args.repeat)
        db.dispose()


class _Sqlite:
    def __init__(self, path: Path):
        self.url = f"sqlite:///{path}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc) -> None:
        pass


if __name__ == "__main__":
    main()
