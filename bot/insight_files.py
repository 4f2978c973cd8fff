"""Every number of a report as CSV and XLSX (openpyxl), for the monthly review and `carebot report`."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from bot.care.metrics import exact, half_away
from bot.services.insight import Insight

HEADER = ("scope", "group", "metric", "period", "value", "previous", "change")


def _rows(insight: Insight) -> list[tuple]:
    out = []
    for scope, group, metric, period, value, previous in insight.rows():
        out.append((scope, group, metric, period, _round(value), _round(previous), _round(_change(value, previous))))
    return out


def _change(value, previous) -> int | Decimal | None:
    """value - previous as a spreadsheet subtracts the two numbers it shows (12.35 - 10.0 is 2.35)."""
    if not isinstance(value, int | float) or not isinstance(previous, int | float):
        return None
    if isinstance(value, int) and isinstance(previous, int):
        return value - previous
    return exact(value) - exact(previous)


def _round(value):
    """A fraction to 4 decimals, a half away from zero (as the report's texts and a spreadsheet round)."""
    return float(half_away(value, 4)) if isinstance(value, float | Decimal) else value


def write_csv(insight: Insight, path: Path) -> Path:
    """UTF-8 with a BOM, so Excel opens the Chinese names right."""
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(("" if v is None else v for v in row) for row in _rows(insight))
    return path


def write_xlsx(insight: Insight, path: Path) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(insight.period.label)
    sheet.append(HEADER)
    for row in _rows(insight):
        sheet.append(list(row))
    book.save(path)
    return path
