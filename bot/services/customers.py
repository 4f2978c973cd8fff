"""Customers: search for the modal, and import from a team's CSV or Excel sheet."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from bot.care.customer_rows import CustomerRow, map_headers, parse_row
from bot.services.core import Services
from bot.services.errors import CareError
from bot.services.people import Actor
from bot.services.scope import customers_for_search
from storage import queries
from storage.models import Customer


@dataclass(frozen=True)
class CustomerOption:
    id: int
    code: str
    name: str


def search_customers(svc: Services, actor: Actor, text: str, limit: int = 20) -> list[CustomerOption]:
    """Customers `actor` may act on (bot/care/access.py) whose code or name contains `text`."""
    with svc.db.unit_of_work() as session:
        return [CustomerOption(c.id, c.code, c.name) for c in customers_for_search(session, actor, text, limit)]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    needs_follow_up: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, what is wrong)


def read_table(path: Path) -> list[list[str]]:
    """Rows of a .csv (UTF-8, with or without BOM, or GB18030 as Excel in China saves it) or .xlsx."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).active
        return [["" if v is None else _cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return list(csv.reader(io.StringIO(raw.decode(encoding))))
        except UnicodeDecodeError:
            continue
    raise CareError("errors.bad_encoding", path=str(path))


def _cell(value: object) -> str:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_customers(svc: Services, path: Path, team_id: str | None = None) -> ImportReport:
    """Every good row is saved whole; every bad row is reported with its line and saves nothing."""
    table = [row for row in read_table(path) if any(cell.strip() for cell in row)]
    if not table:
        raise CareError("errors.empty_file", path=str(path))
    try:
        columns = map_headers(table[0])
    except ValueError as exc:
        raise CareError("errors.bad_header", detail=str(exc)) from None
    report = ImportReport()
    rows: list[tuple[int, CustomerRow]] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(table[1:], start=2):
        values = {f: raw[i] if i < len(raw) else "" for f, i in columns.items()}
        try:
            row = parse_row(values)
        except ValueError as exc:
            report.errors.append((line, str(exc)))
            continue
        if row.code in seen:
            report.errors.append((line, f"code {row.code} already on line {seen[row.code]}"))
            continue
        seen[row.code] = line
        rows.append((line, row))
    now = svc.clock.now()
    saved: set[int] = set()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        for line, row in rows:
            if row.owner_id and queries.staff_by_user(session, row.owner_id) is None:
                report.errors.append((line, f"owner {row.owner_id} is not registered (carebot staff add)"))
                continue
            customer = queries.customer_by_code(session, team.id, row.code)
            if customer is None:
                customer = Customer(team_id=team.id, code=row.code, created_at=now)
                session.add(customer)
                report.created += 1
            else:
                report.updated += 1
            _apply(customer, row)
            report.needs_follow_up += row.needs_follow_up
            session.flush()
            saved.add(customer.id)
    if saved:  # issue 3: imported customers are planned at once (welcome, first use, …)
        from bot.services.planning import plan_customers_now

        plan_customers_now(svc, team.id, saved)
    report.errors.sort()
    return report


def _apply(customer: Customer, row: CustomerRow) -> None:
    customer.name, customer.phone, customer.email = row.name, row.phone, row.email
    customer.company, customer.owner_id, customer.tier = row.company, row.owner_id, row.tier
    customer.first_purchase_on, customer.birthday = row.first_purchase_on, row.birthday
    customer.annual_spend, customer.tags = row.annual_spend, list(row.tags)
    customer.needs_follow_up = row.needs_follow_up
