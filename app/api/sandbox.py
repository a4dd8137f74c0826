"""The sandbox scenario API (`/api/sandbox/...`): a lead provider's own token acts as the induction
tutor of a school it is partnered with, so it can rehearse what schools do (register a participant,
transfer one out or in, challenge a partnership, name an unfunded mentor) and watch the effects
through the provider API. Mounted outside production only (app/main.py)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import EcfProviderDep
from app.api.internal.schools import add_school_routes
from app.domain.school_actions import ActingAs

PREFIX = "/api/sandbox"


async def provider_scope(provider: EcfProviderDep) -> ActingAs:
    """Schools (and their participants) the provider is partnered with, nothing else."""
    return ActingAs(lead_provider_id=provider.lead_provider_id)


router = APIRouter(prefix=PREFIX, tags=["Sandbox scenarios"])
add_school_routes(router, provider_scope, "sandbox", with_programme_and_withdraw=False)
