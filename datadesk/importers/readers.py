"""Readers of uploaded workbooks: recognize the format, then hand one sheet to the import
engine as a :class:`~datadesk.importers.sheet.SheetData`.

Workbooks (.xlsx, .xlsm, .xls, .ods) are read with python-calamine, CSV files with the
standard library. Positions are the ones the user sees: Excel row numbers and absolute
column indexes (``column_letter(index)`` is the letter Excel shows), whatever the first used
cell of the sheet is. Zip-based workbooks are checked against decompression bombs before
anything unpacks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

from datadesk.config.schema import DEFAULT_SKIP_ROWS, ImportProfile, ImportSettings
from datadesk.errors import FileTooLarge, InvalidInput, UnreadableFile
from datadesk.importers.formats import (
    ACCEPTED_FORMATS,
    check_zip_limits,
    detect_format,
)
from datadesk.importers.sheet import (
    Heading,
    SheetData,
    SourceRow,
    normalize_heading,
)
from datadesk.importers.sources import Source, csv_source, workbook_source
from datadesk.importers.xml_scan import Merge

HEADER_WINDOW = 30  # non-blank rows searched for the headings
HEADER_WINDOW_LIMIT = 1_000  # rows read at most while looking for them
MAX_LISTED_ROWS = 10  # row numbers spelled out in one notice
_UNBOUNDED = 1 << 31  # no Excel row number is larger

__all__ = [
    "ACCEPTED_FORMATS",
    "check_zip_limits",
    "detect_format",
    "open_profile_sheet",
    "open_sheet",
]

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
        yield SourceRow(number, values)
    if hidden:
        skipped = {*blank_rows, *(n for n, _ in matched)}
        read = [n for n in hidden if n <= number and n not in skipped]
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
        if len(raw) < stop:  # the merge covers cells the row as read does not reach
            raw.extend([""] * (stop - len(raw)))
        for index in range(start, stop):
            raw[index] = value


def _data_fills(
    merges: list[Merge], header_row: int, last_row: int, col_offset: int
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


def _heading_texts(grid: _Grid, number: int, merges: list[Merge]) -> dict[int, str]:
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


def _find_header_row(grid: _Grid, merges: list[Merge], expected: frozenset[str]) -> int:
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


def _is_group_row(grid: _Grid, number: int, merges: list[Merge]) -> bool:
    """True when the row holds group headings: merges over several columns, with every
    non-blank cell of the next row (the sub-headings) lying under one of them."""
    groups = [m for m in merges if m.top == number and m.bottom == number and m.right > m.left]
    below = grid.row(number + 1)
    if not groups or not below:
        return False
    columns = [grid.col_offset + i for i, v in enumerate(below) if _text(v)]
    return bool(columns) and all(any(m.left <= c <= m.right for m in groups) for c in columns)


# --------------------------------------------------------------------------- assembling


def _assemble(source: Source, options: _Options) -> SheetData:
    """Find the headings, then build the SheetData with its lazy row iterator."""
    grid, header_row, texts = _locate_headings(source, options)
    # A streamed sheet's last row is known only at its end: hidden rows and merges are
    # bounded by the rows actually read then.
    last_row = source.last_row if source.last_row is not None else _UNBOUNDED
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


def _locate_headings(source: Source, options: _Options) -> tuple[_Grid, int, dict[int, str]]:
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
        source = csv_source(path, file_name, encoding, delimiter)
    else:
        if file_format != "xls":
            check_zip_limits(path, file_name, max_expansion)
        source = workbook_source(path, file_name, file_format, sheet)
    return _assemble(source, options)


def open_profile_sheet(
    path: Path, file_name: str, profile: ImportProfile, settings: ImportSettings
) -> SheetData:
    """``open_sheet`` with what an import profile and the import limits say."""
    return open_sheet(
        path,
        file_name=file_name,
        sheet=profile.sheet,
        header_row=profile.header_row,
        expected_headings=[h for c in profile.columns.values() for h in c.source],
        skip_blank_rows=profile.skip_blank_rows,
        skip_rows_matching=profile.skip_rows_matching,
        encoding=profile.encoding,
        delimiter=profile.delimiter,
        max_rows=settings.max_rows,
        max_expansion=settings.max_expansion,
    )
