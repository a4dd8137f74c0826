"""Statement text shared by the repositories."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Result, TextClause
from sqlalchemy import text as _text
from sqlalchemy.ext.asyncio import AsyncResult

RowT = TypeVar("RowT")

# Deep pages of a list in (creation time, id) order whose rows are counted per month of creation
# (migrations 0027, 0029): given a `months` CTE of (month, n) rows, several per month allowed
# (shards, parts of the list), `skip` holds the last month starting at or before the page's
# :offset and how many rows come `before` it, so the page walks only from that month's start.
MONTH_SKIP = """
    skip AS (
        SELECT month, before FROM (
            SELECT month, (sum(n) OVER (ORDER BY month) - n)::bigint AS before
              FROM (SELECT month, sum(n) AS n FROM months GROUP BY month) per_month) starts
         WHERE before <= :offset
         ORDER BY month DESC LIMIT 1)
"""


@lru_cache(maxsize=1024)
def text(statement: str) -> TextClause:
    """`sqlalchemy.text`, built once per distinct statement.

    Building a TextClause parses the statement for its `:name` parameters (a regular expression
    over the whole text, and a BindParameter each), which cost more than a small query's round
    trip; the repositories' statements repeat on every request, so each is built once. A
    TextClause is immutable (bindparams/columns return new ones), so sharing it is safe. Values
    always travel as parameters, never in the text, so the distinct texts are the statements'
    shapes (one per combination of filters and sort); the cache is bounded anyway.
    """
    return _text(statement)


def _field_names(row_type: type[Any]) -> tuple[str, ...]:
    if dataclasses.is_dataclass(row_type):
        return tuple(field.name for field in dataclasses.fields(row_type) if field.init)
    names: tuple[str, ...] = row_type._fields  # a NamedTuple
    return names


def rows_as(row_type: type[RowT], result: Result[Any]) -> list[RowT]:
    """Every row of `result` as a `row_type` (a NamedTuple or dataclass), built positionally.

    `row_type(**mapping)` builds a key view and looks every column up by name, for every row;
    passing the row's values in order costs a fraction of that on a page of thousands. The
    statement's columns must be the type's fields in order: checked once per result, so a
    statement and its row type cannot drift apart unnoticed.
    """
    check_columns(row_type, result.keys())
    return [row_type(*row) for row in result.fetchall()]


def first_as(row_type: type[RowT], result: Result[Any]) -> RowT | None:
    """The first row of `result` as a `row_type` (see rows_as), or None."""
    check_columns(row_type, result.keys())
    row = result.first()
    return None if row is None else row_type(*row)


async def batches_as(row_type: type[RowT], result: AsyncResult[Any], size: int) -> AsyncIterator[list[RowT]]:
    """A streamed result's rows as `row_type`s (see rows_as), `size` at a time (CSV exports)."""
    check_columns(row_type, result.keys())
    async for partition in result.partitions(size):
        yield [row_type(*row) for row in partition]


def check_columns(row_type: type[Any], keys: Iterable[str]) -> None:
    """The statement's columns are `row_type`'s fields in order (for positional construction)."""
    columns = tuple(keys)
    if columns != _field_names(row_type):
        raise AssertionError(f"columns {columns} are not {row_type.__name__}'s fields in order")
