"""Realistic demo data: Chinese and English customers across tiers, an overdue complaint, and a customer named
`<!channel>` (who must never ping anyone). Their callbacks, due and overdue, come from the care plan: the
nightly run is replayed over the last few nights, each callback saying which rule created it and why; the last
night's run, the demo morning's own, comes after the past weeks' history (bot/demo_history.py), as the bot's would.

The data is laid out around one moment, the *demo morning* (`demo_morning`): today when today is a working
day of the team, else the team's next working morning (a Saturday or a Spring Festival day off shows the list of
the first working day after it, as the real bot would post it). So the list is full on whatever day it runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bot.care.calendar import WorkCalendar
from bot.clock import ManualClock
from bot.services.core import Services
from storage import queries
from storage.models import Customer, Staff

DEMO_TEAM = "default"
DEMO_CHANNEL = "C0DEMOCARE"
STAFF = [
    ("U0DEMOLINA", "agent", "李娜"),
    ("U0DEMOTOM", "agent", "Tom Baker"),
    ("U0DEMOSUP", "supervisor", "王主管"),
    ("U0DEMOADM", "admin", "Admin"),
]
# code, name, phone, tier, owner, company, annual spend, first purchase (days ago), last contact (days ago),
# birthday (days from today). The callbacks are not written here: the care plan creates them (bot/care/plan.py).
# Every last contact is older than the nights replayed (NIGHTS): each night's plan sees the book as it was then
# (a contact after a night would have closed the callback that night planned, and the list would say otherwise).
CUSTOMERS = [
    # birthday in 3 days: the greeting is due 3 days before, today (or the last working day before)
    ("2024001", "张女士", "+8613812345678", "ordinary", "U0DEMOLINA", None, "12000", 300, 10, 3),
    # VIP last reached 20 days ago: the 14-day touch is 6 days overdue
    ("A001", "A公司 陈总", "+8613900001111", "high_value", "U0DEMOLINA", "A公司", "380000", 400, 20, None),
    # ordinary, last reached 35 days ago: the monthly touch is overdue; an open complaint past its SLA
    ("B002", "B科技 刘经理", "+8613700002222", "ordinary", "U0DEMOLINA", "B科技", "42000", 200, 35, None),
    # bought a week ago: the welcome call is overdue, the first-use callback (+7 days) is due today
    ("C20240501001", "王先生", "+8618600003333", "potential", "U0DEMOTOM", None, "65000", 7, None, None),
    # VIP not reached for 200 days: churn risk, a supervisor calls within 24 h
    ("E100", "Emily Chen", "+8613600004444", "high_value", "U0DEMOTOM", "Chen & Partners", "150000", 800, 200,
     None),
    # a hostile name must never ping the channel; bought 30 days ago: satisfaction survey today; reached 9 days
    # ago: the weekly touch of a new customer is overdue
    ("X666", "<!channel>", "+8613500005555", "ordinary", "U0DEMOTOM", "<script>", "1000", 30, 9, None),
    # no owner, silent for four months: a reactivation nobody owns yet
    ("U900", "赵先生", None, "ordinary", None, None, None, 400, 120, None),
]
NIGHTS = 8  # the nightly plan ran on each of the last 8 nights (nobody has worked the list since)
COMPLAINT_WORKING_DAYS_AGO = 2  # the demo complaint was opened at 10:00 two working days before the demo morning


def demo_morning(calendar: WorkCalendar, now: dt.datetime, digest_time: dt.time,
                 today: dt.date | None = None) -> dt.datetime:
    """The moment the demo is laid out around (aware datetime).

    `today` (a local date; default: the local date of `now`) when it is a working day of `calendar`: then `now`
    itself, or, with an explicit `today`, that day at `digest_time`. On a day off (weekend, CN holiday, the team's
    own days off; 调休 working days count as working days, care-domain §5) the next working day at `digest_time`.
    """
    day = today if today is not None else calendar.local_date(now)
    if today is None and calendar.is_working_day(day):
        return now
    return calendar.at(calendar.on_or_after_working_day(day), digest_time)


def load_demo(svc: Services) -> None:
    """Fill an empty database with the demo team, laid out around `svc.clock.now()` (see `demo_morning`)."""
    from bot.services.complaints import create_complaint
    from bot.services.planning import run_nightly_plans

    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, DEMO_TEAM)
        team.name, team.digest_channel = "Demo care team", DEMO_CHANNEL
        calendar = svc.calendar_for(team)
        today = calendar.local_date(now)
        plan_time = dt.time.fromisoformat(team.plan_time)
        for user_id, role, name in STAFF:
            session.add(Staff(user_id=user_id, team_id=team.id, role=role, display_name=name, created_at=now))
        session.flush()
        by_code: dict[str, Customer] = {}
        for code, name, phone, tier, owner, company, spend, bought, contact, birthday in CUSTOMERS:
            born = today + dt.timedelta(days=birthday) if birthday is not None else None
            customer = Customer(team_id=team.id, code=code, name=name, phone=phone, tier=tier, owner_id=owner,
                                company=company, annual_spend=Decimal(spend) if spend else None,
                                first_purchase_on=today - dt.timedelta(days=bought),
                                last_contact_at=now - dt.timedelta(days=contact) if contact is not None else None,
                                birthday=born.replace(year=1988) if born else None,
                                needs_follow_up=phone is None, created_at=now - dt.timedelta(days=bought))
            session.add(customer)
            by_code[code] = customer
        session.flush()
        # answered in time, not solved: past its resolution target on any working day the demo runs
        opened_on = today
        for _ in range(COMPLAINT_WORKING_DAYS_AGO):
            opened_on = _previous_working_day(calendar, opened_on)
        opened = calendar.at(opened_on, dt.time(10, 0))
        create_complaint(session, svc, team, by_code["B002"], kind="complaint", category="service", severity="high",
                         description="模块太复杂，响应慢", opened_at=opened, owner_id="U0DEMOLINA",
                         actor_id="U0DEMOLINA", now=now, first_response_at=opened + dt.timedelta(minutes=40),
                         source="import")
    # The nightly plan as the bot runs it (each night's run claimed, as the scheduler claims it), the last nights
    # first; the past weeks (issue 13: for `carebot report` and /care stats) are written before tonight's run, so
    # it sees them as the bot would this morning and `carebot serve` or `digest` on this database that morning
    # plan nothing more: the list the demo prints is the list the bot posts (tryout).
    from bot.demo_history import add_history

    nightly = Services(db=svc.db, clock=ManualClock(now), default_team=svc.default_team,
                       outbox_policy=svc.outbox_policy)
    for nights_ago in range(NIGHTS - 1, -1, -1):
        if nights_ago == 0:
            add_history(svc, DEMO_TEAM)
        nightly.clock.set(min(calendar.at(today - dt.timedelta(days=nights_ago), plan_time), now))
        run = run_nightly_plans(nightly, team_id=DEMO_TEAM, ignore_time=True)
        if run.skipped:
            raise RuntimeError(f"the demo's nightly care plan did not run: {run.skipped}")


def _previous_working_day(calendar: WorkCalendar, day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def staff_names(svc: Services) -> dict[str, str]:
    with svc.db.unit_of_work() as session:
        return {s.user_id: s.display_name or s.user_id for s in queries.staff_of_team(session, DEMO_TEAM)}
