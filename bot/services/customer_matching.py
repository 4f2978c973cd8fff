"""How a sheet's rows meet each other and the customer book (care-domain §2): duplicates inside the file merged
as they come (`FileBook`), each row matched with the stored customer it is (`match`), and a stored customer
updated from its row (`update`); all rows placed at once (`place`) against the book as read (`Known`), and
placed again if a colleague saved one of those customers before the import held the book (`hold_book`). Rows
that cannot be the same person are refused and named in the report. Split out of
bot/services/customer_import.py, which reads the file and saves it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.care.customer_rows import CustomerRow
from bot.services.errors import CareError
from storage import book_locks, customer_queries
from storage.db import lock_wait
from storage.models import Customer, Team

if TYPE_CHECKING:
    from bot.services.customer_import import ImportReport

_MERGED_FIELDS = ("phone", "email", "company", "owner_id", "tier", "first_purchase_on", "birthday",
                  "annual_spend", "consent")
_COLUMN_OF = {"owner_id": "owner", "first_purchase_on": "first_purchase"}  # a merged field's column (customer_rows)


class FileBook:
    """The file's good rows, duplicates merged as they come: one row per person (care-domain §2)."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.rows: dict[int, CustomerRow] = {}  # line of the kept row -> row
        self.by_code: dict[str, int] = {}
        self.by_phone: dict[str, int] = {}
        self.by_email: dict[str, int] = {}
        self.merged_lines: dict[int, list[int]] = {}  # line of a kept row -> lines merged into it

    def refuse_merged(self, kept: CustomerRow) -> None:
        """The rows merged into `kept`, which the book refused: reported refused with it, not as merged."""
        lines = set(self.merged_lines.get(kept.line, ()))
        self.report.merged = [(line, what) for line, what in self.report.merged if line not in lines]
        self.report.errors.extend((line, f"merged with line {kept.line} ({kept.code}), which was refused")
                                  for line in sorted(lines))

    def merged_onward(self, kept: CustomerRow, code: str) -> None:
        """`kept` itself merged into the book's customer `code`: the rows merged into it say where they went (not
        into `kept.code`, which is not in the book)."""
        lines = set(self.merged_lines.get(kept.line, ()))
        self.report.merged = [(line, f"{what}; with it into {code}, already in the book" if line in lines else what)
                              for line, what in self.report.merged]

    def add(self, row: CustomerRow) -> None:
        hits = {line for line in (self.by_code.get(row.code), self.by_phone.get(row.phone or ""),
                                  self.by_email.get(row.email or "")) if line is not None}
        if not hits:
            self.rows[row.line] = row
            self._index(row)
            return
        if len(hits) > 1:
            kept = sorted(hits)
            self.report.errors.append((row.line, "matches two different customers of this file: lines "
                                                 f"{kept[0]} and {kept[1]} (same code, phone or email)"))
            return
        kept = self.rows[hits.pop()]
        problem = conflict(kept, row, f"line {kept.line}")
        if problem:
            self.report.errors.append((row.line, problem))
            return
        note = _kept_note(kept, row, f"line {kept.line}", self.report)
        self.report.merged.append((row.line, f"{row.code} merged into {kept.code} (line {kept.line}): "
                                             f"{_same(kept, row)}{note}"))
        self.merged_lines.setdefault(kept.line, []).append(row.line)
        merge_into(kept, row)
        self._index(kept)

    def _index(self, row: CustomerRow) -> None:
        self.by_code.setdefault(row.code, row.line)
        if row.phone:
            self.by_phone.setdefault(row.phone, row.line)
        if row.email:
            self.by_email.setdefault(row.email, row.line)


def _same(kept, row: CustomerRow) -> str:
    same = [name for name in ("code", "phone", "email") if getattr(row, name) and getattr(kept, name) == getattr(
        row, name)]
    return "same " + " and ".join(same)


def conflict(kept, row: CustomerRow, where: str) -> str | None:
    """Why `row` cannot be the same person as `kept` (a row or a stored Customer), or None: a different
    name, or the same code with another phone or email. Such rows are reported, never merged."""
    if kept.code == row.code:
        for name in ("phone", "email"):
            theirs, ours = getattr(kept, name), getattr(row, name)
            if theirs and ours and theirs != ours:
                return f"code {row.code} is already {where} with another {name}; refused (fix one of them)"
        return None
    if _name_key(kept.name) != _name_key(row.name):
        same = _same(kept, row)
        return (f"{same} as {kept.code} ({where}) but another name; refused, since two people may share a "
                f"{'phone' if 'phone' in same else 'mailbox'} (fix one of them or give them the same code)")
    for name in ("phone", "email"):
        theirs, ours = getattr(kept, name), getattr(row, name)
        if theirs and ours and theirs != ours:
            return f"{_same(kept, row)} as {kept.code} ({where}) but another {name}; refused (fix one of them)"
    return None


def _name_key(name: str | None) -> str:
    return "".join((name or "").split()).casefold()


def _kept_note(kept, row: CustomerRow, where: str, report: ImportReport) -> str:
    """"; kept the 公司, 首次购买时间 of line 2": the values of `kept` that won over other ones of `row`, named by
    the sheet's own headers (the person's words, never the model's fields)."""
    differ = [report.headers.get(_COLUMN_OF.get(name, name), name) for name in _MERGED_FIELDS
              if getattr(row, name) not in (None, "") and getattr(kept, name) not in (None, "")
              and getattr(row, name) != getattr(kept, name)]
    return f"; kept the {', '.join(differ)} of {where}" if differ else ""


def merge_into(kept, row: CustomerRow) -> None:
    """Fill what `kept` (a row or a stored Customer) lacks from `row`; tags are joined. Values `kept` has win."""
    for name in _MERGED_FIELDS:
        if getattr(kept, name) in (None, "") and getattr(row, name) not in (None, ""):
            setattr(kept, name, getattr(row, name))
    if row.tags:
        kept.tags = type(kept.tags)(joined_tags(kept.tags, row.tags))


def joined_tags(kept: Sequence[str] | None, added: Sequence[str]) -> list[str]:
    """The tags `kept` has, in their order, then those of `added` it lacks: a sheet adds tags, never drops one."""
    return list(dict.fromkeys([*(kept or ()), *added]))


class _Refused:
    pass


REFUSED: Any = _Refused()


def match(row: CustomerRow, by_code: dict[str, Customer], by_phone: dict[str, Customer],
          by_email: dict[str, Customer], report: ImportReport, timezone: str = "UTC") -> Customer | None:
    """The stored customer this row is: None for a new one, REFUSED (reported) when it cannot be merged.
    A customer found by phone or email under another code has the row merged into it here. Dates in the report
    are the team's (`timezone`)."""
    hits = {c.id: c for c in (by_code.get(row.code), by_phone.get(row.phone or ""),
                              by_email.get(row.email or "")) if c is not None}
    if not hits:
        return None
    if len(hits) > 1:
        codes = sorted(c.code for c in hits.values())
        report.errors.append((row.line, f"matches two customers already in the book: {codes[0]} and {codes[1]} "
                                        "(same code, phone or email); refused"))
        return REFUSED
    [customer] = hits.values()
    if customer.erased_at is not None:  # PIPL erasure is final: an old sheet never brings the data back
        report.errors.append((row.line, erased_refusal(customer, timezone)))
        return REFUSED
    if customer.code == row.code:
        return customer
    problem = conflict(customer, row, "in the book")
    if problem:
        report.errors.append((row.line, problem))
        return REFUSED
    report.merged.append((row.line, f"{row.code} merged into {customer.code}, already in the book: "
                                    f"{_same(customer, row)}{_kept_note(customer, row, customer.code, report)}"))
    merge_into(customer, row)
    customer.needs_follow_up = customer.phone is None
    return customer


def erased_refusal(customer: Customer, timezone: str) -> str:
    """Why a sheet's row for an erased customer is refused (both imports): PIPL erasure is final, so an old sheet
    never brings the person's data back, as a customer or in a complaint. The date is the team's (`timezone`)."""
    assert customer.erased_at is not None
    erased_on = customer.erased_at.astimezone(ZoneInfo(timezone)).date()
    return (f"customer {customer.code} was erased on {erased_on:%Y-%m-%d} (the right to deletion); their code is "
            "retired: if they are a customer again, give them a new code")


def owner_refusal(owner: str, registered_in: str | None, team_id: str) -> str | None:
    """Why `owner` cannot own a row of team `team_id`'s sheet (both imports), or None: not registered, or registered
    in another team (whose book they read; this team's work would sit with nobody who can act on it). Which other
    team is not said: the escalation post's Reassign refuses them the same way."""
    if registered_in is None:
        return f"owner {owner} is not registered (carebot staff add)"
    if registered_in != team_id:
        return f"owner {owner} is not registered in this team (they are in another team)"
    return None


def update(customer: Customer, row: CustomerRow, now: dt.datetime | None = None) -> bool:
    """The sheet's values over the stored ones; an empty cell never erases what is stored; the sheet's tags are
    added to the stored ones (README: "tags joined"). A changed consent records when (`now`) and how (import).
    Returns whether any value changed."""
    def values() -> tuple:
        return (customer.name, *(getattr(customer, name) for name in _MERGED_FIELDS), list(customer.tags or []),
                customer.needs_follow_up)

    before = values()
    consent = customer.consent
    customer.name = row.name
    for name in _MERGED_FIELDS:
        value = getattr(row, name)
        if value not in (None, ""):
            setattr(customer, name, value)
    if row.tags:
        customer.tags = joined_tags(customer.tags, row.tags)
    customer.needs_follow_up = customer.phone is None
    if now is not None and customer.consent != consent:
        customer.consent_at, customer.consent_source = now, "import"
    return values() != before


@dataclass
class Known:
    """The book's customers with the codes, phones and emails of a sheet's rows, as read in one moment, and the
    team's timezone (the dates a report names are the team's)."""

    by_code: dict[str, Customer]
    by_phone: dict[str, Customer]
    by_email: dict[str, Customer]
    timezone: str = "UTC"

    @classmethod
    def read(cls, session: Session, team_id: str, rows: Sequence[CustomerRow]) -> Known:
        team = session.get(Team, team_id)  # none yet: no customer of it either, so no date to say
        return cls(customer_queries.customers_by_codes(session, team_id, [r.code for r in rows]),
                   customer_queries.customers_by_phones(session, team_id, [r.phone for r in rows if r.phone]),
                   customer_queries.customers_by_emails(session, team_id, [r.email for r in rows if r.email]),
                   team.timezone if team is not None and team.timezone else "UTC")

    def changed(self, session: Session, team_id: str, rows: Sequence[CustomerRow]) -> bool:
        """Whether the book now has a customer with a code, phone or email of `rows` it did not have when read
        (a colleague's save since): then the rows are placed again. Values read before stay theirs (the form
        refuses a phone another customer has; an import holds the book while it writes)."""
        return bool(customer_queries.customers_by_codes(
            session, team_id, [r.code for r in rows if r.code not in self.by_code])
            or customer_queries.customers_by_phones(
                session, team_id, [r.phone for r in rows if r.phone and r.phone not in self.by_phone])
            or customer_queries.customers_by_emails(
                session, team_id, [r.email for r in rows if r.email and r.email not in self.by_email]))


def place(rows: Sequence[CustomerRow], known: Known, staff: dict[str, str], book: FileBook, report: ImportReport,
          now: dt.datetime, team_id: str) -> tuple[list[CustomerRow], set[int]]:
    """Each row as a new customer (returned first, in order), merged into or updating a stored one (their ids,
    second), or refused (reported). `staff`: the rows' owners who are registered, with their team (an owner must be
    of `team_id`). Stored customers are changed in the session, not yet written."""
    fresh: list[CustomerRow] = []  # made into column dicts a batch at a time (memory)
    touched: set[int] = set()
    for row in rows:
        refusal = owner_refusal(row.owner_id, staff.get(row.owner_id), team_id) if row.owner_id else None
        if refusal:
            report.errors.append((row.line, refusal))
            book.refuse_merged(row)
            continue
        customer = match(row, known.by_code, known.by_phone, known.by_email, report, known.timezone)
        if customer is REFUSED:
            book.refuse_merged(row)
            continue
        if customer is not None and customer.code != row.code:  # merged into a book customer under its code
            book.merged_onward(row, customer.code)
        if customer is None:
            fresh.append(row)
            report.created += 1
            report.needs_follow_up += row.needs_follow_up
            report.without_consent += row.consent is False
            report.consent_assumed += row.consent is None
            continue
        if customer.code == row.code:
            if update(customer, row, now):
                report.updated += 1
            else:
                report.unchanged += 1
        touched.add(customer.id)  # planned again too: a filled phone closes its complete-the-record task
        report.needs_follow_up += customer.needs_follow_up
        report.without_consent += not customer.consent
    return fresh, touched


def hold_book(session: Session, team_id: str, file: str) -> None:
    """Hold the customer book against other saves until the import commits (storage/book_locks.
    hold_book_from_saves), waiting as long as a unit of work may (storage.db.lock_wait: SQLite's busy timeout,
    30 s); past it the import fails, saying so in one line (CareError errors.import_failed)."""
    wait = lock_wait()
    try:
        book_locks.hold_book_from_saves(session, team_id, wait)
    except OperationalError:
        raise CareError("errors.import_failed", path=file,
                        detail=f"the customer book was busy with other saves for over {wait:g} s") from None
