"""Checks shared by the tests of the tables database triggers keep (`..._source` views hold the rules)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def assert_matches_rule(session: AsyncSession, table: str, columns: str) -> None:
    """The kept table and its rule computed from scratch (the `<table>_source` view) hold the same
    rows, compared both ways."""
    for first, second in ((table, f"{table}_source"), (f"{table}_source", table)):
        # Names come from the tests, never from input.
        query = f"SELECT {columns} FROM {first} EXCEPT SELECT {columns} FROM {second}"  # noqa: S608
        extra = (await session.execute(text(query))).all()
        assert extra == [], f"rows in {first} and not in {second}: {extra}"
