"""Complaints already open in a team's spreadsheet, imported with their real opened time (`carebot import
complaints FILE`): headers in Chinese or English, bad rows reported by line, a row imported before skipped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.care.customer_rows import code_cell, normalise_name
from bot.care.sheet_cells import cell_text, uncomputed_cell
from bot.care.sla_rules import KINDS, SEVERITIES
from bot.services.complaints import CATEGORIES, MAX_DESCRIPTION, create_complaint
from bot.services.core import Services
from bot.services.customer_matching import erased_refusal, owner_refusal
from bot.services.errors import CareError
from storage import queries, sla_queries

IMPORT_HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("客户编号", "编号", "customer", "customer code", "code"),
    "kind": ("类型", "工单类型", "kind", "type"),
    "category": ("问题类别", "类别", "category"),
    "severity": ("严重程度", "紧急程度", "severity", "priority"),
    "description": ("问题描述", "描述", "内容", "description"),
    "opened_at": ("登记时间", "投诉时间", "创建时间", "opened", "opened_at", "created"),
    "first_response_at": ("首次响应时间", "响应时间", "first response", "first_response_at", "responded"),
    "owner": ("负责人", "责任人", "owner"),
}
_IMPORT_VALUES: dict[str, dict[str, str]] = {
    "kind": {"投诉": "complaint", "咨询": "inquiry", "建议": "suggestion"},
    "category": {"产品质量": "quality", "质量": "quality", "服务响应": "service", "服务": "service",
                 "物流配送": "logistics", "物流": "logistics", "价格": "price", "其他": "other"},
    "severity": {"低": "low", "一般": "normal", "普通": "normal", "中": "normal", "高": "high", "紧急": "critical"},
}
_IMPORT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d %H:%M",
                   "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
_YEARS = (2000, 2100)  # an open complaint's times: a year outside is a typo (and year 1 cannot be stored)


@dataclass
class ComplaintImport:
    created: int = 0
    skipped: int = 0  # already imported (same customer, same opened time)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _import_moment(text: str, timezone: str, what: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    from bot.care.sheet_cells import parse_datetime

    text = text.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for fmt in _IMPORT_FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        try:  # 2026年11月20日 14:30, 2026.11.20, an Excel serial … (issue 9)
            moment = parse_datetime(text)
        except ValueError:
            raise ValueError(f"{what} {text!r} is not a date and time (e.g. 2026-11-20 14:30)") from None
    if not _YEARS[0] <= moment.year < _YEARS[1]:
        raise ValueError(f"{what} {text!r} is not a time of an open complaint (a year from {_YEARS[0]} to "
                         f"{_YEARS[1] - 1})")
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _check_cells(raw: list, columns: dict[str, int]) -> None:
    """ValueError for a row holding a cell over the cell limit, or a formula with no value saved in the file in a
    column the import reads (naming the cell, as the customer import does): that row is refused, never the file."""
    from bot.services.sheets import UNCOMPUTED, too_long

    length = too_long(raw)
    if length is not None:
        raise ValueError(f"a cell is {length:,} characters long; a cell holds at most 32,767")
    ref = uncomputed_cell([raw[i] for i in columns.values() if i < len(raw)])
    if ref is not None:  # never read as empty: the file has no value for it
        raise ValueError(UNCOMPUTED.format(ref=ref))


def _import_choice(field_name: str, text: str, allowed: tuple[str, ...], default: str) -> str:
    text = text.strip()
    if not text:
        return default
    value = _IMPORT_VALUES.get(field_name, {}).get(text, text.lower())
    if value not in allowed:
        raise ValueError(f"{field_name} {text!r} is not one of {', '.join(allowed)}")
    return value


def import_complaints(svc: Services, path, team_id: str | None = None) -> ComplaintImport:
    """Complaints already open in a spreadsheet, with their real opened time (and first response if any), so
    their clocks are right from the first sweep. Bad rows are reported by line and save nothing: a customer not in
    the book or erased (PIPL: a sheet never brings their data back), an owner not registered in this team, a time
    in the future, a first response before the opening, an empty description (when the sheet has the column) or one
    longer than the form takes, a formula cell with no value saved in the file (named). A row imported before (same
    customer and opened time) is skipped."""
    from bot.services.sheets import read_lines

    headers, lines = read_lines(path)  # lines numbered as the editor shows them (issue 9)
    wanted = {alias.lower(): name for name, aliases in IMPORT_HEADERS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = wanted.get((header or "").strip().lower())
        if name and name not in columns:
            columns[name] = index
    missing = [name for name in ("code", "opened_at") if name not in columns]
    if missing:
        raise CareError("errors.bad_header", detail="missing columns: " + ", ".join(
            f"{name} ({IMPORT_HEADERS[name][0]})" for name in missing))
    report = ComplaintImport()
    now = svc.clock.now()
    with svc.db.unit_of_work() as session:
        team = queries.ensure_team(session, team_id or svc.default_team)
        for line, raw in lines:
            cell = {name: cell_text(raw[i] if i < len(raw) else None) for name, i in columns.items()}
            try:
                _check_cells(raw, columns)
                code = code_cell(raw[columns["code"]] if columns["code"] < len(raw) else None)
                if not code:
                    raise ValueError("the customer code is empty")
                customer = queries.customer_by_code(session, team.id, code)
                if customer is None:
                    raise ValueError(f"customer {code!r} is not in the book (import customers first)")
                if customer.erased_at is not None:
                    raise ValueError(erased_refusal(customer, team.timezone))
                opened = _import_moment(cell["opened_at"], team.timezone, "opened time")
                if opened > now:
                    raise ValueError("the opened time is in the future")
                responded = _import_moment(cell["first_response_at"], team.timezone, "first response") \
                    if cell.get("first_response_at") else None
                if responded is not None and responded < opened:
                    raise ValueError("the first response is before the complaint was opened")
                if responded is not None and responded > now:
                    raise ValueError("the first response is in the future")
                description = cell.get("description", "")
                if "description" in columns and not normalise_name(description):  # spaces, invisible characters
                    raise ValueError("the description is empty (the complaint form needs one too)")
                if len(description) > MAX_DESCRIPTION:
                    raise ValueError(f"the description is {len(description):,} characters long (at most "
                                     f"{MAX_DESCRIPTION:,}, as in the complaint form)")
                kind = _import_choice("kind", cell.get("kind", ""), KINDS, "complaint")
                category = _import_choice("category", cell.get("category", ""), CATEGORIES, "other")
                severity = _import_choice("severity", cell.get("severity", ""), SEVERITIES, "normal")
                owner = cell.get("owner") or customer.owner_id
                staff = queries.staff_by_user(session, owner) if owner else None
                refusal = owner_refusal(owner, staff.team_id if staff else None, team.id) if owner else None
                if refusal:
                    raise ValueError(refusal if cell.get("owner") else f"the customer's {refusal}: name an owner "
                                     f"of this team in the {IMPORT_HEADERS['owner'][0]} column")
            except ValueError as exc:
                report.errors.append((line, str(exc)))
                continue
            if sla_queries.complaint_opened_at(session, customer.id, opened) is not None:
                report.skipped += 1
                continue
            create_complaint(session, svc, team, customer, kind=kind, category=category, severity=severity,
                             description=description, opened_at=opened, owner_id=owner,
                             actor_id=None, now=now, first_response_at=responded, source="import")
            report.created += 1
    return report
