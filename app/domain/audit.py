"""Every successful write leaves an audit event: who (token, role, organisation), what (action),
to what (target) and when, in the same transaction as the write, so one never exists without the
other.

The request's caller is bound to the session once, when the token is authenticated; domain services
then only name the action and its target. Work outside a request (the CLI, the seed) binds its own
actor; anything else is recorded as `system`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.audit import AuditRepository

_ACTOR_KEY = "cpd_audit_actor"
_AUDITED_KEY = "cpd_audited"


@dataclass(frozen=True)
class Actor:
    type: str
    token_id: uuid.UUID | None = None
    # The CPD lead provider or the school acting; None for DfE roles and operators.
    organisation_id: uuid.UUID | None = None
    request_id: str | None = None


SYSTEM = Actor("system")
CLI = Actor("cli")


def bind_actor(session: AsyncSession, actor: Actor) -> None:
    session.info[_ACTOR_KEY] = actor


def actor_of(session: AsyncSession) -> Actor:
    actor = session.info.get(_ACTOR_KEY)
    return actor if isinstance(actor, Actor) else SYSTEM


def _plain(value: Any) -> Any:
    """JSON-ready detail values (ids, dates, enums and amounts as strings)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


async def audit(
    session: AsyncSession, action: str, target_type: str, target_id: uuid.UUID | str, **details: Any
) -> None:
    """Record `action` on the target for the session's actor (flushed with the write it follows)."""
    actor = actor_of(session)
    session.info[_AUDITED_KEY] = True
    await AuditRepository(session).add(
        actor_type=actor.type,
        actor_token_id=actor.token_id,
        actor_id=actor.organisation_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details={k: _plain(v) for k, v in details.items() if v is not None},
        request_id=actor.request_id,
    )


async def audit_unrecorded_write(session: AsyncSession, method: str, route: str) -> None:
    """The safety net of the one commit point: a successful write request whose service recorded no
    event of its own still leaves one (`request.<METHOD>` on the route), so no write escapes the log.
    Requests that changed nothing specific (an idempotent repeat) are recorded this way too."""
    if session.info.get(_AUDITED_KEY):
        return
    await audit(session, f"request.{method.lower()}", "route", route)
