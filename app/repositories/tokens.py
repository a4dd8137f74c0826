"""API token queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken, CpdLeadProvider, School
from app.repositories.sql import text


@dataclass(frozen=True)
class TokenOwner:
    token_id: uuid.UUID
    scope: str
    last_used_at: datetime | None
    cpd_lead_provider_id: uuid.UUID | None
    cpd_lead_provider_name: str | None
    lead_provider_id: uuid.UUID | None
    npq_lead_provider_id: uuid.UUID | None
    school_id: uuid.UUID | None


# Built once: this runs on every request, and building the ORM select each time cost more than
# the query itself. The columns are TokenOwner's, in order.
_FIND_BY_HASH = text(
    """
    SELECT api_tokens.id, api_tokens.scope, api_tokens.last_used_at, api_tokens.cpd_lead_provider_id,
           cpd.name, lp.id, npq.id, api_tokens.school_id
      FROM api_tokens
      LEFT JOIN cpd_lead_providers cpd ON cpd.id = api_tokens.cpd_lead_provider_id
      LEFT JOIN lead_providers lp ON lp.cpd_lead_provider_id = cpd.id
      LEFT JOIN npq_lead_providers npq ON npq.cpd_lead_provider_id = cpd.id
     WHERE api_tokens.hashed_token = :hashed_token AND api_tokens.revoked_at IS NULL
    """
)


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_by_hash(self, hashed_token: str) -> TokenOwner | None:
        """The live token with this digest and its owner's roles (every request runs this)."""
        row = (await self.session.execute(_FIND_BY_HASH, {"hashed_token": hashed_token})).first()
        return TokenOwner(*row) if row else None

    async def record_use(self, token_id: uuid.UUID, now: datetime, granularity: timedelta) -> None:
        """Write last_used_at, at most once per `granularity` (no write on every request).

        The row is locked with SKIP LOCKED: when another request of the same token is already
        recording its use, this one skips the write instead of queueing behind that request's
        whole transaction (which would serialise a provider's concurrent requests).
        """
        due = (
            select(ApiToken.id)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - granularity),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        await self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == due)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def create(
        self,
        hashed_token: str,
        *,
        scope: str,
        cpd_lead_provider_id: uuid.UUID | None = None,
        school_id: uuid.UUID | None = None,
        description: str | None = None,
    ) -> ApiToken:
        token = ApiToken(
            hashed_token=hashed_token,
            scope=scope,
            cpd_lead_provider_id=cpd_lead_provider_id,
            school_id=school_id,
            description=description,
        )
        self.session.add(token)
        await self.session.flush()
        return token

    async def find_cpd_lead_provider(self, name_or_id: str) -> CpdLeadProvider | None:
        try:
            ident: uuid.UUID | None = uuid.UUID(name_or_id)
        except ValueError:
            ident = None
        condition = CpdLeadProvider.id == ident if ident else CpdLeadProvider.name.ilike(name_or_id)
        return (await self.session.execute(select(CpdLeadProvider).where(condition))).scalar_one_or_none()

    async def revoke(
        self, now: datetime, *, hashed_token: str | None = None, cpd_lead_provider_id: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """Mark live tokens revoked: the one with this digest, or every one of this lead provider.
        Returns the ids of the tokens revoked (already revoked ones are left as they are)."""
        condition = (
            ApiToken.hashed_token == hashed_token
            if hashed_token is not None
            else ApiToken.cpd_lead_provider_id == cpd_lead_provider_id
        )
        revoked = await self.session.execute(
            update(ApiToken)
            .where(condition, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiToken.id)
            .execution_options(synchronize_session=False)
        )
        return list(revoked.scalars())

    async def school_exists(self, school_id: uuid.UUID) -> bool:
        found = await self.session.execute(select(School.id).where(School.id == school_id))
        return found.first() is not None
