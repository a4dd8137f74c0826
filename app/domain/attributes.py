"""Reading the attributes of an internal API request, one typed value at a time.

Internal writes (administrators, the NPQ registration service) take JSON:API documents whose
attributes have real JSON types: booleans are `true`/`false`, numbers are numbers, dates are
`YYYY-MM-DD` strings. Each reader returns the value or records one (attribute, message) problem;
`check()` then raises every problem at once as a 422, so a request is validated whole before
anything is written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from app.domain.errors import ValidationFailed

BLANK = "can't be blank"
NOT_TEXT = "must be a string"
TOO_LONG = "is too long (at most {n} characters)"
NOT_STORABLE = "must not contain NUL characters"
NOT_A_BOOLEAN = "must be true or false"
NOT_AN_INTEGER = "must be a whole number"
OUT_OF_RANGE = "must be from {low} to {high}"
NOT_A_DATE = "must be a date (YYYY-MM-DD)"
NOT_AN_ID = "must be an id (UUID)"
NOT_AN_EMAIL = "must be an email address"
NOT_ONE_OF = "must be one of: {choices}"
NOT_A_LIST = "must be a list"
NOT_AN_OBJECT = "must be an object"
UNKNOWN = "is not a known attribute"

MAX_TEXT = 1000
# Keep far inside PostgreSQL's integer and smallint ranges.
MAX_INTEGER = 2_000_000_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Attributes:
    """Typed reads of one attribute object; problems collect under `prefix` + the attribute name."""

    def __init__(
        self,
        values: Mapping[str, Any],
        known: Iterable[str],
        *,
        prefix: str = "",
        errors: list[tuple[str, str]] | None = None,
    ) -> None:
        self.values = values
        self.prefix = prefix
        self.errors: list[tuple[str, str]] = [] if errors is None else errors
        allowed = set(known)
        for name in values:
            if name not in allowed:
                self.fail(str(name), UNKNOWN)

    def fail(self, name: str, message: str) -> None:
        self.errors.append((f"{self.prefix}{name}", message))

    def has(self, name: str) -> bool:
        """The attribute was sent (even as null): for partial updates."""
        return name in self.values

    def _value(self, name: str, required: bool) -> Any:
        value = self.values.get(name)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if required:
                self.fail(name, BLANK)
            return None
        return value

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = MAX_TEXT,
        choices: Iterable[str] | None = None,
    ) -> str | None:
        value = self._value(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(name, NOT_TEXT)
            return None
        value = value.strip()
        if "\x00" in value:
            self.fail(name, NOT_STORABLE)
            return None
        if len(value) > max_length:
            self.fail(name, TOO_LONG.format(n=max_length))
            return None
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                self.fail(name, NOT_ONE_OF.format(choices=", ".join(allowed)))
                return None
        return value

    def email(self, name: str, *, required: bool = False) -> str | None:
        value = self.text(name, required=required, max_length=254)
        if value is not None and not _EMAIL.match(value):
            self.fail(name, NOT_AN_EMAIL)
            return None
        return value

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        value = self.values.get(name)
        if value is None:
            if required:
                self.fail(name, BLANK)
            return None
        if not isinstance(value, bool):
            self.fail(name, NOT_A_BOOLEAN)
            return None
        return value

    def integer(
        self, name: str, *, required: bool = False, low: int = 0, high: int = MAX_INTEGER
    ) -> int | None:
        value = self._value(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, NOT_AN_INTEGER)
            return None
        if not low <= value <= high:
            self.fail(name, OUT_OF_RANGE.format(low=low, high=high))
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self._value(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.match(value.strip()):
            self.fail(name, NOT_A_DATE)
            return None
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            self.fail(name, NOT_A_DATE)
            return None
        if parsed.year < 1900:
            self.fail(name, NOT_A_DATE)
            return None
        return parsed

    def identifier(self, name: str, *, required: bool = False) -> uuid.UUID | None:
        value = self._value(name, required)
        if value is None:
            return None
        try:
            return uuid.UUID(value) if isinstance(value, str) else _not_an_id()
        except ValueError:
            self.fail(name, NOT_AN_ID)
            return None

    def objects(self, name: str, *, required: bool = False) -> list[Mapping[str, Any]]:
        """A list of objects (an absent list is empty)."""
        value = self.values.get(name)
        if value is None:
            if required:
                self.fail(name, BLANK)
            return []
        if not isinstance(value, list):
            self.fail(name, NOT_A_LIST)
            return []
        items: list[Mapping[str, Any]] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(f"{name}[{i}]", NOT_AN_OBJECT)
                continue
            items.append(item)
        return items if len(items) == len(value) else []

    def nested(self, name: str, index: int, item: Mapping[str, Any], known: Iterable[str]) -> Attributes:
        """Reads of one object of a list; its problems are reported as `name[index].attribute`."""
        return Attributes(item, known, prefix=f"{self.prefix}{name}[{index}].", errors=self.errors)

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _not_an_id() -> uuid.UUID:
    raise ValueError("not a string")
