"""Every number of a report as CSV and XLSX (openpyxl), for the monthly review and `carebot report`."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook

from bot.services.insight import Insight

HEADER = ("scope", "group", "metric", "period", "value", "previous", "change")


def _rows(insight: Insight) -> list[tuple]:
    out = []
    for scope, group, metric, period, value, previous in insight.rows():
        change = value - previous if isinstance(value, int | float) and isinstance(previous, int | float) else None
        out.append((scope, group, metric, period, _round(value), _round(previous), _round(change)))
    return out


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


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
