"""Domain errors. Plain exceptions; app/api/errors.py maps them to the contract's responses."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

BAD_JSON_STRUCTURE = "correct json data structure required. See API docs for reference"


class DomainError(Exception):
    """Base of every error the API reports as a 4xx.

    `keep_writes`: what the request wrote before failing (an audit row) is committed anyway.
    """

    keep_writes: bool = False


class NotFound(DomainError):
    """The record does not exist or the caller may not see it (404, never a leak)."""


class Unauthenticated(DomainError):
    """Missing or unknown token (401)."""


class Forbidden(DomainError):
    """A valid token that may not use this endpoint (403, empty body)."""


class BadRequest(DomainError):
    """A malformed request (400) with the contract's title and detail."""

    def __init__(self, detail: str, title: str = "Bad request") -> None:
        super().__init__(detail)
        self.title = title
        self.detail = detail


class InvalidAction(DomainError):
    """A state transition that is not allowed (422, title "Invalid action")."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """Service validation errors: one (attribute, message) pair per problem (422).

    The response groups them per attribute, in the order each attribute first failed,
    joining that attribute's distinct messages with ", ".
    """

    def __init__(self, errors: Iterable[tuple[str, str]], *, keep_writes: bool = False) -> None:
        self.errors = list(errors)
        self.keep_writes = keep_writes
        super().__init__("; ".join(f"{a}: {m}" for a, m in self.errors))

    def grouped(self) -> list[tuple[str, str]]:
        by_attribute: dict[str, list[str]] = {}
        for attribute, message in self.errors:
            messages = by_attribute.setdefault(attribute, [])
            if message not in messages:
                messages.append(message)
        return [(attribute, ", ".join(messages)) for attribute, messages in by_attribute.items()]


def record_id(value: str) -> uuid.UUID:
    """A record id from a URL path: anything that is not an id names no record (404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound() from None
