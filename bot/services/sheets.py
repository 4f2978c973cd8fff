"""Reading a team's sheet safely: .csv (UTF-8, UTF-8 with BOM, GB18030, UTF-16 with BOM; columns between `,`, `;`,
tabs or `|`) or .xlsx, streamed row by row with the line numbers an editor shows, inside limits on size and
expansion (README: "Import limits").

A file that is not what it says (a truncated .xlsx, a zip bomb, a CSV in Big5, Shift_JIS or EUC-KR) raises
CareError with the catalog key `errors.bad_file` and a detail that names the problem; it never yields garbage.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
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
        self.encoding, self.delimiter = "xlsx", ","
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
        self.delimiter = delimiter(sample)
        csv.field_size_limit(max(csv.field_size_limit(), self.limits.max_file_bytes))  # a huge cell refuses its row
        reader = csv.reader(text, csv.excel, delimiter=self.delimiter)
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
        refusal = legacy_encoding_refusal(sample)
        if refusal is not None:
            raise bad_file(self.path, f"{refusal}: save it as UTF-8 (in Excel: Save As → CSV UTF-8) and import that")
        return "gb18030"

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


_DELIMITERS = ",;\t|"


def delimiter(sample: str) -> str:
    """What separates the columns: of `,` `;` tab `|`, the one the first non-blank line holds most of outside
    quotes (a European Excel writes `code;name;phone`, a tab-separated export `code<tab>name`); a comma when it
    holds none (a sheet of one column)."""
    first = next((line for line in sample.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"?', "", first)
    best = max(_DELIMITERS, key=unquoted.count)  # a tie goes to the first: the comma
    return best if unquoted.count(best) else ","


def read_lines(path: Path, limits: ImportLimits = DEFAULT_LIMITS) -> tuple[list[str], list[tuple[int, list[Cell]]]]:
    """A small sheet at once: the header as text, (line, cells) of every non-empty row after it, cells as the file
    gives them (a number stays one: customer_rows.code_cell reads a code; an over-long cell and a formula with no
    saved value stay marked, `too_long` and `uncomputed_cell`: the reader refuses their row, never the file). For
    the complaint import; raises as Sheet."""
    from bot.care.sheet_cells import cell_text

    with Sheet(path, limits) as sheet:
        return [cell_text(cell) for cell in sheet.header], list(sheet.rows())


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
    return _reading(sample, encoding) is not None


# --- which legacy encoding a CSV is in ------------------------------------------------------------------------
#
# GB18030 decodes almost any byte string, so "it decodes" is no evidence that a file is Chinese. Each East-Asian
# encoding a colleague's Excel may save in reads the bytes instead, and each reading is scored by what its
# characters are in that encoding's own standard, which puts a language's common characters first: GB2312's
# level-1 hanzi (the 3,755 common ones), Big5's frequently used hanzi, JIS level 1 and kana, KS X 1001's hangul.
# A reading full of its standard's common characters is that language; one full of rare extensions, user-defined
# codes or another script's letters (kana or Greek in a Chinese reading) is not. GB18030 is read when its reading
# is ordinary Chinese text and no other reading is clearly better (a Chinese team's file: ties go to Chinese).
#
# Korean is the exception: KS X 1001 puts its hangul exactly where GB2312 puts level-1 hanzi (rows B0-C8), so
# Korean text always reads as common (nonsense) hanzi too, and a short Chinese text whose every hanzi lies in
# those rows reads as hangul. A file that reads as well in Korean as in Chinese is refused (a person re-saves it
# as UTF-8), never guessed, unless its Korean reading is mostly syllables Korean seldom writes (`_odd_hangul`): a
# long Chinese file always has hanzi outside those rows, a Korean one never does; a file of a name or two may not.

_EAST_ASIAN = {"gb18030": "GB18030/GBK (simplified Chinese)", "cp950": "Big5 (traditional Chinese)",
               "cp932": "Shift_JIS (Japanese)", "euc_jp": "EUC-JP (Japanese)", "cp949": "EUC-KR (Korean)"}
_MARGIN = 3  # how much better than the Chinese reading another must be to be named: one common character
_SCORED = 64 * 1024  # characters of the sample scored (the whole sample is decoded)


def legacy_encoding_refusal(sample: bytes) -> str | None:
    """None when the sample (not UTF-8, no BOM) is GB18030/GBK text, else why not, naming what it looks like:
    `it is not UTF-8 or GB18030 text; it looks like Shift_JIS (Japanese)`."""
    readings = {name: _reading(sample, name) for name in _EAST_ASIAN}
    readings = {name: text for name, text in readings.items() if text is not None}
    scores = {name: _score(name, text) for name, text in readings.items()}
    chinese = scores.get("gb18030")
    rivals = sorted((score[0], name) for name, score in scores.items() if name != "gb18030" and _plausible(score))
    rival = rivals[-1] if rivals else None  # the best other reading that is text at all
    if chinese is not None and _names_our_columns(readings["gb18030"]):
        return None  # a header such as 客户编号,姓名 read in GB18030: no other encoding spells our columns by chance
    if chinese is None or not _plausible(chinese) or (rival and rival[0] >= chinese[0] + _MARGIN):
        if rival is not None:
            return f"it is not UTF-8 or GB18030 text; it looks like {_EAST_ASIAN[rival[1]]}"
        return "it is not UTF-8 or GB18030 text; " + _other_guess(sample)
    korean = scores.get("cp949")
    if korean is not None and _plausible(korean) and korean[0] >= chinese[0] and not _odd_hangul(readings["cp949"]):
        return "it is not UTF-8 text; it looks like EUC-KR (Korean), or is Chinese (GBK) too short to tell"
    return None


def _reading(sample: bytes, encoding: str) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return decoder.decode(sample, final=False)  # a character cut at the sample's end is not an error
    except UnicodeDecodeError:
        return None


def _plausible(score: tuple[int, int]) -> bool:
    """Text of that language rather than noise: its characters score half a point each at least."""
    points, count = score
    return count > 0 and 2 * points >= count


def _score(encoding: str, text: str) -> tuple[int, int]:
    """(points, characters): the reading's non-ASCII characters scored as `_points` does."""
    points = count = 0
    seen: dict[str, int] = {}
    for char in text[:_SCORED]:
        if char < "\x80":
            continue
        value = seen.get(char)
        if value is None:
            value = seen[char] = _points(encoding, char)
        points, count = points + value, count + 1
    return points, count


def _points(encoding: str, char: str) -> int:
    """What `char` is in `encoding`'s standard: 3 a common character of the language (hanzi, kana, hangul of level
    1), 1 punctuation or a less common one, 0 or below what text of that language seldom or never holds (rare
    additions, another script's letters, user-defined codes, control characters)."""
    if unicodedata.category(char) in ("Cc", "Co", "Cs"):
        return -5
    code = char.encode(encoding)
    if len(code) != 2:
        return 1 if encoding == "gb18030" and len(code) == 4 else -1  # GB18030's own 4-byte hanzi (𠮷)
    lead, trail = code
    value = lead << 8 | trail
    if encoding == "gb18030":
        if lead < 0xA1 or trail < 0xA1:
            return 0  # GBK's additions: rare hanzi (玥, 喆 in names), and where Shift_JIS and Big5 text lands
        return _in(lead, ((0xA1, 0xA3, 1), (0xB0, 0xD7, 3), (0xD8, 0xF7, 1), (0xA4, 0xA9, -2)), -5)
    if encoding == "cp950":
        return _in(value, ((0xA140, 0xA3BF, 1), (0xA440, 0xC67E, 3), (0xC940, 0xF9D5, 1)), -5)
    if encoding == "cp932":
        return _in(value, ((0x8140, 0x81FC, 1), (0x824F, 0x829A, 1), (0x829F, 0x82F1, 3), (0x8340, 0x8396, 3),
                           (0x889F, 0x9872, 3), (0x989F, 0xEAA4, 1), (0xF040, 0xF9FC, -5)), -1)
    if encoding == "euc_jp":
        return _in(lead, ((0xA1, 0xA3, 1), (0xA4, 0xA5, 3), (0xB0, 0xCF, 3), (0xD0, 0xF4, 1)), -1)
    if trail < 0xA1:  # cp949: the Unified Hangul Code's additions, rare syllables
        return -1
    return _in(lead, ((0xA1, 0xA3, 1), (0xB0, 0xC8, 3), (0xA4, 0xA4, 0), (0xCA, 0xFD, 0)), -1)  # hanja: 0


_ODD_FINALS = frozenset((2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 22, 23, 24, 25, 26, 27))


def _odd_hangul(text: str) -> bool:
    """Whether at least half of the text's hangul are syllables Korean seldom writes: a doubled first consonant
    (ㄲ ㄸ ㅃ ㅆ ㅉ) or a last one other than ㄱ ㄴ ㄹ ㅁ ㅂ ㅇ. They are about 7% of the syllables of Korean text
    (and hardly any of Korean names'), but over 40% of those of Chinese text read as EUC-KR (李娜 reads 쟀컹)."""
    odd = count = 0
    for char in text[:_SCORED]:
        if "가" <= char <= "힣":
            index = ord(char) - 0xAC00
            first, final = index // 588, index % 28
            odd += first in (1, 4, 8, 10, 13) or final in _ODD_FINALS
            count += 1
    return count > 0 and 2 * odd >= count


def _in(value: int, ranges: tuple[tuple[int, int, int], ...], otherwise: int) -> int:
    for low, high, points in ranges:
        if low <= value <= high:
            return points
    return otherwise


def _names_our_columns(text: str) -> bool:
    """The first line names one of our columns in Chinese (客户编号, 姓名 …): English headers say nothing about
    how the rest of the file is encoded."""
    from bot.care.customer_rows import HEADERS, normalise_header

    first = next((line for line in text.splitlines() if line.strip()), "")
    chinese = {normalise_header(alias) for aliases in HEADERS.values() for alias in aliases if not alias.isascii()}
    return any(normalise_header(cell) in chinese for cell in first.split(delimiter(first)))


def _other_guess(sample: bytes) -> str:
    """What a sample in no East-Asian encoding looks like, said plainly."""
    western = _reading(sample, "cp1252")
    if western is not None:
        letters = [char for char in western if char >= "\x80"]
        if letters and sum(char.isalpha() for char in letters) >= 0.8 * len(letters):
            return "it looks like Windows-1252 / Latin-1 (Western European)"
    from charset_normalizer import from_bytes

    match = from_bytes(sample[:_SAMPLE]).best()
    if match is None:
        return "it is in no encoding Carebot recognises (or the file is not text)"
    return f"it looks like {_encoding_name(match.encoding)}"


def _encoding_name(guess: str) -> str:
    names = {"big5": "Big5 (traditional Chinese)", "cp950": "Big5 (traditional Chinese)",
             "cp932": "Shift_JIS (Japanese)", "shift_jis": "Shift_JIS (Japanese)", "euc_jp": "EUC-JP (Japanese)",
             "euc_kr": "EUC-KR (Korean)", "cp949": "EUC-KR (Korean)", "latin_1": "Latin-1 (Western European)",
             "cp1252": "Windows-1252 / Latin-1 (Western European)", "cp1250": "Windows-1250 (Central European)",
             "cp1251": "Windows-1251 (Cyrillic)", "koi8_r": "KOI8-R (Cyrillic)"}
    return names.get(guess, guess.replace("_", "-").upper())
