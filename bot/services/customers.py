"""Customers: search for the modal. The import from a team's sheet is bot/services/customer_import.py."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.core import Services
from bot.services.customer_import import ImportReport, import_customers
from bot.services.people import Actor
from bot.services.scope import customers_for_search

__all__ = ["CustomerOption", "ImportReport", "import_customers", "search_customers"]


@dataclass(frozen=True)
class CustomerOption:
    id: int
    code: str
    name: str


def search_customers(svc: Services, actor: Actor, text: str, limit: int = 20) -> list[CustomerOption]:
    """Customers `actor` may act on (bot/care/access.py) whose code or name contains `text`."""
    with svc.db.unit_of_work() as session:
        return [CustomerOption(c.id, c.code, c.name) for c in customers_for_search(session, actor, text, limit)]
