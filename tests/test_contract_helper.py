"""The response validator itself: it must fail on what the contract forbids, and only on that.

Plain synchronous tests: no database, no conftest fixtures (only pytest's own `monkeypatch`/`tmp_path`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.contract import (
    KNOWN_NULLABLE,
    VERSIONS,
    UndocumentedResponse,
    assert_matches_spec,
    documented_paths,
    request_schema,
    spec,
    to_json_schema,
    validate_exchange,
)

PATH = "/api/v3/participants/ecf"
UUID = "db3a7848-7308-4879-942a-c4a70ced400a"


def enrolment(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "training_record_id": UUID,
        "email": "a@example.com",
        "mentor_id": UUID,
        "school_urn": "123456",
        "participant_type": "ect",
        "cohort": "2022",
        "training_status": "active",
        "participant_status": "active",
        "teacher_reference_number_validated": True,
        "eligible_for_funding": True,
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
    """A v3 ECF participant list with one participant with one enrolment (every required key)."""
    attrs: dict[str, Any] = {
        "full_name": "Jane Smith",
        "teacher_reference_number": "1234567",
        "updated_at": "2021-05-31T02:22:32Z",
        "ecf_enrolments": [enrolment(**enrolment_overrides)],
        "participant_id_changes": [],
    }
    return {"data": [{"id": UUID, "type": "participant", "attributes": attrs | (attributes or {})}]}


def failure(body: Any, **kwargs: Any) -> str:
    with pytest.raises(AssertionError) as error:
        assert_matches_spec("v3", "get", PATH, 200, body, **kwargs)
    return str(error.value)


# --- what passes ---------------------------------------------------------------------------------


def test_valid_body_passes() -> None:
    assert_matches_spec("v3", "get", PATH, 200, body())
    assert_matches_spec("v3", "GET", PATH, 200, {"data": []})  # method in either case


def test_nullable_fields_accept_null() -> None:
    assert_matches_spec("v3", "get", PATH, 200, body(mentor_id=None, eligible_for_funding=None))


def test_nullable_ref_accepts_null_and_its_object() -> None:
    # `withdrawal` is `nullable: true` + `anyOf: [$ref ECFWithdrawal]`
    withdrawal = {"reason": "moved-school", "date": "2021-05-31T02:22:32Z"}
    assert_matches_spec("v3", "get", PATH, 200, body(withdrawal=withdrawal, training_status="withdrawn"))


def test_nullable_enum_accepts_null_but_not_other_values() -> None:
    schema = to_json_schema("v3", {"$ref": "#/components/schemas/ECFPartnershipAttributes"})
    challenged_reason = Draft202012Validator(schema["properties"]["challenged_reason"])
    assert challenged_reason.is_valid(None)
    assert challenged_reason.is_valid("mistake")
    assert not challenged_reason.is_valid("bored")


def test_date_time_with_z_passes() -> None:
    assert_matches_spec("v3", "get", PATH, 200, body(created_at="2021-05-31T02:22:32.000Z"))
    assert_matches_spec("v3", "get", PATH, 200, body({"updated_at": "2021-05-31T02:22:32+01:00"}))


def test_documented_401_body() -> None:
    assert_matches_spec("v3", "get", PATH, 401, {"error": "HTTP Token: Access denied"})
    assert_matches_spec("v1", "get", "/api/v1/participants/ecf", 401, {"error": "HTTP Token: Access denied"})


def test_csv_response_is_looked_up_under_its_content_type() -> None:
    csv = "id,type\n" + UUID + ",participant\n"
    assert_matches_spec("v1", "get", "/api/v1/participants/ecf.csv", 200, csv, content_type="text/csv")
    # Asking for JSON falls back to the only content type the response lists.
    assert_matches_spec("v1", "get", "/api/v1/participants/ecf.csv", 200, csv)


# --- what fails ------------------------------------------------------------------------------------


def test_undocumented_attribute_fails() -> None:
    assert "'surprise' was unexpected" in failure(body({"surprise": 1}))


def test_undocumented_attribute_inside_a_nullable_ref_fails_precisely() -> None:
    withdrawal = {"reason": "moved-school", "date": "2021-05-31T02:22:32Z", "by": "x"}
    message = failure(body(withdrawal=withdrawal))
    assert "$.data[0].attributes.ecf_enrolments[0].withdrawal" in message
    assert "'by' was unexpected" in message


def test_wrong_enum_fails() -> None:
    message = failure(body(participant_type="teacher"))
    assert "$.data[0].attributes.ecf_enrolments[0].participant_type" in message
    assert "'teacher' is not one of" in message


def test_null_on_non_nullable_field_fails() -> None:
    message = failure(body({"full_name": None}))
    assert "$.data[0].attributes.full_name: None is not of type 'string'" in message


def test_missing_required_attribute_fails() -> None:
    participant = body()
    del participant["data"][0]["attributes"]["ecf_enrolments"][0]["cohort"]
    assert "'cohort' is a required property" in failure(participant)


def test_formats_are_checked() -> None:
    assert "is not a 'date-time'" in failure(body(created_at="2021-05-31"))
    assert "is not a 'date-time'" in failure(body(created_at="2021-13-31T02:22:32Z"))
    assert "is not a 'uuid'" in failure(body(delivery_partner_id="cd3a12347-7308-4879-942a-c4a70ced400a"))
    assert "is not a 'date'" in failure(body(induction_end_date="2022-02-30"))


def test_every_problem_is_listed() -> None:
    message = failure(body({"full_name": None, "extra": 1}, cohort=2022, participant_type="teacher"))
    assert "(4 error(s))" in message
    for where in ("attributes: ", "attributes.full_name", "[0].cohort", "[0].participant_type"):
        assert where in message
    assert "v3 GET /api/v3/participants/ecf 200" in message


# --- KNOWN_NULLABLE --------------------------------------------------------------------------------


def test_known_reference_nulls_pass_only_thanks_to_the_registry() -> None:
    reference_nulls = body({"teacher_reference_number": None}, teacher_reference_number_validated=None)
    assert ("ECFEnrolment", "teacher_reference_number_validated") in KNOWN_NULLABLE["v3"]
    assert_matches_spec("v3", "get", PATH, 200, reference_nulls)

    # As published, the document forbids both nulls.
    message = failure(reference_nulls, known_deviations=())
    assert "attributes.teacher_reference_number: None is not of type 'string'" in message
    assert "teacher_reference_number_validated: None is not of type 'boolean'" in message


def test_known_deviations_can_be_given_per_call() -> None:
    participant = body({"full_name": None})
    assert_matches_spec(
        "v3", "get", PATH, 200, participant, known_deviations={("ECFParticipantAttributes", "full_name")}
    )
    failure(participant)  # and the default registry is untouched by that call


# --- undocumented responses ------------------------------------------------------------------------


def test_undocumented_status_is_reported() -> None:
    with pytest.raises(UndocumentedResponse, match="does not document status 418"):
        assert_matches_spec("v3", "get", PATH, 418, {})


def test_undocumented_path_and_method_are_reported() -> None:
    with pytest.raises(UndocumentedResponse, match="path /api/v3/nope is not documented"):
        assert_matches_spec("v3", "get", "/api/v3/nope", 200, {})
    with pytest.raises(UndocumentedResponse, match="DELETE /api/v3/participants/ecf is not documented"):
        assert_matches_spec("v3", "delete", PATH, 200, {})
    assert issubclass(UndocumentedResponse, AssertionError)


# --- the documents as a whole ------------------------------------------------------------------------


def test_documented_paths() -> None:
    assert ("GET", "/api/v1/participants/ecf") in documented_paths("v1")
    assert ("GET", "/api/v3/statements/{id}") in documented_paths("v3")
    assert ("PUT", "/api/v3/participants/ecf/{id}/withdraw") in documented_paths("v3")
    assert all(method.isupper() for method, _ in documented_paths("v2"))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_documented_schema_converts_to_valid_json_schema(version: str) -> None:
    """Compiles every response and request body; a bad conversion would raise here first."""
    for method, path in documented_paths(version):
        operation = spec(version)["paths"][path][method.lower()]
        for status, response in operation["responses"].items():
            for content_type in response.get("content") or {}:
                try:
                    assert_matches_spec(version, method, path, int(status), None, content_type=content_type)
                except AssertionError as error:  # None rarely fits; only a conversion error matters here
                    assert "does not match the reference schema" in str(error)
        Draft202012Validator.check_schema(request_schema(version, method, path))


def test_converted_schemas_have_no_openapi_leftovers() -> None:
    leftovers: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"nullable", "example", "$ref"} and not str(value).startswith("#/$defs/"):
                    leftovers.append(f"{where}.{key}")
                if key == "required" and not isinstance(value, list):
                    leftovers.append(f"{where}.required")
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    # v1 ECFParticipantAttributes.teacher_reference_number carries `required: false`.
    for version, component in (("v1", "ECFParticipantAttributes"), ("v3", "MultipleECFParticipantsResponse")):
        walk(to_json_schema(version, {"$ref": f"#/components/schemas/{component}"}), component)
    assert leftovers == []


def test_request_schema_is_resolved_and_strict() -> None:
    schema = request_schema("v3", "put", "/api/v3/participants/ecf/{id}/withdraw")
    assert "$ref" not in json.dumps(schema)
    validator = Draft202012Validator(schema)
    attributes = {"reason": "moved-school", "course_identifier": "ecf-induction"}
    good = {"data": {"type": "participant-withdraw", "attributes": attributes}}
    assert validator.is_valid(good), [e.message for e in validator.iter_errors(good)]
    assert not validator.is_valid({"data": good["data"], "extra": 1})


def test_recursive_schemas_stay_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference documents have no recursive schema today; a later one must not hang the helper.
    node = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    document = {
        "openapi": "3.0.1",
        "paths": {
            "/api/v3/tree": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}
                        }
                    }
                }
            }
        },
        "components": {"schemas": {"Node": node}},
    }
    (tmp_path / "v3.json").write_text(json.dumps(document))
    monkeypatch.setenv("CPD_REFERENCE_DIR", str(tmp_path))

    tree: dict[str, Any] = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert_matches_spec("v3", "get", "/api/v3/tree", 200, tree)
    tree["children"][0]["children"][0]["colour"] = "red"
    with pytest.raises(AssertionError, match=r"\$\.children\[0\]\.children\[0\]: .*'colour' was unexpected"):
        assert_matches_spec("v3", "get", "/api/v3/tree", 200, tree)
    assert documented_paths("v3") == [("GET", "/api/v3/tree")]

    monkeypatch.delenv("CPD_REFERENCE_DIR")
    assert len(documented_paths("v3")) > 1  # the real document again


# --- the test client's hook ------------------------------------------------------------------------


def test_exchange_validation_used_by_the_test_client() -> None:
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
