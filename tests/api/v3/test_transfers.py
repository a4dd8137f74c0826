"""v3 participant transfers (ecf.md §5.1): which participants a provider sees, how leaving and joining
induction records pair up, transfer type and status, `updated_at`, filter, order, paging, show 404s
and access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.enums import InductionStatus
from app.seed import seed_sandbox
from app.settings import Settings
from tests import factories as f
from tests import factories_transfers as ft

LIST = "/api/v3/participants/ecf/transfers"
SHOW = "/api/v3/participants/ecf/{id}/transfers"
TRANSFER_KEYS = ["training_record_id", "transfer_type", "status", "created_at", "leaving", "joining"]
NOT_FOUND = {"error": "Resource not Found"}
SECOND = timedelta(seconds=1)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(value: datetime) -> str:
    return value.astimezone(UTC).date().isoformat()


async def listed(client: httpx.AsyncClient, lp: f.Provider, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"{LIST}?{query}" if query else LIST, headers=lp.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def listed_ids(client: httpx.AsyncClient, lp: f.Provider, query: str = "") -> list[str]:
    return [item["id"] for item in await listed(client, lp, query)]


async def show(
    client: httpx.AsyncClient,
    lp: f.Provider,
    participant_id: object,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    url = SHOW.format(id=participant_id)
    return await client.get(f"{url}?{query}" if query else url, headers=lp.headers | (headers or {}))


async def transfers_of(
    client: httpx.AsyncClient, lp: f.Provider, participant_id: object, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    response = await show(client, lp, participant_id, headers=headers)
    assert response.status_code == 200, response.text
    transfers: list[dict[str, Any]] = response.json()["data"]["attributes"]["transfers"]
    return transfers


def pairs(transfers: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(leaving URN, joining URN or None) of each transfer, in order."""
    return [(t["leaving"]["school_urn"], t["joining"] and t["joining"]["school_urn"]) for t in transfers]


async def fip(session: AsyncSession, lp: f.Provider, **values: Any) -> f.Programme:
    """A partnered (full induction) programme of `lp`, at a new school unless `school_` is given."""
    return await f.programme(session, lp.lead_provider, ft.YEAR, **values)


async def cip(session: AsyncSession, **values: Any) -> f.Programme:
    """A school-led programme: no partnership, so no provider."""
    return await f.programme(session, None, ft.YEAR, **values)


# ---- the document ------------------------------------------------------------------------------


async def test_a_move_to_another_provider(client: httpx.AsyncClient, session: AsyncSession) -> None:
    old, new = await f.provider(session, "Old Institute"), await f.provider(session, "New Institute")
    leave_on, join_on = f.at(-40), f.at(-38)
    m = await ft.mover(
        session, await fip(session, old), await fip(session, new), leave_on=leave_on, join_on=join_on
    )

    response = await client.get(LIST, headers=old.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    (item,) = response.json()["data"]
    assert (item["id"], item["type"]) == (m.id, "participant-transfer")
    assert list(item["attributes"]) == ["updated_at", "transfers"]
    (transfer,) = item["attributes"]["transfers"]
    assert list(transfer) == TRANSFER_KEYS
    assert transfer == {
        "training_record_id": m.training_record_id,
        "transfer_type": "new_provider",
        "status": "complete",
        "created_at": rfc3339(m.leaving.created_at),
        "leaving": {"school_urn": m.leaving_urn, "provider": "Old Institute", "date": day(leave_on)},
        "joining": {"school_urn": m.joining_urn, "provider": "New Institute", "date": day(join_on)},
    }
    # The joining provider sees the same transfer.
    assert await listed(client, new) == [item]


async def test_show_has_the_list_entry(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), await fip(session, other))

    (item,) = await listed(client, lp)
    response = await show(client, lp, m.id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.json() == {"data": item}


# ---- transfer types -------------------------------------------------------------------------------


async def test_between_two_schools_of_one_provider_is_a_new_school(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), await fip(session, lp))
    (transfer,) = await transfers_of(client, lp, m.id)
    assert transfer["transfer_type"] == "new_school"
    assert transfer["leaving"]["provider"] == transfer["joining"]["provider"] == lp.cpd.name


async def test_to_a_school_led_programme_is_a_new_school(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Without a provider on one side there is no provider change to report."""
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), await cip(session))
    assert m.joining is not None
    (transfer,) = await transfers_of(client, lp, m.id)
    assert transfer["transfer_type"] == "new_school"
    assert transfer["joining"] == {
        "school_urn": m.joining_urn,
        "provider": None,
        "date": day(m.joining.start_date),
    }


async def test_from_a_school_led_programme_is_a_new_school_seen_by_the_joining_provider(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    m = await ft.mover(session, await cip(session), await fip(session, lp))
    (transfer,) = await transfers_of(client, lp, m.id)
    assert transfer["transfer_type"] == "new_school"
    assert transfer["leaving"]["provider"] is None


async def test_a_leaver_without_a_joiner_is_unknown(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    leave_on = f.at(-10)
    m = await ft.mover(session, await fip(session, lp), None, leave_on=leave_on)
    (transfer,) = await transfers_of(client, lp, m.id)
    assert transfer == {
        "training_record_id": m.training_record_id,
        "transfer_type": "unknown",
        "status": "complete",
        "created_at": rfc3339(m.leaving.created_at),
        "leaving": {"school_urn": m.leaving_urn, "provider": lp.cpd.name, "date": day(leave_on)},
        "joining": None,
    }


# ---- pairing ------------------------------------------------------------------------------------------


async def test_a_joiner_must_be_a_school_transfer_at_another_school_and_not_leaving(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    home = await fip(session, lp)
    m = await ft.mover(session, home, None)
    t = m.leaving.created_at
    # Same school (another programme there), flagged as a transfer: not a joiner.
    await ft.placement(
        session,
        m.participant,
        await cip(session, school_=home.school),
        created_at=t + SECOND,
        school_transfer=True,
    )
    # Another school but not flagged as a transfer: not a joiner.
    await ft.placement(session, m.participant, await fip(session, lp), created_at=t + 2 * SECOND)
    # Another school, flagged, but itself leaving: a second leaver, not a joiner.
    second = await fip(session, lp)
    await ft.placement(
        session,
        m.participant,
        second,
        created_at=t + 3 * SECOND,
        school_transfer=True,
        induction_status=InductionStatus.LEAVING,
        end_date=f.at(-5),
    )
    transfers = await transfers_of(client, lp, m.id)
    # The first leaver finds no joiner. The record at its own school, refused there, is a joiner
    # for the second leaver, which is at another school.
    assert pairs(transfers) == [(m.leaving_urn, None), (second.school.urn, home.school.urn)]
    assert [t["transfer_type"] for t in transfers] == ["unknown", "new_school"]


async def test_the_first_eligible_joiner_by_creation_is_taken_even_before_the_leaver(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Records are walked oldest first; a joiner created before its leaver still pairs with it."""
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), None, created_at=f.later())
    t = m.leaving.created_at
    early, late = await fip(session, lp), await fip(session, lp)
    # Inserted in the opposite order of their creation times.
    await ft.placement(session, m.participant, late, created_at=t + SECOND, school_transfer=True)
    await ft.placement(session, m.participant, early, created_at=t - SECOND, school_transfer=True)
    assert pairs(await transfers_of(client, lp, m.id)) == [(m.leaving_urn, early.school.urn)]


async def test_each_joiner_pairs_with_one_leaver(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """School 1 -> 2 -> 3: two transfers, each joiner used once, in the order of the leavers."""
    lp = await f.provider(session)
    school_2, school_3 = await fip(session, lp), await fip(session, lp)
    m = await ft.mover(session, await fip(session, lp), school_2)
    t = m.leaving.created_at
    await ft.placement(
        session,
        m.participant,
        school_2,
        created_at=t + 2 * SECOND,
        induction_status=InductionStatus.LEAVING,
        end_date=f.at(-3),
    )
    await ft.placement(session, m.participant, school_3, created_at=t + 3 * SECOND, school_transfer=True)
    assert pairs(await transfers_of(client, lp, m.id)) == [
        (m.leaving_urn, school_2.school.urn),
        (school_2.school.urn, school_3.school.urn),
    ]


async def test_two_leavers_and_one_joiner(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The older leaver takes the joiner; the other is reported without one."""
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), await fip(session, lp))
    other_school = await fip(session, lp)
    await ft.placement(
        session,
        m.participant,
        other_school,
        created_at=m.leaving.created_at + 5 * SECOND,
        induction_status=InductionStatus.LEAVING,
        end_date=f.at(-2),
    )
    transfers = await transfers_of(client, lp, m.id)
    assert pairs(transfers) == [(m.leaving_urn, m.joining_urn), (other_school.school.urn, None)]
    assert [t["transfer_type"] for t in transfers] == ["new_school", "unknown"]


async def test_each_training_record_has_its_own_transfers(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """An ECT who is also a mentor: transfers are built per training record, never across them."""
    lp = await f.provider(session)
    ect = await ft.mover(session, await fip(session, lp), None)
    mentor = await ft.mover(
        session,
        await fip(session, lp),
        await fip(session, lp),
        profile_type="mentor",
        person_=ect.participant.person,
    )
    transfers = await transfers_of(client, lp, ect.id)
    assert sorted((t["training_record_id"], t["transfer_type"]) for t in transfers) == sorted(
        [(ect.training_record_id, "unknown"), (mentor.training_record_id, "new_school")]
    )
    assert await listed_ids(client, lp) == [ect.id]


async def test_an_npq_profile_has_no_transfers(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, npq=True)
    m = await ft.mover(session, await fip(session, lp), None)
    await f.npq_participant(session, lp, person_=m.participant.person)
    assert [t["training_record_id"] for t in await transfers_of(client, lp, m.id)] == [m.training_record_id]


# ---- which provider sees what ------------------------------------------------------------------------


async def test_a_provider_not_involved_sees_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    a, b, c = await f.provider(session), await f.provider(session), await f.provider(session)
    m = await ft.mover(session, await fip(session, a), await fip(session, b))
    await ft.mover(session, await fip(session, a), None)
    assert await listed(client, c) == []
    response = await show(client, c, m.id)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


async def test_an_unmatched_leaver_is_only_the_leaving_providers(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, b = await f.provider(session), await f.provider(session)
    m = await ft.mover(session, await fip(session, a), None)
    # b trains the participant elsewhere, but not as a school transfer.
    await ft.placement(
        session, m.participant, await fip(session, b), created_at=m.leaving.created_at + SECOND
    )
    assert await listed_ids(client, a) == [m.id]
    assert await listed(client, b) == []


async def test_providers_see_only_the_moves_they_are_part_of(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """a -> b, then b -> c: a sees the first move, c the second, b both."""
    a, b, c = await f.provider(session), await f.provider(session), await f.provider(session)
    at_b, at_c = await fip(session, b), await fip(session, c)
    m = await ft.mover(session, await fip(session, a), at_b)
    await ft.placement(
        session,
        m.participant,
        at_b,
        created_at=m.leaving.created_at + 2 * SECOND,
        induction_status=InductionStatus.LEAVING,
        end_date=f.at(-3),
    )
    await ft.placement(
        session, m.participant, at_c, created_at=m.leaving.created_at + 3 * SECOND, school_transfer=True
    )
    first, second = (m.leaving_urn, at_b.school.urn), (at_b.school.urn, at_c.school.urn)
    assert pairs(await transfers_of(client, a, m.id)) == [first]
    assert pairs(await transfers_of(client, b, m.id)) == [first, second]
    assert pairs(await transfers_of(client, c, m.id)) == [second]


async def test_listed_with_no_transfers_of_its_own(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A school-transfer record of the provider puts the participant in its list, even when the
    pairing leaves the provider out: the entry then has no transfers and the user's `updated_at`."""
    a, b, c = await f.provider(session), await f.provider(session), await f.provider(session)
    m = await ft.mover(session, await fip(session, b), await fip(session, c))
    await ft.placement(
        session,
        m.participant,
        await fip(session, a),
        created_at=m.leaving.created_at + 5 * SECOND,
        school_transfer=True,
    )
    touched = f.at(-3)
    await ft.set_user_times(session, m.participant.person.user, updated_at=touched)

    (item,) = await listed(client, a)
    assert item["id"] == m.id
    assert item["attributes"] == {"updated_at": rfc3339(touched), "transfers": []}


async def test_a_challenged_partnership_still_counts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Unlike the participant endpoints, transfers do not hide challenged partnerships."""
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp, challenged=True), None)
    assert await listed_ids(client, lp) == [m.id]
    assert (await transfers_of(client, lp, m.id))[0]["leaving"]["provider"] == lp.cpd.name


async def test_a_leaving_record_is_required(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A school transfer with no leaving record anywhere is not a transfer (the joiner alone is
    never reported)."""
    lp, other = await f.provider(session), await f.provider(session)
    p = await f.participant(session, other.lead_provider, ft.YEAR, induction_status=InductionStatus.CHANGED)
    await ft.placement(session, p, await fip(session, lp), created_at=f.later(), school_transfer=True)
    assert await listed(client, lp) == []
    assert (await show(client, lp, p.id)).status_code == 404


# ---- status -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leave_on", "join_on", "status"),
    [
        pytest.param("2024-03-09T23:59:59Z", None, "complete", id="left-yesterday"),
        pytest.param("2024-03-10T00:00:00Z", None, "complete", id="left-at-the-start-of-today"),
        pytest.param("2024-03-10T00:00:01Z", None, "incomplete", id="leaves-during-today"),
        pytest.param("2024-04-01T00:00:00Z", None, "incomplete", id="leaves-later"),
        pytest.param("2024-03-01T00:00:00Z", "2024-03-10T00:00:00Z", "complete", id="joined-today"),
        pytest.param("2024-03-01T00:00:00Z", "2024-03-11T00:00:00Z", "incomplete", id="joins-tomorrow"),
        pytest.param(
            "2024-03-20T00:00:00Z", "2024-03-01T00:00:00Z", "incomplete", id="the-later-date-counts"
        ),
    ],
)
async def test_status_compares_the_later_date_with_the_start_of_today(
    client: httpx.AsyncClient, session: AsyncSession, leave_on: str, join_on: str | None, status: str
) -> None:
    lp = await f.provider(session)
    m = await ft.mover(
        session,
        await fip(session, lp),
        await fip(session, lp) if join_on else None,
        leave_on=datetime.fromisoformat(leave_on),
        join_on=datetime.fromisoformat(join_on) if join_on else None,
    )
    server_date = {"X-With-Server-Date": "2024-03-10T15:30:00Z"}
    (transfer,) = await transfers_of(client, lp, m.id, headers=server_date)
    assert transfer["status"] == status


async def test_a_leaver_without_an_end_date_is_incomplete(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), None)
    await ft.set_record(session, m.leaving, end_date=None)
    (transfer,) = await transfers_of(client, lp, m.id)
    assert (transfer["status"], transfer["leaving"]["date"]) == ("incomplete", None)


# ---- updated_at -------------------------------------------------------------------------------------


async def test_updated_at_is_the_latest_change_to_a_reported_record(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, b = await f.provider(session), await f.provider(session)
    m = await ft.mover(session, await fip(session, a), await fip(session, b))
    unrelated = await ft.placement(session, m.participant, await fip(session, b), created_at=f.later())
    assert m.joining is not None
    await ft.set_record(session, m.leaving, updated_at=f.at(-9))
    await ft.set_record(session, m.joining, updated_at=f.at(-8))
    # Not part of any transfer: its (later) change does not count, nor does the user's.
    await ft.set_record(session, unrelated, updated_at=f.at(-7))
    await ft.set_user_times(session, m.participant.person.user, updated_at=f.at(-1))

    (item,) = await listed(client, a)
    assert item["attributes"]["updated_at"] == rfc3339(m.joining.updated_at)


# ---- filter, order, paging ------------------------------------------------------------------------------


async def movers(session: AsyncSession, lp: f.Provider, count: int) -> list[ft.Mover]:
    return [await ft.mover(session, await fip(session, lp), None, created_at=f.later()) for _ in range(count)]


async def test_ordered_by_participant_creation(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    first, second, third = await movers(session, lp, 3)
    # Creation order, not update order.
    await ft.set_user_times(session, first.participant.person.user, updated_at=f.at(-1))
    await ft.set_user_times(session, third.participant.person.user, updated_at=f.at(-3))
    await ft.set_user_times(session, second.participant.person.user, updated_at=f.at(-2))
    assert await listed_ids(client, lp) == [first.id, second.id, third.id]
    # `sort` is not supported: ignored.
    assert await listed_ids(client, lp, "sort=-created_at") == [first.id, second.id, third.id]


async def test_updated_since_filters_inclusively_and_orders_by_update(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    first, second, third = await movers(session, lp, 3)
    since = f.at(-5).replace(microsecond=0)
    await ft.set_user_times(session, first.participant.person.user, updated_at=since + SECOND)
    await ft.set_user_times(session, second.participant.person.user, updated_at=since)
    await ft.set_user_times(session, third.participant.person.user, updated_at=since - SECOND)

    assert await listed_ids(client, lp, f"filter[updated_since]={rfc3339(since)}") == [second.id, first.id]
    # Double-encoded values are decoded once more, as the reference does.
    encoded = rfc3339(since).replace(":", "%253A")
    assert await listed_ids(client, lp, f"filter[updated_since]={encoded}") == [second.id, first.id]
    # Blank: not applied.
    assert await listed_ids(client, lp, "filter[updated_since]=") == [first.id, second.id, third.id]
    # The show route applies the same filter.
    assert (await show(client, lp, third.id, f"filter[updated_since]={rfc3339(since)}")).status_code == 404
    assert (await show(client, lp, second.id, f"filter[updated_since]={rfc3339(since)}")).status_code == 200


@pytest.mark.parametrize("route", ["list", "show"])
async def test_an_invalid_updated_since_is_a_400(
    client: httpx.AsyncClient, session: AsyncSession, route: str
) -> None:
    lp = await f.provider(session)
    m = await ft.mover(session, await fip(session, lp), None)
    url = LIST if route == "list" else SHOW.format(id=m.id)
    response = await client.get(f"{url}?filter[updated_since]=yesterday", headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"title": "Bad request", "detail": "The filter '#/updated_since' must be a valid RCF3339 date"}
        ]
    }
    scalar = await client.get(f"{url}?filter=abc", headers=lp.headers)
    assert scalar.status_code == 400
    assert scalar.json() == {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}


async def test_paging(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    everyone = [m.id for m in await movers(session, lp, 3)]
    assert await listed_ids(client, lp, "page[per_page]=2") == everyone[:2]
    assert await listed_ids(client, lp, "page[per_page]=2&page[page]=2") == everyone[2:]
    assert await listed_ids(client, lp, "page[per_page]=2&page[page]=3") == []
    for bad in ("page[page]=0", "page[per_page]=abc", "page=2"):
        response = await client.get(f"{LIST}?{bad}", headers=lp.headers)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["title"] == "Bad request"


# ---- show 404s ---------------------------------------------------------------------------------------


async def test_show_not_found(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    theirs = await ft.mover(session, await fip(session, other), None)
    # A participant of the provider who never moved.
    stayer = await f.participant(session, lp.lead_provider, ft.YEAR)
    for participant_id in (theirs.id, stayer.id, uuid.uuid4(), "not-an-id", "0", "transfers"):
        response = await show(client, lp, participant_id)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), participant_id


async def test_the_list_path_is_not_a_participant_id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """`/participants/ecf/transfers` is the list, not participant "transfers"."""
    lp = await f.provider(session)
    response = await client.get(LIST, headers=lp.headers)
    assert (response.status_code, response.json()) == (200, {"data": []})


# ---- access ----------------------------------------------------------------------------------------------


async def test_needs_a_token(client: httpx.AsyncClient, session: AsyncSession) -> None:
    for path in (LIST, SHOW.format(id=uuid.uuid4()), f"{LIST}?filter[updated_since]=bad"):
        for headers in ({}, {"Authorization": "Bearer unknown"}):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "HTTP Token: Access denied"}


async def test_npq_only_provider_is_forbidden(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, ecf=False, npq=True)
    for path in (LIST, SHOW.format(id=uuid.uuid4()), f"{LIST}?filter[updated_since]=bad"):
        response = await client.get(path, headers=lp.headers)
        assert (response.status_code, response.content) == (403, b"")


# ---- the sandbox seed ---------------------------------------------------------------------------------


async def test_the_seeded_transfer_scenarios(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The sandbox's transfers (out complete, out in progress, in, school move, relationship move)
    and its leavers who have not joined anywhere yet."""
    await seed_sandbox(session, settings=settings, today=datetime.now(UTC).date())
    headers = {"Authorization": "Bearer ambition-token"}
    response = await client.get(LIST, params={"page[per_page]": "3000"}, headers=headers)
    assert response.status_code == 200
    transfers = [t for item in response.json()["data"] for t in item["attributes"]["transfers"]]
    assert {t["transfer_type"] for t in transfers} == {"new_provider", "new_school", "unknown"}
    assert {t["status"] for t in transfers} == {"complete", "incomplete"}
    first = response.json()["data"][0]
    assert (await client.get(SHOW.format(id=first["id"]), headers=headers)).json() == {"data": first}
