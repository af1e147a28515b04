"""The rows of an .xlsx/.xlsm sheet read in slices, so that memory does not grow with the rows.

python-calamine loads a whole sheet before it returns the first row (about 75 bytes a cell) and
cannot iterate lazily. Here the sheet's zip member is decompressed as a stream and cut after a
row's end into slices of about ``SLICE_BYTES``; each slice becomes a small workbook in memory
(the sheet's own styles and date system, the slice's rows with their own row numbers and cell
references), which calamine parses in native code exactly as it parses the whole workbook. Cells
pointing into the shared-strings table are turned into marked text cells before the slice is
parsed and looked up afterwards: that table (each distinct text once) is the only part kept
whole.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import python_calamine as calamine

from datadesk.errors import UnreadableFile
from datadesk.importers.formats import CHUNK_SIZE, damaged, read_member

SLICE_BYTES = 2 << 20  # XML of one slice; calamine holds about 3 times that while parsing
MARKER = "\ufdd0"  # a Unicode noncharacter: no real text holds it (checked per slice)
_MARKER_BYTES = MARKER.encode()
_SHARED = b' t="s"><v>'
_MARKED = b' t="str"><v>' + _MARKER_BYTES
_RELS_PART = "xl/_rels/workbook.xml.rels"
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*>")
_SHEET_DATA = re.compile(rb"<((?:[\w.-]+:)?)sheetData\b[^>]*?(/?)>")
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOCUMENT_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOCUMENT_RELS}/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)


class SlicedSheet:
    """One worksheet of an xlsx/xlsm file, read slice by slice (see the module doc).

    ``first_row`` is the Excel row number of the first row holding a value (None for an empty
    sheet); ``rows()`` yields the rows from there on, each a list of raw cells as calamine gives
    them ('' for blank) starting at column A, with [] for a row that holds nothing.
    """

    def __init__(
        self,
        archive: zipfile.ZipFile,
        part: str,
        *,
        file_name: str,
        epoch_1904: bool,
        slice_bytes: int = SLICE_BYTES,
    ) -> None:
        self.archive = archive
        self.part = part
        self.file_name = file_name
        self.slice_bytes = slice_bytes
        related = _related_parts(archive)
        self.styles = (
            read_member(archive, related["styles"], 1 << 26) if "styles" in related else None
        )
        self.strings_part = related.get("sharedStrings")
        self.strings: list[str] | None = None
        self.workbook_xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" '
            f'xmlns:r="{_DOCUMENT_RELS}">'
            + ('<workbookPr date1904="1"/>' if epoch_1904 else "")
            + '<sheets><sheet name="Sheet" sheetId="1" r:id="rId1"/></sheets></workbook>'
        )
        self.stream = archive.open(part)
        self.buffer = b""
        self.header, self.footer, self.row_tag = self._read_header()
        self.pending: list[tuple[int, list[list[Any]]]] = []  # (first row index, rows)
        self.first_row: int | None = None
        self.next_index = 0  # 0-based index of the next row to yield
        self._prime()

    @classmethod
    def open(cls, path: Any, part: str, *, file_name: str, epoch_1904: bool) -> SlicedSheet | None:
        """The sliced sheet, or None when its XML is not laid out as slicing needs (rows
        without numbers): the caller then reads it whole."""
        archive = zipfile.ZipFile(path)
        try:
            sheet = cls(archive, part, file_name=file_name, epoch_1904=epoch_1904)
        except _NotSliceable:
            archive.close()
            return None
        except BaseException:
            archive.close()
            raise
        return sheet

    def close(self) -> None:
        """Close the zip member and the file."""
        self.stream.close()
        self.archive.close()

    # --- reading ---------------------------------------------------------------------------

    def _read_header(self) -> tuple[bytes, bytes, bytes]:
        """The sheet's XML up to its first row (without its dimension), the closing tags, and
        the row tag with the sheet's namespace prefix."""
        while True:
            found = _SHEET_DATA.search(self.buffer)
            if found is not None:
                break
            chunk = self.stream.read(CHUNK_SIZE)
            if not chunk or len(self.buffer) > 1 << 26:
                raise _NotSliceable
            self.buffer += chunk
        prefix, empty = found.group(1), found.group(2)
        footer = b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
        header = _DIMENSION.sub(b"", self.buffer[: found.start()]) + b"<" + prefix + b"sheetData>"
        self.buffer = b"" if empty else self.buffer[found.end() :]
        if empty:
            self.stream.close()
        return header, footer, b"<" + prefix + b"row"

    def _next_part(self) -> bytes | None:
        """The XML of the next slice's rows, None at the end of the sheet's data."""
        end_tag = b"</" + self.row_tag[1:] + b">"
        close_data = self.footer[: self.footer.index(b">") + 1]
        while True:
            if not self.stream.closed:
                finish = self.buffer.find(close_data)
                if finish >= 0:  # the rest of the sheet (merges, page setup) is not needed
                    self.buffer = self.buffer[:finish]
                    self.stream.close()
            cut = self.buffer.rfind(end_tag)
            if len(self.buffer) >= self.slice_bytes and cut >= 0:
                cut += len(end_tag)
                part, self.buffer = self.buffer[:cut], self.buffer[cut:]
                return part
            if self.stream.closed:
                break
            chunk = self.stream.read(CHUNK_SIZE)
            if not chunk:
                self.stream.close()
            self.buffer += chunk
        part, self.buffer = self.buffer, b""
        return part if part.strip() else None

    def _parse(self, part: bytes) -> tuple[int, list[list[Any]]] | None:
        """(0-based index of the first row, rows starting at column A) of one slice, None
        when the slice holds no value."""
        first_tag = part.find(self.row_tag)
        if first_tag >= 0 and b' r="' not in part[first_tag : part.find(b">", first_tag)]:
            raise _NotSliceable  # rows without numbers: positions would restart per slice
        strings_in_xml = marked = False
        if b't="s"' in part:
            replaced = part.replace(_SHARED, _MARKED)
            if _MARKER_BYTES in part or b't="s"' in replaced:
                # Text holding the marker, or attributes in an unusual order: calamine gets
                # the table itself (correct, but it parses the table again for each slice).
                strings_in_xml = True
            else:
                part, marked = replaced, True
        book = self._workbook(part, with_strings=strings_in_xml)
        try:
            workbook = calamine.CalamineWorkbook.from_filelike(io.BytesIO(book))
            try:
                sheet = workbook.get_sheet_by_index(0)
                start = sheet.start
                rows = sheet.to_python(skip_empty_area=True) if start is not None else []
            finally:
                workbook.close()
        except calamine.CalamineError as exc:
            raise damaged(self.file_name, "xlsx", exc) from None
        if start is None:
            return None
        if marked:
            strings = self._shared_strings()
            skip = len(MARKER)
            try:
                for row in rows:
                    for index, value in enumerate(row):
                        if value.__class__ is str and value.startswith(MARKER):
                            row[index] = strings[int(value[skip:])]
            except (ValueError, IndexError):
                raise damaged(
                    self.file_name, "xlsx", "a cell refers to a shared string that is missing"
                ) from None
        if start[1]:
            pad = [""] * start[1]
            rows = [pad + row for row in rows]
        return start[0], rows

    def _workbook(self, rows_xml: bytes, *, with_strings: bool) -> bytes:
        """A one-sheet workbook holding these rows, the styles and the date system."""
        out = io.BytesIO()
        rels = [f'<Relationship Id="rId1" Type="{_DOCUMENT_RELS}/worksheet" Target="s.xml"/>']
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as book:
            book.writestr("[Content_Types].xml", _CONTENT_TYPES)
            book.writestr("_rels/.rels", _ROOT_RELS)
            book.writestr("xl/workbook.xml", self.workbook_xml)
            if self.styles is not None:
                book.writestr("xl/styles.xml", self.styles)
                rels.append(
                    f'<Relationship Id="rId2" Type="{_DOCUMENT_RELS}/styles" Target="styles.xml"/>'
                )
            if with_strings and self.strings_part is not None:
                book.writestr("xl/sharedStrings.xml", self.archive.read(self.strings_part))
                rels.append(
                    f'<Relationship Id="rId3" Type="{_DOCUMENT_RELS}/sharedStrings" '
                    'Target="sharedStrings.xml"/>'
                )
            book.writestr(
                "xl/_rels/workbook.xml.rels",
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_RELS}">'
                + "".join(rels)
                + "</Relationships>",
            )
            book.writestr("xl/s.xml", self.header + rows_xml + self.footer)
        return out.getvalue()

    def _shared_strings(self) -> list[str]:
        if self.strings is None:
            self.strings = (
                read_shared_strings(self.archive, self.strings_part) if self.strings_part else []
            )
        return self.strings

    def _prime(self) -> None:
        """Parse slices up to the first one holding a value: ``first_row`` is then known."""
        while self.first_row is None:
            part = self._next_part()
            if part is None:
                return
            parsed = self._parse(part)
            if parsed is not None:
                self.pending.append(parsed)
                self.first_row = parsed[0] + 1
                self.next_index = parsed[0]

    def rows(self) -> Iterator[list[Any]]:
        """The rows from ``first_row`` on (see the class doc); closes the file at the end."""
        try:
            while True:
                if self.pending:
                    start, rows = self.pending.pop()
                else:
                    part = self._next_part()
                    if part is None:
                        return
                    try:
                        parsed = self._parse(part)
                    except _NotSliceable:
                        raise UnreadableFile(
                            f"{self.file_name}: some rows of the sheet have no row number"
                        ) from None
                    if parsed is None:
                        continue
                    start, rows = parsed
                while self.next_index < start:  # rows holding nothing between two slices
                    self.next_index += 1
                    yield []
                self.next_index = start + len(rows)
                yield from rows
                del rows
        finally:
            self.close()


class _NotSliceable(Exception):
    """The sheet's XML does not allow reading it in slices."""


def _related_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Zip members of the workbook's relationships by kind (styles, sharedStrings)."""
    rels = read_member(archive, _RELS_PART, 1 << 24)
    found: dict[str, str] = {}
    if rels is None:
        return found
    names = set(archive.namelist())
    for element in ElementTree.fromstring(rels).iter():
        if not element.tag.endswith("Relationship"):
            continue
        kind = element.get("Type", "").rsplit("/", 1)[-1]
        target = element.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if member in names:
            found.setdefault(kind, member)
    return found


def read_shared_strings(archive: zipfile.ZipFile, part: str) -> list[str]:
    """The shared-strings table: the text of each ``<si>``, its rich-text runs joined and
    phonetic runs (``<rPh>``) left out, streamed."""
    strings: list[str] = []
    with archive.open(part) as stream:
        for _event, element in ElementTree.iterparse(stream, events=("end",)):
            if element.tag.rsplit("}", 1)[-1] != "si":
                continue
            parts = []
            for child in element:
                name = child.tag.rsplit("}", 1)[-1]
                if name == "t":
                    parts.append(child.text or "")
                elif name == "r":
                    parts.extend(
                        t.text or "" for t in child if t.tag.endswith("}t") or t.tag == "t"
                    )
            strings.append(_unescape("".join(parts)))
            element.clear()
    return strings


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes of characters XML cannot hold."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
