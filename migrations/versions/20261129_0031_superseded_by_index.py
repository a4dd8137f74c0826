"""index the declarations that supersede others (the self-reference's referencing side)

`participant_declarations.superseded_by_id` refers to another declaration. Deleting a declaration
(an operator's data fix, the benchmark removing the declarations it made) makes PostgreSQL check,
for every deleted row, that no declaration still refers to it: without an index on the column
that check read the whole table once per row (9,405 deletions on the national-volume database
ran for minutes before they were cancelled). Only duplicates carry the column, so the index is
partial and small, and a new declaration (the column empty) adds no entry to it.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_participant_declarations_superseded_by ON participant_declarations "
        "(superseded_by_id) WHERE superseded_by_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_participant_declarations_superseded_by")
