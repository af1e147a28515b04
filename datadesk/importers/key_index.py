"""The keys an import has seen so far, to name a key repeated within the file, in little memory.

A dict of every key of a million-row file would hold a million tuples (well over 100 MB); this
index keeps a 64-bit fingerprint and the Excel row number per key, 12 bytes, in arrays split into
buckets by the fingerprint's low bits. Two different keys with one fingerprint (about one chance
in 10^8 for a million keys) would be reported as repeated: the import then stops with a problem
on that row, it never writes a wrong row.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable

BUCKET_BITS = 14  # 16,384 buckets: 61 keys per bucket at a million rows


class KeyIndex:
    """Fingerprints of keys with the row where each was first seen."""

    def __init__(self) -> None:
        size = 1 << BUCKET_BITS
        self.mask = size - 1
        self.prints: list[array[int] | None] = [None] * size
        self.rows: list[array[int] | None] = [None] * size
        self.count = 0

    def first_row(self, key: Hashable, row: int) -> int | None:
        """The row where ``key`` was seen before, else None (and the key is now recorded as
        seen at ``row``). ``key`` must compare and hash as its normalized value."""
        fingerprint = hash(key)
        bucket = fingerprint & self.mask
        prints = self.prints[bucket]
        if prints is None:
            self.prints[bucket] = array("q", [fingerprint])
            self.rows[bucket] = array("i", [row])
            self.count += 1
            return None
        if fingerprint in prints:
            rows = self.rows[bucket]
            assert rows is not None
            return int(rows[prints.index(fingerprint)])
        prints.append(fingerprint)
        rows = self.rows[bucket]
        assert rows is not None
        rows.append(row)
        self.count += 1
        return None
