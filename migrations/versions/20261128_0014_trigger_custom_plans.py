"""trigger functions plan their statements for the tables as they are now

PL/pgSQL keeps a plan per statement for the life of a connection and, after five runs, may switch
to a generic plan chosen from the statistics of that moment. A trigger first run against nearly
empty tables (a fresh database, a test after a TRUNCATE) could keep a plan that reads whole
indexes, then run it for every row of a later bulk load: the updated_at cascade from profiles to
users took minutes for the sandbox seed after such a warm-up. With `plan_cache_mode =
force_custom_plan` each run plans for its own values and the tables' current size (a fraction of a
millisecond for these one-row statements).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    # updated_at propagation (migration 0002)
    "cpd_touch_profile()",
    "cpd_touch_user_from_profile()",
    "cpd_touch_user()",
    "cpd_touch_profiles_of_school_cohort()",
    "cpd_touch_from_partnership()",
    "cpd_touch_records_of_programme()",
    "cpd_touch_npq_profile()",
    # latest induction records (migration 0013)
    "cpd_refresh_latest_induction_records(uuid[])",
    "cpd_latest_from_record_insert()",
    "cpd_latest_from_record_update()",
    "cpd_latest_from_record_delete()",
    "cpd_latest_from_programme()",
    "cpd_latest_from_partnership()",
    "cpd_latest_from_schedule()",
    "cpd_latest_from_cohort()",
    "cpd_latest_from_profile()",
    "cpd_latest_from_identity()",
    "cpd_latest_from_user()",
)


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_custom_plan")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")
