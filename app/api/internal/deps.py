"""Dependencies of the internal API: the caller must hold a token of an internal role."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends

from app.api.deps import CallerDep
from app.domain.auth import Caller, InternalCaller, require_internal
from app.domain.enums import TokenScope


def internal_role(*roles: TokenScope) -> Callable[[Caller], Coroutine[Any, Any, InternalCaller]]:
    """A dependency admitting tokens of `roles`: no or an unknown token is a 401, a lead
    provider's token or another role's a 403."""

    async def dependency(caller: CallerDep) -> InternalCaller:
        return require_internal(caller, *roles)

    return dependency


# DfE finance users; administrators may do what they do.
FinanceCallerDep = Annotated[InternalCaller, Depends(internal_role(TokenScope.FINANCE, TokenScope.ADMIN))]
# An induction tutor's token, acting for the one school it was issued for.
SchoolCallerDep = Annotated[InternalCaller, Depends(internal_role(TokenScope.SCHOOL))]
# The NPQ registration service (creates applications, updates their eligibility).
NpqRegistrationCallerDep = Annotated[
    InternalCaller, Depends(internal_role(TokenScope.NPQ_REGISTRATION, TokenScope.ADMIN))
]
# DfE operators.
AdminCallerDep = Annotated[InternalCaller, Depends(internal_role(TokenScope.ADMIN))]
