"""`cpd-api revoke-token`, run as a separate process against committed data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ApiToken
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.servers import run_cli


async def run(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    return await run_cli(database_url, "revoke-token", *args, stdin=stdin)


async def test_revoke_token_commands(committed: async_sessionmaker[AsyncSession], database_url: str) -> None:
    async with committed() as session:
        lp = await f.provider(session)
        other = await f.provider(session, token=f"second-{lp.token}")
        await session.commit()

    async def revoked(raw: str) -> bool:
        async with committed() as session:
            at = await session.scalar(
                select(ApiToken.revoked_at).where(ApiToken.hashed_token == hash_token(raw, TEST_HMAC_KEY))
            )
            return at is not None

    # One token, read from standard input (never from the command line).
    code, out, err = await run(database_url, stdin=f"{lp.token}\n")
    assert (code, out.strip()) == (
        0,
        "1 token revoked; every worker refuses it within 0 s (TOKEN_CACHE_SECONDS)",
    )
    assert (await revoked(lp.token), await revoked(other.token)) == (True, False)
    # Again: nothing left to revoke is an error, and so is an empty input.
    code, _, err = await run(database_url, stdin=f"{lp.token}\n")
    assert code != 0 and "nothing revoked" in err
    code, _, err = await run(database_url, stdin="\n")
    assert code != 0 and "no token on standard input" in err
    # Every live token of a provider, by name.
    code, out, _ = await run(database_url, "--provider", other.cpd.name)
    assert (code, out.split(";")[0]) == (0, "1 token revoked")
    assert await revoked(other.token)
    code, _, err = await run(database_url, "--provider", "No Such Provider")
    assert code != 0 and "no lead provider named" in err
