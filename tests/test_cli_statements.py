"""The operators' statement commands, run as a separate process against committed data."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ParticipantDeclaration, Statement
from tests import factories as f
from tests.servers import run_cli


async def run(database_url: str, *args: str) -> tuple[int, str, str]:
    return await run_cli(database_url, "statements", *args)


async def test_statement_commands(committed: async_sessionmaker[AsyncSession], database_url: str) -> None:
    async with committed() as session:
        lp = await f.provider(session)
        statement = await f.statement(
            session, lp, name="January 2023", deadline_date=date.today() - timedelta(days=1)
        )
        p = await f.participant(session, lp.lead_provider, person_=await f.person(session, trn=None))
        d = await f.declaration(session, p, lp, state="eligible")
        await f.line_item(session, statement, d, "eligible")
        await session.commit()

    async def states() -> tuple[str, str]:
        async with committed() as session:
            s = await session.scalar(select(Statement.state).where(Statement.id == statement.id))
            dec = await session.scalar(
                select(ParticipantDeclaration.state).where(ParticipantDeclaration.id == d.id)
            )
            assert s is not None and dec is not None
            return s, dec

    code, out, _ = await run(database_url, "mark-paid", str(statement.id))
    assert code != 0 and await states() == ("open", "eligible")

    code, out, err = await run(database_url, "mark-due-payable")
    assert code == 0, err
    assert f"January 2023 ({statement.id}) -> payable: 1 declarations" in out
    assert await states() == ("payable", "payable")

    code, out, err = await run(database_url, "mark-paid", str(statement.id))
    assert code == 0, err
    assert f"January 2023 ({statement.id}) -> paid: 1 declarations, 0 clawed back" in out
    assert await states() == ("paid", "paid")

    code, _, err = await run(database_url, "mark-paid", "not-an-id")
    assert code != 0 and "not a statement id" in err
    code, _, err = await run(database_url, "mark-payable", str(f.uuid.uuid4()))
    assert code != 0 and "no statement with id" in err
