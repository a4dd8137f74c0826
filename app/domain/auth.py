"""Who is calling: bearer token → the provider (or internal role) it belongs to."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.domain.audit import audit
from app.domain.enums import TokenScope
from app.domain.errors import Forbidden, Unauthenticated, ValidationFailed
from app.repositories.tokens import TokenOwner, TokenRepository
from app.security import generate_token, hash_token

LAST_USED_GRANULARITY = timedelta(minutes=1)
# Roles of DfE's own services and operators (tokens with no lead provider).
INTERNAL_ROLES = (TokenScope.FINANCE, TokenScope.ADMIN, TokenScope.SCHOOL, TokenScope.NPQ_REGISTRATION)


@dataclass(frozen=True)
class Caller:
    """The authenticated token's owner."""

    token_id: uuid.UUID
    scope: TokenScope
    cpd_lead_provider_id: uuid.UUID | None
    cpd_lead_provider_name: str | None
    lead_provider_id: uuid.UUID | None
    npq_lead_provider_id: uuid.UUID | None
    school_id: uuid.UUID | None


@dataclass(frozen=True)
class EcfProvider:
    """A lead provider calling an ECF endpoint (it has an ECF role)."""

    cpd_lead_provider_id: uuid.UUID
    lead_provider_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class NpqProvider:
    """A lead provider calling an NPQ endpoint (it has an NPQ role)."""

    cpd_lead_provider_id: uuid.UUID
    npq_lead_provider_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class LeadProviderCaller:
    """Any lead provider (ECF, NPQ or both) calling an endpoint open to both programmes."""

    cpd_lead_provider_id: uuid.UUID
    lead_provider_id: uuid.UUID | None
    npq_lead_provider_id: uuid.UUID | None
    name: str


@dataclass(frozen=True)
class InternalCaller:
    """A DfE service or operator calling an internal endpoint."""

    token_id: uuid.UUID
    role: TokenScope
    school_id: uuid.UUID | None


class TokenCache:
    """Live tokens' owners, kept by one worker for `seconds` after a lookup.

    Every request presents a token, and looking it up cost a database round trip and ~0.3 ms of
    a small list's ~1.5 ms in the worker. A token answered from here is one that was live at most
    `seconds` ago: a revocation (or a change of the provider's roles) reaches every worker within
    that time. Only tokens that were found are kept, so presenting unknown tokens neither fills
    the cache nor hides a token created since. Entries are keyed by the token's digest, never by
    the token itself. One event loop per worker: no locking needed.
    """

    def __init__(
        self, seconds: float, *, max_entries: int = 10_000, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, TokenOwner]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str) -> TokenOwner | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            del self._entries[digest]
            return None
        return entry[1]

    def put(self, digest: str, owner: TokenOwner) -> None:
        now = self._monotonic()
        if len(self._entries) >= self.max_entries and digest not in self._entries:
            self._entries = {d: e for d, e in self._entries.items() if e[0] > now}
            while len(self._entries) >= self.max_entries:  # all live: the oldest entry goes
                del self._entries[next(iter(self._entries))]
        self._entries[digest] = (now + self.seconds, owner)

    def used(self, digest: str, at: datetime) -> None:
        """The token's use at `at` was recorded: later requests within the minute need not."""
        entry = self._entries.get(digest)
        if entry is not None:
            self._entries[digest] = (entry[0], replace(entry[1], last_used_at=at))


async def authenticate(
    repo: TokenRepository, raw_token: str | None, key: str, now: datetime, cache: TokenCache | None = None
) -> Caller:
    if not raw_token:
        raise Unauthenticated()
    digest = hash_token(raw_token, key)
    owner = cache.get(digest) if cache is not None else None
    if owner is None:
        owner = await repo.find_by_hash(digest)
        if owner is None:
            raise Unauthenticated()
        if cache is not None:
            cache.put(digest, owner)
    # The lookup read last_used_at: a token used within the last minute needs no write at all
    # (the repository re-checks it under a row lock when it does write).
    if owner.last_used_at is None or owner.last_used_at < now - LAST_USED_GRANULARITY:
        await repo.record_use(owner.token_id, now, LAST_USED_GRANULARITY)
        if cache is not None:
            cache.used(digest, now)
    return Caller(
        token_id=owner.token_id,
        scope=TokenScope(owner.scope),
        cpd_lead_provider_id=owner.cpd_lead_provider_id,
        cpd_lead_provider_name=owner.cpd_lead_provider_name,
        lead_provider_id=owner.lead_provider_id,
        npq_lead_provider_id=owner.npq_lead_provider_id,
        school_id=owner.school_id,
    )


def require_ecf(caller: Caller) -> EcfProvider:
    """ECF endpoints need a lead-provider token whose provider has an ECF role (else 403)."""
    if (
        caller.scope is not TokenScope.LEAD_PROVIDER
        or caller.lead_provider_id is None
        or caller.cpd_lead_provider_id is None
    ):
        raise Forbidden()
    return EcfProvider(
        cpd_lead_provider_id=caller.cpd_lead_provider_id,
        lead_provider_id=caller.lead_provider_id,
        name=caller.cpd_lead_provider_name or "",
    )


def require_npq(caller: Caller) -> NpqProvider:
    """NPQ endpoints need a lead-provider token whose provider has an NPQ role (else 403)."""
    if (
        caller.scope is not TokenScope.LEAD_PROVIDER
        or caller.npq_lead_provider_id is None
        or caller.cpd_lead_provider_id is None
    ):
        raise Forbidden()
    return NpqProvider(
        cpd_lead_provider_id=caller.cpd_lead_provider_id,
        npq_lead_provider_id=caller.npq_lead_provider_id,
        name=caller.cpd_lead_provider_name or "",
    )


def require_lead_provider(caller: Caller) -> LeadProviderCaller:
    """Endpoints shared by ECF and NPQ need a lead-provider token (else 403)."""
    if caller.scope is not TokenScope.LEAD_PROVIDER or caller.cpd_lead_provider_id is None:
        raise Forbidden()
    return LeadProviderCaller(
        cpd_lead_provider_id=caller.cpd_lead_provider_id,
        lead_provider_id=caller.lead_provider_id,
        npq_lead_provider_id=caller.npq_lead_provider_id,
        name=caller.cpd_lead_provider_name or "",
    )


def require_internal(caller: Caller, *roles: TokenScope) -> InternalCaller:
    """Internal endpoints need a token of one of their roles (a provider's or another role's: 403)."""
    if caller.scope is TokenScope.LEAD_PROVIDER or caller.scope not in roles:
        raise Forbidden()
    return InternalCaller(token_id=caller.token_id, role=caller.scope, school_id=caller.school_id)


async def issue_token(
    repo: TokenRepository,
    key: str,
    *,
    scope: TokenScope,
    cpd_lead_provider_id: uuid.UUID | None = None,
    school_id: uuid.UUID | None = None,
    description: str | None = None,
) -> str:
    """Create a token and return its raw value (the only time it exists in clear)."""
    raw = generate_token()
    token = await repo.create(
        hash_token(raw, key),
        scope=scope,
        cpd_lead_provider_id=cpd_lead_provider_id,
        school_id=school_id,
        description=description,
    )
    await audit(
        repo.session,
        "api_token.created",
        "api_token",
        token.id,
        scope=scope,
        cpd_lead_provider_id=cpd_lead_provider_id,
        school_id=school_id,
    )
    return raw


async def revoke_tokens(
    repo: TokenRepository,
    key: str,
    now: datetime,
    *,
    raw_token: str | None = None,
    cpd_lead_provider_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke one token (given in clear) or every live token of a lead provider, each with an audit
    event. A revoked token is refused at once by a worker that looks it up, and by every worker
    once its cached lookup expires (TokenCache)."""
    if (raw_token is None) == (cpd_lead_provider_id is None):
        raise ValueError("revoke either one token or a lead provider's tokens")
    revoked = await repo.revoke(
        now,
        hashed_token=hash_token(raw_token, key) if raw_token is not None else None,
        cpd_lead_provider_id=cpd_lead_provider_id,
    )
    for token_id in revoked:
        await audit(repo.session, "api_token.revoked", "api_token", token_id)
    return revoked


async def issue_internal_token(
    repo: TokenRepository,
    key: str,
    *,
    role: TokenScope,
    school_id: uuid.UUID | None = None,
    description: str | None = None,
) -> str:
    """A token for an internal role; a school token acts for exactly one (existing) school."""
    if role not in INTERNAL_ROLES:
        raise ValidationFailed([("role", f"must be one of {', '.join(INTERNAL_ROLES)}")])
    if role is TokenScope.SCHOOL and school_id is None:
        raise ValidationFailed([("school", "a school token needs the school it acts for")])
    if role is not TokenScope.SCHOOL and school_id is not None:
        raise ValidationFailed([("school", "only a school token acts for a school")])
    if school_id is not None and not await repo.school_exists(school_id):
        raise ValidationFailed([("school", f"no school with id {school_id}")])
    return await issue_token(repo, key, scope=role, school_id=school_id, description=description)
