"""an NPQ contract's monthly service fee may be absent (derived from the contract)

The finance calculation tells "no monthly fee stated" (derive it from the recruitment target,
price and instalments) apart from a stated fee of 0 (no service fee at all), as the reference does.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "npq_contracts", "monthly_service_fee", existing_type=sa.Numeric(precision=12, scale=2), nullable=True
    )


def downgrade() -> None:
    op.execute("UPDATE npq_contracts SET monthly_service_fee = 0 WHERE monthly_service_fee IS NULL")
    op.alter_column(
        "npq_contracts",
        "monthly_service_fee",
        existing_type=sa.Numeric(precision=12, scale=2),
        nullable=False,
    )
