"""participant_profile_schedules: history of change-schedule

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participant_profile_schedules",
        sa.Column("participant_profile_id", sa.UUID(), nullable=False),
        sa.Column("schedule_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_profile_id"],
            ["participant_profiles.id"],
            name=op.f("fk_participant_profile_schedules_participant_profile_id_participant_profiles"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_participant_profile_schedules_schedule_id_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_profile_schedules")),
    )
    op.create_index(
        "ix_participant_profile_schedules_profile",
        "participant_profile_schedules",
        ["participant_profile_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_participant_profile_schedules_profile", table_name="participant_profile_schedules")
    op.drop_table("participant_profile_schedules")
