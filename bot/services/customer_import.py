"""`carebot import customers FILE`: a team's sheet into the customer book (care-domain §2).

Two phases, so that a long file never holds the database's write lock for long:
1. read, check and merge the file in memory, streaming (no transaction open): every bad row is named with
   the line an editor shows, every column nobody understood is named, duplicates inside the file are merged;
2. one transaction: look the file's codes, phones and emails up in batches, merge with the book; then hold the
   book against other saves (a form save waits, then is told the database is busy), look again for customers
   saved meanwhile (merged with, as any others), and write in batches of flushes. A failure anywhere (or a
   killed process) leaves the database as it was.
Callbacks for the new customers are planned afterwards in small transactions (or by the nightly run for a
big file), never inside the import's transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.care.customer_rows import Columns, CustomerRow, map_headers, parse_row
from bot.care.sheet_cells import cell_text, uncomputed_cell
from bot.services.core import Services
from bot.services.customer_matching import FileBook, Known, hold_book, place
from bot.services.errors import CareError
from bot.services.privacy import cli_actor, record_audit
from bot.services.sheets import DEFAULT_LIMITS, UNCOMPUTED, ImportLimits, Sheet, too_long
from storage import customer_queries, queries
from storage.customer_stage import CustomerStage

log = logging.getLogger(__name__)

FLUSH_EVERY = 2000  # new customers per bulk INSERT inside the one transaction
PLAN_AT_ONCE = 2000  # customers (new or changed) planned right after the import; more: the nightly run
PLAN_BATCH = 500  # customers per planning transaction

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
        book = FileBook(report)
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


# --- phase 2: one transaction ---------------------------------------------------------------------


class _DryRun(Exception):
    """Raised at the end of a dry run to roll everything back."""


def _save(svc: Services, team_id: str, book: FileBook, report: ImportReport, progress: Progress,
          dry_run: bool) -> set[int]:
    rows = sorted(book.rows.values(), key=lambda r: r.line)
    now = svc.clock.now()
    new_ids: set[int] = set()
    writing = time.perf_counter()
    before = replace(report, merged=list(report.merged), errors=list(report.errors))  # for placing again
    try:
        with _stage_for(svc) as stage, (stage.book_session(svc.db) if stage else svc.db.unit_of_work()) as session:
            staff = customer_queries.registered_staff(session, {r.owner_id for r in rows if r.owner_id})
            known = Known.read(session, team_id, rows)
            fresh, touched = place(rows, known, staff, book, report, now, team_id)
            progress("save", 0.0, 0)
            staged = stage is not None
            if staged:  # SQLite: sealed, hashed and indexed outside the write lock (storage/customer_stage)
                _write_new(stage.add, team_id, fresh, now, progress)
            writing = time.perf_counter()  # from here no one else adds or changes a customer until the commit
            with session.no_autoflush:  # nothing placed is written before the book is held and checked again
                hold_book(session, team_id, report.file)
                if known.changed(session, team_id, rows):  # a colleague saved one of these meanwhile
                    session.expire_all()  # the stored customers as they are now, without what was placed
                    vars(report).update(vars(before))
                    fresh, touched = place(rows, Known.read(session, team_id, rows), staff, book, report, now,
                                           team_id)
                    staged = False  # the stage holds what was placed first
            queries.ensure_team(session, team_id)
            record_audit(session, cli_actor(), "imported", None,  # issue 9: who changed personal data, when
                         {"file": Path(report.file).name, "created": report.created, "updated": report.updated,
                          "unchanged": report.unchanged},
                         team_id=team_id, at=now)
            session.flush()  # the audit row and the stored customers updated or merged into
            if staged:
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
    except Exception as exc:  # the database said no (gone, a constraint): nothing was saved. One line for the
        log.info("import of %s failed; rolled back", report.file, exc_info=True)  # person; the trace with -v
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


def new_customer_values(team_id: str, row: CustomerRow, now: dt.datetime) -> dict[str, Any]:
    """The columns of a new customer from its row (the model's defaults where the sheet says nothing)."""
    return {"team_id": team_id, "code": row.code, "name": row.name, "phone": row.phone, "email": row.email,
            "company": row.company, "owner_id": row.owner_id, "tier": row.tier or "ordinary",
            "tags": list(row.tags), "first_purchase_on": row.first_purchase_on, "birthday": row.birthday,
            "annual_spend": row.annual_spend, "consent": True if row.consent is None else row.consent,
            "consent_at": now, "consent_source": "import",  # issue 9: when and how consent was recorded
            "needs_follow_up": row.needs_follow_up, "created_at": now}


def _plan(svc: Services, team_id: str, new_ids: set[int], report: ImportReport) -> None:
    """Welcome and first-use callbacks for the new customers (issue 3), in small transactions; a big file is
    left to the nightly run, which plans every customer anyway."""
    from bot.services.planning import plan_customers_now

    ordered = sorted(new_ids)
    for start in range(0, len(ordered), PLAN_BATCH):
        result = plan_customers_now(svc, team_id, ordered[start:start + PLAN_BATCH])
        report.planned += len(result.created)
