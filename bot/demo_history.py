"""Nine weeks of history for the demo team, so `carebot report` and `/care stats` have something to read: calls
logged with ratings and NPS answers, callbacks done on time, late or missed, complaints of every category
answered and resolved within or past their SLA. Only the past is written (closed callbacks, resolved
complaints): today's list, the customers' segments and their open callbacks stay as the care plan left them.
Deterministic: the same `now` gives the same book."""

from __future__ import annotations

import datetime as dt
import random

from bot.services.core import Services
from storage import queries
from storage.models import Callback, CallLog, Complaint, Customer
from storage.sla_models import ComplaintPause, ComplaintSla

WEEKS = 9
AGENTS = ("U0DEMOLINA", "U0DEMOTOM")
CATEGORIES = ("quality", "service", "logistics", "price", "other")
FEEDBACK = ("设备运行正常", "希望多些培训", "物流有点慢", "价格偏高", "服务很好")


def add_history(svc: Services, team_id: str) -> None:
    rng = random.Random(2026)
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id)
        calendar = svc.calendar_for(team)
        customers = list(session.query(Customer).filter(Customer.team_id == team.id).order_by(Customer.id))
        today = calendar.local_date(now)
        start = today - dt.timedelta(days=7 * WEEKS)
        day = start
        while day < today:
            if calendar.is_working_day(day):
                trend = (day - start).days / (7 * WEEKS)  # ratings improve a little over the weeks
                for _ in range(rng.randint(2, 5)):
                    customer = rng.choice(customers)
                    agent = customer.owner_id or rng.choice(AGENTS)
                    due = calendar.at(day, dt.time(9, 0))
                    called = calendar.at(day, dt.time(rng.randint(9, 17), rng.choice((0, 15, 30, 45))))
                    late = rng.random() < 0.15
                    missed = rng.random() < 0.08
                    if missed:
                        session.add(Callback(team_id=team.id, customer_id=customer.id, owner_id=agent, kind="survey",
                                             due_at=due, status="expired", rule="manual", created_at=due))
                        continue
                    if late:
                        called += dt.timedelta(days=rng.randint(1, 3))
                        if called >= now:
                            continue
                    reached = rng.random() > 0.12
                    rating = min(5, max(1, round(rng.gauss(3.6 + trend, 1.0)))) if reached else None
                    nps = min(10, max(0, round(rng.gauss(6.5 + 2 * trend, 2.2)))) if reached and rng.random() < 0.6 \
                        else None
                    callback = Callback(team_id=team.id, customer_id=customer.id, owner_id=agent, kind="survey",
                                        due_at=due, status="done" if reached else "rescheduled", rule="manual",
                                        created_at=due, closed_at=called, attempts=1)
                    session.add(callback)
                    session.flush()
                    session.add(CallLog(team_id=team.id, customer_id=customer.id, callback_id=callback.id,
                                        staff_id=agent, channel=rng.choice(("phone", "wechat", "sms")),
                                        outcome=("satisfied" if (rating or 0) >= 4 else "problem") if reached
                                        else "unreachable", rating=rating, nps=nps,
                                        feedback=rng.choice(FEEDBACK) if reached else "", called_at=called))
                if rng.random() < 0.5:
                    _complaint(session, rng, team.id, rng.choice(customers), calendar, day, now)
            day += dt.timedelta(days=1)


def _complaint(session, rng: random.Random, team_id: str, customer: Customer, calendar, day: dt.date,
               now: dt.datetime) -> None:
    opened = calendar.at(day, dt.time(rng.randint(9, 16), rng.choice((5, 20, 40))))
    first = opened + dt.timedelta(minutes=rng.choice((10, 25, 40, 55, 80, 150)))
    resolved = opened + dt.timedelta(hours=rng.choice((3, 6, 20, 26, 50)))
    if resolved >= now:  # only the past: today's list keeps the demo's one open complaint
        return
    complaint = Complaint(team_id=team_id, customer_id=customer.id, owner_id=customer.owner_id or AGENTS[0],
                          kind=rng.choice(("complaint", "complaint", "inquiry")), category=rng.choice(CATEGORIES),
                          severity=rng.choice(("normal", "normal", "high")), description="", status="resolved",
                          opened_at=opened, first_response_at=first, resolved_at=resolved)
    session.add(complaint)
    session.flush()
    session.add(ComplaintSla(complaint_id=complaint.id, tier=customer.tier))
    if rng.random() < 0.15 and complaint.first_response_at is not None:
        session.add(ComplaintPause(complaint_id=complaint.id, paused_at=complaint.first_response_at,
                                   resumed_at=complaint.first_response_at + dt.timedelta(hours=2)))
