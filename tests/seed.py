"""Small, explicit test data written through the models (what an import or the care plan would create)."""

from __future__ import annotations

import datetime as dt

from bot.services.core import Services
from storage.models import Callback, Complaint, Customer


def customer(svc: Services, code: str, name: str, owner: str | None = "U0AGENT", phone: str | None = "+8613812345678",
             tier: str = "ordinary") -> int:
    with svc.db.unit_of_work() as session:
        row = Customer(team_id="default", code=code, name=name, phone=phone, owner_id=owner, tier=tier,
                       created_at=svc.clock.now())
        session.add(row)
        session.flush()
        return row.id


def callback(svc: Services, customer_id: int, due_at: dt.datetime, kind: str = "first_use",
             owner: str | None = "U0AGENT", rule: str = "manual", params: dict | None = None) -> int:
    with svc.db.unit_of_work() as session:
        row = Callback(team_id="default", customer_id=customer_id, owner_id=owner, kind=kind, due_at=due_at,
                       rule=rule, params=params or {}, created_at=svc.clock.now())
        session.add(row)
        session.flush()
        return row.id


def complaint(svc: Services, customer_id: int, opened_at: dt.datetime, resolution_due_at: dt.datetime,
              owner: str = "U0AGENT") -> int:
    with svc.db.unit_of_work() as session:
        row = Complaint(team_id="default", customer_id=customer_id, owner_id=owner, kind="complaint",
                        opened_at=opened_at, first_response_at=opened_at,
                        first_response_due_at=opened_at + dt.timedelta(hours=1), resolution_due_at=resolution_due_at)
        session.add(row)
        session.flush()
        return row.id
