"""Administrators merge two users who are one person: the retired id's identities, training records,
applications and declarations end up with the survivor, providers see the id change in v3, and the
retired id keeps working for actions and declarations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.enums import TokenScope
from app.main import create_app
from app.settings import Settings
from tests import factories as f
from tests import factories_finance as ff
from tests import factories_npq as fn
from tests.internal import admin, audit_events, counts, data, doc, errors, stamp

URL = "/api/internal/admin/participant-merges"
LONG_AGO = datetime(2021, 1, 1, tzinfo=UTC)
SINCE = {"filter[updated_since]": "2021-06-01T00:00:00Z"}
TABLES = ("participant_id_changes", "participant_identities", "teacher_profiles", "audit_events")


def merge(from_id: Any, to_id: Any) -> dict[str, Any]:
    return doc("participant-merge", from_participant_id=str(from_id), to_participant_id=str(to_id))


async def user_row(session: AsyncSession, user_id: Any) -> dict[str, Any]:
    row = (
        (
            await session.execute(
                text("SELECT updated_at, archived_at FROM users WHERE id = :id"), {"id": user_id}
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def test_merging_a_duplicate_ect(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """End to end (the seed's id_change shape): the duplicate registration's training record and
    declaration move to the survivor; v3 shows the change and filters by it."""
    lp = await f.provider(session)
    assert lp.lead_provider is not None
    survivor = await f.participant(session, lp.lead_provider, 2022, eligibility=None)
    retired = await f.participant(session, lp.lead_provider, 2022, eligibility=None)
    declaration = await f.declaration(session, retired, lp, declaration_type="retained-1")
    for user in (survivor.person.user.id, retired.person.user.id):
        await stamp(session, "users", user, LONG_AGO)
    await stamp(session, "participant_declarations", declaration.id, LONG_AGO)
    s_id, r_id = survivor.person.user.id, retired.person.user.id

    response = await client.post(URL, json=merge(r_id, s_id), headers=await admin(session))
    change = data(response, 201)
    assert change["attributes"]["from_participant_id"] == str(r_id)
    assert change["attributes"]["to_participant_id"] == str(s_id)
    assert response.json()["meta"]["moved"] == {
        "identities": 1,
        "training_records": 1,
        "npq_applications": 0,
        "declarations": 1,
    }

    shown = data(await client.get(f"/api/v3/participants/ecf/{s_id}", headers=lp.headers))["attributes"]
    assert shown["participant_id_changes"] == [
        {
            "from_participant_id": str(r_id),
            "to_participant_id": str(s_id),
            "changed_at": change["attributes"]["changed_at"],
        }
    ]
    assert sorted(e["training_record_id"] for e in shown["ecf_enrolments"]) == sorted(
        [str(survivor.profile.id), str(retired.profile.id)]
    )
    found = data(
        await client.get(
            "/api/v3/participants/ecf", headers=lp.headers, params={"filter[from_participant_id]": str(r_id)}
        )
    )
    assert [p["id"] for p in found] == [str(s_id)]
    assert (await client.get(f"/api/v3/participants/ecf/{r_id}", headers=lp.headers)).status_code == 404
    synced = data(await client.get("/api/v3/participants/ecf", headers=lp.headers, params=SINCE))
    assert [p["id"] for p in synced] == [str(s_id)]

    # The declaration now names the survivor, and declaration syncs see it.
    moved = data(await client.get(f"/api/v3/participant-declarations/{declaration.id}", headers=lp.headers))
    assert moved["attributes"]["participant_id"] == str(s_id)
    synced = data(await client.get("/api/v3/participant-declarations", headers=lp.headers, params=SINCE))
    assert str(declaration.id) in [d["id"] for d in synced]

    # The retired id still resolves for a declaration (through the identity's external id).
    body = doc(
        "participant-declaration",
        participant_id=str(r_id),
        declaration_type="started",
        declaration_date="2022-10-01T10:00:00Z",
        course_identifier="ecf-induction",
    )
    declared = data(await client.post("/api/v3/participant-declarations", json=body, headers=lp.headers))
    assert declared["attributes"]["participant_id"] == str(s_id)

    # Both users moved for syncs; the retired one is archived, and only one TRN holder is left.
    assert (await user_row(session, s_id))["updated_at"] > LONG_AGO
    retired_user = await user_row(session, r_id)
    assert retired_user["updated_at"] > LONG_AGO and retired_user["archived_at"] is not None
    teacher_profiles = (
        (
            await session.execute(
                text("SELECT DISTINCT teacher_profile_id FROM participant_profiles WHERE id = ANY(:ids)"),
                {"ids": [survivor.profile.id, retired.profile.id]},
            )
        )
        .scalars()
        .all()
    )
    assert teacher_profiles == [survivor.person.teacher_profile.id]
    external = (
        await session.execute(
            text("SELECT user_id FROM participant_identities WHERE external_identifier = :id"), {"id": r_id}
        )
    ).scalar_one()
    assert external == s_id

    (event,) = await audit_events(session, "participant.merged", s_id)
    assert event["actor_type"] == TokenScope.ADMIN
    assert event["details"]["from_participant_id"] == str(r_id)
    assert event["details"]["declarations"] == 1


async def test_merging_npq_users_who_share_a_trn(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The operator's answer to NPQ acceptance not de-duplicating users with the same TRN."""
    lp = await f.provider(session, ecf=False, npq=True)
    first, second = await fn.people_sharing_trn(session, "5550001")
    kept = await fn.accepted(session, lp, first, course="npq-headship")
    duplicate = await fn.accepted(session, lp, second, course="npq-senior-leadership")
    await f.id_change(session, second, await fn.person(session))  # an earlier merge into `second`
    for row in (kept.application.id, duplicate.application.id):
        await stamp(session, "npq_applications", row, LONG_AGO)
    for person in (first, second):
        await stamp(session, "users", person.user.id, LONG_AGO)

    response = await client.post(URL, json=merge(second.user.id, first.user.id), headers=await admin(session))
    assert response.json()["meta"]["moved"]["npq_applications"] == 1

    shown = data(await client.get(f"/api/v3/participants/npq/{first.user.id}", headers=lp.headers))[
        "attributes"
    ]
    assert sorted(e["course_identifier"] for e in shown["npq_enrolments"]) == [
        "npq-headship",
        "npq-senior-leadership",
    ]
    # The earlier change of the retired user now belongs to the survivor too, newest first.
    assert shown["participant_id_changes"][0]["from_participant_id"] == str(second.user.id)
    assert len(shown["participant_id_changes"]) == 2
    found = data(
        await client.get(
            "/api/v3/participants/npq",
            headers=lp.headers,
            params={"filter[from_participant_id]": str(second.user.id)},
        )
    )
    assert [p["id"] for p in found] == [str(first.user.id)]
    applications = data(await client.get("/api/v3/npq-applications", headers=lp.headers, params=SINCE))
    assert [a["id"] for a in applications] == [str(duplicate.application.id)]
    assert applications[0]["attributes"]["participant_id"] == str(first.user.id)
    trns = (
        (await session.execute(text("SELECT user_id FROM teacher_profiles WHERE trn = '5550001'")))
        .scalars()
        .all()
    )
    assert trns == [first.user.id]


async def test_refusals_write_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    a, b, c = [await fn.person(session) for _ in range(3)]
    headers = await admin(session)
    await client.post(URL, json=merge(b.user.id, c.user.id), headers=headers)  # b is now retired
    before = await counts(session, *TABLES)
    gone = f"has been retired (merged into {c.user.id})"
    cases: list[tuple[dict[str, Any], int, dict[str, str] | None]] = [
        (merge(a.user.id, a.user.id), 422, {
            "to_participant_id": "must be another participant than from_participant_id"}),
        (merge(uuid.uuid4(), a.user.id), 404, None),
        (merge(a.user.id, uuid.uuid4()), 404, None),
        (merge(b.user.id, a.user.id), 422, {"from_participant_id": gone}),
        (merge(a.user.id, b.user.id), 422, {"to_participant_id": gone}),
        (doc("participant-merge", from_participant_id="x"), 422, {
            "from_participant_id": "must be an id (UUID)", "to_participant_id": "can't be blank"}),
    ]  # fmt: skip
    for body, status, expected in cases:
        response = await client.post(URL, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        if expected is not None:
            assert errors(response) == expected
    assert await counts(session, *TABLES) == before


# ---- concurrent merges ------------------------------------------------------------------------------


async def _pair(maker: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, uuid.UUID, dict[str, str]]:
    async with maker() as session:
        a, b = await fn.person(session), await fn.person(session)
        headers = await ff.internal_headers(session, TokenScope.ADMIN)
        await session.commit()
        return a.user.id, b.user.id, headers


@pytest.mark.parametrize("rounds", [6])
async def test_opposite_merges_at_once_one_wins(
    settings: Settings, committed: async_sessionmaker[AsyncSession], rounds: int
) -> None:
    """A into B and B into A sent together: the users are locked (in id order) before the retired
    checks, so exactly one merge happens and the other sees its result. Without the lock both
    succeed and the two people swap identities, each retired into the other."""
    app = create_app(settings, sessionmaker=committed)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for _ in range(rounds):
            a, b, headers = await _pair(committed)
            responses = await asyncio.gather(
                client.post(URL, json=merge(a, b), headers=headers),
                client.post(URL, json=merge(b, a), headers=headers),
            )
            assert sorted(r.status_code for r in responses) == [201, 422], [r.text for r in responses]
            async with committed() as session:
                changes = await session.execute(
                    text("SELECT count(*) FROM participant_id_changes WHERE user_id = ANY(:ids)"),
                    {"ids": [a, b]},
                )
                assert changes.scalar_one() == 1
                owners = await session.execute(
                    text(
                        "SELECT DISTINCT user_id FROM participant_identities"
                        " WHERE external_identifier = ANY(:ids)"
                    ),
                    {"ids": [a, b]},
                )
                assert len(owners.scalars().all()) == 1
