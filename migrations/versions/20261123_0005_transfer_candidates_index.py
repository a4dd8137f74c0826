"""partial index on the induction records transfers are made of

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_induction_records_transfer_candidates",
        "induction_records",
        ["participant_profile_id"],
        postgresql_where=sa.text("induction_status = 'leaving' OR school_transfer"),
    )


def downgrade() -> None:
    op.drop_index("ix_induction_records_transfer_candidates", table_name="induction_records")
