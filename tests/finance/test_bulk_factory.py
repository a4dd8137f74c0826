"""The bulk finance factory issues one multi-row INSERT per table and batch, never an executemany.

An executemany runs the statement once per row, and with it every statement-level trigger on the
table (participant versions, declaration counts). When autovacuum has just analysed the tables
while the suite's rolled-back rows left them empty, those triggers' joins are planned for empty
tables, and 600 single-row statements against the test's in-transaction rows ran past the
watchdog's five minutes (CI, embedded PostgreSQL); as one statement they take seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests import factories_finance as ff


async def test_line_items_insert_each_table_in_one_statement(session: AsyncSession) -> None:
    lp = await f.provider(session)
    statement = await f.statement(session, lp, 2022)
    await f.schedule(session, 2022)  # the schedule the participants get, made beforehand
    executemany: list[str] = []
    inserts: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if many:
            executemany.append(sql)
        if sql.lstrip().upper().startswith("INSERT"):
            inserts.append(sql.split("(")[0].split()[-1])

    sync_engine = (await session.connection()).engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        bulk = await ff.line_items(session, lp, statement, 1500)
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    assert executemany == []
    assert inserts == [
        "users",
        "participant_identities",
        "participant_profiles",
        "participant_declarations",
        "statement_line_items",
    ]
    counted = await session.execute(
        text("SELECT count(*) FROM statement_line_items WHERE participant_declaration_id = ANY(:ids)"),
        {"ids": bulk.declaration_ids},
    )
    assert counted.scalar_one() == 1500
