"""Collecting seed rows in memory and inserting them in a few batched statements."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base

# Tables whose rows point at other rows of the same table: referenced rows (NULL key) go first so
# every batch only refers to rows already inserted.
_SELF_REFERENCES = {"participant_profiles": "mentor_profile_id"}
# Child rows that only make sense with the parent row as this run built it: a run on another day
# may give an existing declaration another state, and its history and line items must not be
# mixed into the stored one. They are inserted only alongside a parent inserted by the same run.
_WITH_NEW_PARENT = {
    "declaration_states": ("participant_declarations", "participant_declaration_id"),
    "statement_line_items": ("participant_declarations", "participant_declaration_id"),
}


@dataclass
class SeedReport:
    """How many rows each table received (0 everywhere on a repeated run)."""

    inserted: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.inserted.values())

    def merge(self, other: SeedReport) -> None:
        self.inserted.update(other.inserted)

    def __str__(self) -> str:
        detail = ", ".join(f"{table} {n}" for table, n in sorted(self.inserted.items()) if n)
        return f"{self.total} rows inserted" + (f" ({detail})" if detail else "")


class Rows:
    """Row dicts per table, keyed by id so a scenario may name the same row twice."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[uuid.UUID, dict[str, Any]]] = {}

    def add(self, model: type[Base], **values: Any) -> uuid.UUID:
        row_id: uuid.UUID = values["id"]
        table = self.tables.setdefault(model.__tablename__, {})
        existing = table.get(row_id)
        if existing is not None and existing != values:
            # Two different rows under one natural key is a bug in a scenario, not a no-op.
            raise ValueError(f"{model.__tablename__} {row_id} added twice with different values")
        table[row_id] = values
        return row_id

    def counts(self) -> Counter[str]:
        return Counter({name: len(rows) for name, rows in self.tables.items()})

    async def insert(self, session: AsyncSession, order: Sequence[type[Base]]) -> SeedReport:
        """Insert every collected row with ON CONFLICT DO NOTHING, parents before children."""
        report = SeedReport()
        inserted: dict[str, set[uuid.UUID]] = {}
        missing = set(self.tables) - {m.__tablename__ for m in order}
        if missing:
            raise ValueError(f"no insert order given for {sorted(missing)}")
        for model in order:
            rows = list(self.tables.get(model.__tablename__, {}).values())
            if model.__tablename__ in _WITH_NEW_PARENT:
                parent, column = _WITH_NEW_PARENT[model.__tablename__]
                rows = [r for r in rows if r[column] in inserted.get(parent, set())]
            if not rows:
                continue
            table: Table = model.__table__  # type: ignore[assignment]
            unknown = {key for row in rows for key in row} - set(table.c.keys())
            if unknown:
                # Core silently ignores parameters that name no column (e.g. an ORM attribute name).
                raise ValueError(f"{table.name} has no column(s) {sorted(unknown)}")
            self_ref = _SELF_REFERENCES.get(table.name)
            phases = (
                [
                    [r for r in rows if r.get(self_ref) is None],
                    [r for r in rows if r.get(self_ref) is not None],
                ]
                if self_ref
                else [rows]
            )
            for phase in phases:
                # executemany needs one column set per statement; scenarios leave optional columns out.
                groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for row in phase:
                    groups.setdefault(tuple(sorted(row)), []).append(row)
                for group in groups.values():
                    stmt = insert(table).on_conflict_do_nothing().returning(table.c.id)
                    new_ids = set((await session.execute(stmt, group)).scalars())
                    inserted.setdefault(table.name, set()).update(new_ids)
                    report.inserted[table.name] += len(new_ids)
            if report.inserted[table.name]:
                await _analyze(session, table.name)
        return report


async def _analyze(session: AsyncSession, table: str) -> None:
    """Give the planner this table's true size before its children are inserted.

    Every child row runs foreign key checks and trigger statements against its parents, planned
    from pg_class. A table that VACUUM or ANALYZE last saw holding only dead or uncommitted rows (a
    test database full of rolled-back rows; a seed running while autovacuum passes) is recorded as
    empty whatever its size, and the planner then reads whole tables for every row: the sandbox's
    participant profiles took ~2 s each to insert (tens of minutes) instead of 4 s for the whole
    seed. ANALYZE counts this transaction's own rows, and keeps its lock until the transaction
    ends, so autovacuum cannot record the table as empty again before the seed commits. It waits
    for (or, after deadlock_timeout, cancels) an autovacuum working on the table rather than
    skipping it: here the statistics are needed, not optional.
    """
    # Table names come from the ORM models, never from input.
    await session.execute(text(f"ANALYZE {table}"))
