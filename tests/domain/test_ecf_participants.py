"""Pure ECF participant rules (ecf.md §3.2, §3.4, §3.6, §1.6): statuses, TRN and funding flags, v3 sort."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.ecf_participants import (
    eligible_for_funding,
    email,
    parse_training_status,
    parse_v3_sort,
    participant_status,
    trn_validated,
    v1_status,
    v1_trn,
    v1_updated_at,
)
from app.domain.errors import BadRequest
from app.repositories.ecf_participants import EnrolmentRow

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
T0 = datetime(2023, 1, 1, tzinfo=UTC)

ROW = EnrolmentRow(
    induction_record_id=uuid.uuid4(),
    participant_profile_id=uuid.uuid4(),
    profile_type="ect",
    user_id=uuid.uuid4(),
    full_name="Ada Lovelace",
    user_email="ada@example.com",
    user_created_at=T0,
    user_updated_at=T0,
    preferred_email=None,
    mentor_user_id=None,
    school_urn="100001",
    school_cohort_year=2022,
    induction_status="active",
    training_status="active",
    start_date=NOW - 30 * DAY,
    end_date=None,
    schedule_identifier="ecf-standard-september",
    delivery_partner_id=None,
    teacher_trn="1234567",
    validation_trn=None,
    eligibility_status="eligible",
    eligibility_reason="none",
    pupil_premium_uplift=False,
    sparsity_uplift=False,
    profile_created_at=T0,
    profile_updated_at=T0,
    identity_updated_at=T0,
    record_updated_at=T0,
    induction_completion_date=None,
    mentor_completion_date=None,
)


# ---- participant_status (v3) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "induction_status", "expected"),
    [
        pytest.param(-30, None, "active", "active", id="active"),
        pytest.param(-30, None, "completed", "active", id="completed"),
        pytest.param(-30, None, "withdrawn", "withdrawn", id="withdrawn"),
        pytest.param(-30, None, "changed", "withdrawn", id="changed"),
        pytest.param(-30, None, "leaving", None, id="leaving-without-end-date"),
        pytest.param(5, None, "active", "joining", id="future-start"),
        pytest.param(5, None, "withdrawn", "joining", id="future-start-beats-status"),
        pytest.param(-30, 5, "leaving", "leaving", id="future-end"),
        pytest.param(-30, -5, "leaving", "left", id="past-end"),
        pytest.param(-30, -5, "active", "left", id="end-date-beats-status"),
        pytest.param(5, 10, "active", "leaving", id="end-date-beats-future-start"),
    ],
)
def test_participant_status(start: int, end: int | None, induction_status: str, expected: str | None) -> None:
    row = ROW._replace(
        start_date=NOW + start * DAY,
        end_date=None if end is None else NOW + end * DAY,
        induction_status=induction_status,
    )
    assert participant_status(row, NOW) == expected


def test_end_date_exactly_now_is_left() -> None:
    assert participant_status(ROW._replace(end_date=NOW), NOW) == "left"


def test_start_date_exactly_now_is_not_joining() -> None:
    assert participant_status(ROW._replace(start_date=NOW), NOW) == "active"


# ---- status (v1/v2) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("induction_status", "expected"),
    [
        ("active", "active"),
        ("completed", "active"),
        ("leaving", "active"),
        ("withdrawn", "withdrawn"),
        ("changed", "withdrawn"),
    ],
)
def test_v1_status(induction_status: str, expected: str) -> None:
    assert v1_status(induction_status) == expected


# ---- TRN, validation, funding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("teacher_trn", "validation_trn", "expected"),
    [("1234567", "7654321", "1234567"), (None, "7654321", "7654321"), (None, None, None)],
)
def test_v1_trn_falls_back_to_validation_data(
    teacher_trn: str | None, validation_trn: str | None, expected: str | None
) -> None:
    assert v1_trn(ROW._replace(teacher_trn=teacher_trn, validation_trn=validation_trn)) == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        pytest.param("none", True, id="reason-none-is-present"),
        pytest.param("previous_participation", True, id="other-reason"),
        pytest.param("different_trn", False, id="different-trn"),
        pytest.param(None, False, id="no-eligibility-row"),
        pytest.param("", False, id="blank-reason"),
    ],
)
def test_trn_validated_with_a_trn(reason: str | None, expected: bool) -> None:
    assert trn_validated(ROW._replace(eligibility_reason=reason)) is expected


def test_trn_validated_is_null_without_any_trn() -> None:
    row = ROW._replace(teacher_trn=None, validation_trn=None, eligibility_reason="none")
    assert trn_validated(row) is None


def test_trn_validated_uses_the_validation_data_trn() -> None:
    assert trn_validated(ROW._replace(teacher_trn=None, validation_trn="7654321")) is True


@pytest.mark.parametrize(
    ("status", "expected"),
    [("eligible", True), ("ineligible", False), ("manual_check", None), ("matched", None), (None, None)],
)
def test_eligible_for_funding(status: str | None, expected: bool | None) -> None:
    assert eligible_for_funding(ROW._replace(eligibility_status=status)) is expected


def test_email_prefers_the_records_identity() -> None:
    assert email(ROW._replace(preferred_email="work@example.com")) == "work@example.com"
    assert email(ROW._replace(preferred_email=None)) == "ada@example.com"


@pytest.mark.parametrize(
    "field", ["profile_updated_at", "user_updated_at", "identity_updated_at", "record_updated_at"]
)
def test_v1_updated_at_is_the_latest_of_its_parts(field: str) -> None:
    latest = T0 + 10 * DAY
    assert v1_updated_at(ROW._replace(**{field: latest})) == latest


# ---- v3 filters and sort ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["active", "deferred", "withdrawn", None])
def test_valid_training_status_filter(value: str | None) -> None:
    assert parse_training_status(value) == value


@pytest.mark.parametrize("value", ["paused", "ACTIVE", "", "active,deferred"])
def test_invalid_training_status_filter(value: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_training_status(value)
    assert (raised.value.title, raised.value.detail) == (
        "Bad request",
        'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]',
    )


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param(None, [("created_at", False)], id="absent"),
        pytest.param("", [("created_at", False)], id="blank"),
        pytest.param("created_at", [("created_at", False)], id="ascending"),
        pytest.param("+updated_at", [("updated_at", False)], id="plus"),
        pytest.param("-updated_at", [("updated_at", True)], id="minus"),
        pytest.param(
            "-updated_at,created_at", [("updated_at", True), ("created_at", False)], id="several-in-order"
        ),
        pytest.param(
            " -created_at , updated_at ", [("created_at", True), ("updated_at", False)], id="spaces"
        ),
        pytest.param("email,-created_at", [("created_at", True)], id="unknown-dropped"),
        pytest.param("email,full_name", [("created_at", False)], id="only-unknown-gives-default"),
        pytest.param("updated_at,-updated_at", [("updated_at", False)], id="first-of-a-repeat-wins"),
    ],
)
def test_parse_v3_sort(sort: str | None, expected: list[tuple[str, bool]]) -> None:
    assert parse_v3_sort(sort) == expected
