"""`GET /api/internal/audit-events`: the audit log, for DfE administrators."""

from fastapi import APIRouter

from app.api.deps import ListQueryDep, SessionDep
from app.api.internal.deps import AdminCallerDep
from app.api.query import filter_parameter, page_parameter, parse_iso8601
from app.api.responses import JSONAPIResponse
from app.api.serialization import rfc3339
from app.api.v1.schemas import BAD_REQUEST, FORBIDDEN, UNAUTHORISED
from app.domain.audit_log import AuditLog, audit_filters
from app.repositories.audit import AuditRow

router = APIRouter(tags=["Internal: audit"])

AUDIT_FILTER = filter_parameter(
    {
        "target_type": {"type": "string", "example": "participant_declaration"},
        "target_id": {"type": "string", "description": "The id of the record acted on."},
        "action": {"type": "string", "example": "declaration.voided"},
        "actor_id": {"type": "string", "format": "uuid", "description": "The acting provider or school."},
        "since": {"type": "string", "format": "date-time", "description": "Events at or after this time."},
    },
    "Refine audit events to return.",
    "filter[target_type]=participant_declaration&filter[action]=declaration.voided",
)


def event(row: AuditRow) -> dict[str, object]:
    return {
        "id": str(row.id),
        "type": "audit-event",
        "attributes": {
            "occurred_at": rfc3339(row.occurred_at),
            "actor_type": row.actor_type,
            "actor_id": str(row.actor_id) if row.actor_id else None,
            "actor_token_id": str(row.actor_token_id) if row.actor_token_id else None,
            "action": row.action,
            "target_type": row.target_type,
            "target_id": row.target_id,
            "details": row.details,
            "request_id": row.request_id,
        },
    }


@router.get(
    "/audit-events",
    operation_id="internal_list_audit_events",
    responses={**UNAUTHORISED, **FORBIDDEN, **BAD_REQUEST},
    response_class=JSONAPIResponse,
    openapi_extra={"parameters": [AUDIT_FILTER, page_parameter("audit events")]},
)
async def list_audit_events(_: AdminCallerDep, session: SessionDep, query: ListQueryDep) -> JSONAPIResponse:
    """List audit events (who did what to which record, and when), oldest first."""
    since_raw = query.filter("since")
    filters = audit_filters(
        target_type=query.filter("target_type"),
        target_id=query.filter("target_id"),
        action=query.filter("action"),
        actor_id=query.filter("actor_id"),
        since=parse_iso8601(since_raw) if since_raw else None,
        since_given=since_raw is not None,
    )
    rows = await AuditLog(session).list(filters, query.page)
    return JSONAPIResponse({"data": [event(r) for r in rows]})
