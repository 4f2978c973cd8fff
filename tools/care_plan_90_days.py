"""Follow a book of ten customers night by night for 90 days (2026-12-01 .. 2027-02-28: New Year and Spring
Festival 2027) through the real code: a scratch SQLite database built by the Alembic migrations, a manual
clock, the nightly run (claimed once a day, run twice), the morning queue, and every callback due that day
logged through the service the log-a-call modal uses (reached, satisfied, rating 5). Prints, as Markdown,
the due list of the high-value customer (V1) and the birthday customer (B1) day by day, then checks.

    python tools/care_plan_90_days.py > plan-90-days.md

The book (issue 11): a first purchase on a Friday (N1), a birthday near a Monday (B2) and in 春节 (B1),
high-value (V1: its call on 11-19 was "satisfied") and ordinary (O1: a problem call on 11-30) customers,
a silent (S1) and a churn-risk (C1) customer, one without consent (X1), one without a phone (P1), and a
quiet potential customer (K1).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bot.care.call_form import CallForm  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.services import planning  # noqa: E402
from bot.services.calls import log_call  # noqa: E402
from bot.services.core import Services  # noqa: E402
from bot.services.people import Actor, Role, add_staff  # noqa: E402
from bot.services.queue import my_queue  # noqa: E402
from storage import queries  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Callback, Customer, Staff  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
START, DAYS = dt.date(2026, 12, 1), 90
STAFF = {"U0AGENT": Role.AGENT, "U0SUPER": Role.SUPERVISOR, "U0ADMIN": Role.ADMIN}
WEEKDAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def book() -> list[dict]:
    old = dt.date(2024, 3, 1)
    return [
        dict(code="N1", first_purchase_on=dt.date(2026, 12, 4)),  # a Friday, in the range
        dict(code="V1", annual_spend=Decimal(200000), first_purchase_on=old, last_contact_at=at(2026, 11, 5)),
        dict(code="B1", annual_spend=Decimal(60000), first_purchase_on=old, last_contact_at=at(2026, 11, 20),
             birthday=dt.date(1991, 2, 9)),  # 2027-02-09 is a 春节 day off
        dict(code="B2", first_purchase_on=old, last_contact_at=at(2026, 11, 25),
             birthday=dt.date(1990, 12, 17)),  # Thursday: 3 days before is Monday 12-14
        dict(code="O1", first_purchase_on=old, last_contact_at=at(2026, 11, 2)),
        dict(code="S1", first_purchase_on=old, last_contact_at=at(2026, 8, 10)),  # silent (3–6 months)
        dict(code="C1", first_purchase_on=old, last_contact_at=at(2026, 4, 1)),  # churn risk (> 6 months)
        dict(code="X1", annual_spend=Decimal(300000), first_purchase_on=old, last_contact_at=at(2026, 11, 1),
             birthday=dt.date(1985, 1, 20), consent=False),
        dict(code="P1", phone=None, owner_id=None, first_purchase_on=old, last_contact_at=at(2026, 11, 1)),
        dict(code="K1", annual_spend=Decimal(70000), first_purchase_on=old, last_contact_at=at(2026, 11, 16)),
    ]


def seed(svc: Services) -> dict[str, int]:
    for user_id, role in STAFF.items():
        add_staff(svc, user_id, role)
    ids = {}
    with svc.db.unit_of_work() as session:
        for fields in book():
            row = Customer(team_id="default", name=f"Customer {fields['code']}", created_at=svc.clock.now(),
                           **{"phone": "+8613812345678", "owner_id": "U0AGENT", "consent": True, **fields})
            session.add(row)
            session.flush()
            ids[row.code] = row.id
    return ids


def actor(svc: Services, user_id: str) -> Actor:
    with svc.db.unit_of_work() as session:
        role = session.scalar(select(Staff.role).where(Staff.user_id == user_id))
    return Actor(user_id, "default", Role(role), "en", "Asia/Shanghai")


def call(svc: Services, user_id: str, customer_id: int, callback_id: int | None, outcome: str, rating: int) -> None:
    log_call(svc, actor(svc, user_id), CallForm(customer_id, callback_id, "phone", outcome, rating, "", "", None))


def day_note(svc: Services, day: dt.date) -> str:
    with svc.db.unit_of_work() as session:
        calendar = svc.calendar_for(queries.ensure_team(session, "default"))
    name = calendar.holiday_name(day)
    if name:
        return f"off: {name}"
    if not calendar.is_working_day(day):
        return "weekend"
    return "调休 worked" if day.weekday() >= 5 else ""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'plan-90.db'}"
        upgrade(url)
        db = Database(url)
        clock = ManualClock(at(2026, 11, 19, 10, 30))
        svc = Services(db=db, clock=clock, default_team="default")
        ids = seed(svc)
        call(svc, "U0AGENT", ids["V1"], None, "satisfied", 5)  # Thu 11-19: the high-value call of the issue
        clock.set(at(2026, 11, 30, 15))
        call(svc, "U0AGENT", ids["O1"], None, "problem", 3)  # Mon 11-30: an ordinary customer's problem
        names = {cid: code for code, cid in ids.items()}
        shown: dict[dt.date, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        reruns, counts, admin_days = 0, defaultdict(int), 0
        for offset in range(DAYS):
            day = START + dt.timedelta(days=offset)
            clock.set(dt.datetime.combine(day, dt.time(2, 30), tzinfo=SH))
            planning.run_nightly_plans(svc)
            reruns += len(planning.run_nightly_plans(svc).planned)  # claimed: must stay 0
            reruns += len(planning.plan_team(svc).created)  # nothing left to plan: must stay 0
            clock.set(dt.datetime.combine(day, dt.time(11, 0), tzinfo=SH))
            with svc.db.unit_of_work() as session:
                due = [(c.id, c.customer_id, c.owner_id, c.kind, c.due_at, c.rule, dict(c.params))
                       for c in session.scalars(select(Callback).where(
                           Callback.status == "open",
                           Callback.due_at < dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=SH))
                           .order_by(Callback.due_at))]
            admin_queue = my_queue(svc, actor(svc, "U0ADMIN")).items  # the real /care due of the admin
            admin_days += any(i.item.customer.code == "P1" and i.item.kind == "complete_record" for i in admin_queue)
            for cb_id, cid, owner, kind, due_at, rule, params in due:
                code = names[cid]
                local = due_at.astimezone(SH)
                late = "" if local.date() == day else f" (overdue since {local:%m-%d})"
                shown[day][code].append(f"{kind} {local:%H:%M}{late} · {rule} {_brief(params)}")
                counts[code] += local.date() == day
                if kind != "complete_record" and owner:  # a record task waits for the phone, not a call
                    call(svc, owner, cid, cb_id, "satisfied", 5)
        print_report(svc, shown, counts, reruns, admin_days)


def _brief(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if k in ("anchor", "days", "holiday", "cadence", "fields"))


def print_report(svc: Services, shown, counts, reruns: int, admin_days: int) -> None:
    print(f"# Due lists, {START} .. {START + dt.timedelta(days=DAYS - 1)} (generated by tools/care_plan_90_days.py)\n")
    print("| day | | calendar | V1 (high value) | B1 (birthday 02-09, potential) |")
    print("|---|---|---|---|---|")
    touches = []
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        v1, b1 = shown[day].get("V1", []), shown[day].get("B1", [])
        touches += [day] if v1 else []
        print(f"| {day} | {WEEKDAYS[day.weekday()]} | {day_note(svc, day)} | {'<br>'.join(v1) or '—'} "
              f"| {'<br>'.join(b1) or '—'} |")
    print("\n## Every customer's callbacks on their due day (the morning queue at 11:00)\n")
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        rows = [f"{code} {item.split(' · ')[0]}" for code, items in sorted(shown[day].items()) for item in items
                if "overdue" not in item]
        if rows:
            print(f"- {day} {WEEKDAYS[day.weekday()]}: " + "; ".join(rows))
    gaps = [(b - a).days for a, b in zip([dt.date(2026, 11, 19), *touches], touches, strict=False)]
    print("\n## Checks\n")
    print(f"- V1 touches: {len(touches)}; longest gap between two touches (from the 11-19 call): {max(gaps)} days")
    others = {code: n for code, n in sorted(counts.items()) if code not in ("V1", "B1")}
    print(f"- callbacks on their due day, other customers: {others}")
    print(f"- X1 (no consent) callbacks: {counts.get('X1', 0)}")
    print(f"- callbacks created by a second nightly tick or a second planning run: {reruns}")
    print(f"- P1 (no phone, no owner): complete_record in the admin's /care due on {admin_days} of {DAYS} days")


if __name__ == "__main__":
    main()
