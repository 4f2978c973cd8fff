"""Realistic demo data: Chinese and English customers across tiers, due and overdue callbacks, an
overdue complaint, and a customer named `<!channel>` (who must never ping anyone)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bot.services.core import Services
from storage import queries
from storage.models import Callback, Complaint, Customer, Staff

DEMO_TEAM = "default"
DEMO_CHANNEL = "C0DEMOCARE"
STAFF = [
    ("U0DEMOLINA", "agent", "李娜"),
    ("U0DEMOTOM", "agent", "Tom Baker"),
    ("U0DEMOSUP", "supervisor", "王主管"),
    ("U0DEMOADM", "admin", "Admin"),
]
# code, name, phone, tier, owner, company, annual spend, first purchase (days ago), birthday
CUSTOMERS = [
    ("2024001", "张女士", "+8613812345678", "ordinary", "U0DEMOLINA", None, "12000", 300, dt.date(1988, 2, 15)),
    ("A001", "A公司 陈总", "+8613900001111", "high_value", "U0DEMOLINA", "A公司", "380000", 400, None),
    ("B002", "B科技 刘经理", "+8613700002222", "ordinary", "U0DEMOLINA", "B科技", "42000", 200, None),
    ("C20240501001", "王先生", "+8618600003333", "potential", "U0DEMOTOM", None, "65000", 7, None),
    ("E100", "Emily Chen", "+8613600004444", "high_value", "U0DEMOTOM", "Chen & Partners", "150000", 800, None),
    ("X666", "<!channel>", "+8613500005555", "ordinary", "U0DEMOTOM", "<script>", "1000", 30, None),
    ("U900", "赵先生", None, "ordinary", None, None, None, 60, None),
]
# code, kind, due (days from today; negative = overdue), rule, params
CALLBACKS = [
    ("2024001", "birthday", 0, "manual", {}),
    ("A001", "periodic", -3, "manual", {}),
    ("B002", "problem_followup", -1, "outcome.problem", {"days": "3", "anchor": "{anchor:-4}"}),
    ("C20240501001", "first_use", 0, "manual", {}),
    ("E100", "survey", 0, "manual", {}),
    ("X666", "welcome", -2, "manual", {}),
    ("U900", "reactivation", -5, "manual", {}),
    ("A001", "progress_sync", 3, "manual", {}),  # not due yet: must not show today
]


def load_demo(svc: Services) -> None:
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, DEMO_TEAM)
        team.name, team.digest_channel = "Demo care team", DEMO_CHANNEL
        calendar = svc.calendar_for(team)
        today = calendar.local_date(now)
        for user_id, role, name in STAFF:
            session.add(Staff(user_id=user_id, team_id=team.id, role=role, display_name=name, created_at=now))
        session.flush()
        by_code: dict[str, Customer] = {}
        for code, name, phone, tier, owner, company, spend, bought_ago, birthday in CUSTOMERS:
            customer = Customer(team_id=team.id, code=code, name=name, phone=phone, tier=tier, owner_id=owner,
                                company=company, annual_spend=Decimal(spend) if spend else None,
                                first_purchase_on=today - dt.timedelta(days=bought_ago), birthday=birthday,
                                needs_follow_up=phone is None, created_at=now)
            session.add(customer)
            by_code[code] = customer
        session.flush()
        for code, kind, days, rule, params in CALLBACKS:
            customer = by_code[code]
            due = calendar.at(today + dt.timedelta(days=days), dt.time(10, 0))
            params = {k: (today + dt.timedelta(days=int(v[8:-1]))).isoformat() if v.startswith("{anchor") else v
                      for k, v in params.items()}
            session.add(Callback(team_id=team.id, customer_id=customer.id, owner_id=customer.owner_id, kind=kind,
                                 due_at=due, rule=rule, params=params, created_at=now))
        opened = now - dt.timedelta(hours=30)
        session.add(Complaint(team_id=team.id, customer_id=by_code["B002"].id, owner_id="U0DEMOLINA",
                              kind="complaint", category="service", severity="high",
                              description="模块太复杂，响应慢", opened_at=opened,
                              first_response_at=opened + dt.timedelta(minutes=40),
                              first_response_due_at=opened + dt.timedelta(hours=1),
                              resolution_due_at=opened + dt.timedelta(hours=24)))


def staff_names(svc: Services) -> dict[str, str]:
    with svc.db.unit_of_work() as session:
        return {s.user_id: s.display_name or s.user_id for s in queries.staff_of_team(session, DEMO_TEAM)}
