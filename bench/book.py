"""A seeded, reproducible book of one team: customers, callbacks, agents, call logs and open complaints.

Rows go in with bulk inserts (executemany on SQLite, COPY on PostgreSQL) straight through the driver, so
100,000 customers and 1,000,000 call logs take seconds, not the minutes the ORM would. The same seed gives
the same book on either database. Personal data is sealed as the bot seals it (storage/crypto.py: names, phones,
birthdays and complaint descriptions under the process's key, the phone's blind index beside it); call-log notes
are empty and stay plain (a plain value reads as written)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import text

from storage import crypto
from storage.db import Database

# customer data is sealed at rest (storage/crypto.py): the bench and the processes it starts share one key
os.environ.setdefault("CAREBOT_SECRET_KEY", "carebot-bench-secret-key-not-for-production-use")
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 2026-11-24, 10:00 in Shanghai: a working day, after plan_time (02:00) and digest_time (09:00)
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
TEAM = "default"
DIGEST_CHANNEL = "C0BENCHLIST"
SUPERVISOR_CHANNEL = "C0BENCHSUPER"
SUPERVISOR_GROUP = "S0BENCHSUP"


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    callbacks: int
    agents: int
    call_logs: int
    complaints: int  # open ones
    complaints_due: int  # of which the sweep must look at now


SIZES = {
    "full": Size("full", 100_000, 150_000, 200, 1_000_000, 10_000, 100),
    "small": Size("small", 10_000, 15_000, 200, 100_000, 1_000, 100),
    "tiny": Size("tiny", 400, 600, 8, 2_000, 40, 5),
}


@dataclass(frozen=True)
class Book:
    size: Size
    agents: list[str]
    supervisors: list[str]
    due_callbacks: dict[str, list[tuple[int, int]]]  # agent -> [(callback id, customer id)] due today or late


def agent_ids(size: Size) -> list[str]:
    return [f"U0AG{n:05d}" for n in range(size.agents)]


SUPERVISORS = ["U0SV00001", "U0SV00002", "U0SV00003"]
ADMIN = "U0ADMIN001"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
_EN = ["Alice Smith", "Bob Jones", "Carol White", "David Brown", "Eve Davis", "Frank Miller", "<!channel> Lee"]
_TIERS = ("high_value", "potential", "ordinary", "ordinary", "ordinary")
_ACTIVITY = ("active", "active", "silent", "churn_risk")
_LIFECYCLE = ("new", "existing", "existing", "prospect")


def _utc(moment: dt.datetime, sqlite: bool) -> dt.datetime | str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment  # as SQLAlchemy stores it


def _day(day: dt.date | None, sqlite: bool) -> dt.date | str | None:
    return day.isoformat() if sqlite and day is not None else day


def seed(db: Database, size: Size, seed_value: int = 14) -> Book:
    """Fill an empty, migrated database with the book of `size`; the same seed gives the same rows."""
    rng = random.Random(seed_value)
    sqlite = db.engine.dialect.name == "sqlite"
    at = lambda moment: _utc(moment, sqlite)  # noqa: E731
    js = json.dumps
    agents = agent_ids(size)
    ring = crypto.keyring()
    staff = [*((u, "agent") for u in agents), *((u, "supervisor") for u in SUPERVISORS), (ADMIN, "admin")]

    team_rows = [(TEAM, "bench", DIGEST_CHANNEL, SUPERVISOR_CHANNEL, SUPERVISOR_GROUP, "Asia/Shanghai", "09:00",
                  "zh-CN", "02:00")]
    staff_rows = [(u, TEAM, role, u, "en-US" if n % 3 == 0 else "zh-CN", "Asia/Shanghai", at(NOW), at(NOW))
                  for n, (u, role) in enumerate(staff)]

    def customers() -> Iterable[tuple]:
        for n in range(size.customers):
            chinese = rng.random() < 0.85
            name = (rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)) if chinese else \
                rng.choice(_EN)
            phone = f"+86138{rng.randrange(10**8):08d}" if rng.random() < 0.97 else None
            first = (NOW - dt.timedelta(days=rng.randint(1, 2000))).date() if rng.random() < 0.8 else None
            birthday = dt.date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28)) \
                if rng.random() < 0.6 else None
            tier = rng.choice(_TIERS)
            yield (n + 1, TEAM, f"C{n:07d}", ring.seal("customer.name", name),
                   ring.seal("customer.phone", phone) if phone else None,
                   ring.token("phone", phone) if phone else None, None, None, tier, js([]), agents[n % len(agents)],
                   _day(first, sqlite), ring.seal("customer.birthday", birthday.isoformat()) if birthday else None,
                   None, True, phone is None,
                   at(NOW - dt.timedelta(days=rng.randint(1, 900))),
                   at(NOW - dt.timedelta(days=rng.randint(0, 400))), tier, rng.choice(_ACTIVITY),
                   rng.choice(_LIFECYCLE), at(NOW - dt.timedelta(hours=8)))

    due: dict[str, list[tuple[int, int]]] = {a: [] for a in agents}
    kinds = ("periodic_touch", "satisfaction_survey", "birthday_greeting", "first_use")

    def callbacks() -> Iterable[tuple]:
        ratio = size.callbacks / size.customers  # at most one open callback of a kind per customer
        assert ratio <= len(kinds), "more callbacks than kinds per customer"
        made = 0
        end_of_today = dt.datetime.combine(NOW.date() + dt.timedelta(days=1), dt.time(), SHANGHAI)
        for index in range(size.customers):
            customer, owner = index + 1, agents[index % len(agents)]
            for kind in kinds[:int((index + 1) * ratio) - int(index * ratio)]:
                made += 1
                due_at = NOW + dt.timedelta(hours=rng.randint(-24 * 60, 24 * 60))
                if due_at < end_of_today:
                    due[owner].append((made, customer))
                if kind == "periodic_touch":
                    rule, params = "periodic.touch", {"after": "", "months": "0", "days": "30",
                                                      "cadence": "ordinary", "anchor": "2026-10-25"}
                else:
                    rule, params = "first_purchase.survey", {"anchor": "2026-11-02", "days": "7"}
                yield (made, TEAM, customer, owner, kind, at(due_at), "open", 0, rule, js(params), None,
                       at(NOW - dt.timedelta(days=30)), None)

    def call_logs() -> Iterable[tuple]:
        outcomes = ("satisfied", "satisfied", "problem", "high_potential", "unreachable")
        for n in range(size.call_logs):
            customer = rng.randrange(size.customers) + 1
            outcome = rng.choice(outcomes)
            yield (n + 1, TEAM, customer, None, agents[(customer - 1) % len(agents)], "phone", outcome,
                   None if outcome == "unreachable" else rng.randint(1, 5), "", "", None,
                   at(NOW - dt.timedelta(minutes=rng.randint(60, 365 * 24 * 60))))

    complaint_rows, sla_rows = [], []
    broken = "the parcel arrived broken"
    for n in range(size.complaints):
        customer = rng.randrange(size.customers) + 1
        owner = agents[(customer - 1) % len(agents)]
        due_now = n < size.complaints_due
        if due_now:  # opened yesterday, nobody answered: past both clocks, the sweep must escalate it
            opened = NOW - dt.timedelta(hours=rng.randint(20, 30))
            first_response, fr_due, res_due = None, opened + dt.timedelta(hours=1), opened + dt.timedelta(hours=8)
            attention = fr_due
        else:  # answered, resolution due in the coming days: the sweep looks again later
            opened = NOW - dt.timedelta(hours=rng.randint(1, 48))
            first_response = opened + dt.timedelta(minutes=30)
            fr_due, res_due = opened + dt.timedelta(hours=1), NOW + dt.timedelta(days=rng.randint(2, 20))
            attention = res_due - dt.timedelta(hours=2)
        complaint_rows.append((n + 1, TEAM, customer, owner, "complaint", "quality", rng.choice(("normal", "high")),
                               ring.seal("complaint.description", broken), "open", at(opened),
                               at(first_response) if first_response else None, None, at(fr_due), at(res_due), "", None))
        sla_rows.append((n + 1, "ordinary", at(attention), None, None, None, None, False, "slack", None))

    with db.engine.begin() as connection:
        raw = connection.connection.dbapi_connection
        _bulk(raw, sqlite, "team", ("id", "name", "digest_channel", "supervisor_channel", "supervisor_group",
                                    "timezone", "digest_time", "locale", "plan_time"), team_rows)
        _bulk(raw, sqlite, "staff", ("user_id", "team_id", "role", "display_name", "locale", "timezone",
                                     "locale_checked_at", "created_at"), staff_rows)
        _bulk(raw, sqlite, "customer", (
            "id", "team_id", "code", "name", "phone", "phone_hash", "email", "company", "tier", "tags", "owner_id",
            "first_purchase_on", "birthday", "annual_spend", "consent", "needs_follow_up", "created_at",
            "last_contact_at", "segment_tier", "segment_activity", "segment_lifecycle", "segmented_at"), customers())
        _bulk(raw, sqlite, "callback", ("id", "team_id", "customer_id", "owner_id", "kind", "due_at", "status",
                                        "attempts", "rule", "params", "dedupe_key", "created_at", "closed_at"),
              callbacks())
        _bulk(raw, sqlite, "call_log", ("id", "team_id", "customer_id", "callback_id", "staff_id", "channel",
                                        "outcome", "rating", "summary", "feedback", "next_on", "called_at"),
              call_logs())
        _bulk(raw, sqlite, "complaint", ("id", "team_id", "customer_id", "owner_id", "kind", "category", "severity",
                                         "description", "status", "opened_at", "first_response_at", "resolved_at",
                                         "first_response_due_at", "resolution_due_at", "resolution", "source_link"),
              complaint_rows)
        _bulk(raw, sqlite, "complaint_sla", ("complaint_id", "tier", "attention_at", "acknowledged_at",
                                             "acknowledged_by", "snoozed_until", "snoozed_by", "announce", "source",
                                             "call_id"), sla_rows)
        if not sqlite:
            for table in ("customer", "callback", "call_log", "complaint"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))  # what a team's database has: statistics of its real tables
    return Book(size, agents, SUPERVISORS, due)


def _bulk(raw, sqlite: bool, table: str, columns: Sequence[str], rows: Iterable[tuple], batch: int = 20_000) -> None:
    if sqlite:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cursor = raw.cursor()
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                cursor.executemany(sql, chunk)
                chunk.clear()
        if chunk:
            cursor.executemany(sql, chunk)
        cursor.close()
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


