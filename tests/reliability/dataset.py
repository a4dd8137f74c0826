"""Two providers with one record of every kind each: provider A's ids are what provider B probes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from tests import factories as f
from tests import factories_npq as fn
from tests import factories_npq_outcomes as fo
from tests import factories_transfers as ft

# Tables a provider's request may write whatever it asks (token use, rate-limit counters).
BOOKKEEPING = {"api_tokens", "rate_limit_counters"}


@dataclass
class Estate:
    """One provider's records, by the id a route takes."""

    provider: f.Provider
    ecf_participant: str
    ecf_declaration: str
    npq_participant: str
    npq_declaration: str
    npq_application: str
    npq_outcome: str
    partnership: str
    delivery_partner: str
    school: str
    transfer: str
    unfunded_mentor: str
    statement: str

    def ids(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if isinstance(v, str)}


async def estate(session: AsyncSession, year: int = 2022) -> Estate:
    lp = await f.provider(session, npq=True)
    ect = await f.participant(session, lp.lead_provider, year, person_=await f.person(session, trn=None))
    ecf_declaration = await f.declaration(session, ect, lp)
    learner = await fo.learner(session, lp)
    completed = await fo.completed(session, lp, learner)
    outcome = await fo.outcome(session, completed)
    application = await fn.application(session, lp)
    # A move between two of the provider's schools, and an ECT mentored by someone no one trains.
    leaving = await f.programme(session, lp.lead_provider, ft.YEAR)
    joining = await f.programme(session, lp.lead_provider, ft.YEAR)
    mover = await ft.mover(session, leaving, joining)
    mentor = await ft.untrained_mentor(session, trn=None)
    await ft.mentored_ect(session, leaving, mentor.profile)
    statement = await f.statement(session, lp, year)
    assert ect.programme.partnership is not None and ect.programme.delivery_partner is not None
    return Estate(
        provider=lp,
        ecf_participant=ect.id,
        ecf_declaration=str(ecf_declaration.id),
        npq_participant=learner.id,
        npq_declaration=str(completed.id),
        npq_application=str(application.id),
        npq_outcome=str(outcome.id),
        partnership=str(ect.programme.partnership.id),
        delivery_partner=str(ect.programme.delivery_partner.id),
        school=str(ect.programme.school.id),
        transfer=mover.id,
        unfunded_mentor=mentor.id,
        statement=str(statement.id),
    )


async def fingerprint(session: AsyncSession) -> dict[str, str]:
    """A digest of every table's full content (bookkeeping tables aside): any write changes it."""
    await session.flush()
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in BOOKKEEPING]
    digest = "md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
    # Table names come from our own metadata.
    sql = " UNION ALL ".join(f"SELECT '{name}', {digest} FROM \"{name}\" t" for name in tables)  # noqa: S608
    return {name: digest for name, digest in (await session.execute(text(sql))).all()}


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per table (bookkeeping tables aside)."""
    await session.flush()
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in BOOKKEEPING]
    sql = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM \"{name}\"" for name in tables)  # noqa: S608
    return {name: int(n) for name, n in (await session.execute(text(sql))).all()}
