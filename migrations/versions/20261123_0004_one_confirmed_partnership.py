"""one confirmed partnership per school and cohort

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_partnerships_confirmed_school_cohort",
        "partnerships",
        ["school_id", "cohort_id"],
        unique=True,
        postgresql_where=sa.text("NOT relationship AND challenged_at IS NULL AND challenge_reason IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_partnerships_confirmed_school_cohort", table_name="partnerships")
