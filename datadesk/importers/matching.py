"""Find the sheet columns that feed each target column: by a profile's configured headings, or,
without a profile, by suggesting the most similar heading for each column of the table.

Headings are compared by ``normalize_heading`` (case, spaces and punctuation ignored), so
'Emp. No', 'EMP NO' and 'emp_no' are one heading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from datadesk.config.schema import ImportProfile
from datadesk.importers.sheet import Heading, normalize_heading
from datadesk.models.catalog import ColumnInfo, TableInfo

SUGGESTION_THRESHOLD = 0.6  # least similarity for a suggested heading
WORD_MATCH_WEIGHT = 0.85  # word-by-word agreement scores a little below exact similarity
MIN_ABBREVIATION = 3  # 'emp' may stand for 'employee'; 'no' may not stand for 'notes'
UNFIT_KINDS = frozenset({"binary", "unsupported"})

_WORDS = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class HeadingMatch:
    """Which sheet heading feeds which target column of an import profile."""

    found: dict[str, Heading]
    """Target column name (as written in the profile) -> the heading that feeds it."""
    missing: list[str]
    """Target columns (not optional) none of whose headings is in the sheet."""
    unused: list[Heading]
    """Sheet headings that feed no column, in sheet order."""
    ambiguous: dict[str, list[Heading]]
    """Target columns whose heading appears more than once in the sheet -> every such
    heading; ``found`` holds the leftmost."""


def match_headings(headings: Sequence[Heading], profile: ImportProfile) -> HeadingMatch:
    """Match each profile column that reads the sheet (``from``) to a heading.

    A column's headings are tried in order (the usual one, then its aliases) and the first
    one present in the sheet wins; when the sheet holds it twice, the leftmost is taken and
    the column is listed in ``ambiguous``. One heading may feed several columns. Columns
    filled by a constant or default only are neither found nor missing.
    """
    by_text: dict[str, list[Heading]] = {}
    for heading in headings:
        key = normalize_heading(heading.text)
        if key:
            by_text.setdefault(key, []).append(heading)

    found: dict[str, Heading] = {}
    missing: list[str] = []
    ambiguous: dict[str, list[Heading]] = {}
    for name, spec in profile.columns.items():
        if not spec.source:
            continue
        for source in spec.source:
            matches = by_text.get(normalize_heading(source))
            if matches:
                found[name] = matches[0]
                if len(matches) > 1:
                    ambiguous[name] = list(matches)
                break
        else:
            if not spec.optional:
                missing.append(name)

    used = {heading.index for heading in found.values()}
    unused = [heading for heading in headings if heading.index not in used]
    return HeadingMatch(found=found, missing=missing, unused=unused, ambiguous=ambiguous)


def suggest_mapping(headings: Sequence[Heading], table: TableInfo) -> dict[str, Heading]:
    """Suggest, for the columns of ``table``, the sheet heading most like each column.

    A heading is compared with the column's name and its label: by ``SequenceMatcher``
    similarity of the normalized texts (1.0 when equal) and by agreement of their words,
    where a word of three letters or more may abbreviate another ('Emp No' ~ employee_no).
    Pairs scoring at least ``SUGGESTION_THRESHOLD`` are assigned best first, each heading and
    each column at most once. Columns no import writes are never suggested: binary and
    unsupported ones, generated keys, hidden and read-only columns. The result is in the
    table's column order.
    """
    columns = [column for column in table.columns.values() if _importable(column)]
    sheet = [
        (heading, normalize_heading(heading.text), _words(heading.text))
        for heading in headings
        if normalize_heading(heading.text)
    ]
    pairs: list[tuple[float, int, int, str, Heading]] = []
    for column_order, column in enumerate(columns):
        names = [(normalize_heading(text), _words(text)) for text in _names_of(column)]
        for heading_order, (heading, text, words) in enumerate(sheet):
            score = max(_similarity(text, words, name, name_words) for name, name_words in names)
            if score >= SUGGESTION_THRESHOLD:
                pairs.append((-score, column_order, heading_order, column.name, heading))

    chosen: dict[str, Heading] = {}
    taken: set[int] = set()
    for _, _, _, name, heading in sorted(pairs, key=lambda pair: pair[:3]):
        if name in chosen or heading.index in taken:
            continue
        chosen[name] = heading
        taken.add(heading.index)
    return {column.name: chosen[column.name] for column in columns if column.name in chosen}


def _importable(column: ColumnInfo) -> bool:
    """Whether an import may write the column at all."""
    if column.kind in UNFIT_KINDS or column.is_hidden or column.is_read_only:
        return False
    return not (column.is_primary_key and column.is_generated)


def _names_of(column: ColumnInfo) -> list[str]:
    """The texts a heading for the column may resemble: its name and its label."""
    names = [column.name]
    if column.label and normalize_heading(column.label) != normalize_heading(column.name):
        names.append(column.label)
    return names


def _words(text: str) -> tuple[str, ...]:
    """The lower-case words of a heading or name ('employeeNo' -> ('employee', 'no'))."""
    return tuple(word.casefold() for word in _WORDS.findall(_CAMEL.sub(" ", str(text))))


def _similarity(text: str, words: tuple[str, ...], name: str, name_words: tuple[str, ...]) -> float:
    """How alike a normalized heading and a normalized column name or label are, 0 to 1."""
    if not text or not name:
        return 0.0
    if text == name:
        return 1.0
    ratio = SequenceMatcher(None, text, name, autojunk=False).ratio()
    return max(ratio, WORD_MATCH_WEIGHT * _word_agreement(words, name_words))


def _word_agreement(first: tuple[str, ...], second: tuple[str, ...]) -> float:
    """The share of words the two texts have in common, counting an abbreviation (a word of at
    least three letters that begins the other) as common."""
    if not first or not second:
        return 0.0
    remaining = list(second)
    common = 0
    for word in first:
        for index, other in enumerate(remaining):
            if word == other or _abbreviates(word, other) or _abbreviates(other, word):
                common += 1
                del remaining[index]
                break
    return 2 * common / (len(first) + len(second))


def _abbreviates(short: str, long: str) -> bool:
    """Whether ``short`` is a shortening of ``long`` ('emp' of 'employee')."""
    return len(short) >= MIN_ABBREVIATION and len(short) < len(long) and long.startswith(short)
