"""What a school does, as routes: under `/api/internal/schools` for an induction tutor's token, and
(app/api/sandbox.py) under `/api/sandbox/schools` for a lead provider acting as a school it is
partnered with, in the sandbox only. Both call the same domain service (app/domain/school_actions.py)."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.api.deps import ClockDep, JsonBodyDep, SessionDep
from app.api.internal.deps import SchoolCallerDep
from app.api.responses import JSONAPIResponse
from app.api.serialization import iso_date, rfc3339
from app.api.v1.schemas import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    Responses,
    jsonapi_request_body,
)
from app.domain.enums import ChallengeReason, InductionProgrammeChoice
from app.domain.school_actions import (
    ActingAs,
    ChallengedPartnership,
    ProgrammeChoice,
    SchoolActions,
    SchoolParticipant,
)

WRITE: Responses = {**UNAUTHORISED, **FORBIDDEN, **NOT_FOUND, **BAD_REQUEST, **UNPROCESSABLE}
_DATE = {"type": "string", "format": "date", "example": "2024-09-02"}
_ID = {"type": "string", "format": "uuid"}

PROGRAMME_BODY = jsonapi_request_body(
    "induction-programme",
    {
        "type": "object",
        "required": ["cohort", "induction_programme_choice"],
        "properties": {
            "cohort": {"type": "integer", "example": 2024, "description": "Cohort start year."},
            "induction_programme_choice": {
                "type": "string",
                "enum": [
                    c.value
                    for c in InductionProgrammeChoice
                    if c is not InductionProgrammeChoice.NOT_YET_KNOWN
                ],
            },
        },
    },
)
REGISTER_BODY = jsonapi_request_body(
    "participant",
    {
        "type": "object",
        "required": ["participant_type", "full_name", "email", "date_of_birth", "start_date", "cohort"],
        "properties": {
            "participant_type": {"type": "string", "enum": ["ect", "mentor"]},
            "full_name": {"type": "string", "maxLength": 255},
            "email": {"type": "string", "format": "email", "maxLength": 255},
            "teacher_reference_number": {"type": "string", "pattern": "^[0-9]{7}$", "nullable": True},
            "date_of_birth": _DATE,
            "start_date": _DATE,
            "cohort": {"type": "integer", "example": 2024},
            "mentor_id": {**_ID, "nullable": True, "description": "An ECT's mentor (a participant id)."},
            "training": {
                "type": "boolean",
                "default": True,
                "description": "false: a mentor who joins the school's mentor pool without training.",
            },
        },
    },
)
MENTOR_BODY = jsonapi_request_body(
    "mentor", {"type": "object", "required": ["mentor_id"], "properties": {"mentor_id": _ID}}
)
LEAVING_BODY = jsonapi_request_body(
    "leaving", {"type": "object", "required": ["end_date"], "properties": {"end_date": _DATE}}
)
JOINING_BODY = jsonapi_request_body(
    "joining",
    {
        "type": "object",
        "required": ["start_date"],
        "properties": {
            "start_date": _DATE,
            "continue_with_current_provider": {"type": "boolean", "default": False},
        },
    },
)
CHALLENGE_BODY = jsonapi_request_body(
    "partnership-challenge",
    {
        "type": "object",
        "required": ["challenge_reason"],
        "properties": {"challenge_reason": {"type": "string", "enum": [r.value for r in ChallengeReason]}},
    },
)


def participant_document(p: SchoolParticipant) -> dict[str, Any]:
    return {
        "data": {
            "id": str(p.participant_id),
            "type": "school-participant",
            "attributes": {
                "participant_type": p.participant_type,
                "training_record_id": str(p.training_record_id),
                "school_id": str(p.school_id),
                "induction_record_id": str(p.induction_record_id),
                "induction_status": p.induction_status,
                "start_date": iso_date(p.start_date.date()),
                "end_date": iso_date(p.end_date.date()) if p.end_date else None,
                "mentor_training_record_id": (
                    str(p.mentor_training_record_id) if p.mentor_training_record_id else None
                ),
            },
        }
    }


def programme_document(c: ProgrammeChoice) -> dict[str, Any]:
    return {
        "data": {
            "id": str(c.school_id),
            "type": "induction-programme",
            "attributes": {
                "cohort": c.cohort,
                "induction_programme_choice": c.induction_programme_choice,
                "induction_programme_id": str(c.induction_programme_id) if c.induction_programme_id else None,
                "partnership_id": str(c.partnership_id) if c.partnership_id else None,
            },
        }
    }


def challenge_document(c: ChallengedPartnership) -> dict[str, Any]:
    return {
        "data": {
            "id": str(c.partnership_id),
            "type": "partnership",
            "attributes": {"challenge_reason": c.challenge_reason, "challenged_at": rfc3339(c.challenged_at)},
        }
    }


def add_school_routes(
    router: APIRouter, acting_dep: Callable[..., Any], prefix: str, *, with_programme_and_withdraw: bool
) -> None:
    """The school actions on `router`, each acting as `acting_dep` allows; operation ids start with
    `prefix` (unique across the app)."""
    Acting = Annotated[ActingAs, Depends(acting_dep)]  # noqa: N806 - a type alias

    async def service(session: SessionDep, clock: ClockDep, acting: Acting) -> SchoolActions:
        return SchoolActions(session, clock, acting)

    Service = Annotated[SchoolActions, Depends(service)]  # noqa: N806 - a type alias

    if with_programme_and_withdraw:

        @router.put(
            "/schools/{school_id}/induction-programme",
            operation_id=f"{prefix}_choose_induction_programme",
            responses=WRITE,
            response_class=JSONAPIResponse,
            openapi_extra={"requestBody": PROGRAMME_BODY},
        )
        async def choose_induction_programme(
            school_id: str, actions: Service, body: JsonBodyDep
        ) -> JSONAPIResponse:
            """Set how the school trains its early career teachers in a cohort."""
            return JSONAPIResponse(programme_document(await actions.choose_programme(school_id, body)))

    @router.post(
        "/schools/{school_id}/participants",
        operation_id=f"{prefix}_register_participant",
        responses=WRITE,
        response_class=JSONAPIResponse,
        status_code=201,
        openapi_extra={"requestBody": REGISTER_BODY},
    )
    async def register_participant(school_id: str, actions: Service, body: JsonBodyDep) -> JSONAPIResponse:
        """Register an early career teacher or a mentor at the school."""
        return JSONAPIResponse(participant_document(await actions.register(school_id, body)), status_code=201)

    @router.put(
        "/schools/{school_id}/participants/{participant_id}/mentor",
        operation_id=f"{prefix}_assign_mentor",
        responses=WRITE,
        response_class=JSONAPIResponse,
        openapi_extra={"requestBody": MENTOR_BODY},
    )
    async def assign_mentor(
        school_id: str, participant_id: str, actions: Service, body: JsonBodyDep
    ) -> JSONAPIResponse:
        """Name an early career teacher's mentor (from the school's mentor pool)."""
        return JSONAPIResponse(
            participant_document(await actions.assign_mentor(school_id, participant_id, body))
        )

    @router.post(
        "/schools/{school_id}/participants/{participant_id}/leaving",
        operation_id=f"{prefix}_report_participant_leaving",
        responses=WRITE,
        response_class=JSONAPIResponse,
        openapi_extra={"requestBody": LEAVING_BODY},
    )
    async def report_leaving(
        school_id: str, participant_id: str, actions: Service, body: JsonBodyDep
    ) -> JSONAPIResponse:
        """Report that a participant is leaving the school (a transfer out)."""
        return JSONAPIResponse(
            participant_document(await actions.report_leaving(school_id, participant_id, body))
        )

    @router.post(
        "/schools/{school_id}/participants/{participant_id}/joining",
        operation_id=f"{prefix}_report_participant_joining",
        responses=WRITE,
        response_class=JSONAPIResponse,
        openapi_extra={"requestBody": JOINING_BODY},
    )
    async def report_joining(
        school_id: str, participant_id: str, actions: Service, body: JsonBodyDep
    ) -> JSONAPIResponse:
        """Report that a participant from another school joins this one (a transfer in)."""
        return JSONAPIResponse(
            participant_document(await actions.report_joining(school_id, participant_id, body))
        )

    if with_programme_and_withdraw:

        @router.post(
            "/schools/{school_id}/participants/{participant_id}/withdraw",
            operation_id=f"{prefix}_withdraw_participant",
            responses={**UNAUTHORISED, **FORBIDDEN, **NOT_FOUND, **UNPROCESSABLE},
            response_class=JSONAPIResponse,
        )
        async def withdraw_participant(
            school_id: str, participant_id: str, actions: Service
        ) -> JSONAPIResponse:
            """Remove a participant from the school."""
            return JSONAPIResponse(participant_document(await actions.withdraw(school_id, participant_id)))

    @router.post(
        "/schools/{school_id}/partnerships/{partnership_id}/challenge",
        operation_id=f"{prefix}_challenge_partnership",
        responses=WRITE,
        response_class=JSONAPIResponse,
        openapi_extra={"requestBody": CHALLENGE_BODY},
    )
    async def challenge_partnership(
        school_id: str, partnership_id: str, actions: Service, body: JsonBodyDep
    ) -> JSONAPIResponse:
        """Challenge a partnership a lead provider reported for the school."""
        return JSONAPIResponse(challenge_document(await actions.challenge(partnership_id, body, school_id)))


async def school_token_scope(caller: SchoolCallerDep) -> ActingAs:
    """An induction tutor acts for the one school their token was issued for."""
    return ActingAs(school_id=caller.school_id)


router = APIRouter(tags=["Internal: schools"])
add_school_routes(router, school_token_scope, "internal", with_programme_and_withdraw=True)

__all__ = ["add_school_routes", "router"]
