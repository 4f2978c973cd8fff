"""The first sheet of an .xlsx, fast: values from `python-calamine` (Rust's calamine; ~1 µs a cell, where
openpyxl's read-only mode takes ~15 µs), number formats only where they change what the sheet shows.

calamine gives values (numbers as float, date-formatted cells as date/datetime/time, booleans, text) but no
number formats. The one format that changes what a cell *is* to a care team is zero padding: a code cell
formatted `000000` holds 42 and shows `000042` (issue 9). So the workbook's styles are read (a small part), and
only when some style pads numbers is the sheet's XML streamed once more, through expat, to find which numeric
cells carry such a style. The same pass finds the formula cells the file holds no value for (a workbook
written by a script: calamine reads them as ""), when the sheet has a formula at all; they are read as
`Uncomputed`, so the row is refused instead of stored empty. The caller has already checked the archive's size
and expansion (sheets.py).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat

from bot.care.sheet_cells import Cell, Uncomputed, formatted_number

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Excel's built-in number formats that pad with zeros (ECMA-376 §18.8.30): only "0" itself, which pads nothing
_BUILTIN_FORMATS = {1: "0"}
_REF = re.compile(r"([A-Z]+)(\d+)")
_CHUNK = 1 << 20


class XlsxError(Exception):
    """The workbook cannot be read (damaged, not a workbook): the message says why."""


class FirstSheet:
    """Rows of the workbook's first sheet as (line, cells): line is the row number Excel shows, cells the
    values (None for an empty cell), numbers shown through a zero-padding format as the padded text.
    `total_rows` is the last row's number (for a progress bar). Raises XlsxError."""

    def __init__(self, path: Path):
        from python_calamine import CalamineWorkbook

        try:
            self._book = CalamineWorkbook.from_path(str(path))
            sheet = self._book.get_sheet_by_index(0)
        except Exception as exc:  # calamine's CalamineError, ZipError, XmlError, WorksheetNotFound alike
            raise XlsxError(f"{type(exc).__name__}: {exc}") from None
        # iter_rows streams from calamine's range (no list of every cell in Python): it yields the sheet's empty
        # top rows too, so row i is line i + 1, and each row starts at the range's first column
        self._first_col = sheet.start[1] if sheet.start else 0
        self._sheet = sheet if sheet.start else None  # an empty sheet has no range to iterate
        self.total_rows = sheet.end[0] + 1 if sheet.end else 0
        try:
            self._padded, self._uncomputed = _marked_cells(path)
        except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, expat.ExpatError, ValueError) as exc:
            raise XlsxError(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self._sheet = None
        self._book.close()

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        if self._sheet is None:
            return
        padded, uncomputed, first_col = self._padded, self._uncomputed, self._first_col
        for index, values in enumerate(self._sheet.iter_rows()):
            line = index + 1
            cells: list[Cell] = []
            for col, value in enumerate(values, start=first_col):
                if value == "":
                    value = Uncomputed(uncomputed[(line, col)]) if (line, col) in uncomputed else None
                elif padded and isinstance(value, float | int) and not isinstance(value, bool):
                    number_format = padded.get((line, col))
                    if number_format is not None:
                        value = formatted_number(value, number_format) or value
                cells.append(value)
            yield line, cells


def _marked_cells(path: Path) -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], str]]:
    """Of the first sheet, keyed (row, column index from 0): the numeric cells styled with a zero-padding format
    (-> the format), and the formula cells with no value saved in the file (-> their reference, "D2"). The sheet
    is streamed through expat only when some style of the workbook pads or the sheet holds a formula at all."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        padding = _padding_styles(ElementTree.fromstring(archive.read("xl/styles.xml"))) \
            if "xl/styles.xml" in names else {}
        part = _first_sheet_part(archive)
        formulas = _has_formula(archive, part)
        if not padding and not formulas:
            return {}, {}
        padded: dict[tuple[int, int], str] = {}
        uncomputed: dict[tuple[int, int], str] = {}
        cell: dict[str, object] = {}  # the <c> being read: its place, whether it has <f>, its <v> text, its type

        def start_padded(name: str, attrs: dict[str, str]) -> None:
            if name[-1] == "c" and (name == "c" or name.endswith(":c")):
                style = attrs.get("s")
                if style is not None and attrs.get("t", "n") == "n" and int(style) in padding:
                    ref = _REF.fullmatch(attrs.get("r", ""))
                    if ref:
                        padded[(int(ref.group(2)), _column_index(ref.group(1)))] = padding[int(style)]

        def start(name: str, attrs: dict[str, str]) -> None:
            last = name[-1]
            if last == "c" and (name == "c" or name.endswith(":c")):
                start_padded(name, attrs)
                cell.clear()
                cell.update(ref=attrs.get("r", ""), type=attrs.get("t", "n"), f=False, v="")
            elif last == "f" and cell and (name == "f" or name.endswith(":f")):
                cell["f"] = True
            elif last == "v" and cell and (name == "v" or name.endswith(":v")):
                cell["in_v"] = True

        def text(data: str) -> None:
            if cell.get("in_v"):
                cell["v"] = str(cell["v"]) + data

        def end(name: str) -> None:
            last = name[-1]
            if last == "v" and (name == "v" or name.endswith(":v")):
                cell["in_v"] = False
            elif last == "c" and cell and (name == "c" or name.endswith(":c")):
                # no value saved for a formula; an empty text result is saved as t="str" with an empty <v>
                ref = _REF.fullmatch(str(cell["ref"]))
                if cell["f"] and ref and not str(cell["v"]).strip() and cell["type"] != "str":
                    uncomputed[(int(ref.group(2)), _column_index(ref.group(1)))] = ref.group(0)
                cell.clear()

        parser = expat.ParserCreate()
        parser.StartElementHandler = start_padded
        if formulas:  # each cell's elements, text and end only when there is a formula to judge
            parser.StartElementHandler, parser.CharacterDataHandler, parser.EndElementHandler = start, text, end
        parser.buffer_text = True
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        return padded, uncomputed


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formula(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet's XML holds a formula element (one decompressing pass, a bytes search: no parsing)."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            for window in (tail + chunk[:64], chunk):  # a tag cut by the chunk's edge, then the chunk
                if (b"<f" in window or b":f" in window) and _FORMULA_TAG.search(window):  # memchr-fast first
                    return True
            tail = chunk[-64:]
    return False


def _padding_styles(styles: ElementTree.Element) -> dict[int, str]:
    """{cell style index: format} for the styles whose number format pads numbers with zeros."""
    formats = dict(_BUILTIN_FORMATS)
    for fmt in styles.iter(f"{_MAIN}numFmt"):
        formats[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
    padding: dict[int, str] = {}
    cell_xfs = styles.find(f"{_MAIN}cellXfs")
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else ()):
        code = formats.get(int(xf.get("numFmtId", "0")))
        if code and formatted_number(1, code) not in (None, "1"):
            padding[index] = code
    return padding


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = workbook.find(f"{_MAIN}sheets/{_MAIN}sheet")
    if first is None:
        raise ValueError("the workbook has no sheet")
    rel_id = first.get(f"{_REL}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PKG_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    raise ValueError("the workbook does not say where its first sheet is")


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1
