"""Participant declarations as providers see them (reading side)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.domain.audit import audit
from app.domain.auth import LeadProviderCaller
from app.domain.declaration_lifecycle import DeclarationVoiding
from app.domain.declaration_submission import DeclarationInput, DeclarationSubmission
from app.domain.enums import DeclarationState, OutcomeState
from app.domain.errors import BadRequest, NotFound, record_id
from app.domain.npq_courses import SUPPORT_OFFER_COURSES
from app.domain.paging import Page
from app.repositories.declarations import DeclarationFilters, DeclarationRepository, DeclarationRow

UPLIFT_STATES = (DeclarationState.PAID, DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK)


def api_state(state: str) -> str:
    """States are stored with underscores and shown dasherised (`awaiting-clawback`)."""
    return state.replace("_", "-")


def eligible_for_payment(row: DeclarationRow) -> bool:
    return row.state in (DeclarationState.ELIGIBLE, DeclarationState.PAYABLE)


def has_passed(row: DeclarationRow) -> bool | None:
    """NPQ only: the latest outcome; a voided outcome (or none) is null."""
    if row.programme != "npq" or row.latest_outcome is None:
        return None
    if row.latest_outcome == OutcomeState.PASSED:
        return True
    if row.latest_outcome == OutcomeState.FAILED:
        return False
    return None


def ineligible_for_funding_reason(row: DeclarationRow) -> str | None:
    if row.state == DeclarationState.INELIGIBLE and row.state_reason == "duplicate":
        return "duplicate_declaration"
    return None


def uplift_paid(row: DeclarationRow) -> bool:
    if row.declaration_type != "started" or row.state not in UPLIFT_STATES:
        return False
    if row.programme == "ecf":
        return row.course_identifier == "ecf-induction" and (row.sparsity_uplift or row.pupil_premium_uplift)
    return row.course_identifier not in SUPPORT_OFFER_COURSES and bool(row.targeted_delivery_funding)


def parse_ids(value: str | None, *, single: bool) -> list[uuid.UUID] | None:
    """A participant or delivery partner id filter. v1/v2 take one id; v3 a comma list.

    In a comma list, values that are not ids simply match nothing; a single malformed id is a 400
    (the reference fails with a database error there).
    """
    if value is None:
        return None
    parts = [value.strip()] if single else [p.strip() for p in value.split(",") if p.strip()]
    ids: list[uuid.UUID] = []
    for part in parts:
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            if single:
                raise BadRequest(
                    f"The filter '#/participant_id' must be a participant id, got {part!r}"
                ) from None
    return ids


class DeclarationService:
    def __init__(self, session: AsyncSession, caller: LeadProviderCaller) -> None:
        self.session = session
        self.repo = DeclarationRepository(session)
        self.caller = caller

    async def list(self, filters: DeclarationFilters, page: Page) -> list[DeclarationRow]:
        return await self.repo.list(
            self.caller.cpd_lead_provider_id, self.caller.lead_provider_id, filters, page
        )

    async def get(self, declaration_id: str) -> DeclarationRow:
        ident = record_id(declaration_id)
        row = await self.repo.find(self.caller.cpd_lead_provider_id, self.caller.lead_provider_id, ident)
        if row is None:
            raise NotFound()
        return row

    async def submit(self, body: Any, clock: Clock) -> DeclarationRow:
        """Record a declaration from a request body and return it as the caller now sees it."""
        attributes = DeclarationInput.from_body(body)
        declaration_id = await DeclarationSubmission(self.session, self.caller, clock).submit(attributes)
        await audit(
            self.session,
            "declaration.submitted",
            "participant_declaration",
            declaration_id,
            participant_id=attributes.participant_id,
            declaration_type=attributes.declaration_type,
            course_identifier=attributes.course_identifier,
        )
        return await self._reload(declaration_id)

    async def void(self, declaration_id: str, clock: Clock) -> DeclarationRow:
        voided = await DeclarationVoiding(self.session, self.caller, clock).void(declaration_id)
        await audit(self.session, "declaration.voided", "participant_declaration", voided)
        return await self._reload(voided)

    async def _reload(self, declaration_id: uuid.UUID) -> DeclarationRow:
        row = await self.repo.find(
            self.caller.cpd_lead_provider_id, self.caller.lead_provider_id, declaration_id
        )
        assert row is not None, "a provider always sees its own declarations"
        return row

    @staticmethod
    def stream(
        maker: async_sessionmaker[AsyncSession], caller: LeadProviderCaller, filters: DeclarationFilters
    ) -> AsyncIterator[Sequence[DeclarationRow]]:
        return DeclarationRepository.stream(
            maker, caller.cpd_lead_provider_id, caller.lead_provider_id, filters
        )
