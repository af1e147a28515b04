"""Helpers of the transform tests: one target column, one cell, converted."""

from __future__ import annotations

from typing import Any

import pytest

from datadesk.config.schema import ImportColumn
from datadesk.importers.transforms import ValueProblem, make_converter
from datadesk.models.catalog import ColumnInfo, ColumnKind

DMY_FIRST = ["%d.%m.%Y", "%Y-%m-%d"]


def column(kind: ColumnKind, **settings: Any) -> ColumnInfo:
    """A target column of the given kind."""
    return ColumnInfo(name="target", db_name="TARGET", kind=kind, label="Target", **settings)


def spec(**settings: Any) -> ImportColumn:
    """Import settings of one column, read from the sheet column 'Source'."""
    return ImportColumn.model_validate({"from": "Source", **settings})


def convert(kind: ColumnKind, value: Any, *, epoch_1904: bool = False, **settings: Any) -> Any:
    """Convert one value; column settings and import settings are told apart by name."""
    column_keys = {"length", "scale", "nullable", "choices", "flag_style", "type_name"}
    target = column(kind, **{k: v for k, v in settings.items() if k in column_keys})
    how = spec(**{k: v for k, v in settings.items() if k not in column_keys})
    return make_converter(target, how, epoch_1904=epoch_1904)(value)


def problem(kind: ColumnKind, value: Any, **settings: Any) -> str:
    """The message of the problem converting one value raises."""
    with pytest.raises(ValueProblem) as caught:
        convert(kind, value, **settings)
    assert str(caught.value) == caught.value.message
    return caught.value.message
