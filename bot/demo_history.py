"""Nine weeks of history for the demo team, so `carebot report` and `/care stats` have something to read: calls
logged with ratings and NPS answers, callbacks done on time, late or missed, complaints of every category
answered and resolved within or past their SLA. Only the past is written (closed callbacks, resolved
complaints); the demo runs the night's care plan after it (bot/demo.py), as the bot would that morning.

The history agrees with the book it is written for: a customer is called only once a customer (from the first
purchase), never after the last contact the book records (the latest call that reached them is that contact),
and only on a channel the record has (no phone: no calls); so a customer not reached for months has no calls in
these weeks. Complaints come from customers in that same span, never so many that they make a churn-risk spike
(care-domain §3: the demo's churn risk is the customer not reached for months). Deterministic: the same `now`
gives the same book."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

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
        rules = svc.care_rules_for(team)
        spike = _Spike(dt.timedelta(days=rules.segments.spike_window_days), rules.segments.spike_tickets)
        contacts: Counter[tuple[int, int, int]] = Counter()  # (customer, year, month) -> reached calls
        customers = list(session.query(Customer).filter(Customer.team_id == team.id).order_by(Customer.id))
        for complaint in session.query(Complaint).filter(Complaint.team_id == team.id):
            spike.add(complaint.customer_id, complaint.opened_at)
        today = calendar.local_date(now)
        start = today - dt.timedelta(days=7 * WEEKS)
        day = start
        while day < today:
            if calendar.is_working_day(day):
                trend = (day - start).days / (7 * WEEKS)  # ratings improve a little over the weeks
                for _ in range(rng.randint(2, 5)):
                    known = [c for c in customers if _customer_on(c, day)]
                    if not known:
                        continue
                    customer = rng.choice(known)
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
                    channels = _channels(customer)
                    if not channels or customer.last_contact_at is None or called >= customer.last_contact_at \
                            or called >= now:
                        continue  # not reached after the last contact the book records; the last one comes below
                    month = (customer.id, *_month(calendar, called))
                    room = _cap(rules, customer) - (month[1:] == _month(calendar, customer.last_contact_at))
                    if contacts[month] >= room:
                        continue  # the tier's monthly cap (care-domain §4), the last contact's month keeping its place
                    if _call(session, rng, team.id, customer, agent, due, called, rng.choice(channels), trend):
                        contacts[month] += 1
                if rng.random() < 0.5:
                    reached = [c for c in customers if _reached_on(c, day, calendar)]
                    if reached:
                        _complaint(session, rng, team.id, rng.choice(reached), calendar, day, now, spike)
            day += dt.timedelta(days=1)
        for customer in customers:  # the call that is each customer's last contact, when it falls in these weeks
            contact, channels = customer.last_contact_at, _channels(customer)
            if contact is not None and channels and calendar.start_of_day(start) <= contact < now:
                trend = (calendar.local_date(contact) - start).days / (7 * WEEKS)
                _call(session, rng, team.id, customer, customer.owner_id or rng.choice(AGENTS), contact, contact,
                      rng.choice(channels), trend, reached=True)


def _channels(customer: Customer) -> tuple[str, ...]:
    """The channels a call can take with what the record has: a phone number calls, texts and finds WeChat."""
    return ("phone", "wechat", "sms") if customer.phone else ()


def _customer_on(customer: Customer, day: dt.date) -> bool:
    return customer.first_purchase_on is None or customer.first_purchase_on <= day


def _reached_on(customer: Customer, day: dt.date, calendar) -> bool:
    """The customer was in touch on `day`: a customer by then, and before the day of the last contact on record."""
    contact = customer.last_contact_at
    return _customer_on(customer, day) and contact is not None and day < calendar.local_date(contact)


def _month(calendar, moment: dt.datetime) -> tuple[int, int]:
    day = calendar.local_date(moment)
    return day.year, day.month


def _cap(rules, customer: Customer) -> int:
    """Contacts a month the customer's tier allows (etiquette.monthly_cap)."""
    caps = rules.etiquette.monthly_cap
    return caps.get(customer.tier, min(caps.values()))


def _call(session, rng: random.Random, team_id: str, customer: Customer, agent: str, due: dt.datetime,
          called: dt.datetime, channel: str, trend: float, reached: bool | None = None) -> bool:
    """Log one call (and the callback it closed); whether it reached the customer."""
    if reached is None:
        reached = rng.random() > 0.12
    rating = min(5, max(1, round(rng.gauss(3.6 + trend, 1.0)))) if reached else None
    nps = min(10, max(0, round(rng.gauss(6.5 + 2 * trend, 2.2)))) if reached and rng.random() < 0.6 else None
    callback = Callback(team_id=team_id, customer_id=customer.id, owner_id=agent, kind="survey", due_at=due,
                        status="done" if reached else "rescheduled", rule="manual", created_at=due,
                        closed_at=called, attempts=1)
    session.add(callback)
    session.flush()
    session.add(CallLog(team_id=team_id, customer_id=customer.id, callback_id=callback.id, staff_id=agent,
                        channel=channel, outcome=("satisfied" if (rating or 0) >= 4 else "problem") if reached
                        else "unreachable", rating=rating, nps=nps,
                        feedback=rng.choice(FEEDBACK) if reached else "", called_at=called))
    return reached


class _Spike:
    """Each customer's tickets: a new one is written only if no window of `window` would then hold `tickets`
    (every ticket sharing a window with it lies within `window` of it, on either side)."""

    def __init__(self, window: dt.timedelta, tickets: int) -> None:
        self.window, self.tickets = window, tickets
        self.opened: dict[int, list[dt.datetime]] = {}

    def add(self, customer_id: int, opened: dt.datetime) -> None:
        self.opened.setdefault(customer_id, []).append(opened)

    def allows(self, customer_id: int, opened: dt.datetime) -> bool:
        near = [t for t in self.opened.get(customer_id, ()) if abs(t - opened) < self.window]
        return len(near) + 1 < self.tickets


def _complaint(session, rng: random.Random, team_id: str, customer: Customer, calendar, day: dt.date,
               now: dt.datetime, spike: _Spike) -> None:
    opened = calendar.at(day, dt.time(rng.randint(9, 16), rng.choice((5, 20, 40))))
    first = opened + dt.timedelta(minutes=rng.choice((10, 25, 40, 55, 80, 150)))
    resolved = opened + dt.timedelta(hours=rng.choice((3, 6, 20, 26, 50)))
    if resolved >= now:  # only the past: today's list keeps the demo's one open complaint
        return
    if not spike.allows(customer.id, opened):
        return
    spike.add(customer.id, opened)
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
