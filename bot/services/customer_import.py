"""`carebot import customers FILE`: a team's sheet into the customer book (care-domain §2).

Two phases, so that a long file never holds the database's write lock for long:
1. read, check and merge the file in memory, streaming (no transaction open): every bad row is named with
   the line an editor shows, every column nobody understood is named, duplicates inside the file are merged;
2. one transaction: look the file's codes, phones and emails up in batches, merge with the book, write in
   batches of flushes. A failure anywhere (or a killed process) leaves the database as it was.
Callbacks for the new customers are planned afterwards in small transactions (or by the nightly run for a
big file), never inside the import's transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.care.customer_rows import Columns, CustomerRow, map_headers, parse_row
from bot.care.sheet_cells import cell_text, uncomputed_cell
from bot.services.core import Services
from bot.services.errors import CareError
from bot.services.privacy import cli_actor, record_audit
from bot.services.sheets import DEFAULT_LIMITS, UNCOMPUTED, ImportLimits, Sheet, too_long
from storage import customer_queries, queries
from storage.customer_stage import CustomerStage
from storage.models import Customer

log = logging.getLogger(__name__)

FLUSH_EVERY = 2000  # new customers per bulk INSERT inside the one transaction
PLAN_AT_ONCE = 2000  # customers (new or changed) planned right after the import; more: the nightly run
PLAN_BATCH = 500  # customers per planning transaction
_MERGED_FIELDS = ("phone", "email", "company", "owner_id", "tier", "first_purchase_on", "birthday",
                  "annual_spend", "consent")
_COLUMN_OF = {"owner_id": "owner", "first_purchase_on": "first_purchase"}  # a merged field's column (customer_rows)

# (phase "read" | "save", fraction done 0..1 or None when unknown, rows done)
Progress = Callable[[str, float | None, int], None]


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do). Lines are the file's own line numbers."""

    file: str = ""
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0  # stored customers the sheet changed
    unchanged: int = 0  # stored customers the sheet names with the values they already have
    merged: list[tuple[int, str]] = field(default_factory=list)  # (line, what merged into what)
    needs_follow_up: int = 0
    without_consent: int = 0
    consent_assumed: int = 0  # new customers recorded as consenting because the sheet did not say (no column, empty)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong): rows refused
    unknown_columns: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # the fields recognised
    headers: dict[str, str] = field(default_factory=dict)  # field -> its header as the sheet writes it
    planned: int = 0
    plan_deferred: bool = False
    dry_run: bool = False
    lock_seconds: float = 0.0  # how long the write transaction lasted

    @property
    def refused(self) -> int:
        return len(self.errors)


def import_customers(svc: Services, path: Path, team_id: str | None = None, *, dry_run: bool = False,
                     progress: Progress | None = None, limits: ImportLimits = DEFAULT_LIMITS,
                     require_phone: bool = True) -> ImportReport:
    """Import the first sheet of a .csv/.xlsx. Good rows are saved together in one transaction; refused rows
    are listed with their line and save nothing. Raises CareError (errors.bad_file, errors.bad_header,
    errors.empty_file, errors.import_failed) when the file as a whole cannot be imported: nothing is saved."""
    progress = progress or (lambda _phase, _fraction, _rows: None)
    report = ImportReport(file=path.name, dry_run=dry_run)
    with Sheet(path, limits) as sheet:
        report.encoding = sheet.encoding
        try:
            columns = map_headers(sheet.header, require_phone)
        except ValueError as exc:
            raise CareError("errors.bad_header", detail=str(exc)) from None
        report.unknown_columns, report.columns = columns.unknown, tuple(columns.index)
        report.headers = {name: cell_text(sheet.header[i]) for name, i in columns.index.items()}
        book = _FileBook(report)
        for count, (line, cells) in enumerate(sheet.rows(), start=1):
            report.rows += 1
            row = _parse(line, cells, columns, report)
            if row is not None:
                book.add(row)
            if count % 1000 == 0:
                progress("read", sheet.fraction_read(), count)
        progress("read", 1.0, report.rows)
    team_id = team_id or svc.default_team
    saved_new = _save(svc, team_id, book, report, progress, dry_run)
    report.errors.sort()
    report.merged.sort()
    if saved_new and not dry_run:
        _plan(svc, team_id, saved_new, report)
    return report


def _parse(line: int, cells: list, columns: Columns, report: ImportReport) -> CustomerRow | None:
    length = too_long(cells)
    if length is not None:
        report.errors.append((line, f"a cell is {length:,} characters long; a cell holds at most 32,767"))
        return None
    values = {name: cells[index] if index < len(cells) else None for name, index in columns.index.items()}
    ref = uncomputed_cell(list(values.values()))
    if ref is not None:  # never stored empty: the file has no value for it
        report.errors.append((line, UNCOMPUTED.format(ref=ref)))
        return None
    try:
        return parse_row(line, values)
    except ValueError as exc:
        report.errors.append((line, str(exc)))
        return None


class _FileBook:
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
        kept.tags = type(kept.tags)(dict.fromkeys([*kept.tags, *row.tags]))


# --- phase 2: one transaction ---------------------------------------------------------------------


class _DryRun(Exception):
    """Raised at the end of a dry run to roll everything back."""


def _save(svc: Services, team_id: str, book: _FileBook, report: ImportReport, progress: Progress,
          dry_run: bool) -> set[int]:
    rows = sorted(book.rows.values(), key=lambda r: r.line)
    now = svc.clock.now()
    new_ids: set[int] = set()
    writing = time.perf_counter()
    try:
        with _stage_for(svc) as stage, (stage.book_session(svc.db) if stage else svc.db.unit_of_work()) as session:
            staff = customer_queries.registered_staff(session, {r.owner_id for r in rows if r.owner_id})
            by_code = customer_queries.customers_by_codes(session, team_id, [r.code for r in rows])
            by_phone = customer_queries.customers_by_phones(session, team_id, [r.phone for r in rows if r.phone])
            by_email = customer_queries.customers_by_emails(session, team_id, [r.email for r in rows if r.email])
            fresh: list[CustomerRow] = []  # made into column dicts a batch at a time (memory)
            touched: set[int] = set()
            for row in rows:
                if row.owner_id and row.owner_id not in staff:
                    report.errors.append((row.line, f"owner {row.owner_id} is not registered (carebot staff add)"))
                    book.refuse_merged(row)
                    continue
                customer = _match(row, by_code, by_phone, by_email, report)
                if customer is _REFUSED:
                    book.refuse_merged(row)
                    continue
                if customer is None:
                    fresh.append(row)
                    report.created += 1
                    report.needs_follow_up += row.needs_follow_up
                    report.without_consent += row.consent is False
                    report.consent_assumed += row.consent is None
                    continue
                if customer.code == row.code:
                    if _update(customer, row, now):
                        report.updated += 1
                    else:
                        report.unchanged += 1
                touched.add(customer.id)  # planned again too: a filled phone closes its complete-the-record task
                report.needs_follow_up += customer.needs_follow_up
                report.without_consent += not customer.consent
            if stage is not None:  # SQLite: sealed, hashed and indexed outside the write lock (storage/customer_stage)
                _write_new(stage.add, team_id, fresh, now, progress)
            writing = time.perf_counter()  # SQLite takes its write lock at the first write, from here
            queries.ensure_team(session, team_id)  # (a new team is the first write: not before staging)
            record_audit(session, cli_actor(), "imported", None,  # issue 9: who changed personal data, when
                         {"file": Path(report.file).name, "created": report.created, "updated": report.updated,
                          "unchanged": report.unchanged},
                         team_id=team_id, at=now)
            session.flush()  # the audit row and the stored customers updated or merged into
            if stage is not None:
                stage.copy_into(session)
            else:
                _write_new(lambda batch: customer_queries.insert_customers(session, batch), team_id, fresh, now,
                           progress)
            if dry_run:
                raise _DryRun
            if len(fresh) + len(touched) <= PLAN_AT_ONCE:
                new_ids = touched | set(customer_queries.customer_ids_by_codes(
                    session, team_id, [row.code for row in fresh]).values())
    except _DryRun:
        pass
    except CareError:
        raise
    except Exception as exc:  # the database said no (locked, gone, a constraint): nothing was saved
        log.exception("import of %s failed; rolled back", report.file)
        raise CareError("errors.import_failed", path=report.file, detail=f"{type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200]}") from None
    report.lock_seconds = time.perf_counter() - writing
    if len(fresh) + len(touched) > PLAN_AT_ONCE and not dry_run:
        report.plan_deferred = True
    return new_ids


def _stage_for(svc: Services):
    """A CustomerStage on SQLite (its one write lock), else nothing to stage."""
    return CustomerStage() if svc.db.url.startswith("sqlite") else contextlib.nullcontext()


def _write_new(write: Callable[[list[dict[str, Any]]], None], team_id: str, fresh: list[CustomerRow],
               now: dt.datetime, progress: Progress) -> None:
    for start in range(0, len(fresh), FLUSH_EVERY):
        write([new_customer_values(team_id, row, now) for row in fresh[start:start + FLUSH_EVERY]])
        progress("save", min(1.0, (start + FLUSH_EVERY) / len(fresh)), min(len(fresh), start + FLUSH_EVERY))
    progress("save", 1.0, len(fresh))


class _Refused:
    pass


_REFUSED: Any = _Refused()


def _match(row: CustomerRow, by_code: dict[str, Customer], by_phone: dict[str, Customer],
           by_email: dict[str, Customer], report: ImportReport) -> Customer | None:
    """The stored customer this row is: None for a new one, _REFUSED (reported) when it cannot be merged.
    A customer found by phone or email under another code has the row merged into it here."""
    hits = {c.id: c for c in (by_code.get(row.code), by_phone.get(row.phone or ""),
                              by_email.get(row.email or "")) if c is not None}
    if not hits:
        return None
    if len(hits) > 1:
        codes = sorted(c.code for c in hits.values())
        report.errors.append((row.line, f"matches two customers already in the book: {codes[0]} and {codes[1]} "
                                        "(same code, phone or email); refused"))
        return _REFUSED
    [customer] = hits.values()
    if customer.erased_at is not None:  # PIPL erasure is final: an old sheet never brings the data back
        report.errors.append((row.line, f"customer {customer.code} was erased on {customer.erased_at:%Y-%m-%d} "
                                        "(the right to deletion); their code is retired: if they are a customer "
                                        "again, give them a new code"))
        return _REFUSED
    if customer.code == row.code:
        return customer
    problem = conflict(customer, row, "in the book")
    if problem:
        report.errors.append((row.line, problem))
        return _REFUSED
    report.merged.append((row.line, f"{row.code} merged into {customer.code}, already in the book: "
                                    f"{_same(customer, row)}{_kept_note(customer, row, customer.code, report)}"))
    merge_into(customer, row)
    customer.needs_follow_up = customer.phone is None
    return customer


def new_customer_values(team_id: str, row: CustomerRow, now: dt.datetime) -> dict[str, Any]:
    """The columns of a new customer from its row (the model's defaults where the sheet says nothing)."""
    return {"team_id": team_id, "code": row.code, "name": row.name, "phone": row.phone, "email": row.email,
            "company": row.company, "owner_id": row.owner_id, "tier": row.tier or "ordinary",
            "tags": list(row.tags), "first_purchase_on": row.first_purchase_on, "birthday": row.birthday,
            "annual_spend": row.annual_spend, "consent": True if row.consent is None else row.consent,
            "consent_at": now, "consent_source": "import",  # issue 9: when and how consent was recorded
            "needs_follow_up": row.needs_follow_up, "created_at": now}


def _update(customer: Customer, row: CustomerRow, now: dt.datetime | None = None) -> bool:
    """The sheet's values over the stored ones; an empty cell never erases what is stored. A changed consent
    records when (`now`) and how (import). Returns whether any value changed."""
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
        customer.tags = list(row.tags)
    customer.needs_follow_up = customer.phone is None
    if now is not None and customer.consent != consent:
        customer.consent_at, customer.consent_source = now, "import"
    return values() != before


def _plan(svc: Services, team_id: str, new_ids: set[int], report: ImportReport) -> None:
    """Welcome and first-use callbacks for the new customers (issue 3), in small transactions; a big file is
    left to the nightly run, which plans every customer anyway."""
    from bot.services.planning import plan_customers_now

    ordered = sorted(new_ids)
    for start in range(0, len(ordered), PLAN_BATCH):
        result = plan_customers_now(svc, team_id, ordered[start:start + PLAN_BATCH])
        report.planned += len(result.created)
