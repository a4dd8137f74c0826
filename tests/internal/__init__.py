"""Tests of the internal API (administrators, the NPQ registration service), and their helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import TokenScope
from tests import factories_finance as ff


async def admin(session: AsyncSession) -> dict[str, str]:
    return await ff.internal_headers(session, TokenScope.ADMIN)


async def npq_service(session: AsyncSession) -> dict[str, str]:
    return await ff.internal_headers(session, TokenScope.NPQ_REGISTRATION)


def doc(type_: str, **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": type_, "attributes": attributes}}


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def errors(response: httpx.Response) -> dict[str, str]:
    """Field-level errors of a 422: {attribute: message}."""
    assert response.status_code == 422, response.text
    return {e["title"]: e["detail"] for e in response.json()["errors"]}


async def audit_events(session: AsyncSession, action: str, target_id: Any = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM audit_events WHERE action = :action"
    params: dict[str, Any] = {"action": action}
    if target_id is not None:
        sql += " AND target_id = :target_id"
        params["target_id"] = str(target_id)
    rows = (await session.execute(text(sql + " ORDER BY occurred_at, id"), params)).mappings().all()
    return [dict(r) for r in rows]


async def count(session: AsyncSession, table: str) -> int:
    return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608


async def counts(session: AsyncSession, *tables: str) -> dict[str, int]:
    return {t: await count(session, t) for t in tables}


async def stamp(session: AsyncSession, table: str, row_id: Any, at: datetime) -> None:
    """Put a row's updated_at in the past (rows a test creates share the transaction's now())."""
    await session.execute(
        text(f"UPDATE {table} SET updated_at = :at WHERE id = :id"),  # noqa: S608
        {"at": at, "id": row_id},
    )
