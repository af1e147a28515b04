"""Human labels for tables, columns and rows: from comments, else from the database names."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

# Legacy schemas abbreviate; labels spell the words out.
ABBREVIATIONS = {
    "acct": "account",
    "addr": "address",
    "amt": "amount",
    "cat": "category",
    "cert": "certification",
    "dept": "department",
    "desc": "description",
    "dob": "date of birth",
    "emp": "employee",
    "mgr": "manager",
    "no": "number",
    "num": "number",
    "org": "organization",
    "qty": "quantity",
    "tel": "telephone",
}
ACRONYMS = frozenset({"id", "url", "uuid", "guid", "ip", "iban", "vat", "pdf", "sso", "api", "nhs"})
UNCOUNTABLE = frozenset(
    {"staff", "personnel", "data", "information", "equipment", "feedback", "news"}
)
FK_SUFFIXES = ("_id", "_code", "_no", "_key", "_fk")
LABEL_MAX_CHARS = 60
_LABEL_EDGES = " ,;:/-|"
NAME_COLUMNS = ("name", "title", "label", "description", "code")


def words_of(name: str) -> list[str]:
    """Split a database name into lower-case words: DATE_OF_BIRTH, dateOfBirth, 'Date of birth'."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[\s_\-$#.]+", spaced.lower()) if w]


def humanize(name: str) -> str:
    """'DATE_OF_BIRTH' -> 'Date of birth', 'DEPT_NAME' -> 'Department name', 'ID' -> 'ID'."""
    words = [ABBREVIATIONS.get(w, w) for w in words_of(name)]
    words = [w.upper() if w in ACRONYMS else w for w in words]
    if not words:
        return name
    text = " ".join(words)
    return text[0].upper() + text[1:]


def strip_fk_suffix(name: str) -> str:
    """'dept_id' -> 'dept', 'country_code' -> 'country'; unchanged when nothing would remain."""
    lowered = name.lower()
    for suffix in FK_SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return name[: -len(suffix)]
    return name


def foreign_key_label(column_name: str, target_label: str) -> str:
    """'DEPT_ID' -> 'Department'; a bare 'ID' column takes the referenced table's label."""
    stem = strip_fk_suffix(column_name)
    if stem.lower() == column_name.lower() and column_name.lower() in {"id", "code", "no", "key"}:
        return target_label
    return humanize(stem)


def split_comment(comment: str | None) -> tuple[str | None, str | None]:
    """A comment as (label, help): a short first sentence is the label, the rest is the help."""
    if not comment or not comment.strip():
        return None, None
    text = " ".join(comment.split())
    match = re.match(r"^(.+?[.!?])(?:\s+(.*))?$", text)
    first, rest = (match.group(1), match.group(2)) if match else (text, None)
    first = first.rstrip(".").strip()
    if len(first) > LABEL_MAX_CHARS:
        return None, text
    return first[0].upper() + first[1:], (rest or None)


def singular(label: str) -> str:
    """The singular of a table label: 'Access requests' -> 'Access request'."""
    head, last = _split_last_word(label)
    lower = last.lower()
    if lower in UNCOUNTABLE or len(lower) < 3 or not lower.endswith("s"):
        return label
    if lower.endswith(("ss", "us", "is")):
        return label
    if lower.endswith("ies") and len(lower) > 4:
        return head + last[:-3] + _case_like(last, "y")
    if lower.endswith(("sses", "xes", "zes", "ches", "shes", "tuses", "puses", "ruses", "buses")):
        return head + last[:-2]
    return head + last[:-1]


def plural(label: str) -> str:
    """The plural of a table label: 'Category' -> 'Categories', 'Staff' -> 'Staff'."""
    head, last = _split_last_word(label)
    lower = last.lower()
    if not lower or lower in UNCOUNTABLE or not lower[-1].isalpha():
        return label
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return label
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return head + last[:-1] + _case_like(last, "ies")
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return head + last + _case_like(last, "es")
    return head + last + _case_like(last, "s")


def placeholders(template: str) -> list[str]:
    """The column names a row label template uses: '{last_name}, {first_name}' -> both."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return names
    for _text, field, _spec, _conversion in parsed:
        if field:
            names.append(re.split(r"[.\[]", field, maxsplit=1)[0])
    return names


def format_row_label(template: str, values: Mapping[str, Any]) -> str:
    """Fill a row label template; missing or NULL values render empty, never raise."""
    safe = {
        name: ("" if values.get(name) is None else values.get(name))
        for name in placeholders(template)
    }
    try:
        return template.format_map(safe).strip(_LABEL_EDGES)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return (
            string.Formatter()
            .vformat(re.sub(r"\{([^{}:!]+)[^{}]*\}", r"{\1}", template), (), _Stringified(safe))
            .strip(_LABEL_EDGES)
        )


def default_row_label(table_name: str, columns: Iterable[str], key: Iterable[str]) -> str:
    """Guess a readable row label: a name/title column, 'last, first', else the key values."""
    names = list(columns)
    present = set(names)
    if {"last_name", "first_name"} <= present:
        return "{last_name}, {first_name}"
    if {"surname", "first_name"} <= present:
        return "{surname}, {first_name}"
    stem = strip_fk_suffix(table_name.lower())
    for candidate in (*NAME_COLUMNS, f"{stem}_name", f"{singular(stem)}_name", f"{stem}_title"):
        if candidate in present:
            return "{" + candidate + "}"
    for name in names:
        if name.endswith(("_name", "_title")):
            return "{" + name + "}"
    key_names = list(key)[:3]
    return " / ".join("{" + k + "}" for k in key_names)


class _Stringified(dict[str, Any]):
    """Values as text, so a format spec meant for numbers cannot fail on an empty value."""

    def __getitem__(self, key: str) -> str:
        return str(super().get(key, ""))


def _split_last_word(label: str) -> tuple[str, str]:
    """('Access ', 'requests') for 'Access requests'."""
    match = re.match(r"^(.*?)([A-Za-z]+)$", label)
    if not match:
        return "", label
    return match.group(1), match.group(2)


def _case_like(word: str, suffix: str) -> str:
    """Upper-case a suffix when the word it extends is upper-case."""
    return suffix.upper() if word.isupper() else suffix
