"""Statement text shared by the repositories."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause
from sqlalchemy import text as _text


@lru_cache(maxsize=4096)
def text(statement: str) -> TextClause:
    """`sqlalchemy.text`, built once per distinct statement.

    Building a TextClause parses the statement for its `:name` parameters (a regular expression
    over the whole text, and a BindParameter each), which cost more than a small query's round
    trip; the repositories' statements repeat on every request, so each is built once. A
    TextClause is immutable (bindparams/columns return new ones), so sharing it is safe. The cache
    is bounded: statements whose text varies with a request's filters take at most its size.
    """
    return _text(statement)
