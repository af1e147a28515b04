"""Form widgets for every reflected column kind, on top of sqladmin's converter."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqladmin.forms import ModelConverter
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    Form,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    validators,
)

from datadesk.admin_views.session_gate import current_csrf_token

DATETIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
]


class CsrfForm(Form):
    """Base of every generated form: carries the session's CSRF token as a hidden field."""

    csrf_token = HiddenField(default=current_csrf_token.get)
    row_version = HiddenField()


class OptionalDateTimeField(DateTimeField):
    """A date-time text input that also accepts a bare date (legacy Oracle DATE columns)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", DATETIME_FORMATS)
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, dt.datetime):
            if self.data.time() == dt.time():
                return self.data.date().isoformat()
            return self.data.strftime("%Y-%m-%d %H:%M:%S")
        return ""


class GuidField(StringField):
    """A GUID typed as text (RAW(16) on Oracle, UUID elsewhere)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the submitted text as a UUID; blank means NULL."""
        text = (valuelist[0] if valuelist else "") or ""
        text = text.strip()
        if not text:
            self.data = None
            return
        try:
            self.data = uuid.UUID(text)
        except ValueError:
            self.data = None
            raise ValueError("Not a valid GUID (expected 32 hexadecimal digits)") from None

    def _value(self) -> str:
        return str(self.data) if self.data else ""


class IntervalField(StringField):
    """An INTERVAL DAY TO SECOND typed as '[D days,] HH:MM:SS' or a number of days."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse '3 days, 4:05:06', '4:05:06' or '3' (days)."""
        text = ((valuelist[0] if valuelist else "") or "").strip()
        if not text:
            self.data = None
            return
        try:
            self.data = parse_interval(text)
        except ValueError:
            self.data = None
            raise ValueError("Not a valid interval (e.g. '2 days, 04:30:00')") from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""


def parse_interval(text: str) -> dt.timedelta:
    """Parse the text form of ``str(timedelta)`` or a plain number of days."""
    days = 0
    rest = text
    if "day" in text:
        head, _, rest = text.partition(",")
        days = int(head.split()[0])
        rest = rest.strip()
    elif ":" not in text:
        return dt.timedelta(days=float(text))
    if not rest:
        return dt.timedelta(days=days)
    parts = [float(p) for p in rest.split(":")]
    while len(parts) < 3:
        parts.append(0.0)
    hours, minutes, seconds = parts[:3]
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class ReferenceSelectField(SelectField):
    """A drop-down of the rows of a small referenced table, by key, showing their labels."""

    def __init__(
        self, *args: Any, coerce_key: Any = str, allow_blank: bool = True, **kwargs: Any
    ) -> None:
        kwargs["coerce"] = self._coerce_factory(coerce_key)
        super().__init__(*args, **kwargs)
        self.allow_blank = allow_blank

    @staticmethod
    def _coerce_factory(coerce_key: Any) -> Any:
        def coerce(value: Any) -> Any:
            if value is None or value == "" or value == "None":
                return None
            return coerce_key(value)

        return coerce

    def pre_validate(self, form: Any) -> None:
        """Blank is allowed for nullable references; anything else must be a listed key."""
        if self.data is None:
            if not self.allow_blank:
                raise validators.ValidationError("Please choose a value")
            return
        super().pre_validate(form)


class DatadeskConverter(ModelConverter):
    """sqladmin's converter; fields whose database type alone does not decide the widget
    (flags, floats, GUIDs, intervals, Oracle DATE, long texts) are chosen by column kind in
    ``DatadeskModelView.scaffold_form`` through ``field_class_for``."""


def _is_required(validator: Any) -> bool:
    return isinstance(validator, (validators.InputRequired, validators.DataRequired))


class FlagField(BooleanField):
    """A check box for a legacy flag: unticked means False, never 'missing'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kept = [v for v in kwargs.get("validators") or [] if not _is_required(v)]
        kwargs["validators"] = [*kept, validators.Optional()]
        super().__init__(*args, **kwargs)


FIELD_BY_KIND: dict[str, type[Field]] = {
    "boolean": FlagField,
    "long_text": TextAreaField,
    "float": FloatField,
    "integer": IntegerField,  # NUMBER(p,0): a whole number, typed as int like the stored value
    "guid": GuidField,
    "interval": IntervalField,
    "datetime": OptionalDateTimeField,
    "date": DateField,
}


def field_class_for(kind: str) -> type[Field] | None:
    """The form field of a column kind, where the database type name alone is not enough."""
    return FIELD_BY_KIND.get(kind)
