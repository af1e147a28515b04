"""What python-calamine does not report, read from a workbook's zip parts with byte scans:
the 1904 date system, hidden rows and merged ranges of xlsx/xlsm, hidden rows and merged ranges
of ods."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

from datadesk.importers.formats import CHUNK_SIZE, read_member


class Merge(NamedTuple):
    """A merged range: Excel row numbers (1-based) and 0-based column indexes, inclusive."""

    top: int
    left: int
    bottom: int
    right: int


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xlsx_details(path: Path, sheet_name: str) -> XlsxDetails:
    """What a sheet of an xlsx/xlsm file holds besides its cells: the 1904 date system flag,
    the zip member of the sheet, its hidden rows and its merged ranges.

    A workbook whose parts cannot be followed gives no details: calamine reads it anyway.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            workbook_xml = read_member(archive, "xl/workbook.xml", 1 << 24)
            if workbook_xml is None:
                return XlsxDetails(False, None, [], [])
            workbook = ElementTree.fromstring(workbook_xml)
            epoch_1904 = any(
                _local(el.tag) == "workbookPr" and el.get("date1904", "").lower() in ("1", "true")
                for el in workbook.iter()
            )
            part = _xlsx_sheet_part(archive, workbook, sheet_name)
            hidden, merges = _xlsx_row_marks(archive, part) if part else ([], [])
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return XlsxDetails(False, None, [], [])
    return XlsxDetails(epoch_1904, part, [(n, n) for n in hidden], merges)


class XlsxDetails(NamedTuple):
    """See ``xlsx_details``."""

    epoch_1904: bool
    part: str | None  # zip member of the sheet
    hidden_rows: list[tuple[int, int]]  # inclusive ranges of Excel row numbers
    merges: list[Merge]


def _xlsx_sheet_part(
    archive: zipfile.ZipFile, workbook: ElementTree.Element, sheet_name: str
) -> str | None:
    """The zip member holding a sheet, found through workbook.xml and its relationships."""
    rel_id = None
    for element in workbook.iter():
        if _local(element.tag) == "sheet" and element.get("name") == sheet_name:
            rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
            break
    rels_xml = read_member(archive, "xl/_rels/workbook.xml.rels", 1 << 24)
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
_MERGE_TAG = re.compile(rb"<(?:[\w.-]+:)?mergeCell\s")
_HIDDEN_ATTR = re.compile(rb"""\shidden\s*=\s*["'](?:1|true)["']""")
_ROW_NUMBER_ATTR = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")
_REF_ATTR = re.compile(rb"""\sref\s*=\s*["']\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)["']""")
_NEEDLES = (b"hidden=", b"mergeCell ")


def _xlsx_row_marks(
    archive: zipfile.ZipFile, part: str, chunk_size: int = CHUNK_SIZE
) -> tuple[list[int], list[Merge]]:
    """Excel row numbers of ``<row r=".." hidden="1">`` and the ``<mergeCell ref="..">``
    ranges of a sheet part.

    The part is streamed and searched with bytes.find (parsing every row of a large sheet in
    Python would cost more than reading its cells); each hit is checked to be inside the
    right tag. Only whole tags are looked at: the buffer is cut after its last '>', and the
    rest is carried over to the next chunk.
    """
    hidden: list[int] = []
    merges: list[Merge] = []
    carry = b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(chunk_size)
            buffer = carry + chunk
            end = buffer.rfind(b">") + 1 if chunk else len(buffer)
            for needle in _NEEDLES:
                position = buffer.find(needle, 0, end)
                while position >= 0:
                    opening = buffer.rfind(b"<", 0, position)
                    close = buffer.find(b">", position, end)
                    if opening >= 0 and close >= 0 and buffer.find(b">", opening, position) < 0:
                        _mark(buffer[opening : close + 1], hidden, merges)
                    position = buffer.find(needle, position + 1, end)
            if not chunk:
                return hidden, merges
            carry = buffer[end:]  # the unfinished tag, looked at with the next chunk
            if len(carry) > 1 << 20:  # text without tags: only a tag begun in it matters
                opening = carry.rfind(b"<")
                carry = carry[opening:] if opening >= 0 else b""


def _mark(tag: bytes, hidden: list[int], merges: list[Merge]) -> None:
    if _ROW_TAG.match(tag):
        if _HIDDEN_ATTR.search(tag):
            number = _ROW_NUMBER_ATTR.search(tag)
            if number:
                hidden.append(int(number.group(1)))
        return
    if _MERGE_TAG.match(tag):
        ref = _REF_ATTR.search(tag)
        if ref:
            left, top, right, bottom = ref.groups()
            merges.append(Merge(int(top), _column_index(left), int(bottom), _column_index(right)))


def _column_index(letters: bytes) -> int:
    index = 0
    for byte in letters:
        index = index * 26 + byte - 64
    return index - 1


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


def ods_details(
    path: Path, sheet_name: str, chunk_size: int = CHUNK_SIZE
) -> tuple[list[tuple[int, int]], list[Merge]]:
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
        self.merges: list[Merge] = []

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
            self.merges.append(Merge(self.row, column, self.row + down - 1, column + across - 1))
