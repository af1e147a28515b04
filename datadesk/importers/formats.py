"""Recognize an uploaded file's format by its content, and refuse what must not be unpacked:
password-protected, damaged or foreign files, and zip bombs (checked before any reader opens a
zipped workbook)."""

from __future__ import annotations

import codecs
import struct
import zipfile
from pathlib import Path

from datadesk.errors import FileTooLarge, UnreadableFile
from datadesk.importers.csv_text import BOMS, DELIMITERS
from datadesk.importers.sheet import (
    FileFormat,
)

ACCEPTED_FORMATS = ".xlsx, .xlsm, .xls, .ods, .csv"
MAX_ZIP_ENTRIES = 10_000
MAX_UNPACKED_BYTES = 2 * 1024**3
CHUNK_SIZE = 1 << 20  # bytes read at a time from a zip member

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
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


def password_message(file_name: str) -> str:
    return f"{file_name} is protected by a password: save a copy without a password and upload that"


def _not_accepted(file_name: str, detail: str = "") -> UnreadableFile:
    what = f" ({detail})" if detail else ""
    return UnreadableFile(
        f"{file_name} is not a spreadsheet that can be imported{what}; "
        f"accepted formats: {ACCEPTED_FORMATS}"
    )


def damaged(file_name: str, kind: str, exc: BaseException | str) -> UnreadableFile:
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
                types = read_member(archive, "[Content_Types].xml", 1 << 20) or b""
                return "xlsm" if b"macroenabled" in types.lower() else "xlsx"
            mimetype = (read_member(archive, "mimetype", 256) or b"").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise damaged(file_name, "zip (xlsx, xlsm, ods)", exc) from None
    if mimetype.startswith(_ODS_MIMETYPE):
        return "ods"
    if mimetype.startswith(b"application/vnd.oasis.opendocument."):
        kind = mimetype.decode("ascii", "replace").rsplit(".", 1)[-1]
        raise _not_accepted(file_name, f"it is an OpenDocument {kind}, not a spreadsheet")
    for member, kind in _ZIP_KINDS:
        if member in names:
            raise _not_accepted(file_name, f"it is {kind}")
    raise _not_accepted(file_name, "it is a zip archive")


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
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
        raise UnreadableFile(password_message(file_name))
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
    bom = next((enc for mark, enc in BOMS if head.startswith(mark)), None)
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
    if not any(ch in first_line for ch in DELIMITERS):
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
        raise damaged(file_name, "zip (xlsx, xlsm, ods)", exc) from None
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
