"""NPQ training records read from a narrow index when a provider's participants are paged

A page of an NPQ provider's participants groups all of its training records by user before taking
the page (a user's place depends on all of them). Those rows were found by reading every training
record of every programme (275,000 at the national volume) for the 61,000 NPQ ones; this partial
index holds just the NPQ ones with the columns the grouping needs (largest provider, per_page 100,
in-process: 97 -> 55 ms a page).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_participant_profiles_npq",
        "participant_profiles",
        ["id"],
        postgresql_include=["participant_identity_id", "created_at", "training_status"],
        postgresql_where=sa.text("profile_type = 'npq'"),
    )


def downgrade() -> None:
    op.drop_index("ix_participant_profiles_npq", table_name="participant_profiles")
