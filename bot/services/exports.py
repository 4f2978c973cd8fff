"""`carebot export customers|calls|complaints`: the team's data as CSV or .xlsx (issue 9, care-domain §8).

Masked unless `full` (names 张*, phones 138****5678, emails z***@example.com, birthdays and free-text notes
left out): an export leaves the authorised circle. `full` is for an admin only, named by their Slack id, and
is recorded in the `carebot.audit` log. Every text cell that a spreadsheet would run as
a formula (= + - @ …) is neutralised with a leading apostrophe (CSV injection), in both formats.
Rows are read in batches and written as they come: memory stays flat whatever the size.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot.care.privacy import mask_name, mask_phone
from bot.care.sheet_cells import neutralise_formula
from bot.services.core import Services
from bot.services.errors import CareError, Forbidden
from storage import customer_queries, queries

log = logging.getLogger(__name__)
audit_log = logging.getLogger("carebot.audit")

KINDS = ("customers", "calls", "complaints")
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class ExportResult:
    kind: str
    rows: int
    full: bool
    audited: bool  # also in the audit trail of personal data (False: in the `carebot.audit` log only)


def mask_email(email: str | None) -> str:
    """zhang.san@example.com -> z***@example.com."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if domain else local[:1] + "***"


# (column, left out when masked: personal free text, and what the masked card shows nobody either — a customer's
# company (for a business customer, its name in full) and its spend (care-domain §8: no company secrets))
_COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "customers": (("code", False), ("name", False), ("phone", False), ("email", False), ("company", True),
                  ("tier", False), ("tags", False), ("owner", False), ("first_purchase", False),
                  ("birthday", True), ("annual_spend", True), ("consent", False), ("needs_follow_up", False),
                  ("created_at", False)),
    "calls": (("id", False), ("customer_code", False), ("customer_name", False), ("customer_phone", False),
              ("called_at", False), ("staff", False), ("channel", False), ("outcome", False), ("rating", False),
              ("summary", True), ("feedback", True), ("next_on", False)),
    "complaints": (("id", False), ("customer_code", False), ("customer_name", False), ("customer_phone", False),
                   ("kind", False), ("category", False), ("severity", False), ("status", False),
                   ("opened_at", False), ("first_response_at", False), ("resolved_at", False), ("owner", False),
                   ("description", True), ("resolution", True)),
}


def columns(kind: str, full: bool) -> list[str]:
    return [name for name, free_text in _COLUMNS[kind] if full or not free_text]


def export(svc: Services, kind: str, fmt: str, out: Path | IO[str], *, since: dt.date | None = None,
           full: bool = False, actor_id: str | None = None, team_id: str | None = None) -> ExportResult:
    """Write the team's `kind` rows to `out` (a path, or a text stream for CSV). Raises Forbidden when `full`
    is asked by anyone but an admin of the team, CareError(errors.bad_export) for a bad kind or format."""
    if kind not in KINDS or fmt not in FORMATS:
        raise CareError("errors.bad_export", detail=f"{kind} as {fmt} (kinds: {', '.join(KINDS)}; "
                                                    f"formats: {', '.join(FORMATS)})")
    if fmt == "xlsx" and not isinstance(out, Path):
        raise CareError("errors.bad_export", detail="an .xlsx export needs --output FILE")
    team_id = team_id or svc.default_team
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id)
        if full:
            staff = queries.staff_by_user(session, actor_id or "")
            if staff is None or staff.team_id != team.id or staff.role != "admin":
                raise Forbidden("errors.admins_only")
        zone = ZoneInfo(team.timezone)
        start = dt.datetime.combine(since, dt.time(), zone) if since else None
        header = columns(kind, full)
        rows = (_row(kind, item, zone, full) for item in _items(session, kind, team.id, start))
        count = _write(fmt, out, header, ([neutral(row.get(name)) for name in header] for row in rows))
    audited = _record(svc, team_id, kind, count, full, actor_id, since)
    return ExportResult(kind=kind, rows=count, full=full, audited=audited)


def _items(session, kind: str, team_id: str, start: dt.datetime | None) -> Iterator[Any]:
    source = {"customers": customer_queries.customers_for_export, "calls": customer_queries.calls_for_export,
              "complaints": customer_queries.complaints_for_export}[kind]
    for batch in source(session, team_id, start):
        yield from batch


def _row(kind: str, item: Any, zone: ZoneInfo, full: bool) -> dict[str, Any]:
    def when(moment: dt.datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def person(customer) -> dict[str, Any]:
        return {"customer_code": customer.code,
                "customer_name": customer.name if full else mask_name(customer.name),
                "customer_phone": customer.phone if full else mask_phone(customer.phone)}

    if kind == "customers":
        c = item
        return {"code": c.code, "name": c.name if full else mask_name(c.name),
                "phone": c.phone if full else mask_phone(c.phone),
                "email": c.email if full else mask_email(c.email), "company": c.company, "tier": c.tier,
                "tags": ",".join(c.tags or []), "owner": c.owner_id,
                "first_purchase": c.first_purchase_on.isoformat() if c.first_purchase_on else "",
                "birthday": c.birthday.isoformat() if c.birthday else "",
                "annual_spend": str(c.annual_spend) if c.annual_spend is not None else "",
                "consent": "yes" if c.consent else "no", "needs_follow_up": "yes" if c.needs_follow_up else "no",
                "created_at": when(c.created_at)}
    if kind == "calls":
        call, customer = item
        return {"id": call.id, **person(customer), "called_at": when(call.called_at), "staff": call.staff_id,
                "channel": call.channel, "outcome": call.outcome, "rating": call.rating,
                "summary": call.summary, "feedback": call.feedback,
                "next_on": call.next_on.isoformat() if call.next_on else ""}
    complaint, customer = item
    return {"id": complaint.id, **person(customer), "kind": complaint.kind, "category": complaint.category,
            "severity": complaint.severity,  # withdrawn: closed unresolved, its customer erased
            "status": "withdrawn" if complaint.withdrawn_at is not None else complaint.status,
            "opened_at": when(complaint.opened_at),
            "first_response_at": when(complaint.first_response_at), "resolved_at": when(complaint.resolved_at),
            "owner": complaint.owner_id, "description": complaint.description, "resolution": complaint.resolution}


def neutral(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet: text that would run as a formula is made text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise_formula(value)
    return value


def _write(fmt: str, out: Path | IO[str], header: list[str], rows: Iterator[list[Any]]) -> int:
    """Write the header and rows; the row count. Nothing is written when the first row cannot be read (data
    sealed under another key: KeyProblem), and a file is written beside `out` and moved into place only once
    complete: a failure leaves no file (and an earlier file of that name as it was)."""
    first = next(rows, None)
    rows = itertools.chain([first], rows) if first is not None else iter(())
    if not isinstance(out, Path):
        return _write_to(fmt, out, header, rows)
    part = out.with_name(f".{out.name}.part")
    try:
        count = _write_to(fmt, part, header, rows)
        part.replace(out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return count


def _write_to(fmt: str, out: Path | IO[str], header: list[str], rows: Iterator[list[Any]]) -> int:
    count = 0
    if fmt == "csv":
        handle = open(out, "w", encoding="utf-8-sig", newline="") if isinstance(out, Path) else out  # noqa: SIM115
        try:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        finally:
            if isinstance(out, Path):
                handle.close()
        return count
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        count += 1
    book.save(out)
    return count


def _record(svc: Services, team_id: str, kind: str, count: int, full: bool, actor_id: str | None,
            since: dt.date | None) -> bool:
    """Who exported what: in the `carebot.audit` log and in the audit trail of personal data (`carebot audit`).
    Returns whether the audit trail has it."""
    from bot.services.privacy import cli_actor, record_audit

    # an unmasked export is a warning in any log; a masked one is information (the command says what it wrote)
    audit_log.log(logging.WARNING if full else logging.INFO, "export team=%s kind=%s rows=%d full=%s by=%s since=%s",
                  team_id, kind, count, full, actor_id or "cli", since)
    with svc.db.unit_of_work() as session:
        record_audit(session, actor_id or cli_actor(), "exported", None,
                     {"kind": kind, "rows": count, "full": full, "since": since.isoformat() if since else None},
                     team_id=team_id, at=svc.clock.now())
    return True
