"""induction record changes refresh the latest records once per statement

Migration 0013 refreshed `ecf_latest_induction_records` once for every induction record inserted,
updated or deleted, so a statement writing many records (the sandbox seed's batched inserts, an
operator's bulk change) ran the rule's query once per row: about 40% of the seed's time, and a
quadratic cost whenever the planner misjudged the tables mid-load. Statement-level triggers with
transition tables refresh every training record a statement touched in one call, under the same
per-record advisory locks taken in id order. A single-row write (the service's) costs the same as
before. The other tables' triggers stay per row: they fire on rare updates that move whole groups.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The induction record columns the latest-record rule reads (0013's UPDATE trigger condition).
RULE_COLUMNS = (
    "participant_profile_id",
    "induction_programme_id",
    "schedule_id",
    "start_date",
    "end_date",
    "created_at",
    "training_status",
    "mentor_profile_id",
)
_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in RULE_COLUMNS)

# (function, event, transition tables, the training records the statement affected)
STATEMENT_TRIGGERS = (
    (
        "cpd_latest_from_records_inserted",
        "INSERT",
        "NEW TABLE AS new_rows",
        "ARRAY(SELECT participant_profile_id FROM new_rows)",
    ),
    (
        "cpd_latest_from_records_updated",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        # A row whose id changed has no partner: both of its training records are refreshed.
        "ARRAY(SELECT unnest(ARRAY[o.participant_profile_id, n.participant_profile_id])"
        " FROM old_rows o FULL JOIN new_rows n ON n.id = o.id"
        f" WHERE o.id IS NULL OR n.id IS NULL OR {_CHANGED})",
    ),
    (
        "cpd_latest_from_records_deleted",
        "DELETE",
        "OLD TABLE AS old_rows",
        "ARRAY(SELECT participant_profile_id FROM old_rows)",
    ),
)

# Migration 0013's per-row triggers on induction_records, restored by the downgrade.
ROW_TRIGGERS = (
    ("cpd_latest_from_record_insert", "INSERT", None, "ARRAY[NEW.participant_profile_id]"),
    (
        "cpd_latest_from_record_update",
        "UPDATE",
        " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in RULE_COLUMNS),
        "ARRAY[OLD.participant_profile_id, NEW.participant_profile_id]",
    ),
    ("cpd_latest_from_record_delete", "DELETE", None, "ARRAY[OLD.participant_profile_id]"),
)


def _drop(functions: Sequence[str]) -> None:
    for function in functions:
        op.execute(f"DROP TRIGGER trg_{function} ON induction_records")
        op.execute(f"DROP FUNCTION {function}()")


def _create_function(function: str, body: str) -> None:
    op.execute(
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql"
        f" SET plan_cache_mode = force_custom_plan AS $$\n{body}\nEND $$;"
    )


def upgrade() -> None:
    _drop([function for function, *_ in ROW_TRIGGERS])
    for function, event, transition, profiles in STATEMENT_TRIGGERS:
        _create_function(
            function,
            f"DECLARE\n    profiles uuid[];\nBEGIN\n    profiles := {profiles};\n"
            "    IF cardinality(profiles) > 0 THEN\n"
            "        PERFORM cpd_refresh_latest_induction_records(profiles);\n"
            "    END IF;\n    RETURN NULL;",
        )
        op.execute(
            f"CREATE TRIGGER trg_{function} AFTER {event} ON induction_records"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )


def downgrade() -> None:
    _drop([function for function, *_ in STATEMENT_TRIGGERS])
    for function, event, condition, profiles in ROW_TRIGGERS:
        _create_function(
            function,
            f"BEGIN\n    PERFORM cpd_refresh_latest_induction_records({profiles});\n    RETURN NULL;",
        )
        when = f" WHEN ({condition})" if condition else ""
        op.execute(
            f"CREATE TRIGGER trg_{function} AFTER {event} ON induction_records FOR EACH ROW{when} "
            f"EXECUTE FUNCTION {function}();"
        )
