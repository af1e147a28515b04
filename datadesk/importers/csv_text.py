"""CSV text: encoding and delimiter detection and streamed records, shared by the reader and
the error workbook (so both see the same cells in the same places)."""

from __future__ import annotations

import codecs
import csv
import re
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from datadesk.errors import InvalidInput, UnreadableFile

SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t|"
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def csv_encoding(path: Path, encoding: str | None) -> str:
    """The given encoding (utf-8 upgraded to utf-8-sig when the file has a BOM), else the
    detected one: a BOM, else UTF-8 when the whole file decodes strictly, else cp1252."""
    with open(path, "rb") as stream:
        head = stream.read(4)
        bom = next((enc for mark, enc in BOMS if head.startswith(mark)), None)
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


def sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter among , ; tab | that csv.Sniffer finds in the first 64 KiB, when it
    occurs in the first non-blank line; else the one most frequent in that line (',' when
    none occurs). ';' wins over ',' when it occurs more often in that line (decimal commas)."""
    with open(path, encoding=encoding, errors="replace", newline="") as stream:
        sample = stream.read(SNIFF_CHARS)
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found == "," and first_line.count(";") > first_line.count(","):
        return ";"
    if found and found in DELIMITERS and found in first_line:
        return found
    count, _, best = max((first_line.count(d), -i, d) for i, d in enumerate(DELIMITERS))
    return best if count else ","


def csv_records(
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
