"""Reading a team's sheet safely: .csv (UTF-8, UTF-8 with BOM, GB18030, UTF-16 with BOM) or .xlsx, streamed row
by row with the line numbers an editor shows, inside limits on size and expansion (README: "Import limits").

A file that is not what it says (a truncated .xlsx, a zip bomb, a CSV in Big5) raises CareError with the
catalog key `errors.bad_file` and a detail that names the problem; it never yields garbage.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.care.sheet_cells import Cell, Uncomputed
from bot.services.errors import CareError

MiB = 1024 * 1024
# a row needing a formula cell whose file holds no value (bot/care/sheet_cells.Uncomputed) is refused with this
UNCOMPUTED = ("cell {ref} is a formula with no value saved in the file (written by a program that does not "
              "compute formulas): open the file in Excel or WPS and save it, or paste the values")


@dataclass(frozen=True)
class ImportLimits:
    """What one import file may be. Bigger files are refused before anything is read (split them)."""

    max_file_bytes: int = 64 * MiB  # the file on disk, CSV or .xlsx
    max_rows: int = 200_000  # data rows after the header
    max_expanded_bytes: int = 512 * MiB  # an .xlsx unzipped, all parts together
    max_shared_strings_bytes: int = 48 * MiB  # the .xlsx part openpyxl holds in memory
    max_ratio: int = 200  # unzipped / zipped, per part over 1 MiB (real sheets compress 5-30x)
    max_cell_chars: int = 32_767  # Excel's own limit for one cell


DEFAULT_LIMITS = ImportLimits()
_SAMPLE = 256 * 1024
_GB_FAMILY = {"gb18030", "gbk", "gb2312", "hz", "cp936"}


def bad_file(path: Path, detail: str) -> CareError:
    return CareError("errors.bad_file", path=path.name, detail=detail)


class Sheet:
    """The first sheet of a file: `header` (cells of the first non-empty row), `rows()` the rest as
    (line, cells) with editor line numbers (blank rows skipped but counted), `fraction_read()` for a progress
    bar. Use as a context manager."""

    def __init__(self, path: Path, limits: ImportLimits = DEFAULT_LIMITS):
        self.path, self.limits = path, limits
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise bad_file(path, f"{size / MiB:.1f} MiB is more than the {limits.max_file_bytes // MiB} MiB "
                                 "an import takes; split the file")
        self.encoding = "xlsx"
        self._close = lambda: None
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            self._lines = self._xlsx_lines()
        elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
            self._lines = self._csv_lines()
        else:
            raise bad_file(path, "only .csv and .xlsx files can be imported (save an .xls as .xlsx)")
        self.header_line, self.header = 0, []
        for line, cells in self._lines:
            self.header_line, self.header = line, cells
            break
        if not self.header:
            raise CareError("errors.empty_file", path=path.name)

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        count = 0
        for line, cells in self._lines:
            count += 1
            if count > self.limits.max_rows:
                raise bad_file(self.path, f"more than {self.limits.max_rows:,} rows; split the file")
            yield line, cells

    def fraction_read(self) -> float | None:
        """How much of the file is read, 0..1; None when the workbook does not say how many rows it has."""
        return self._fraction()

    def _fraction(self) -> float | None:
        return None

    # --- CSV -----------------------------------------------------------------------------------

    def _csv_lines(self) -> Iterator[tuple[int, list[Cell]]]:
        encoding = self._csv_encoding()
        self.encoding = encoding
        raw = open(self.path, "rb")  # noqa: SIM115 (closed by __exit__)
        size = max(1, self.path.stat().st_size)
        self._close, self._fraction = raw.close, lambda: min(1.0, raw.tell() / size)
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        return self._csv_records(text)

    def _csv_records(self, text: io.TextIOWrapper) -> Iterator[tuple[int, list[Cell]]]:
        sample = text.read(4096)
        text.seek(0)
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel
        if "\t" in sample.split("\n", 1)[0] and "," not in sample.split("\n", 1)[0]:
            dialect = csv.excel_tab
        csv.field_size_limit(max(csv.field_size_limit(), self.limits.max_file_bytes))  # a huge cell refuses its row
        reader = csv.reader(text, dialect)
        previous_end = 0
        limit = self.limits.max_cell_chars
        try:
            for record in reader:
                line, previous_end = previous_end + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if any(len(cell) > limit for cell in record):
                    yield line, [_TooLong(len(cell)) if len(cell) > limit else cell for cell in record]
                    continue
                yield line, list(record)
        except UnicodeDecodeError:
            raise bad_file(self.path, f"line {previous_end + 1} is not {self.encoding} text (the file mixes "
                                      "encodings); save it again as UTF-8") from None
        except csv.Error as exc:
            raise bad_file(self.path, f"line {reader.line_num}: {exc}") from None

    def _csv_encoding(self) -> str:
        with open(self.path, "rb") as handle:
            sample = handle.read(_SAMPLE)
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if sample.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if _decodes(sample, "utf-8"):
            return "utf-8"
        guess = _guess_encoding(sample)
        if _decodes(sample, "gb18030") and (guess in _GB_FAMILY or _looks_like_our_header(sample)):
            return "gb18030"
        said = f"the text is in {_encoding_name(guess)}, which Carebot does not read" if guess is not None \
            else "the text is in no encoding Carebot recognises (or the file is not text)"
        raise bad_file(self.path, f"{said}: save it as UTF-8 (or GB18030 / GBK, as Excel in China does)")

    # --- XLSX ----------------------------------------------------------------------------------

    def _xlsx_lines(self) -> Iterator[tuple[int, list[Cell]]]:
        self._check_zip()
        from bot.services.xlsx_reader import FirstSheet, XlsxError

        try:
            sheet = FirstSheet(self.path)
        except XlsxError as exc:
            raise bad_file(self.path, f"not a readable Excel workbook ({exc})") from None
        self._close = sheet.close
        state = {"line": 0}
        total = sheet.total_rows
        self._fraction = (lambda: min(1.0, state["line"] / total)) if total > 1 else (lambda: None)
        return self._xlsx_records(sheet.rows(), state)

    def _xlsx_records(self, rows: Iterator[tuple[int, list[Cell]]],
                      state: dict[str, int]) -> Iterator[tuple[int, list[Cell]]]:
        limit = self.limits.max_cell_chars
        for line, cells in rows:
            state["line"] = line
            for index, value in enumerate(cells):
                if isinstance(value, str) and not isinstance(value, Uncomputed):
                    value = value.strip()
                    cells[index] = _TooLong(len(value)) if len(value) > limit else value
            if any(value not in (None, "") or isinstance(value, Uncomputed) for value in cells):
                yield line, cells

    def _check_zip(self) -> None:
        limits = self.limits
        if not zipfile.is_zipfile(self.path):
            with open(self.path, "rb") as handle:
                starts_as_zip = handle.read(4) == b"PK\x03\x04"
            if starts_as_zip:  # the end of the archive (its directory) is missing: a download or copy cut short
                raise bad_file(self.path, "the .xlsx file is damaged or cut short (its end is missing): "
                                          "save it again from Excel or send the whole file")
            raise bad_file(self.path, "not an Excel .xlsx file (it is not a zip archive; a renamed .xls or CSV?)")
        try:
            with zipfile.ZipFile(self.path) as archive:
                parts = archive.infolist()
                bad = archive.testzip() if self.path.stat().st_size <= 8 * MiB else None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise bad_file(self.path, f"the .xlsx archive is damaged ({exc})") from None
        if bad is not None:
            raise bad_file(self.path, f"the .xlsx archive is damaged (part {bad} fails its checksum)")
        expanded = sum(part.file_size for part in parts)
        if expanded > limits.max_expanded_bytes:
            raise bad_file(self.path, f"it unzips to {expanded / MiB:,.0f} MiB, more than the "
                                      f"{limits.max_expanded_bytes // MiB} MiB allowed")
        for part in parts:
            if part.file_size > MiB and part.file_size > limits.max_ratio * max(1, part.compress_size):
                ratio = part.file_size // max(1, part.compress_size)
                raise bad_file(self.path, f"part {part.filename} expands {ratio:,} times: a zip bomb, not a sheet")
            if part.filename.endswith("sharedStrings.xml") and part.file_size > limits.max_shared_strings_bytes:
                raise bad_file(self.path, f"its shared strings take {part.file_size / MiB:,.0f} MiB, more than the "
                                          f"{limits.max_shared_strings_bytes // MiB} MiB allowed; split the file")


def read_lines(path: Path, limits: ImportLimits = DEFAULT_LIMITS) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """A small sheet at once, every cell as the sheet shows it (date-time cells keep their time): the header
    and (line, cells) of every non-empty row after it. For the complaint import; raises as Sheet does."""
    from bot.care.sheet_cells import cell_text, uncomputed_cell

    with Sheet(path, limits) as sheet:
        lines = []
        for line, cells in sheet.rows():
            length = too_long(cells)
            if length is not None:
                raise bad_file(path, f"line {line}: a cell is {length:,} characters long")
            ref = uncomputed_cell(cells)
            if ref is not None:
                raise bad_file(path, f"line {line}: {UNCOMPUTED.format(ref=ref)}")
            lines.append((line, [cell_text(cell) for cell in cells]))
        return [cell_text(cell) for cell in sheet.header], lines


class _TooLong(str):
    """Stands in for a cell over the cell limit: the row is refused, the text is never kept."""

    def __new__(cls, length: int) -> _TooLong:
        made = super().__new__(cls, "")
        made.length = length  # type: ignore[attr-defined]
        return made


def too_long(cells: list[Cell]) -> int | None:
    """The length of the first over-long cell of a row, if any."""
    for cell in cells:
        if isinstance(cell, _TooLong):
            return cell.length  # type: ignore[attr-defined]
    return None


def _decodes(sample: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is not an error
    except UnicodeDecodeError:
        return False
    return True


def _guess_encoding(sample: bytes) -> str | None:
    """charset-normalizer's guess; among its candidates the Chinese ones first (a care team's sheet in Big5
    is likelier than one in Korean, and short samples fit both)."""
    from charset_normalizer import from_bytes

    candidates = [match.encoding for match in from_bytes(sample)]
    for preferred in (*_GB_FAMILY, "big5", "cp950", "big5hkscs"):
        if preferred in candidates and _decodes(sample, preferred):
            return preferred
    return candidates[0] if candidates else None


def _encoding_name(guess: str) -> str:
    names = {"big5": "Big5 (traditional Chinese)", "cp950": "Big5 (traditional Chinese)",
             "cp932": "Shift_JIS (Japanese)", "shift_jis": "Shift_JIS (Japanese)", "euc_jp": "EUC-JP (Japanese)",
             "euc_kr": "EUC-KR (Korean)", "cp949": "EUC-KR (Korean)", "latin_1": "Latin-1",
             "cp1252": "Windows-1252 (Western)", "cp1250": "Windows-1250 (Central European)"}
    return names.get(guess, guess.replace("_", "-").upper())


def _looks_like_our_header(sample: bytes) -> bool:
    """GB18030 decodes nearly anything: trust it when the first line names at least two of our columns."""
    from bot.care.customer_rows import HEADERS, normalise_header

    try:
        first = sample.split(b"\n", 1)[0].decode("gb18030")
    except UnicodeDecodeError:
        return False
    known = {normalise_header(alias) for aliases in HEADERS.values() for alias in aliases}
    return sum(normalise_header(cell) in known for cell in first.split(",")) >= 2
