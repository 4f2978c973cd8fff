"""A masked export shows what a masked card shows (care-domain §8): a business customer's company — its name in
full — and its annual spend are left out with birthdays and notes; `--full` by an admin writes them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from bot.services.exports import export
from storage.models import Customer, Staff


def _book(svc) -> None:
    with svc.db.unit_of_work() as session:
        session.add(Customer(team_id="default", code="A001", name="A公司", company="A公司（上海）精密机械有限公司",
                             phone="+8613812345678", annual_spend=Decimal("1234567.89"), tier="high_value",
                             created_at=svc.clock.now()))
        if session.get(Staff, "U0ADMIN") is None:
            session.add(Staff(user_id="U0ADMIN", team_id="default", role="admin"))


def _exported(svc, **options) -> tuple[str, list[dict]]:
    out = io.StringIO()
    export(svc, "customers", "csv", out, **options)
    text = out.getvalue().lstrip("\ufeff")
    return text, list(csv.DictReader(io.StringIO(text)))


def test_a_masked_export_leaves_out_the_company_and_the_spend(team):
    _book(team)
    text, [row] = _exported(team)
    assert "精密机械" not in text and "1234567" not in text, text
    assert row["name"] == "A*" and row["phone"] == "138****5678" and row["tier"] == "high_value"
    assert "company" not in row and "annual_spend" not in row


def test_a_full_export_by_an_admin_keeps_them(team):
    _book(team)
    _, [row] = _exported(team, full=True, actor_id="U0ADMIN")
    assert row["company"] == "A公司（上海）精密机械有限公司" and row["annual_spend"] == "1234567.89"


def test_a_complaint_withdrawn_by_an_erasure_is_exported_as_withdrawn_not_resolved(team):
    from bot.services.complaints import ComplaintForm, open_complaint
    from bot.services.people import Actor, Role
    from bot.services.privacy import erase_customer
    from tests import seed

    cid = seed.customer(team, "W001", "王五")
    open_complaint(team, Actor("U0AGENT", "default", Role.AGENT, "en", "Asia/Shanghai"),
                   ComplaintForm(customer_id=cid, description="漏水"))
    erase_customer(team, "W001", "cli:test")
    out = io.StringIO()
    export(team, "complaints", "csv", out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert (row["status"], row["resolved_at"]) == ("withdrawn", "")
