"""Reading participant declarations in v1, v2 and v3: visibility, attributes, filters, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f

LISTS = {
    "v1": "/api/v1/participant-declarations",
    "v2": "/api/v2/participant-declarations",
    "v3": "/api/v3/participant-declarations",
}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["data"]]


async def test_attributes_per_version(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session, "Example Institute")
    mentor = await f.participant(session, lp.lead_provider, profile_type="mentor")
    ect = await f.participant(
        session,
        lp.lead_provider,
        mentor=mentor.profile,
        programme_=mentor.programme,
        pupil_premium_uplift=True,
    )
    d = await f.declaration(
        session,
        ect,
        lp,
        state="paid",
        pupil_premium_uplift=True,
        evidence_held="other",
        mentor_user_id=mentor.person.user.id,
    )
    statement = await f.statement(session, lp)
    await f.line_item(session, statement, d, "paid")
    v1 = (await client.get(f"{LISTS['v1']}/{d.id}", headers=lp.headers)).json()["data"]["attributes"]
    assert list(v1) == [
        "participant_id",
        "declaration_type",
        "course_identifier",
        "eligible_for_payment",
        "declaration_date",
        "updated_at",
        "voided",
        "state",
        "has_passed",
    ]
    assert (v1["eligible_for_payment"], v1["voided"], v1["state"], v1["has_passed"]) == (
        False,
        False,
        "paid",
        None,
    )
    v2 = (await client.get(f"{LISTS['v2']}/{d.id}", headers=lp.headers)).json()["data"]["attributes"]
    assert list(v2) == [
        "participant_id",
        "declaration_type",
        "course_identifier",
        "declaration_date",
        "updated_at",
        "state",
        "has_passed",
    ]
    v3 = (await client.get(f"{LISTS['v3']}/{d.id}", headers=lp.headers)).json()["data"]["attributes"]
    assert v3 | {"updated_at": None, "created_at": None, "declaration_date": None} == {
        "participant_id": ect.id,
        "declaration_type": "started",
        "course_identifier": "ecf-induction",
        "declaration_date": None,
        "mentor_id": mentor.id,
        "state": "paid",
        "updated_at": None,
        "created_at": None,
        "delivery_partner_id": str(ect.programme.delivery_partner.id),  # type: ignore[union-attr]
        "statement_id": str(statement.id),
        "clawback_statement_id": None,
        "ineligible_for_funding_reason": None,
        "uplift_paid": True,
        "evidence_held": "other",
        "has_passed": None,
        "lead_provider_name": "Example Institute",
    }


async def test_states_are_dasherised_and_refundable_line_items_are_clawbacks(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp = await f.provider(session)
    p = await f.participant(session, lp.lead_provider)
    d = await f.declaration(session, p, lp, state="awaiting_clawback")
    paid_on, clawed_on = await f.statement(session, lp), await f.statement(session, lp)
    await f.line_item(session, paid_on, d, "paid")
    await f.line_item(session, clawed_on, d, "awaiting_clawback")
    duplicate = await f.declaration(
        session, p, lp, state="ineligible", state_reason="duplicate", declaration_type="retained-1"
    )
    body = {
        x["id"]: x["attributes"] for x in (await client.get(LISTS["v3"], headers=lp.headers)).json()["data"]
    }
    assert body[str(d.id)]["state"] == "awaiting-clawback"
    assert (body[str(d.id)]["statement_id"], body[str(d.id)]["clawback_statement_id"]) == (
        str(paid_on.id),
        str(clawed_on.id),
    )
    assert body[str(duplicate.id)]["ineligible_for_funding_reason"] == "duplicate_declaration"
    assert body[str(duplicate.id)]["statement_id"] is None


async def test_new_provider_sees_previous_providers_live_declarations(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old, new = await f.provider(session), await f.provider(session)
    p = await f.participant(session, old.lead_provider, induction_status="leaving", end_date=f.at(-3))
    await f.induction_record(
        session, p, await f.programme(session, new.lead_provider, 2022), start_date=f.at(-2)
    )
    live = await f.declaration(session, p, old, state="eligible")
    await f.declaration(session, p, old, state="voided", declaration_type="retained-1")
    mine = await f.declaration(session, p, new, state="submitted", declaration_type="retained-2")
    for version, path in LISTS.items():
        assert ids(await client.get(path, headers=new.headers)) == [str(live.id), str(mine.id)], version
        assert str(mine.id) not in ids(await client.get(path, headers=old.headers))
    assert (await client.get(f"{LISTS['v3']}/{mine.id}", headers=old.headers)).status_code == 404


async def test_pages_interleave_own_and_inherited_declarations(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Own and inherited declarations are paged as one list in (created_at, id) order."""
    old, new = await f.provider(session), await f.provider(session)
    p = await f.participant(session, old.lead_provider, induction_status="leaving", end_date=f.at(-3))
    await f.induction_record(
        session, p, await f.programme(session, new.lead_provider, 2022), start_date=f.at(-2)
    )
    expected = [
        await f.declaration(session, p, old, state="eligible", created_at=f.at(-10)),
        await f.declaration(session, p, new, declaration_type="retained-1", created_at=f.at(-9)),
        await f.declaration(session, p, old, declaration_type="retained-2", created_at=f.at(-8)),
        await f.declaration(session, p, new, declaration_type="retained-3", created_at=f.at(-7)),
    ]
    want = [str(d.id) for d in expected]
    for version, path in LISTS.items():
        assert ids(await client.get(path, headers=new.headers)) == want, version
        pages = [
            ids(await client.get(f"{path}?page[per_page]=1&page[page]={n}", headers=new.headers))
            for n in range(1, 6)
        ]
        assert pages == [[i] for i in want] + [[]], version
        three = ids(await client.get(f"{path}?page[per_page]=3&page[page]=2", headers=new.headers))
        assert three == want[3:], version


# Creation times on both sides of month starts (UTC), two of them shared, out of order.
ACROSS_MONTHS = [
    datetime(2023, 3, 1, tzinfo=UTC),
    datetime(2023, 1, 31, 23, 59, 59, 999999, UTC),
    datetime(2023, 2, 1, tzinfo=UTC),
    datetime(2023, 2, 1, tzinfo=UTC),
    datetime(2021, 12, 9, 8, tzinfo=UTC),
    datetime(2024, 7, 20, tzinfo=UTC),
    datetime(2023, 2, 28, 23, 59, 59, 999999, UTC),
    datetime(2023, 3, 1, tzinfo=UTC),
]


async def every_page(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], per_page: int
) -> list[str]:
    seen: list[str] = []
    for number in range(1, 100):
        page = ids(await client.get(f"{path}?page[per_page]={per_page}&page[page]={number}", headers=headers))
        if not page:
            return seen
        assert len(page) <= per_page
        seen += page
    raise AssertionError("the pages never ended")


SKIPPING = pytest.mark.parametrize("skip_from", [0, None], ids=["skip-months", "walk-from-the-start"])


@SKIPPING
async def test_deep_pages_start_in_the_right_month(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, skip_from: int | None
) -> None:
    """Deep pages of the unfiltered list find their first row from the provider's declarations
    counted per month (and its inherited ones counted on the fly), shallow ones by walking from
    the start (every page here, unless the threshold is 0): either way every page size gives every
    declaration once, in (created_at, id) order, across month starts, shared creation times and
    inherited declarations interleaved."""
    if skip_from is not None:
        monkeypatch.setattr("app.repositories.declarations.SKIP_FROM", skip_from)
    old, new = await f.provider(session), await f.provider(session)
    assert old.lead_provider is not None and new.lead_provider is not None
    moved = [
        await f.participant(session, old.lead_provider, induction_status="leaving", end_date=f.at(-3))
        for _ in range(2)
    ]
    for p in moved:
        await f.induction_record(
            session, p, await f.programme(session, new.lead_provider, 2022), start_date=f.at(-2)
        )
    mine = [await f.participant(session, new.lead_provider, 2022) for _ in ACROSS_MONTHS]
    rows = [
        await f.declaration(session, p, new, created_at=t) for p, t in zip(mine, ACROSS_MONTHS, strict=True)
    ]
    rows += [
        await f.declaration(session, moved[0], old, state="eligible", created_at=ACROSS_MONTHS[2]),
        await f.declaration(session, moved[1], old, created_at=datetime(2023, 1, 15, tzinfo=UTC)),
    ]
    # Neither the other provider's voided declaration nor its declarations of its own participants.
    await f.declaration(
        session, moved[0], old, state="voided", declaration_type="retained-1", created_at=ACROSS_MONTHS[1]
    )
    other = await f.participant(session, old.lead_provider, 2022)
    await f.declaration(session, other, old, created_at=ACROSS_MONTHS[0])
    want = [str(d.id) for d in sorted(rows, key=lambda d: (d.created_at, str(d.id)))]
    for version, path in LISTS.items():
        for per_page in (1, 2, 3, 4, 7, 10, 11):
            assert await every_page(client, path, new.headers, per_page) == want, (version, per_page)


@SKIPPING
async def test_deep_pages_of_an_npq_provider(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, skip_from: int | None
) -> None:
    if skip_from is not None:
        monkeypatch.setattr("app.repositories.declarations.SKIP_FROM", skip_from)
    lp = await f.provider(session, ecf=False, npq=True)
    rows = []
    for created in ACROSS_MONTHS:
        learner = await f.npq_participant(session, lp)
        rows.append(
            await f.declaration(
                session,
                learner,  # type: ignore[arg-type]
                lp,
                programme="npq",
                course_identifier="npq-headship",
                created_at=created,
            )
        )
    want = [str(d.id) for d in sorted(rows, key=lambda d: (d.created_at, str(d.id)))]
    for per_page in (1, 3, 5, 8):
        assert await every_page(client, LISTS["v3"], lp.headers, per_page) == want, per_page


@pytest.mark.parametrize("few", [True, False], ids=["sorted-recent-updates", "walk-in-page-order"])
async def test_updated_since_pages_are_the_same_whichever_way_they_are_read(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, few: bool
) -> None:
    """With updated_since the caller's part is read through recent updates when they are few, by
    walking every declaration in page order otherwise; both give the same pages, inherited
    declarations and the inclusive (v3) or exclusive (v1/v2) bound included."""
    if not few:
        monkeypatch.setattr("app.repositories.declarations.UPDATED_FEW", 0)
    old, new = await f.provider(session), await f.provider(session)
    p = await f.participant(session, old.lead_provider, induction_status="leaving", end_date=f.at(-3))
    await f.induction_record(
        session, p, await f.programme(session, new.lead_provider, 2022), start_date=f.at(-2)
    )
    others = [await f.participant(session, new.lead_provider, 2022) for _ in range(3)]
    inherited = await f.declaration(
        session, p, old, state="eligible", created_at=f.at(-20), updated_at=f.at(-1)
    )
    # Created in one order, updated in another: pages follow creation.
    mine = [
        await f.declaration(session, q, new, created_at=f.at(-19 + i), updated_at=f.at(-1 - i))
        for i, q in enumerate(others)
    ]
    await f.declaration(
        session, p, new, declaration_type="retained-1", created_at=f.at(-5), updated_at=f.at(-9)
    )
    since = mine[1].updated_at
    edge = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    v3 = [str(d.id) for d in (inherited, mine[0], mine[1])]
    for n, want in ((1, v3[:2]), (2, v3[2:])):
        page = f"{LISTS['v3']}?filter[updated_since]={edge}&page[per_page]=2&page[page]={n}"
        assert ids(await client.get(page, headers=new.headers)) == want
    # v1/v2 leave out the declaration updated exactly at the bound.
    v1 = await client.get(f"{LISTS['v1']}?filter[updated_since]={edge}", headers=new.headers)
    assert ids(v1) == [str(inherited.id), str(mine[0].id)]


async def test_other_providers_declarations_are_404(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, other = await f.provider(session), await f.provider(session)
    d = await f.declaration(session, await f.participant(session, other.lead_provider), other)
    for path in LISTS.values():
        for ident in (d.id, "nope"):
            response = await client.get(f"{path}/{ident}", headers=lp.headers)
            assert response.status_code == 404 and response.json() == {"error": "Resource not Found"}


async def test_npq_only_providers_may_read(client: httpx.AsyncClient, session: AsyncSession) -> None:
    npq = await f.provider(session, ecf=False, npq=True)
    for path in LISTS.values():
        assert ids(await client.get(path, headers=npq.headers)) == []


async def test_filters(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await f.provider(session)
    a = await f.participant(session, lp.lead_provider, 2022)
    b = await f.participant(session, lp.lead_provider, 2023)
    da = await f.declaration(session, a, lp, updated_at=f.at(-10))
    db = await f.declaration(session, b, lp, updated_at=f.at(-1))
    assert ids(await client.get(f"{LISTS['v1']}?filter[participant_id]={a.id}", headers=lp.headers)) == [
        str(da.id)
    ]
    bad = await client.get(f"{LISTS['v1']}?filter[participant_id]=nope", headers=lp.headers)
    assert bad.status_code == 400
    both = await client.get(f"{LISTS['v3']}?filter[participant_id]={a.id},{b.id},nope", headers=lp.headers)
    assert ids(both) == [str(da.id), str(db.id)]
    assert ids(await client.get(f"{LISTS['v3']}?filter[cohort]=2023", headers=lp.headers)) == [str(db.id)]
    dp = b.programme.delivery_partner.id  # type: ignore[union-attr]
    assert ids(await client.get(f"{LISTS['v3']}?filter[delivery_partner_id]={dp}", headers=lp.headers)) == [
        str(db.id)
    ]
    edge = db.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert ids(await client.get(f"{LISTS['v3']}?filter[updated_since]={edge}", headers=lp.headers)) == [
        str(db.id)
    ]
    assert ids(await client.get(f"{LISTS['v1']}?filter[updated_since]={edge}", headers=lp.headers)) == []


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_csv(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp = await f.provider(session)
    path = f"/api/{version}/participant-declarations.csv"
    assert (await client.get(path, headers=lp.headers)).text == ""
    d = await f.declaration(session, await f.participant(session, lp.lead_provider), lp, state="eligible")
    rows = list(csv.reader(io.StringIO((await client.get(path, headers=lp.headers)).text)))
    expected = {
        "v1": "id,participant_id,declaration_type,course_identifier,eligible_for_payment,declaration_date,"
        "updated_at,voided,state,has_passed",
        "v2": "id,participant_id,declaration_type,course_identifier,declaration_date,"
        "updated_at,state,has_passed",
    }
    assert ",".join(rows[0]) == expected[version]
    assert rows[1][0] == str(d.id) and len(rows) == 2
