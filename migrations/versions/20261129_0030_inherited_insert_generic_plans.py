"""a new declaration's inherited-declarations trigger keeps its plans

Migration 0014 made trigger functions plan every statement for its own values
(`force_custom_plan`), after a generic plan chosen on nearly empty tables was kept for a bulk
load. For the trigger that runs after each new declaration (0028's
`cpd_inherited_from_declarations_inserted`) that meant planning its two statements, a view of
four joins and the inherited declarations' join, for every declaration a provider submits:
0.8 ms of planning for 0.06 ms of execution, most of a declaration INSERT's 1.2-1.6 ms in the
database (EXPLAIN ANALYZE, the national-volume database, steady state on one connection).

Both statements are driven by the new declarations' training records (an index lookup per
record into induction records, the kept pairs and the live declarations), so one plan serves a
single declaration and a bulk insert alike; PostgreSQL replans a kept plan once ANALYZE has
updated the statistics of a table it reads.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "cpd_inherited_from_declarations_inserted()"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {FUNCTION} SET plan_cache_mode = force_generic_plan")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {FUNCTION} SET plan_cache_mode = force_custom_plan")
