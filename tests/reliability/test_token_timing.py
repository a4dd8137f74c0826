"""Token lookup time does not reveal whether a token exists (issue 10).

Two kinds of evidence:

1. Structure: the presented token is turned into a keyed HMAC-SHA256 digest and looked up by one
   equality on a unique index; the raw token is never compared with anything, in Python or SQL.
   Time spent is therefore independent of how much of a stored token the presented one matches.
2. Measurement (robust on a noisy machine): unknown tokens, revoked tokens and tokens that share
   all but their last character with a valid one are sent interleaved, many times each; their
   median times must agree within a generous factor. Medians of interleaved samples shrug off the
   scheduler's hiccups that make single timings useless.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import security
from app.domain import auth
from app.domain.errors import Unauthenticated
from app.repositories.tokens import TokenRepository
from app.security import hash_token
from tests import factories as f
from tests.conftest import TEST_HMAC_KEY
from tests.sql_capture import captured_statements

log = logging.getLogger(__name__)
SAMPLES = 300
PATH = "/api/v3/participants/ecf"
# Medians must agree within this factor (a leak worth exploiting shows as a steady shift, and a
# noisy run stays well inside it).
BOUND = 2.0
FIGURES: dict[str, float] = {}


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the app sends while the test runs, with its parameters."""
    with captured_statements(engine.sync_engine) as seen:
        yield seen


def raw_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


# ---- structure -------------------------------------------------------------------------------------


def test_the_digest_is_a_keyed_hmac_sha256() -> None:
    assert hash_token("some-token", "k") == hmac.new(b"k", b"some-token", hashlib.sha256).hexdigest()
    assert hash_token("some-token", "k") != hash_token("some-token", "other-key")
    source = inspect.getsource(security.hash_token)
    assert "hmac.new(" in source and "hashlib.sha256" in source


async def test_authentication_looks_up_the_digest_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """`authenticate` hands the repository the digest, never the raw token (no comparison of the
    secret itself can happen anywhere downstream)."""
    looked_up: list[str] = []

    async def find_by_hash(self: TokenRepository, hashed_token: str) -> None:
        looked_up.append(hashed_token)
        return None

    monkeypatch.setattr(TokenRepository, "find_by_hash", find_by_hash)
    raw = "presented-" + uuid.uuid4().hex
    with pytest.raises(Unauthenticated):
        await auth.authenticate(TokenRepository(None), raw, TEST_HMAC_KEY, datetime.now(UTC))  # type: ignore[arg-type]
    assert looked_up == [hash_token(raw, TEST_HMAC_KEY)]


async def test_the_lookup_is_one_equality_on_the_unique_digest_index(
    app: FastAPI, session: AsyncSession, statements: list[tuple[str, Any]]
) -> None:
    lp = await f.provider(session)
    await session.flush()
    raw = "unknown-" + uuid.uuid4().hex
    statements.clear()
    async with raw_client(app) as client:
        assert (await client.get(PATH, headers={"Authorization": f"Bearer {raw}"})).status_code == 401
    token_queries = [(sql, params) for sql, params in statements if "api_tokens" in sql]
    assert len(token_queries) == 1, token_queries
    sql, params = token_queries[0]
    assert "api_tokens.hashed_token = $1" in sql
    assert not any(op in sql.lower() for op in (" like ", "substr", "left(", "position(", "starts_with"))
    assert hash_token(raw, TEST_HMAC_KEY) in params
    # The raw token reaches no statement at all.
    assert not any(raw in str(p) for _, p in statements)
    # hashed_token carries a unique btree index: one index probe, whatever the value.
    indexes = (
        await session.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'api_tokens'"))
    ).scalars()
    assert any(d.startswith("CREATE UNIQUE INDEX") and "btree (hashed_token)" in d for d in indexes), lp.token


# ---- measurement -----------------------------------------------------------------------------------


async def test_unknown_revoked_and_near_miss_tokens_take_the_same_time(
    app: FastAPI, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    revoked = await f.provider(session)
    await session.execute(
        text("UPDATE api_tokens SET revoked_at = now() WHERE hashed_token = :h"),
        {"h": hash_token(revoked.token, TEST_HMAC_KEY)},
    )
    # Shares every character but the last with the valid token.
    near_miss = lp.token[:-1] + ("x" if lp.token[-1] != "x" else "y")
    kinds = {
        "unknown": lambda i: f"token-{uuid.uuid4()}",
        "revoked": lambda i: revoked.token,
        "near_miss": lambda i: near_miss,
    }
    times: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    async with raw_client(app) as client:
        # Warm up (first requests pay for imports, caches, prepared statements).
        for name in names * 10:
            await client.get(PATH, headers={"Authorization": f"Bearer {kinds[name](0)}"})
        for i in range(SAMPLES):
            # Rotate the order each round, so no kind always runs first (or last) in a round.
            rotation = names[i % 3 :] + names[: i % 3]
            for name in rotation:
                headers = {"Authorization": f"Bearer {kinds[name](i)}"}
                started = time.perf_counter()
                response = await client.get(PATH, headers=headers)
                times[name].append(time.perf_counter() - started)
                assert response.status_code == 401
        # The valid token still works (the near miss really was near).
        assert (await client.get(PATH, headers=lp.headers)).status_code == 200

    medians = {name: statistics.median(values) for name, values in times.items()}
    FIGURES.update({f"{name}_median_ms": m * 1000 for name, m in medians.items()})
    log.info("token lookup medians (ms): %s", {k: round(v * 1000, 3) for k, v in medians.items()})
    for a in names:
        for b in names:
            assert medians[a] / medians[b] <= BOUND, medians
