"""Read "column IN (values)" CHECK constraints: legacy Y/N and 0/1 flags, lists of allowed values.

The same constraint reads differently per database: Oracle and SQLite keep the text as written
(``ACTIVE IN ('Y','N')``), PostgreSQL rewrites it
(``(active = ANY (ARRAY['Y'::bpchar, 'N'::bpchar]))``).
Both normalise to one column and its literal values; anything more complex is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

FlagStyle = Literal["yn", "01"]

# PostgreSQL casts inside normalised constraint text: 'Y'::bpchar, (x)::text, ARRAY[...]::text[]
_CAST = re.compile(
    r"::\s*(?:character\s+varying|double\s+precision|timestamp(?:\s+with(?:out)?\s+time\s+zone)?"
    r'|"?[a-z_][a-z0-9_]*"?)(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?(?:\s*\[\s*\])?',
    re.IGNORECASE,
)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_IDENT = r"[a-z_][a-z0-9_$#]*"
_IN_LIST = re.compile(rf"^(?P<col>{_IDENT}) (?:in|= any array) (?P<values>.+)$")
_EQUALS = re.compile(rf"^(?P<col>{_IDENT}) = (?P<values>\S+)$")
_IS_NULL = re.compile(rf"^(?P<col>{_IDENT}) is null$")


@dataclass(frozen=True)
class AllowedValues:
    """A CHECK constraint that limits one column to a list of literal values."""

    column: str  # lower-case column name as written in the constraint
    values: tuple[str | int | Decimal, ...]

    @property
    def flag_style(self) -> FlagStyle | None:
        """'yn' for ('Y','N'), '01' for (0,1), in any order or case; else None."""
        texts = {v.lower() for v in self.values if isinstance(v, str)}
        numbers = {v for v in self.values if not isinstance(v, str)}
        if texts == {"y", "n"} and not numbers:
            return "yn"
        if numbers == {0, 1} and not texts and len(self.values) == 2:
            return "01"
        return None

    @property
    def is_lowercase(self) -> bool:
        """True when the allowed text values are all lower-case ('y','n')."""
        texts = [v for v in self.values if isinstance(v, str)]
        return bool(texts) and all(v == v.lower() and v != v.upper() for v in texts)


def parse_allowed_values(sqltext: str) -> AllowedValues | None:
    """Read ``col IN (...)``, ``col = ANY (ARRAY[...])`` or ``col = a OR col = b`` constraints."""
    literals: dict[str, str] = {}

    def stash(match: re.Match[str]) -> str:
        key = f"\x00{len(literals)}\x00"
        literals[key] = match.group(1).replace("''", "'")
        return f" {key} "

    text = _STRING.sub(stash, sqltext)
    text = _CAST.sub(" ", text)
    text = re.sub(r'[()\[\]"`]', " ", text)
    text = re.sub(r"\s+", " ", text).strip().lower()
    text = re.sub(r"\s*,\s*", ",", text)
    column: str | None = None
    values: list[str | int | Decimal] = []
    for part in re.split(r" or ", text):
        part = part.strip()
        if _IS_NULL.match(part):
            continue
        match = _IN_LIST.match(part) or _EQUALS.match(part)
        if match is None:
            return None
        if column is not None and match.group("col") != column:
            return None
        column = match.group("col")
        for token in match.group("values").split(","):
            value = _literal(token.strip(), literals)
            if value is None:
                return None
            values.append(value)
    if column is None or not values:
        return None
    return AllowedValues(column=column, values=tuple(dict.fromkeys(values)))


def allowed_values_by_column(checks: Iterable[str]) -> dict[str, AllowedValues]:
    """The allowed-values constraints of one table, by lower-case column name."""
    found: dict[str, AllowedValues] = {}
    for sqltext in checks:
        parsed = parse_allowed_values(sqltext)
        if parsed is not None and parsed.column not in found:
            found[parsed.column] = parsed
    return found


def _literal(token: str, literals: dict[str, str]) -> str | int | Decimal | None:
    """A string (from the stash) or a number; None when the token is anything else."""
    token = token.strip()
    if token in literals:
        return literals[token]
    try:
        number = Decimal(token)
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() else number
