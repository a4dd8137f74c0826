"""The response validator itself: it must fail on what the contract forbids."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract import UndocumentedResponse, assert_matches_spec, documented_paths

PATH = "/api/v3/participants/ecf"
UUID = "db3a7848-7308-4879-942a-c4a70ced400a"


def enrolment(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "training_record_id": UUID,
        "email": "a@example.com",
        "mentor_id": None,
        "school_urn": "123456",
        "participant_type": "ect",
        "cohort": "2022",
        "training_status": "active",
        "participant_status": "active",
        "teacher_reference_number_validated": True,
        "eligible_for_funding": None,
        "pupil_premium_uplift": False,
        "sparsity_uplift": False,
        "schedule_identifier": "ecf-standard-september",
        "delivery_partner_id": UUID,
        "withdrawal": None,
        "deferral": None,
        "created_at": "2021-05-31T02:22:32Z",
        "induction_end_date": None,
        "mentor_funding_end_date": None,
    }
    return base | overrides


def body(attributes: dict[str, Any] | None = None, **enrolment_overrides: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "full_name": "Jane Smith",
        "teacher_reference_number": "1234567",
        "updated_at": "2021-05-31T02:22:32Z",
        "ecf_enrolments": [enrolment(**enrolment_overrides)],
        "participant_id_changes": [],
    }
    return {"data": [{"id": UUID, "type": "participant", "attributes": attrs | (attributes or {})}]}


def test_valid_body_passes() -> None:
    assert_matches_spec("v3", "get", PATH, 200, body())


def test_undocumented_attribute_fails() -> None:
    with pytest.raises(AssertionError, match="'surprise' was unexpected"):
        assert_matches_spec("v3", "get", PATH, 200, body({"surprise": 1}))


def test_wrong_enum_fails() -> None:
    with pytest.raises(AssertionError, match="participant_type"):
        assert_matches_spec("v3", "get", PATH, 200, body(participant_type="teacher"))


def test_nullable_field_accepts_null() -> None:
    assert_matches_spec("v3", "get", PATH, 200, body(mentor_id=None, eligible_for_funding=None))


def test_known_reference_nulls_are_accepted() -> None:
    assert_matches_spec(
        "v3",
        "get",
        PATH,
        200,
        body({"teacher_reference_number": None}, teacher_reference_number_validated=None),
    )


def test_null_on_non_nullable_field_fails() -> None:
    with pytest.raises(AssertionError, match="full_name"):
        assert_matches_spec("v3", "get", PATH, 200, body({"full_name": None}))


def test_every_problem_is_listed() -> None:
    with pytest.raises(AssertionError) as error:
        assert_matches_spec("v3", "get", PATH, 200, body({"full_name": None, "extra": 1}, cohort=2022))
    message = str(error.value)
    assert "full_name" in message and "extra" in message and "cohort" in message


def test_documented_401_body() -> None:
    assert_matches_spec("v3", "get", PATH, 401, {"error": "HTTP Token: Access denied"})


def test_undocumented_status_is_reported() -> None:
    with pytest.raises(UndocumentedResponse):
        assert_matches_spec("v3", "get", PATH, 418, {})


def test_documented_paths() -> None:
    assert ("GET", "/api/v1/participants/ecf") in documented_paths("v1")
    assert ("GET", "/api/v3/statements/{id}") in documented_paths("v3")


def test_exchange_validation_used_by_the_test_client() -> None:
    from tests.contract import validate_exchange

    good = b'{"error": "HTTP Token: Access denied"}'
    validate_exchange("GET", "/api/v3/participants/ecf/abc", 401, "application/vnd.api+json", good)
    with pytest.raises(AssertionError):
        validate_exchange(
            "GET", "/api/v3/participants/ecf/abc", 200, "application/vnd.api+json", b'{"data": 1}'
        )
    # CSV, undocumented paths and error statuses with unreliable reference schemas are skipped
    validate_exchange("GET", "/api/v1/participants/ecf.csv", 200, "text/csv", b"id\n")
    validate_exchange("GET", "/api/v1/participants", 200, "application/vnd.api+json", b"{}")
    validate_exchange("GET", "/api/v3/participants/ecf/abc", 404, "application/vnd.api+json", b"{}")
