"""Competing NPQ acceptances sent at the same instant: at most one wins, and nobody deadlocks.

These tests need real, committed transactions (each request its own connection), so they build
their data with a committing session and empty the tables afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain import npq_applications as rules
from app.main import create_app
from app.models import NpqApplication
from app.repositories.npq_applications import NpqApplicationRepository
from app.settings import Settings
from tests import factories as f
from tests import factories_npq as fn

Request = tuple[str, NpqApplication, f.Provider]  # (action, application, caller)


async def send_at_once(
    settings: Settings, maker: async_sessionmaker[AsyncSession], requests: Sequence[Request]
) -> list[httpx.Response]:
    app = create_app(settings, sessionmaker=maker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(f"/api/v3/npq-applications/{a.id}/{action}", headers=lp.headers)
                    for action, a, lp in requests
                )
            )
        )


async def statuses(maker: async_sessionmaker[AsyncSession], apps: Sequence[NpqApplication]) -> list[str]:
    async with maker() as session:
        result = await session.execute(
            text("SELECT id, lead_provider_approval_status FROM npq_applications WHERE id = ANY(:ids)"),
            {"ids": [a.id for a in apps]},
        )
        rows: dict[Any, str] = {row[0]: row[1] for row in result}
    return [rows[a.id] for a in apps]


async def profiles(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM participant_profiles WHERE profile_type = 'npq'")
        )
    return int(count or 0)


def split(responses: list[httpx.Response]) -> tuple[list[httpx.Response], list[str]]:
    """The successes, and the refusals' details (every response must be one or the other)."""
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 422]
    assert len(ok) + len(refused) == len(responses), [r.text for r in responses]
    details = []
    for r in refused:
        (error,) = r.json()["errors"]
        assert error["title"] == "npq_application", r.text
        details.append(error["detail"])
    return ok, details


async def providers(session: AsyncSession, count: int) -> list[f.Provider]:
    return [await f.provider(session, ecf=False, npq=True) for _ in range(count)]


@pytest.mark.parametrize("n", [2, 10])
async def test_accepting_one_application_twice_at_once(
    settings: Settings, committed: async_sessionmaker[AsyncSession], n: int
) -> None:
    async with committed() as session:
        (lp,) = await providers(session, 1)
        app = await fn.application(session, lp)
        await session.commit()
    ok, refused = split(await send_at_once(settings, committed, [("accept", app, lp)] * n))
    assert len(ok) == 1
    assert refused == [rules.ALREADY_ACCEPTED] * (n - 1)
    assert await statuses(committed, [app]) == ["accepted"]
    assert await profiles(committed) == 1


@pytest.mark.parametrize("n", [2, 6])
async def test_same_user_same_course_at_several_providers(
    settings: Settings, committed: async_sessionmaker[AsyncSession], n: int
) -> None:
    async with committed() as session:
        lps = await providers(session, n)
        person = await fn.person(session)
        apps = [await fn.application(session, lp, person_=person) for lp in lps]
        await session.commit()
    ok, refused = split(
        await send_at_once(settings, committed, [("accept", a, lp) for a, lp in zip(apps, lps, strict=True)])
    )
    assert len(ok) == 1
    # The winner rejected the others (same course and cohort) before their turn came.
    assert refused == [f"{rules.CANNOT_CHANGE_FROM_REJECTED}, {rules.ANOTHER_ACCEPTED}"] * (n - 1)
    assert sorted(await statuses(committed, apps)) == ["accepted"] + ["rejected"] * (n - 1)
    assert await profiles(committed) == 1


async def test_aso_and_ehco_of_one_user(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        lp, other = await providers(session, 2)
        person = await fn.person(session)
        aso = await fn.application(
            session, lp, person_=person, course="npq-additional-support-offer", year=2021
        )
        ehco = await fn.application(
            session, other, person_=person, course="npq-early-headship-coaching-offer", year=2021
        )
        await session.commit()
    ok, refused = split(
        await send_at_once(settings, committed, [("accept", aso, lp), ("accept", ehco, other)])
    )
    assert (len(ok), refused) == (1, [rules.ANOTHER_ACCEPTED])
    assert sorted(await statuses(committed, [aso, ehco])) == ["accepted", "pending"]


async def test_two_users_sharing_a_trn(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        lp, other = await providers(session, 2)
        first, second = await fn.people_sharing_trn(session, "7654321")
        a = await fn.application(session, lp, person_=first)
        b = await fn.application(session, other, person_=second)
        await session.commit()
    ok, refused = split(await send_at_once(settings, committed, [("accept", a, lp), ("accept", b, other)]))
    assert (len(ok), refused) == (1, [rules.ANOTHER_ACCEPTED])
    assert sorted(await statuses(committed, [a, b])) == ["accepted", "pending"]


async def test_a_verified_trn_on_the_application_competes_too(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    """The first user has no TRN yet, but their application's verified TRN is about to become
    theirs; the second user already holds it. Whichever order they run in, the second accept sees
    the first's outcome (the result is one of the two serial orders, never a mix)."""
    async with committed() as session:
        lp, other = await providers(session, 2)
        first = await f.person(session, trn=None)
        second = await f.person(session, trn="8888888")
        a = await fn.application(
            session,
            lp,
            person_=first,
            teacher_reference_number="8888888",
            teacher_reference_number_verified=True,
        )
        b = await fn.application(session, other, person_=second)
        await session.commit()
    responses = await send_at_once(settings, committed, [("accept", a, lp), ("accept", b, other)])
    ok, refused = split(responses)
    # Serially: `a` first makes `first` the oldest other holder of the TRN, so `b` is refused;
    # `b` first leaves `a` free (its user had no TRN when checked). Both orders are valid.
    if responses[0].status_code == 200 and responses[1].status_code == 422:
        assert refused == [rules.ANOTHER_ACCEPTED]
    else:
        assert len(ok) == 2


async def test_a_crowd_of_competitors_yields_one_acceptance(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        lps = await providers(session, 4)
        one, two = await fn.people_sharing_trn(session, "4444444")
        requests: list[Request] = []
        apps = []
        for i, lp in enumerate(lps):
            # ASO only ran in 2021; EHCO in every cohort
            for person, course, year in (
                (one, "npq-early-headship-coaching-offer", 2021 + i % 2),
                (two, "npq-additional-support-offer", 2021),
            ):
                app = await fn.application(session, lp, person_=person, course=course, year=year)
                apps.append(app)
                requests.append(("accept", app, lp))
        await session.commit()
    ok, refused = split(await send_at_once(settings, committed, requests))
    assert len(ok) == 1
    assert len(refused) == len(requests) - 1
    assert all(rules.ANOTHER_ACCEPTED in detail for detail in refused)
    assert (await statuses(committed, apps)).count("accepted") == 1
    assert await profiles(committed) == 1


async def test_accept_and_reject_at_once(
    settings: Settings, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        (lp,) = await providers(session, 1)
        app = await fn.application(session, lp)
        await session.commit()
    accept, reject = await send_at_once(settings, committed, [("accept", app, lp), ("reject", app, lp)])
    (status,) = await statuses(committed, [app])
    if status == "accepted":
        assert accept.status_code == 200
        assert reject.json()["errors"][0]["detail"] == rules.CANNOT_CHANGE_FROM_ACCEPTED
        assert await profiles(committed) == 1
    else:
        assert reject.status_code == 200
        assert accept.json()["errors"][0]["detail"] == rules.CANNOT_CHANGE_FROM_REJECTED
        assert await profiles(committed) == 0


async def _slow_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Widen the race window: each accept pauses after its "another accepted" check."""
    original = NpqApplicationRepository.accepted_elsewhere

    async def slow(self: NpqApplicationRepository, *args: Any) -> bool:
        found = await original(self, *args)
        await asyncio.sleep(0.3)
        return found

    monkeypatch.setattr(NpqApplicationRepository, "accepted_elsewhere", slow)


async def _pair(maker: async_sessionmaker[AsyncSession]) -> list[Request]:
    async with maker() as session:
        lp, other = await providers(session, 2)
        person = await fn.person(session)
        aso = await fn.application(
            session, lp, person_=person, course="npq-additional-support-offer", year=2021
        )
        ehco = await fn.application(
            session, other, person_=person, course="npq-early-headship-coaching-offer", year=2021
        )
        await session.commit()
    return [("accept", aso, lp), ("accept", ehco, other)]


async def test_the_locks_hold_a_wide_race_window(
    settings: Settings, committed: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _slow_check(monkeypatch)
    ok, refused = split(await send_at_once(settings, committed, await _pair(committed)))
    assert (len(ok), refused) == (1, [rules.ANOTHER_ACCEPTED])


async def test_without_the_locks_the_race_is_real(
    settings: Settings, committed: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shows the tests above can fail: with the advisory locks gone, both competitors win."""
    await _slow_check(monkeypatch)

    async def no_lock(self: NpqApplicationRepository, key: str) -> None:
        return None

    monkeypatch.setattr(NpqApplicationRepository, "advisory_lock", no_lock)
    ok, _ = split(await send_at_once(settings, committed, await _pair(committed)))
    assert len(ok) == 2
