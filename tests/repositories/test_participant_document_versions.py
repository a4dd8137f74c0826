"""The version protocol of rendered participant documents (migration 0025).

A reader takes the user's version before reading what it renders, and stores the document with
that version. A writer that commits in between moves the version on, so what the reader stored
is never used, even though it was stored after the writer's commit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.participant_documents import (
    DocumentKey,
    NewDocument,
    ParticipantDocumentRepository,
    Shape,
)
from tests import factories as f
from tests.servers import run_cli


async def _build(committed: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, DocumentKey]:
    async with committed() as session:
        lp = await f.provider(session)
        assert lp.lead_provider is not None
        ect = await f.participant(session, lp.lead_provider)
        await session.commit()
        return lp.lead_provider.id, DocumentKey(ect.record.id, ect.person.user.id)


async def _render_and_store(
    committed: async_sessionmaker[AsyncSession],
    lead_provider_id: uuid.UUID,
    key: DocumentKey,
    meanwhile: str | None,
) -> None:
    """A reader's request: versions first, then (after `meanwhile` commits elsewhere) the store."""
    now = datetime.now(UTC)
    async with committed() as reader:
        repo = ParticipantDocumentRepository(reader)
        [found] = await repo.current(lead_provider_id, Shape.FLAT, [key], now)
        assert found.body is None
        if meanwhile is not None:
            async with committed() as writer:
                await writer.execute(text(meanwhile), {"user": key.user_id})
                await writer.commit()
        await repo.store(lead_provider_id, Shape.FLAT, [NewDocument(*key, found.version, None, None, b"{}")])
        await reader.commit()


async def _current(
    committed: async_sessionmaker[AsyncSession], lead_provider_id: uuid.UUID, key: DocumentKey
) -> bytes | None:
    async with committed() as session:
        [found] = await ParticipantDocumentRepository(session).current(
            lead_provider_id, Shape.FLAT, [key], datetime.now(UTC)
        )
        return found.body


async def test_a_document_is_used_while_nothing_changed(committed: async_sessionmaker[AsyncSession]) -> None:
    lead_provider_id, key = await _build(committed)
    await _render_and_store(committed, lead_provider_id, key, meanwhile=None)
    assert await _current(committed, lead_provider_id, key) == b"{}"


async def test_a_change_committed_while_a_document_was_rendered_makes_it_unused(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    lead_provider_id, key = await _build(committed)
    await _render_and_store(
        committed, lead_provider_id, key, meanwhile="UPDATE users SET full_name = 'Changed' WHERE id = :user"
    )
    assert await _current(committed, lead_provider_id, key) is None


async def test_truncating_a_source_table_forgets_every_document(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    lead_provider_id, key = await _build(committed)
    await _render_and_store(committed, lead_provider_id, key, meanwhile=None)
    async with committed() as session:
        await session.execute(text("TRUNCATE participant_id_changes"))
        await session.commit()
    assert await _current(committed, lead_provider_id, key) is None


async def test_pruning_deletes_only_documents_no_page_can_use(
    committed: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """`cpd-api prune-participant-documents`, as an operator runs it: a document whose user
    changed since, and one whose clock window has passed, go; a current one stays."""
    lead_provider_id, key = await _build(committed)
    _, changed = await _build(committed)
    _, expired = await _build(committed)
    for k in (key, changed):
        await _render_and_store(committed, lead_provider_id, k, meanwhile=None)
    async with committed() as session:
        repo = ParticipantDocumentRepository(session)
        [found] = await repo.current(lead_provider_id, Shape.FLAT, [expired], datetime.now(UTC))
        past = datetime(2020, 1, 1, tzinfo=UTC)
        await repo.store(
            lead_provider_id, Shape.FLAT, [NewDocument(*expired, found.version, None, past, b"{}")]
        )
        await session.execute(
            text("UPDATE users SET full_name = 'Changed' WHERE id = :id"), {"id": changed.user_id}
        )
        await session.commit()
    code, out, err = await run_cli(database_url, "prune-participant-documents")
    assert code == 0, err
    assert out.startswith("2 participant documents")
    async with committed() as session:
        left = await session.execute(text("SELECT key_id FROM ecf_participant_documents"))
        assert set(left.scalars()) == {key.key_id}
