"""The repositories' statement helpers: cached statement text, rows built positionally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.sql import batches_as, first_as, rows_as, text


class Pair(NamedTuple):
    a: int
    b: str


@dataclass(frozen=True)
class FrozenPair:
    a: int
    b: str


def test_the_same_statement_text_is_built_once() -> None:
    first = text("SELECT :x AS a")
    assert text("SELECT :x AS a") is first
    assert text("SELECT :y AS a") is not first


@pytest.mark.parametrize("row_type", [Pair, FrozenPair])
async def test_rows_are_built_from_columns_in_field_order(session: AsyncSession, row_type: type) -> None:
    result = await session.execute(
        text("SELECT n AS a, 'v' || n AS b FROM generate_series(1, 3) AS n ORDER BY n")
    )
    assert rows_as(row_type, result) == [row_type(1, "v1"), row_type(2, "v2"), row_type(3, "v3")]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'v' AS b, 1 AS a",  # the fields' names, in another order: values would swap
        "SELECT 1 AS a",  # a field missing
        "SELECT 1 AS a, 'v' AS b, 2 AS c",  # a column more
    ],
)
async def test_columns_that_are_not_the_fields_in_order_are_refused(session: AsyncSession, sql: str) -> None:
    result = await session.execute(text(sql))
    with pytest.raises(AssertionError, match="fields in order"):
        rows_as(Pair, result)


async def test_the_first_row_or_none(session: AsyncSession) -> None:
    one = await session.execute(text("SELECT 7 AS a, 'x' AS b"))
    assert first_as(Pair, one) == Pair(7, "x")
    none = await session.execute(text("SELECT 7 AS a, 'x' AS b WHERE false"))
    assert first_as(Pair, none) is None
    swapped = await session.execute(text("SELECT 'x' AS b, 7 AS a WHERE false"))
    with pytest.raises(AssertionError, match="fields in order"):
        first_as(Pair, swapped)  # checked even when no row comes back


async def test_a_streamed_result_comes_in_batches_of_rows(session: AsyncSession) -> None:
    result = await session.stream(
        text("SELECT n AS a, 'v' || n AS b FROM generate_series(1, 5) AS n ORDER BY n")
    )
    batches = [batch async for batch in batches_as(Pair, result, 2)]
    assert batches == [[Pair(1, "v1"), Pair(2, "v2")], [Pair(3, "v3"), Pair(4, "v4")], [Pair(5, "v5")]]
    swapped = await session.stream(text("SELECT 'v' AS b, 1 AS a"))
    with pytest.raises(AssertionError, match="fields in order"):
        [batch async for batch in batches_as(Pair, swapped, 2)]
