"""Shared set-up for the school-side tests: school tokens, JSON:API bodies, a partnered school."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import TokenScope
from app.models import ApiToken, School
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY

YEAR = 2022
INTERNAL = "/api/internal/schools"
SANDBOX = "/api/sandbox/schools"


async def school_headers(session: AsyncSession, school: School) -> dict[str, str]:
    raw = f"school-{uuid.uuid4()}"
    session.add(
        ApiToken(hashed_token=hash_token(raw, TEST_HMAC_KEY), scope=TokenScope.SCHOOL, school_id=school.id)
    )
    await session.flush()
    return {"Authorization": f"Bearer {raw}"}


def body(type_: str, **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": type_, "attributes": attributes}}


def person(kind: str = "ect", **overrides: Any) -> dict[str, Any]:
    k = f.n()
    values = {
        "participant_type": kind,
        "full_name": f"Registered Teacher {k}",
        "email": f"registered.{k}.{uuid.uuid4().hex[:6]}@example.com",
        "teacher_reference_number": str(3_000_000 + k),
        "date_of_birth": "1994-05-17",
        "start_date": f"{YEAR}-09-01",
        "cohort": YEAR,
    }
    return body("participant", **(values | overrides))


async def ready_cohort(session: AsyncSession, year: int = YEAR) -> None:
    """The cohort's standard ECF schedules (registrations pick one by start date)."""
    for identifier in ("ecf-standard-september", "ecf-standard-january", "ecf-standard-april"):
        await f.schedule(session, year, identifier)


async def open_statement(session: AsyncSession, lp: f.Provider, year: int = YEAR) -> None:
    today = date.today()
    await f.statement(
        session, lp, year, deadline_date=today + timedelta(days=30), payment_date=today + timedelta(days=55)
    )


async def audit_actions(session: AsyncSession, target_id: object) -> list[str]:
    rows = await session.execute(
        text("SELECT action FROM audit_events WHERE target_id = :id ORDER BY occurred_at, action"),
        {"id": str(target_id)},
    )
    return [r[0] for r in rows.all()]


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["title"]: e["detail"] for e in response.json()["errors"]}
