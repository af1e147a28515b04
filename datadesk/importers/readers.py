"""Readers of uploaded workbooks: recognize the format, then hand one sheet to the import
engine as a :class:`~datadesk.importers.sheet.SheetData`.

Workbooks (.xlsx, .xlsm, .xls, .ods) are read with python-calamine, CSV files with the
standard library. Positions are the ones the user sees: Excel row numbers and absolute
column indexes (``column_letter(index)`` is the letter Excel shows), whatever the first used
cell of the sheet is. Zip-based workbooks are checked against decompression bombs before
anything unpacks them.
"""

from __future__ import annotations

import codecs
import csv
import posixpath
import re
import struct
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from itertools import chain, islice
from pathlib import Path
from typing import Any, NamedTuple
from xml.etree import ElementTree

import python_calamine as calamine

from datadesk.config.schema import DEFAULT_SKIP_ROWS
from datadesk.errors import FileTooLarge, InvalidInput, UnreadableFile
from datadesk.importers.sheet import (
    FileFormat,
    Heading,
    SheetData,
    SourceRow,
    normalize_heading,
)

ACCEPTED_FORMATS = ".xlsx, .xlsm, .xls, .ods, .csv"
MAX_ZIP_ENTRIES = 10_000
MAX_UNPACKED_BYTES = 2 * 1024**3
HEADER_WINDOW = 30  # non-blank rows searched for the headings
HEADER_WINDOW_LIMIT = 1_000  # rows read at most while looking for them
SNIFF_CHARS = 64 * 1024
MAX_LISTED_ROWS = 10  # row numbers spelled out in one notice
CHUNK_SIZE = 1 << 20  # bytes read at a time from a zip member

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_DELIMITERS = ",;\t|"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
)
_ZIP_KINDS = (
    ("xl/workbook.bin", "an Excel binary workbook (.xlsb): save it as .xlsx"),
    ("word/document.xml", "a Word document"),
    ("ppt/presentation.xml", "a PowerPoint presentation"),
)


def _password_message(file_name: str) -> str:
    return f"{file_name} is protected by a password: save a copy without a password and upload that"


def _not_accepted(file_name: str, detail: str = "") -> UnreadableFile:
    what = f" ({detail})" if detail else ""
    return UnreadableFile(
        f"{file_name} is not a spreadsheet that can be imported{what}; "
        f"accepted formats: {ACCEPTED_FORMATS}"
    )


def _damaged(file_name: str, kind: str, exc: BaseException | str) -> UnreadableFile:
    detail = " ".join(str(exc).split())[:160]
    return UnreadableFile(f"{file_name} is damaged or not a valid {kind} file ({detail})")


# --------------------------------------------------------------------------- format detection


def detect_format(path: Path, file_name: str) -> FileFormat:
    """The format of an uploaded file, judged by its content first and its name second.

    Zip files holding ``xl/workbook.xml`` are xlsx (xlsm when ``[Content_Types].xml`` says
    macroEnabled), zip files with an OpenDocument spreadsheet ``mimetype`` are ods, OLE2
    files are xls, text is csv. Raises UnreadableFile for a password-protected xlsx (an
    OLE file holding an encrypted package), an empty file, and anything else, naming the
    file and the accepted formats.
    """
    with open(path, "rb") as stream:
        head = stream.read(8192)
    if not head:
        raise UnreadableFile(f"{file_name} is empty; accepted formats: {ACCEPTED_FORMATS}")
    if head.startswith(_ZIP_MAGICS):
        return _zip_format(path, file_name)
    if head.startswith(_OLE_MAGIC):
        return _ole_format(path, file_name)
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            raise _not_accepted(file_name, f"it is {kind}")
    _check_text(head, file_name)
    return "csv"


def _zip_format(path: Path, file_name: str) -> FileFormat:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                types = _read_member(archive, "[Content_Types].xml", 1 << 20) or b""
                return "xlsm" if b"macroenabled" in types.lower() else "xlsx"
            mimetype = (_read_member(archive, "mimetype", 256) or b"").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise _damaged(file_name, "zip (xlsx, xlsm, ods)", exc) from None
    if mimetype.startswith(_ODS_MIMETYPE):
        return "ods"
    if mimetype.startswith(b"application/vnd.oasis.opendocument."):
        kind = mimetype.decode("ascii", "replace").rsplit(".", 1)[-1]
        raise _not_accepted(file_name, f"it is an OpenDocument {kind}, not a spreadsheet")
    for member, kind in _ZIP_KINDS:
        if member in names:
            raise _not_accepted(file_name, f"it is {kind}")
    raise _not_accepted(file_name, "it is a zip archive")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """At most ``limit`` bytes of one zip member, None when it is missing."""
    try:
        with archive.open(name) as member:
            return member.read(limit)
    except KeyError:
        return None


def _ole_format(path: Path, file_name: str) -> FileFormat:
    try:
        names = _ole_stream_names(path)
    except (ValueError, struct.error, OSError):
        return "xls"  # not a directory we can read: calamine decides
    if {"EncryptionInfo", "EncryptedPackage"} & names:
        raise UnreadableFile(_password_message(file_name))
    if names and not {"Workbook", "Book"} & names:
        detail = "it is a Word 97-2003 document" if "WordDocument" in names else ""
        raise _not_accepted(file_name, detail or "it is an OLE file without a workbook")
    return "xls"


def _ole_stream_names(path: Path) -> set[str]:
    """Names in the directory of an OLE2 compound file (the container of .xls files and of
    password-protected .xlsx files). Reads only the header, the FAT and the directory;
    raises ValueError when they cannot be followed."""
    size = path.stat().st_size
    with open(path, "rb") as stream:
        header = stream.read(512)
        if len(header) < 512:
            raise ValueError("short OLE header")
        sector_size = 1 << struct.unpack_from("<H", header, 0x1E)[0]
        if sector_size not in (512, 4096):
            raise ValueError("bad OLE sector size")
        per_sector = sector_size // 4
        most = size // sector_size + 1  # no chain is longer than the file

        def read_sector(number: int) -> tuple[int, ...]:
            stream.seek((number + 1) * sector_size)
            data = stream.read(sector_size)
            if len(data) < sector_size:
                raise ValueError("OLE sector beyond the end of the file")
            return struct.unpack(f"<{per_sector}I", data)

        first_dir, _, _, _, _, difat_sector, _ = struct.unpack_from("<7I", header, 0x30)
        fat_sectors = list(struct.unpack_from("<109I", header, 0x4C))
        for _ in range(most):  # the DIFAT chain: further FAT sector numbers
            if difat_sector >= 0xFFFFFFFA:
                break
            entries = read_sector(difat_sector)
            fat_sectors.extend(entries[:-1])
            difat_sector = entries[-1]
        fat: list[int] = []
        for sector in fat_sectors:
            if sector < 0xFFFFFFFA:
                fat.extend(read_sector(sector))
        names: set[str] = set()
        sector = first_dir
        for _ in range(most):
            if sector >= 0xFFFFFFFA:
                return names
            if sector >= len(fat):
                raise ValueError("OLE directory chain leaves the FAT")
            stream.seek((sector + 1) * sector_size)
            block = stream.read(sector_size)
            for offset in range(0, len(block) - 127, 128):
                (length,) = struct.unpack_from("<H", block, offset + 0x40)
                if 2 <= length <= 64:
                    names.add(block[offset : offset + length - 2].decode("utf-16-le", "replace"))
            sector = fat[sector]
        raise ValueError("OLE directory chain does not end")


def _check_text(head: bytes, file_name: str) -> None:
    """Accept the start of a file as CSV text, or raise UnreadableFile."""
    bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
    if bom is None and b"\x00" in head:
        raise _not_accepted(file_name, "it is a binary file")
    try:
        text = codecs.getincrementaldecoder(bom or "utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        text = head.decode("cp1252", "replace")
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n\f\v")
    if controls > len(text) // 100 + 1:  # a stray one (an old DOS end-of-file mark) is fine
        raise _not_accepted(file_name, "it is a binary file")
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        raise _not_accepted(file_name, "it is a web page or XML file")
    if file_name.lower().endswith(_TEXT_SUFFIXES):
        return
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    if not any(ch in first_line for ch in _DELIMITERS):
        raise _not_accepted(file_name, "it is text without columns")


# --------------------------------------------------------------------------- zip bomb guard


def check_zip_limits(path: Path, file_name: str, max_expansion: int) -> None:
    """Refuse a zip-based workbook whose entries, as declared in the zip directory, unpack
    to more than ``max_expansion`` times the file's size or more than 2 GiB, or that has
    more than 10,000 entries. Nothing is unpacked."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise _damaged(file_name, "zip (xlsx, xlsm, ods)", exc) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise FileTooLarge(
            f"{file_name} holds {len(entries):,} packed files, more than the "
            f"{MAX_ZIP_ENTRIES:,} a workbook may have"
        )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(
            f"{file_name} unpacks to {unpacked / 1024**3:.1f} GB, more than the 2 GB allowed"
        )
    if unpacked > max_expansion * max(size, 1):
        raise FileTooLarge(
            f"{file_name} unpacks to {unpacked / 1024**2:,.1f} MB, more than {max_expansion} "
            f"times its size ({size / 1024**2:,.2f} MB); it was refused as a possible zip bomb "
            "(raise import_settings.max_expansion if the file is genuine)"
        )


# --------------------------------------------------------------------------- options and rows


@dataclass(frozen=True)
class _Options:
    """What open_sheet was asked for, shared by the workbook and CSV paths."""

    file_name: str
    header_row: int | None
    expected: frozenset[str]  # normalized expected headings
    skip_blank_rows: bool
    skip_search: Callable[[str], Any] | None
    max_rows: int


class _Merge(NamedTuple):
    """A merged range: Excel row numbers (1-based) and 0-based column indexes, inclusive."""

    top: int
    left: int
    bottom: int
    right: int


@dataclass
class _Grid:
    """The first rows of a sheet as read (raw cells: '' for blank), kept to find and build
    the headings."""

    first_number: int  # Excel row number of rows[0]
    col_offset: int  # absolute column index of each row's first cell
    rows: list[list[Any]] = field(default_factory=list)

    def row(self, number: int) -> list[Any]:
        """The raw cells of an Excel row, [] outside the grid."""
        index = number - self.first_number
        return self.rows[index] if 0 <= index < len(self.rows) else []

    def cell(self, number: int, column: int) -> Any:
        """A raw cell by Excel row number and absolute column index, '' outside the grid."""
        row = self.row(number)
        index = column - self.col_offset
        return row[index] if 0 <= index < len(row) else ""

    @property
    def last_number(self) -> int:
        """Excel row number of the last row read so far."""
        return self.first_number + len(self.rows) - 1


def _compile_skip(patterns: Sequence[str]) -> Callable[[str], Any] | None:
    """One search function for all skip patterns (ignoring case), None when there are none."""
    if not patterns:
        return None
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(
                f"skip_rows_matching: '{pattern}' is not a valid regular expression: {exc}"
            ) from None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE).search
    except re.error:  # e.g. a pattern with its own global flags cannot be joined
        compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
        return lambda text: any(c.search(text) for c in compiled)


def _first_nonblank(raw: Sequence[Any]) -> Any:
    """The first cell that is not blank ('' or only spaces), None when the row is blank."""
    for value in raw:
        if value.__class__ is str:
            if value and not value.isspace():
                return value
        elif value is not None:
            return value
    return None


def _text(value: Any) -> str:
    """A cell value as heading or notice text, whitespace collapsed ('' for blank)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return " ".join(value.replace("\ufeff", "").split())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# SourceRow is a frozen dataclass: its __init__ sets each field through object.__setattr__,
# which costs more than everything else done per row. When the class is the plain two-field
# dataclass it is today, rows are made by filling the instance dict directly (same result,
# compared equal by the tests); otherwise the constructor is used.
_FAST_ROWS = (
    [f.name for f in fields(SourceRow)] == ["number", "values"]
    and not hasattr(SourceRow, "__post_init__")
    and not hasattr(SourceRow, "__slots__")
)


def _data_rows(
    raw_rows: Iterable[list[Any]],
    *,
    first_number: int,
    col_offset: int,
    fills: dict[int, list[_Fill]],
    options: _Options,
    hidden: list[int],
    notices: list[str],
) -> Iterator[SourceRow]:
    """Data rows as SourceRow, leaving out (and counting) blank and matching rows.

    This is the per-row hot path: blank cells ('' from calamine and csv) become None, the
    values are padded on the left so that their index is the absolute column index.
    Notices about skipped rows, and about the ``hidden`` rows that were read, are appended
    to ``notices`` when the rows are exhausted.
    """
    pad = (None,) * col_offset
    skip = options.skip_search
    skip_blank = options.skip_blank_rows
    max_rows = options.max_rows
    fast = _FAST_ROWS
    new = object.__new__
    cache: dict[int, Any] = {}
    blank_rows: list[int] = []
    matched: list[tuple[int, str]] = []
    count = 0
    number = first_number - 1
    for raw in raw_rows:
        number += 1
        if fills and number in fills:
            _apply_fills(raw, fills[number], cache)
        first = raw[0] if raw else ""
        if first.__class__ is str:
            if not first or first.isspace():
                first = _first_nonblank(raw)
            if first is None:
                if skip_blank:
                    blank_rows.append(number)
                    continue
            elif skip is not None and first.__class__ is str and skip(first.strip()):
                matched.append((number, first.strip()))
                continue
        count += 1
        if count > max_rows:
            raise FileTooLarge(
                f"{options.file_name} has more than {max_rows:,} data rows; "
                "split it or raise import_settings.max_rows"
            )
        if "" in raw:
            if raw.count("") == 1:
                raw[raw.index("")] = None
            else:
                raw = _blanks_to_none(raw)
        values = pad + tuple(raw) if pad else tuple(raw)
        if fast:
            row = new(SourceRow)
            slots = row.__dict__
            slots["number"] = number
            slots["values"] = values
            yield row
        else:
            yield SourceRow(number, values)
    if hidden:
        skipped = {*blank_rows, *(n for n, _ in matched)}
        read = [n for n in hidden if n not in skipped]
        if read:
            notices.append(_hidden_notice(read))
    notices.extend(_skip_notices(len(blank_rows), matched))


def _blanks_to_none(raw: list[Any]) -> list[Any]:
    """The row with '' replaced by None: in place when there are few (list.index runs in C)."""
    blanks = raw.count("")
    if blanks > 3:
        return [None if v == "" else v for v in raw]
    index = raw.index
    position = 0
    for _ in range(blanks):
        position = index("", position)
        raw[position] = None
    return raw


def _skip_notices(blank_rows: int, matched: list[tuple[int, str]]) -> list[str]:
    notices = []
    if blank_rows:
        notices.append(f"{blank_rows} blank row{'s' if blank_rows > 1 else ''} skipped")
    for number, text in matched[:MAX_LISTED_ROWS]:
        shown = text if len(text) <= 40 else text[:39] + "…"
        notices.append(f"totals row {number} skipped ('{shown}')")
    if len(matched) > MAX_LISTED_ROWS:
        more = len(matched) - MAX_LISTED_ROWS
        notices.append(f"{more} more rows matching skip_rows_matching skipped")
    return notices


class _Fill(NamedTuple):
    """Part of one data row covered by a merged range: raw indexes [start, stop)."""

    start: int
    stop: int
    key: int  # which merge
    top: bool  # this row holds the merge's value


def _apply_fills(raw: list[Any], fills: list[_Fill], cache: dict[int, Any]) -> None:
    """Give every cell covered by a merge the merge's value, as the user sees it."""
    for start, stop, key, top in fills:
        if top:
            cache[key] = raw[start] if start < len(raw) else ""
        value = cache.get(key, "")
        for index in range(start, min(stop, len(raw))):
            raw[index] = value


def _data_fills(
    merges: list[_Merge], header_row: int, last_row: int, col_offset: int
) -> dict[int, list[_Fill]]:
    """The merged ranges below the headings, by Excel row number of the rows they cover."""
    fills: dict[int, list[_Fill]] = {}
    for key, merge in enumerate(merges):
        if merge.top <= header_row:
            continue
        start = max(merge.left - col_offset, 0)
        stop = merge.right - col_offset + 1
        for number in range(merge.top, min(merge.bottom, last_row) + 1):
            fills.setdefault(number, []).append(_Fill(start, stop, key, number == merge.top))
    return fills


# --------------------------------------------------------------------------- headings


def _read_window(rows: Iterator[list[Any]], grid: _Grid, header_row: int | None) -> None:
    """Read the first rows into the grid: up to the header row when it is given, else the
    first HEADER_WINDOW non-blank rows (at most HEADER_WINDOW_LIMIT rows)."""
    if header_row is not None:
        while grid.last_number < header_row:
            raw = next(rows, None)
            if raw is None:
                return
            grid.rows.append(raw)
        return
    nonblank = 0
    while nonblank < HEADER_WINDOW and len(grid.rows) < HEADER_WINDOW_LIMIT:
        raw = next(rows, None)
        if raw is None:
            return
        grid.rows.append(raw)
        if _first_nonblank(raw) is not None:
            nonblank += 1


def _heading_texts(grid: _Grid, number: int, merges: list[_Merge]) -> dict[int, str]:
    """Non-blank heading texts of one row by absolute column, merges filled in and group
    headings (a merge in the row above over several columns) put in front."""
    texts: dict[int, str] = {}
    for index, value in enumerate(grid.row(number)):
        text = _text(value)
        if text:
            texts[grid.col_offset + index] = text
    for merge in merges:
        if merge.top <= number <= merge.bottom:
            text = _text(grid.cell(merge.top, merge.left))
            for column in range(merge.left, merge.right + 1) if text else ():
                texts.setdefault(column, text)
    if not texts:
        return texts
    low, high = min(texts), max(texts)
    for merge in merges:
        if merge.bottom != number - 1 or merge.right == merge.left:
            continue
        if merge.left <= low and merge.right >= high:
            continue  # spans the whole table: a title, not a group
        group = _text(grid.cell(merge.top, merge.left))
        if not group:
            continue
        for column in range(merge.left, merge.right + 1):
            below = texts.get(column)
            if below and below != group:
                texts[column] = f"{group} {below}"
    return texts


def _headings(texts: dict[int, str]) -> list[Heading]:
    """Headings in column order, duplicates numbered ' (2)', ' (3)'."""
    seen: dict[str, int] = {}
    headings = []
    for column in sorted(texts):
        text = texts[column]
        key = normalize_heading(text) or text.casefold()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            text = f"{text} ({seen[key]})"
        headings.append(Heading(text, column))
    return headings


def _find_header_row(grid: _Grid, merges: list[_Merge], expected: frozenset[str]) -> int:
    """Excel row number of the headings among the grid's rows (see open_sheet)."""
    numbers = [
        grid.first_number + i for i, raw in enumerate(grid.rows) if _first_nonblank(raw) is not None
    ]
    if not numbers:
        raise LookupError("no non-blank row")
    if expected:
        best, best_score = 0, 0
        for number in numbers:
            names = {normalize_heading(t) for t in _heading_texts(grid, number, merges).values()}
            names.update(normalize_heading(v) for v in grid.row(number) if isinstance(v, str))
            score = len(names & expected)
            if score > best_score:
                best, best_score = number, score
        if best_score:
            return best
    counts = {number: _cell_counts(grid.row(number)) for number in numbers}
    widest = max(total for total, _ in counts.values())
    for number in numbers:
        total, text = counts[number]
        if total >= 2 and text >= 0.6 * widest:
            if _is_group_row(grid, number, merges):
                return number + 1
            return number
    return numbers[0]


def _cell_counts(raw: Sequence[Any]) -> tuple[int, int]:
    """Non-blank cells and non-blank text cells of a row."""
    total = text = 0
    for value in raw:
        if value.__class__ is str:
            if value and not value.isspace():
                total += 1
                text += 1
        elif value is not None:
            total += 1
    return total, text


def _is_group_row(grid: _Grid, number: int, merges: list[_Merge]) -> bool:
    """True when the row holds group headings: merges over several columns, with every
    non-blank cell of the next row (the sub-headings) lying under one of them."""
    groups = [m for m in merges if m.top == number and m.bottom == number and m.right > m.left]
    below = grid.row(number + 1)
    if not groups or not below:
        return False
    columns = [grid.col_offset + i for i, v in enumerate(below) if _text(v)]
    return bool(columns) and all(any(m.left <= c <= m.right for m in groups) for c in columns)


# --------------------------------------------------------------------------- assembling


@dataclass
class _Source:
    """One sheet's rows as read, with what the format tells about them."""

    file_format: FileFormat
    sheet_name: str
    sheet_names: list[str]
    hidden_sheets: list[str]
    rows: Iterator[list[Any]]  # raw rows from first_number on
    first_number: int
    col_offset: int
    last_row: int | None  # Excel row number of the last row, when known
    merges: list[_Merge] = field(default_factory=list)
    hidden_rows: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    epoch_1904: bool = False
    notices: list[str] = field(default_factory=list)
    data_rows: Callable[[int], Iterator[list[Any]]] | None = None  # re-read after a row


def _assemble(source: _Source, options: _Options) -> SheetData:
    """Find the headings, then build the SheetData with its lazy row iterator."""
    grid, header_row, texts = _locate_headings(source, options)
    last_row = source.last_row if source.last_row is not None else grid.last_number
    hidden = _hidden_in_data(source.hidden_rows, header_row, last_row)
    if source.data_rows is not None:
        raw_rows: Iterable[list[Any]] = source.data_rows(header_row)
    else:
        raw_rows = chain(grid.rows[header_row - grid.first_number + 1 :], source.rows)
    rows = _data_rows(
        raw_rows,
        first_number=header_row + 1,
        col_offset=source.col_offset,
        fills=_data_fills(source.merges, header_row, last_row, source.col_offset),
        options=options,
        hidden=hidden,
        notices=source.notices,
    )
    return SheetData(
        file_format=source.file_format,
        sheet_name=source.sheet_name,
        sheet_names=source.sheet_names,
        hidden_sheets=source.hidden_sheets,
        header_row=header_row,
        headings=_headings(texts),
        rows=rows,
        epoch_1904=source.epoch_1904,
        hidden_rows=hidden,
        notices=source.notices,
    )


def _locate_headings(source: _Source, options: _Options) -> tuple[_Grid, int, dict[int, str]]:
    """Read the first rows; the header row (given or found) and its heading texts."""
    where = f"sheet '{source.sheet_name}' of {options.file_name}"
    grid = _Grid(source.first_number, source.col_offset)
    header_row = options.header_row
    last_row = source.last_row
    if header_row is not None and last_row is not None and header_row > last_row:
        raise UnreadableFile(
            f"the header row {header_row} is below the last row ({last_row}) of {where}"
        )
    try:
        _read_window(source.rows, grid, header_row)
    finally:
        if source.data_rows is not None:  # the data rows are read again: close the file
            _close(source.rows)
    merges = [m for m in source.merges if m.top <= grid.last_number]
    if header_row is None:
        try:
            header_row = _find_header_row(grid, merges, options.expected)
        except LookupError:
            raise UnreadableFile(f"{where} is empty") from None
    elif header_row > grid.last_number:
        raise UnreadableFile(
            f"the header row {header_row} is below the last row ({grid.last_number}) of {where}"
        )
    texts = _heading_texts(grid, header_row, merges)
    if not texts:
        raise UnreadableFile(f"row {header_row} of {where} holds no headings")
    return grid, header_row, texts


def _close(rows: Iterator[Any]) -> None:
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _hidden_in_data(ranges: list[tuple[int, int]], header_row: int, last_row: int) -> list[int]:
    hidden: list[int] = []
    for first, last in ranges:
        hidden.extend(range(max(first, header_row + 1), min(last, last_row) + 1))
    return sorted(set(hidden))


def _hidden_notice(hidden: list[int]) -> str:
    listed = ", ".join(str(n) for n in hidden[:MAX_LISTED_ROWS])
    if len(hidden) > MAX_LISTED_ROWS:
        listed += ", …"
    if len(hidden) == 1:
        return f"1 hidden row was read: {listed}"
    return f"{len(hidden)} hidden rows were read: {listed}"


def open_sheet(
    path: Path,
    *,
    file_name: str,
    sheet: str | int = 0,
    header_row: int | None = None,
    expected_headings: Sequence[str] = (),
    skip_blank_rows: bool = True,
    skip_rows_matching: Sequence[str] = DEFAULT_SKIP_ROWS,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_rows: int = 1_000_000,
    max_expansion: int = 100,
) -> SheetData:
    """Open one sheet of an uploaded workbook or CSV file for an import.

    ``file_name`` is the name the user uploaded (used in messages and to tell CSV from other
    text). ``sheet`` is a name (matched ignoring case and surrounding spaces) or the index of
    a visible worksheet counting from 0; CSV files have one sheet and ignore it.
    ``header_row`` is the Excel row number of the headings; when None it is the row among
    the first 30 non-blank ones that holds most of ``expected_headings``, or, when none
    does, the first row with at least 2 filled cells of which text makes at least 60% of
    the widest row (a title block above is passed over; a row of merged group headings
    hands over to the sub-headings below it).

    Returns a SheetData whose ``rows`` is a lazy iterator (a generator): rows are produced
    as the caller iterates; blank rows (every cell empty or spaces, when
    ``skip_blank_rows``) and rows whose first non-blank cell is text matching one of
    ``skip_rows_matching`` (searched ignoring case, after stripping; numbers and dates never
    match) are left out. The notices about skipped rows and about the hidden rows that were
    read are appended to ``SheetData.notices`` only once the iterator is exhausted;
    ``hidden_rows`` is known at once (every hidden row between the headings and the last
    used row, xlsx/xlsm/ods only). Iterating raises FileTooLarge after ``max_rows`` data
    rows, and UnreadableFile for CSV text that does not decode. Workbooks are closed before
    this returns; a CSV file is read again when the iteration starts and closed when it
    ends, so the caller may delete the file while or after iterating.

    Raises UnreadableFile (unknown format, password, damaged or empty file, unknown sheet,
    no headings) and FileTooLarge (a zip that unpacks to more than ``max_expansion`` times
    its size, 2 GiB or 10,000 entries).
    """
    file_format = detect_format(path, file_name)
    options = _Options(
        file_name=file_name,
        header_row=header_row,
        expected=frozenset(filter(None, map(normalize_heading, expected_headings))),
        skip_blank_rows=skip_blank_rows,
        skip_search=_compile_skip(skip_rows_matching),
        max_rows=max_rows,
    )
    if file_format == "csv":
        source = _csv_source(path, file_name, encoding, delimiter)
    else:
        if file_format != "xls":
            check_zip_limits(path, file_name, max_expansion)
        source = _workbook_source(path, file_name, file_format, sheet)
    return _assemble(source, options)


# --------------------------------------------------------------------------- workbooks


def _workbook_source(
    path: Path, file_name: str, file_format: FileFormat, sheet: str | int
) -> _Source:
    """Load one sheet with calamine (closing the workbook) and gather what the zip parts
    tell about it: hidden rows, the 1904 date system, merges calamine does not report."""
    try:
        book = calamine.CalamineWorkbook.from_path(str(path))
    except calamine.PasswordError:
        raise UnreadableFile(_password_message(file_name)) from None
    except calamine.CalamineError as exc:
        raise _damaged(file_name, file_format, exc) from None
    try:
        metadata = book.sheets_metadata
        if not metadata:
            raise UnreadableFile(f"{file_name} holds no sheets")
        name, hidden_sheets, notices = _choose_sheet(metadata, sheet, file_name)
        data = book.get_sheet_by_name(name)
    except calamine.PasswordError:
        raise UnreadableFile(_password_message(file_name)) from None
    except calamine.CalamineError as exc:
        raise _damaged(file_name, file_format, exc) from None
    finally:
        book.close()
    start, end = data.start, data.end
    if start is None or end is None:
        raise UnreadableFile(f"sheet '{name}' of {file_name} is empty")
    epoch_1904, hidden_rows, merges = _zip_details(path, file_format, name)
    ranges = data.merged_cell_ranges
    if ranges is not None:
        merges = [_Merge(a[0] + 1, a[1], b[0] + 1, b[1]) for a, b in ranges]
    return _Source(
        file_format=file_format,
        sheet_name=name,
        sheet_names=[m.name for m in metadata],
        hidden_sheets=hidden_sheets,
        rows=_calamine_rows(data, start[0]),
        first_number=start[0] + 1,
        col_offset=start[1],
        last_row=end[0] + 1,
        merges=merges,
        hidden_rows=hidden_rows,
        epoch_1904=epoch_1904,
        notices=notices,
    )


def _zip_details(
    path: Path, file_format: FileFormat, sheet_name: str
) -> tuple[bool, list[tuple[int, int]], list[_Merge]]:
    """What the zip parts tell that calamine does not: the 1904 date system and hidden rows
    (xlsx, xlsm), hidden rows and merged ranges (ods). Nothing for xls."""
    if file_format in ("xlsx", "xlsm"):
        epoch_1904, hidden = _xlsx_details(path, sheet_name)
        return epoch_1904, hidden, []
    if file_format == "ods":
        hidden, merges = _ods_details(path, sheet_name)
        return False, hidden, merges
    return False, [], []


def _choose_sheet(
    metadata: list[calamine.SheetMetadata], sheet: str | int, file_name: str
) -> tuple[str, list[str], list[str]]:
    """The sheet to read, the hidden sheets and notices about them."""
    visible_kind = calamine.SheetVisibleEnum.Visible
    hidden = [m.name for m in metadata if m.visible != visible_kind]
    listing = ", ".join(
        f"'{m.name}'" + (" (hidden)" if m.visible != visible_kind else "") for m in metadata
    )
    if isinstance(sheet, str):
        wanted = sheet.strip().casefold()
        name = next((m.name for m in metadata if m.name.strip().casefold() == wanted), None)
        if name is None:
            raise UnreadableFile(f"{file_name} has no sheet '{sheet}'; its sheets are {listing}")
    else:
        visible = [
            m.name
            for m in metadata
            if m.visible == visible_kind and m.typ == calamine.SheetTypeEnum.WorkSheet
        ]
        if not 0 <= sheet < len(visible):
            raise UnreadableFile(
                f"{file_name} has no sheet number {sheet} (counting visible sheets from 0); "
                f"its sheets are {listing}"
            )
        name = visible[sheet]
    notices = [f"sheet '{other}' is hidden and was not read" for other in hidden if other != name]
    if name in hidden:
        notices.append(f"sheet '{name}' is hidden; it was read because the import names it")
    return name, hidden, notices


def _calamine_rows(data: calamine.CalamineSheet, start_row: int) -> Iterator[list[Any]]:
    """The sheet's rows from its first used row on.

    python-calamine's iter_rows yields ``start_row`` blank rows before the used range
    (0.9: rows from the top of the sheet, columns from the first used one); versions that
    start at the used range are handled too: the first used row is never blank.
    """
    rows = iter(data.iter_rows())
    if start_row == 0:
        return rows
    first = next(rows, None)
    if first is None:
        return rows
    if any(v != "" for v in first):
        return chain([first], rows)
    deque(islice(rows, start_row - 1), maxlen=0)
    return rows


# xlsx: workbook.xml, its relationships, and the sheet part's <row hidden="1">


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xlsx_details(path: Path, sheet_name: str) -> tuple[bool, list[tuple[int, int]]]:
    """The 1904 date system flag and the hidden rows of a sheet of an xlsx/xlsm file.

    A workbook whose parts cannot be followed gives (False, []): calamine read it already.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            workbook_xml = _read_member(archive, "xl/workbook.xml", 1 << 24)
            if workbook_xml is None:
                return False, []
            workbook = ElementTree.fromstring(workbook_xml)
            epoch_1904 = any(
                _local(el.tag) == "workbookPr" and el.get("date1904", "").lower() in ("1", "true")
                for el in workbook.iter()
            )
            part = _xlsx_sheet_part(archive, workbook, sheet_name)
            hidden = _xlsx_hidden_rows(archive, part) if part else []
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return False, []
    return epoch_1904, [(n, n) for n in hidden]


def _xlsx_sheet_part(
    archive: zipfile.ZipFile, workbook: ElementTree.Element, sheet_name: str
) -> str | None:
    """The zip member holding a sheet, found through workbook.xml and its relationships."""
    rel_id = None
    for element in workbook.iter():
        if _local(element.tag) == "sheet" and element.get("name") == sheet_name:
            rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
            break
    rels_xml = _read_member(archive, "xl/_rels/workbook.xml.rels", 1 << 24)
    if rel_id is None or rels_xml is None:
        return None
    for element in ElementTree.fromstring(rels_xml).iter():
        if _local(element.tag) == "Relationship" and element.get("Id") == rel_id:
            target = element.get("Target", "")
            if target.startswith("/"):
                part = target.lstrip("/")
            else:
                part = posixpath.normpath(posixpath.join("xl", target))
            return part if part in set(archive.namelist()) else None
    return None


_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row\s")
_HIDDEN_ATTR = re.compile(rb"""\shidden\s*=\s*["'](?:1|true)["']""")
_ROW_NUMBER_ATTR = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")


def _xlsx_hidden_rows(
    archive: zipfile.ZipFile, part: str, chunk_size: int = CHUNK_SIZE
) -> list[int]:
    """Excel row numbers of ``<row r=".." hidden="1">`` in a sheet part.

    The part is streamed and searched for ``hidden=`` with bytes.find (parsing every row
    of a large sheet in Python would cost more than calamine's whole read); each hit is
    checked to be inside a row tag.
    """
    hidden: list[int] = []
    buffer = b""
    base = 0  # offset of buffer[0] in the part
    done = 0  # offset up to which hits were handled
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(chunk_size)
            buffer += chunk
            pending = None
            position = max(done - base, 0)
            while (hit := buffer.find(b"hidden=", position)) >= 0:
                close = buffer.find(b">", hit)
                if close < 0 and chunk:
                    pending = hit
                    break
                opening = buffer.rfind(b"<", 0, hit)
                if opening >= 0 and buffer.find(b">", opening, hit) < 0:
                    number = _hidden_row_number(buffer[opening : close + 1 if close >= 0 else None])
                    if number is not None:
                        hidden.append(number)
                position = hit + 1
                done = base + position
            if not chunk:
                return hidden
            keep_from = pending if pending is not None else len(buffer)
            cut = max(keep_from - 4096, 0)
            buffer = buffer[cut:]
            base += cut


def _hidden_row_number(tag: bytes) -> int | None:
    if not _ROW_TAG.match(tag) or not _HIDDEN_ATTR.search(tag):
        return None
    number = _ROW_NUMBER_ATTR.search(tag)
    return int(number.group(1)) if number else None


# ods: content.xml, scanned with bytes.find/count (the usual "table:" prefix assumed)

_ODS_ROWS = (b"<table:table-row ", b"<table:table-row>", b"<table:table-row/>")
_ODS_CELLS = (
    b"<table:table-cell ",
    b"<table:table-cell>",
    b"<table:table-cell/>",
    b"<table:covered-table-cell ",
    b"<table:covered-table-cell>",
    b"<table:covered-table-cell/>",
)
_ODS_HITS = (b'table:visibility="', b'-spanned="')
_ODS_ATTRIBUTE = re.compile(rb'table:([\w-]+)="([^"]*)"')


def _ods_details(
    path: Path, sheet_name: str, chunk_size: int = CHUNK_SIZE
) -> tuple[list[tuple[int, int]], list[_Merge]]:
    """Hidden row ranges and merged ranges of an ods sheet (calamine reports neither).

    A content.xml that cannot be followed gives nothing: calamine read the sheet already.
    """
    scan = _OdsScan(sheet_name)
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
            buffer = b""
            while not scan.done:
                chunk = stream.read(chunk_size)
                buffer += chunk
                # Every tag before the last '<' is complete ('<' never occurs inside a tag).
                limit = buffer.rfind(b"<") if chunk else len(buffer)
                keep = scan.feed(buffer, max(limit, 0))
                buffer = buffer[keep:]
                if not chunk:
                    break
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return [], []
    return scan.hidden, scan.merges


def _ods_attributes(tag: bytes) -> dict[bytes, bytes]:
    return dict(_ODS_ATTRIBUTE.findall(tag))


def _count_any(buffer: bytes, needles: Sequence[bytes], start: int, end: int) -> int:
    return sum(buffer.count(needle, start, end) for needle in needles)


def _repeats(buffer: bytes, attribute: bytes, start: int, end: int) -> int:
    """The sum of (n - 1) over ``attribute="n"`` between start and end."""
    extra = 0
    position = buffer.find(attribute, start, end)
    while position >= 0:
        value_start = position + len(attribute)
        extra += int(buffer[value_start : buffer.find(b'"', value_start)]) - 1
        position = buffer.find(attribute, value_start, end)
    return extra


class _OdsScan:
    """Follows the rows and cells of one table of content.xml without parsing the XML:
    rows and cells are counted with bytes.count between the few tags that matter (hidden
    rows, merged cells), which are the only ones looked at in Python."""

    def __init__(self, sheet_name: str) -> None:
        self.sheet_name = sheet_name
        self.inside = False
        self.done = False
        self.next_row = 1  # Excel number of the next row tag
        self.row = 0  # Excel number of the current row
        self.row_start = -1  # offset of the current row's tag in the buffer
        self.position = 0  # offset in the buffer where the scan goes on
        self.hidden: list[tuple[int, int]] = []
        self.merges: list[_Merge] = []

    def feed(self, buffer: bytes, limit: int) -> int:
        """Scan on up to buffer[:limit] (complete tags); return how much of the buffer is
        done with (the current row is kept, to count its cells)."""
        position = self.position
        while not self.done and position < limit:
            if not self.inside:
                position = self._find_table(buffer, position, limit)
                continue
            end = buffer.find(b"</table:table>", position, limit)
            stop = end if end >= 0 else limit
            hits = [h for h in (buffer.find(n, position, stop) for n in _ODS_HITS) if h >= 0]
            if not hits:
                self._count_rows(buffer, position, stop)
                position = stop
                self.done = end >= 0
                continue
            tag_start = buffer.rfind(b"<", position, min(hits))
            tag_end = buffer.find(b">", min(hits), limit)
            if tag_start < 0 or tag_end < 0:
                raise ValueError("unexpected content.xml layout")
            self._count_rows(buffer, position, tag_start)
            self._tag(buffer, tag_start, tag_end + 1)
            position = tag_end + 1
        keep = limit if self.row_start < 0 else min(limit, self.row_start)
        self.row_start -= keep
        self.position = max(position - keep, 0)
        return keep

    def _find_table(self, buffer: bytes, position: int, limit: int) -> int:
        while (start := buffer.find(b"<table:table ", position, limit)) >= 0:
            end = buffer.find(b">", start, limit)
            name = _ods_attributes(buffer[start:end]).get(b"name", b"")
            position = end + 1
            unescaped = name.decode("utf-8", "replace")
            for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
                unescaped = unescaped.replace(entity, char)
            if unescaped.replace("&amp;", "&") == self.sheet_name:
                self.inside = True
                return position
        return limit

    def _count_rows(self, buffer: bytes, start: int, end: int) -> None:
        """Account for the rows that begin between start and end."""
        started = _count_any(buffer, _ODS_ROWS, start, end)
        if not started:
            return
        self.next_row += started + _repeats(buffer, b'table:number-rows-repeated="', start, end)
        last = max(buffer.rfind(needle, start, end) for needle in _ODS_ROWS)
        tag = buffer[last : buffer.find(b">", last) + 1]
        self.row = self.next_row - int(_ods_attributes(tag).get(b"number-rows-repeated", b"1"))
        self.row_start = last

    def _tag(self, buffer: bytes, start: int, end: int) -> None:
        """A tag holding a hit: a hidden row, or a merged cell."""
        tag = buffer[start:end]
        attributes = _ods_attributes(tag)
        if any(tag.startswith(row) for row in _ODS_ROWS):
            repeat = int(attributes.get(b"number-rows-repeated", b"1"))
            self.row, self.row_start = self.next_row, start
            self.next_row += repeat
            if attributes.get(b"visibility") in (b"collapse", b"filter"):
                self.hidden.append((self.row, self.row + repeat - 1))
            return
        if self.row_start < 0 or not any(tag.startswith(cell) for cell in _ODS_CELLS):
            return
        column = _count_any(buffer, _ODS_CELLS, self.row_start, start) + _repeats(
            buffer, b'table:number-columns-repeated="', self.row_start, start
        )
        across = int(attributes.get(b"number-columns-spanned", b"1"))
        down = int(attributes.get(b"number-rows-spanned", b"1"))
        if across > 1 or down > 1:
            self.merges.append(_Merge(self.row, column, self.row + down - 1, column + across - 1))


# --------------------------------------------------------------------------- CSV


def _csv_source(path: Path, file_name: str, encoding: str | None, delimiter: str | None) -> _Source:
    """A CSV file as one sheet named after the file; its rows are streamed."""
    encoding = _csv_encoding(path, encoding)
    if delimiter is None:
        delimiter = _sniff_delimiter(path, encoding)
    stem = Path(file_name).stem or file_name

    def records(after: int = 0) -> Iterator[list[Any]]:
        return _csv_records(path, file_name, encoding, delimiter, after)

    return _Source(
        file_format="csv",
        sheet_name=stem,
        sheet_names=[stem],
        hidden_sheets=[],
        rows=records(),
        first_number=1,
        col_offset=0,
        last_row=None,
        data_rows=records,
    )


def _csv_encoding(path: Path, encoding: str | None) -> str:
    """The given encoding (utf-8 upgraded to utf-8-sig when the file has a BOM), else the
    detected one: a BOM, else UTF-8 when the whole file decodes strictly, else cp1252."""
    with open(path, "rb") as stream:
        head = stream.read(4)
        bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
        if encoding is not None:
            try:
                name = codecs.lookup(encoding).name
            except LookupError:
                raise InvalidInput(f"'{encoding}' is not a known text encoding") from None
            return "utf-8-sig" if name == "utf-8" and bom == "utf-8-sig" else encoding
        if bom is not None:
            return bom
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter among , ; tab | that csv.Sniffer finds in the first 64 KiB, when it
    occurs in the first non-blank line; else the one most frequent in that line (',' when
    none occurs). ';' wins over ',' when it occurs more often in that line (decimal commas)."""
    with open(path, encoding=encoding, errors="replace", newline="") as stream:
        sample = stream.read(SNIFF_CHARS)
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        found = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found == "," and first_line.count(";") > first_line.count(","):
        return ";"
    if found and found in _DELIMITERS and found in first_line:
        return found
    count, _, best = max((first_line.count(d), -i, d) for i, d in enumerate(_DELIMITERS))
    return best if count else ","


def _csv_records(
    path: Path, file_name: str, encoding: str, delimiter: str, after: int
) -> Iterator[list[Any]]:
    """The CSV records after the first ``after`` ones; the file is closed at the end."""
    line = 0
    try:
        with open(path, encoding=encoding, newline="") as stream:
            reader = csv.reader(stream, delimiter=delimiter, quotechar='"', strict=False)
            try:
                if after:
                    deque(islice(reader, after), maxlen=0)
                yield from reader
            finally:
                line = reader.line_num
    except UnicodeDecodeError:
        row = _undecodable_row(path, encoding, delimiter)
        where = f"row {row}" if row else f"a row after line {line}"
        raise UnreadableFile(
            f"{where} of {file_name} is not valid {encoding} text; "
            "set the import's encoding (for example cp1252) or save the file as UTF-8"
        ) from None
    except csv.Error as exc:
        raise UnreadableFile(f"line {line} of {file_name} cannot be read: {exc}") from None


_ESCAPED = re.compile("[\udc80-\udcff]")


def _undecodable_row(path: Path, encoding: str, delimiter: str) -> int | None:
    """The record number holding the first undecodable bytes, found by reading again with
    surrogateescape (undecodable bytes become lone surrogates, which decoding never yields)."""
    try:
        with open(path, encoding=encoding, errors="surrogateescape", newline="") as stream:
            reader = csv.reader(stream, delimiter=delimiter, quotechar='"', strict=False)
            for number, record in enumerate(reader, start=1):
                if _ESCAPED.search("\x00".join(record)):
                    return number
    except (UnicodeError, csv.Error):
        return None
    return None
