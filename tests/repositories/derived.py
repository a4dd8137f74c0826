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


async def assert_counts_match_rule(session: AsyncSession, table: str, keys: str, count: str) -> None:
    """A sharded count table (rows per key and writing backend; only their sum means anything)
    holds the counts of its rule (the `<table>_source` view), compared both ways."""
    kept = f"SELECT {keys}, sum({count})::bigint FROM {table} GROUP BY {keys} HAVING sum({count}) <> 0"  # noqa: S608
    rule = f"SELECT {keys}, {count} FROM {table}_source"  # noqa: S608
    for first, second in ((kept, rule), (rule, kept)):
        extra = (await session.execute(text(f"({first}) EXCEPT ({second})"))).all()
        assert extra == [], f"counted wrongly: {extra}"
