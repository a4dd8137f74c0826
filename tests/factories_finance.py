"""Finance factories: internal tokens, contracts, and declarations on statements in bulk.

`line_items` inserts many participants, declarations and their statement line items with a few
multi-row INSERTs, so a test can reproduce the reference's worked example (thousands of line
items) quickly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import TokenScope
from app.models import (
    ApiToken,
    Base,
    CallOffContract,
    NpqContract,
    ParticipantBand,
    ParticipantDeclaration,
    ParticipantIdentity,
    ParticipantProfile,
    Statement,
    StatementLineItem,
    User,
)
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY

D = Decimal
# The reference's spec factory contract (the ECF worked example): (min, max, price).
EXAMPLE_BANDS: tuple[tuple[int | None, int | None, Decimal], ...] = (
    (None, 2000, D("995")),
    (2001, 4000, D("979")),
    (4001, 6000, D("966")),
)
MINIMAL_BANDS: tuple[tuple[int | None, int | None, Decimal], ...] = (
    (None, 2, D("400")),
    (3, 4, D("300")),
    (5, 6, D("200")),
    (7, 8, D("100")),
)


async def internal_headers(session: AsyncSession, role: str = TokenScope.FINANCE) -> dict[str, str]:
    raw = f"internal-{role}-{uuid.uuid4()}"
    session.add(ApiToken(hashed_token=hash_token(raw, TEST_HMAC_KEY), scope=role, cpd_lead_provider_id=None))
    await session.flush()
    return {"Authorization": f"Bearer {raw}"}


async def ecf_contract(
    session: AsyncSession,
    provider: f.Provider,
    year: int = 2022,
    *,
    bands: tuple[tuple[int | None, int | None, Decimal], ...] = EXAMPLE_BANDS,
    version: str = "0.0.1",
    **values: Any,
) -> CallOffContract:
    assert provider.lead_provider is not None
    c = await f.cohort(session, year)
    contract = CallOffContract(
        lead_provider_id=provider.lead_provider.id,
        cohort_id=c.id,
        version=version,
        recruitment_target=values.pop("recruitment_target", 6000),
        set_up_fee=values.pop("set_up_fee", D("149651")),
        uplift_amount=values.pop("uplift_amount", D("100")),
        monthly_service_fee=values.pop("monthly_service_fee", None),
        **values,
    )
    session.add(contract)
    await session.flush()
    for low, high, price in bands:
        session.add(
            ParticipantBand(call_off_contract_id=contract.id, min=low, max=high, per_participant=price)
        )
    await session.flush()
    return contract


async def npq_contract(
    session: AsyncSession, provider: f.Provider, year: int, course_identifier: str, **values: Any
) -> uuid.UUID:
    """The reference's factory NPQ contract by default (£800, 72 places, 19 instalments, 3 payments,
    no stated monthly fee). Inserted into the table itself: the ORM would replace an explicit None by
    the column's default of 0."""
    assert provider.npq_lead_provider is not None
    c = await f.cohort(session, year)
    contract_id = uuid.uuid4()
    row: dict[str, Any] = {
        "id": contract_id,
        "npq_lead_provider_id": provider.npq_lead_provider.id,
        "cohort_id": c.id,
        "course_identifier": course_identifier,
        "version": "0.0.1",
        "recruitment_target": 72,
        "per_participant": D("800"),
        "service_fee_percentage": 40,
        "output_payment_percentage": 60,
        "service_fee_installments": 19,
        "number_of_payment_periods": 3,
        "monthly_service_fee": None,
        "targeted_delivery_funding_per_participant": D("100"),
        "special_course": False,
    }
    row.update(values)
    table: Table = NpqContract.__table__  # type: ignore[assignment]
    await session.execute(insert(table), [row])
    return contract_id


@dataclass
class Bulk:
    declaration_ids: list[uuid.UUID]
    user_ids: list[uuid.UUID]


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """`rows` as multi-row INSERT statements (as many rows per statement as PostgreSQL's 32,767
    parameters allow). A list passed to `execute` would be an executemany: one statement per row,
    so every statement-level trigger on the table (participant versions, declaration counts) would
    run once per row, thousands of times for a worked example."""
    per_statement = max(1, 30_000 // (len(rows[0]) + 4)) if rows else 1
    for start in range(0, len(rows), per_statement):
        await session.execute(insert(model).values(rows[start : start + per_statement]))


async def line_items(
    session: AsyncSession,
    provider: f.Provider,
    statement: Statement,
    count: int,
    *,
    state: str = "eligible",
    declaration_type: str = "started",
    uplift: bool = False,
    year: int = 2022,
) -> Bulk:
    """`count` ECF participants, each with one declaration in `state` on `statement` (ECTs)."""
    schedule = await f.schedule(session, year)
    users = [uuid.uuid4() for _ in range(count)]
    identities = [uuid.uuid4() for _ in range(count)]
    profiles = [uuid.uuid4() for _ in range(count)]
    declarations = [uuid.uuid4() for _ in range(count)]
    if not count:
        return Bulk([], [])
    tag = uuid.uuid4().hex[:8]
    await insert_rows(
        session,
        User,
        [
            {"id": u, "full_name": f"Finance {tag} {i}", "email": f"finance-{tag}-{i}@example.com"}
            for i, u in enumerate(users)
        ],
    )
    await insert_rows(
        session,
        ParticipantIdentity,
        [
            {"id": ident, "user_id": u, "email": f"finance-{tag}-{i}@example.com", "external_identifier": u}
            for i, (ident, u) in enumerate(zip(identities, users, strict=True))
        ],
    )
    await insert_rows(
        session,
        ParticipantProfile,
        [
            {
                "id": p,
                "profile_type": "ect",
                "participant_identity_id": ident,
                "schedule_id": schedule.id,
                "status": "active",
                "training_status": "active",
                "profile_duplicity": "single",
            }
            for p, ident in zip(profiles, identities, strict=True)
        ],
    )
    await insert_rows(
        session,
        ParticipantDeclaration,
        [
            {
                "id": d,
                "programme": "ecf",
                "user_id": u,
                "participant_profile_id": p,
                "cpd_lead_provider_id": provider.cpd.id,
                "declaration_type": declaration_type,
                "declaration_date": f.at(-5),
                "course_identifier": "ecf-induction",
                "state": state,
                "sparsity_uplift": uplift,
                "pupil_premium_uplift": False,
            }
            for d, u, p in zip(declarations, users, profiles, strict=True)
        ],
    )
    await insert_rows(
        session,
        StatementLineItem,
        [
            {"statement_id": statement.id, "participant_declaration_id": d, "state": state}
            for d in declarations
        ],
    )
    return Bulk(declarations, users)


async def clawbacks(session: AsyncSession, statement: Statement, declaration_ids: list[uuid.UUID]) -> None:
    """Paid declarations voided by their provider: awaiting clawback on `statement`."""
    await session.execute(
        update(ParticipantDeclaration)
        .where(ParticipantDeclaration.id.in_(declaration_ids))
        .values(state="awaiting_clawback")
    )
    await insert_rows(
        session,
        StatementLineItem,
        [
            {"statement_id": statement.id, "participant_declaration_id": d, "state": "awaiting_clawback"}
            for d in declaration_ids
        ],
    )
