"""What a spreadsheet cell means (pure): dates as Chinese sheets write them, codes as the sheet shows them,
yes/no in two languages, and the formula guard for exports (CSV injection).

A cell arrives as the file gives it: text from a CSV; from an .xlsx a str, int, float, bool, date or datetime
(openpyxl turns date-formatted cells into datetimes). Nothing here touches a file or the database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation

Cell = str | int | float | Decimal | bool | dt.date | dt.datetime | dt.time | None

# Excel's day 0 (the 1900 date system, with its 1900-02-29 that never was: serials from 61 on are one too high)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# serial numbers we take for dates: 1900-03-01 .. 2099-12-31; a bigger or smaller number is not a date
_SERIAL_MIN, _SERIAL_MAX = 61, 73415

_DATE_TEXT = re.compile(
    r"^\s*(?P<y>\d{4})\s*(?:年|[-/.])\s*(?P<m>\d{1,2})\s*(?:月|[-/.])\s*(?P<d>\d{1,2})\s*(?:日|号)?"
    r"(?:(?:\s+|T|日)\s*(?P<H>\d{1,2})\s*(?::|时|點|点)\s*(?P<M>\d{1,2})\s*(?:分)?"
    r"(?:\s*(?::|分)?\s*(?P<S>\d{1,2})(?:\.\d+)?\s*(?:秒)?)?)?\s*$")
_COMPACT_DATE = re.compile(r"^\s*(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})\s*$")

_YES = {"是", "yes", "y", "1", "true", "已授权", "授权", "同意", "已同意", "有", "√", "✓", "ok", "agreed"}
_NO = {"否", "no", "n", "0", "false", "未授权", "不同意", "未同意", "拒绝", "无", "×", "✗", "none", "declined"}

# a cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Cell) -> str:
    """The cell as the sheet shows it, stripped: integral numbers without ".0", dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes") \
            if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


class Uncomputed(str):
    """Stands in for a formula cell whose file holds no value for it (written by a program that does not compute
    formulas: a script, openpyxl, some exports): there is nothing to read, and reading it as empty would store a
    wrong value. It reads as "" and names its cell (`ref`, e.g. "D2"): a row needing it is refused."""

    ref: str

    def __new__(cls, ref: str) -> Uncomputed:
        made = super().__new__(cls, "")
        made.ref = ref
        return made


def uncomputed_cell(cells: list[Cell]) -> str | None:
    """The first of these cells that is a formula with no value in the file (its reference), if any."""
    for cell in cells:
        if isinstance(cell, Uncomputed):
            return cell.ref
    return None


def formatted_number(value: int | float, number_format: str) -> str | None:
    """An integer shown through a zero-padding format (`000000`, `"A"0000`, `@` is text): the text Excel
    shows, e.g. 42 with `000000` -> "000042". None for any other format and for a negative number, -0.0 too (the
    number is shown as it is, and a code column refuses it)."""
    fmt = (number_format or "").split(";")[0]
    if not fmt or fmt == "General" or (isinstance(value, float) and not value.is_integer()):
        return None
    if value < 0 or (isinstance(value, float) and math.copysign(1.0, value) < 0):
        return None
    literal = re.fullmatch(r'(?:"([^"]*)"|\\(.))?(0+)', fmt)
    if literal is None:
        return None
    prefix = literal.group(1) or literal.group(2) or ""
    return prefix + str(int(value)).zfill(len(literal.group(3)))


def parse_date(value: Cell) -> dt.date:
    """A date from a date cell, an Excel serial number, or text: 2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日,
    20240501 (a time after it is ignored). Raises ValueError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return parse_datetime(value).date()


def parse_datetime(value: Cell) -> dt.datetime:
    """A naive date-time (wall clock of the sheet) from a date-time cell, an Excel serial (the fraction is the
    time of day) or text such as `2024-05-01 14:30`, `2024/5/1 14:30:05`, `2024年5月1日 14时30分`. A date alone
    is midnight. Raises ValueError."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, bool) or value is None:
        raise ValueError("not a date")
    if isinstance(value, int | float | Decimal):
        return _from_serial(float(value))
    text = str(value).strip()
    if re.fullmatch(r"\d{2,5}(?:\.\d+)?", text):
        return _from_serial(float(text))
    match = _DATE_TEXT.match(text) or _COMPACT_DATE.match(text)
    if match is None:
        raise ValueError("not a date")
    parts = match.groupdict()
    return dt.datetime(int(parts["y"]), int(parts["m"]), int(parts["d"]), int(parts.get("H") or 0),
                       int(parts.get("M") or 0), int(parts.get("S") or 0))


def _from_serial(serial: float) -> dt.datetime:
    if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        raise ValueError("not a date")
    moment = _EXCEL_EPOCH + dt.timedelta(days=serial)
    return moment.replace(microsecond=0) + dt.timedelta(seconds=1 if moment.microsecond >= 500_000 else 0)


def parse_yes_no(value: Cell) -> bool:
    """是/yes/1/true/已授权 -> True; 否/no/0/false/未授权 -> False; anything else ValueError."""
    text = cell_text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError("not yes or no")


def parse_amount(value: Cell) -> Decimal:
    """A money amount: 1,234.50, ¥1234, 1234元, 12.3万. Raises ValueError."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    text = cell_text(value).replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
    scale = Decimal(1)
    if text.endswith("元"):
        text = text[:-1]
    if text.endswith("万"):
        text, scale = text[:-1], Decimal(10000)
    try:
        amount = Decimal(text.strip()) * scale
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not amount.is_finite():
        raise ValueError("not a number")
    return amount


def neutralise_formula(text: str) -> str:
    """A cell value safe to open in a spreadsheet (OWASP CSV injection): text that a spreadsheet would run as a
    formula gets a leading apostrophe, which Excel hides and which makes the rest plain text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
