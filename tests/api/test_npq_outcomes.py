"""NPQ outcomes in v1-v3: the provider's list, one participant's list and posting an outcome.

Outcomes are also written by declarations (a `completed` NPQ declaration records one, voiding it
appends `voided`), so those paths are exercised through HTTP here too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import npq_outcomes as rules
from app.models import ParticipantIdentity, ParticipantOutcome
from app.seed import seed_sandbox
from app.settings import Settings
from tests import factories as f
from tests import factories_npq_outcomes as o

VERSIONS = ("v1", "v2", "v3")
BAD_JSON = {
    "errors": [
        {"title": "Bad request", "detail": "correct json data structure required. See API docs for reference"}
    ]
}


def listing(version: str) -> str:
    return f"/api/{version}/participants/npq/outcomes"


def of(version: str, participant_id: str) -> str:
    return f"/api/{version}/participants/npq/{participant_id}/outcomes"


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["title"], e["detail"]) for e in response.json()["errors"]]


def invalid_action(response: httpx.Response) -> str:
    [(title, detail)] = errors(response)
    assert title == "Invalid action"
    return detail


def body(**attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "npq-outcome-confirmation", "attributes": attributes}}


def outcome_body(
    course: str = "npq-headship", state: str = "passed", completion_date: str = "2023-06-01"
) -> dict[str, Any]:
    return body(course_identifier=course, state=state, completion_date=completion_date)


async def stored_states(session: AsyncSession, declaration_id: Any) -> list[str]:
    rows = await session.scalars(
        select(ParticipantOutcome.state)
        .where(ParticipantOutcome.participant_declaration_id == declaration_id)
        .order_by(ParticipantOutcome.created_at, ParticipantOutcome.id)
    )
    return list(rows)


async def outcome_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ParticipantOutcome)) or 0)


async def setup(
    session: AsyncSession, course: str = "npq-headship"
) -> tuple[f.Provider, f.NpqParticipant, Any]:
    """An NPQ provider, its participant and a `completed` declaration without an outcome."""
    lp = await o.npq_provider(session)
    n = await o.learner(session, lp, course)
    d = await o.completed(session, lp, n, course=course)
    return lp, n, d


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_route_needs_a_token(client: httpx.AsyncClient, version: str) -> None:
    some_id = "00000000-0000-0000-0000-000000000001"
    for response in (
        await client.get(listing(version)),
        await client.get(of(version, some_id)),
        await client.post(of(version, some_id), json=outcome_body()),
        await client.get(listing(version), headers={"Authorization": "Bearer nope"}),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": "HTTP Token: Access denied"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_ecf_only_provider_is_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await f.provider(session)
    some_id = "00000000-0000-0000-0000-000000000001"
    for response in (
        await client.get(listing(version), headers=lp.headers),
        await client.get(of(version, some_id), headers=lp.headers),
        await client.post(of(version, some_id), json=outcome_body(), headers=lp.headers),
    ):
        assert response.status_code == 403
        assert response.content == b""


# --- the provider's list --------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_list_shows_every_outcome_of_own_declarations_oldest_first(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, n, d = await setup(session)
    other_n = await o.learner(session, lp, "npq-leading-teaching")
    other_d = await o.completed(session, lp, other_n, course="npq-leading-teaching", state="paid")
    passed = await o.outcome(session, d, "passed", date(2023, 6, 1))
    failed = await o.outcome(session, other_d, "failed", date(2023, 7, 2))
    voided = await o.outcome(session, d, "voided", date(2023, 6, 1))
    # another provider's outcomes stay out of the list
    rival = await o.npq_provider(session)
    rival_n = await o.learner(session, rival)
    await o.outcome(session, await o.completed(session, rival, rival_n), "passed")

    rows = data(await client.get(listing(version), headers=lp.headers))
    assert [r["id"] for r in rows] == [str(passed.id), str(failed.id), str(voided.id)]
    first = rows[0]
    expected = {
        "state": "passed",
        "completion_date": "2023-06-01T00:00:00+00:00",
        "course_identifier": "npq-headship",
        "participant_id": n.id,
        "created_at": passed.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if version == "v3":
        expected["updated_at"] = expected["created_at"]
    assert first == {"id": str(passed.id), "type": "participant-outcome", "attributes": expected}
    assert [r["attributes"]["state"] for r in rows] == ["passed", "failed", "voided"]
    assert rows[1]["attributes"]["participant_id"] == other_n.id
    assert rows[1]["attributes"]["course_identifier"] == "npq-leading-teaching"


async def test_an_outcome_always_carries_its_declarations_provider(session: AsyncSession) -> None:
    """The list pages by the outcome's own provider column: a trigger sets it from the
    declaration, whatever a writer gives (nothing, or another provider's id), and keeps it so."""
    lp, _, d = await setup(session)
    rival = await o.npq_provider(session)
    given_nothing = await o.outcome(session, d, "passed")
    given_wrong = await o.outcome(session, d, "failed", cpd_lead_provider_id=rival.cpd.id)
    rows = await session.execute(
        select(ParticipantOutcome.cpd_lead_provider_id).where(
            ParticipantOutcome.id.in_([given_nothing.id, given_wrong.id])
        )
    )
    assert [r[0] for r in rows] == [lp.cpd.id, lp.cpd.id]
    await session.execute(
        update(ParticipantOutcome)
        .where(ParticipantOutcome.id == given_nothing.id)
        .values(cpd_lead_provider_id=rival.cpd.id)
    )
    stored = await session.scalar(
        select(ParticipantOutcome.cpd_lead_provider_id).where(ParticipantOutcome.id == given_nothing.id)
    )
    assert stored == lp.cpd.id


@pytest.mark.parametrize("version", VERSIONS)
async def test_v3_alone_shows_updated_at(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, _, d = await setup(session)
    made = datetime(2023, 6, 1, 9, tzinfo=UTC)
    await o.outcome(session, d, created_at=made, updated_at=made + timedelta(hours=1))
    [row] = data(await client.get(listing(version), headers=lp.headers))
    if version == "v3":
        assert row["attributes"]["updated_at"] == "2023-06-01T10:00:00Z"
    else:
        assert "updated_at" not in row["attributes"]
    assert row["attributes"]["created_at"] == "2023-06-01T09:00:00Z"


async def test_equal_creation_times_are_ordered_by_id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, _, d = await setup(session)
    same = datetime(2023, 6, 1, tzinfo=UTC)
    made = [await o.outcome(session, d, created_at=same) for _ in range(4)]
    rows = data(await client.get(listing("v3"), headers=lp.headers))
    assert [r["id"] for r in rows] == sorted(str(m.id) for m in made)


@pytest.mark.parametrize("version", VERSIONS)
async def test_list_pages(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, _, d = await setup(session)
    made = [await o.outcome(session, d, "passed" if i % 2 else "failed") for i in range(5)]

    async def page(number: int) -> list[str]:
        params = {"page[page]": str(number), "page[per_page]": "2"}
        return [r["id"] for r in data(await client.get(listing(version), params=params, headers=lp.headers))]

    assert [await page(1), await page(2), await page(3)] == [
        [str(m.id) for m in made[0:2]],
        [str(m.id) for m in made[2:4]],
        [str(made[4].id)],
    ]
    assert await page(4) == []
    bad = await client.get(listing(version), params={"page[per_page]": "0"}, headers=lp.headers)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["detail"].startswith("The '#/page[page]' and '#/page[per_page]'")


@pytest.mark.parametrize("version", VERSIONS)
async def test_created_since_is_inclusive(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, _, d = await setup(session)
    base = datetime(2023, 6, 1, 12, tzinfo=UTC)
    await o.outcome(session, d, created_at=base - timedelta(seconds=1))
    at_edge = await o.outcome(session, d, "failed", created_at=base)
    after = await o.outcome(session, d, "passed", created_at=base + timedelta(days=1))

    async def since(value: str) -> list[str]:
        params = {"filter[created_since]": value}
        return [r["id"] for r in data(await client.get(listing(version), params=params, headers=lp.headers))]

    assert await since("2023-06-01T12:00:00Z") == [str(at_edge.id), str(after.id)]
    assert await since("2023-06-01T13:00:00+01:00") == [str(at_edge.id), str(after.id)]
    assert await since("2023-06-01T12%3A00%3A01Z") == [str(after.id)]  # decoded once more
    assert len(await since("")) == 3  # blank means no filter
    # updated_since is not an outcome filter
    params = {"filter[updated_since]": "2030-01-01T00:00:00Z"}
    assert len(data(await client.get(listing(version), params=params, headers=lp.headers))) == 3


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value", ["yesterday", "2023-13-01T00:00:00Z", "2023-06-01 10:00"])
async def test_bad_created_since_is_a_400(
    client: httpx.AsyncClient, session: AsyncSession, version: str, value: str
) -> None:
    lp = await o.npq_provider(session)
    response = await client.get(listing(version), params={"filter[created_since]": value}, headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"title": "Bad request", "detail": "The filter '#/created_since' must be a valid RCF3339 date"}
        ]
    }


async def test_a_filter_that_is_not_a_hash_is_a_400(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await o.npq_provider(session)
    response = await client.get(listing("v1"), params={"filter": "abc"}, headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"title": "Bad parameter", "detail": "Filter must be a hash"}]}


# --- one participant's list -----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_participant_list_is_that_participants_outcomes_from_this_provider(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, n, d = await setup(session)
    second_course = await o.learner(session, lp, "npq-leading-teaching", person_=n.person)
    other_d = await o.completed(session, lp, second_course, course="npq-leading-teaching")
    mine = [
        await o.outcome(session, d, "failed"),
        await o.outcome(session, other_d, "passed"),
        await o.outcome(session, d, "passed"),
    ]
    someone_else = await o.learner(session, lp)
    await o.outcome(session, await o.completed(session, lp, someone_else))
    # the same participant with another provider: not this provider's outcome
    rival = await o.npq_provider(session)
    with_rival = await o.learner(session, rival, "npq-senior-leadership", person_=n.person)
    await o.outcome(session, await o.completed(session, rival, with_rival, course="npq-senior-leadership"))

    # not paginated: page parameters change nothing
    params = {"page[per_page]": "1", "filter[created_since]": "2100-01-01T00:00:00Z"}
    rows = data(await client.get(of(version, n.id), params=params, headers=lp.headers))
    assert [r["id"] for r in rows] == [str(m.id) for m in mine]
    assert {r["attributes"]["participant_id"] for r in rows} == {n.id}
    assert [r["attributes"]["course_identifier"] for r in rows] == [
        "npq-headship",
        "npq-leading-teaching",
        "npq-headship",
    ]
    # the rival sees only its own
    [theirs] = data(await client.get(of(version, n.id), headers=rival.headers))
    assert theirs["attributes"]["course_identifier"] == "npq-senior-leadership"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("participant_id", ["00000000-0000-0000-0000-000000000001", "not-an-id", "outcomes"])
async def test_unknown_participant_has_an_empty_list(
    client: httpx.AsyncClient, session: AsyncSession, version: str, participant_id: str
) -> None:
    lp, _, d = await setup(session)
    await o.outcome(session, d)
    assert data(await client.get(of(version, participant_id), headers=lp.headers)) == []


async def test_outcomes_follow_a_merged_participant(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The participant of an outcome is the user its training record's identity now belongs to."""
    lp, n, d = await setup(session)
    await o.outcome(session, d)
    survivor = await f.person(session, trn=None)
    identity = await session.get(ParticipantIdentity, n.person.identity.id)
    assert identity is not None
    identity.user_id = survivor.user.id
    await f.id_change(session, survivor, n.person)
    [row] = data(await client.get(of("v3", str(survivor.user.id)), headers=lp.headers))
    assert row["attributes"]["participant_id"] == str(survivor.user.id)
    assert data(await client.get(of("v3", n.id), headers=lp.headers)) == []
    # the retired id still names the training record when posting
    posted = data(await client.post(of("v3", n.id), json=outcome_body(state="failed"), headers=lp.headers))
    assert posted["attributes"]["participant_id"] == str(survivor.user.id)
    assert await stored_states(session, d.id) == ["passed", "failed"]


# --- posting an outcome ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_post_appends_an_outcome_and_the_declaration_follows(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, n, d = await setup(session)
    first = await o.outcome(session, d, "passed", date(2023, 6, 1))
    response = await client.post(
        of(version, n.id), json=outcome_body(state="failed", completion_date="2023-06-02"), headers=lp.headers
    )
    row = data(response)
    assert row["type"] == "participant-outcome"
    attributes = row["attributes"]
    assert (attributes["state"], attributes["completion_date"]) == ("failed", "2023-06-02T00:00:00+00:00")
    assert (attributes["participant_id"], attributes["course_identifier"]) == (n.id, "npq-headship")
    assert ("updated_at" in attributes) is (version == "v3")
    assert row["id"] != str(first.id)
    assert await stored_states(session, d.id) == ["passed", "failed"]
    listed = data(await client.get(of(version, n.id), headers=lp.headers))
    assert [r["id"] for r in listed] == [str(first.id), row["id"]]
    declaration = data(
        await client.get(f"/api/{version}/participant-declarations/{d.id}", headers=lp.headers)
    )
    assert declaration["attributes"]["has_passed"] is False


@pytest.mark.parametrize("version", VERSIONS)
async def test_post_for_a_declaration_without_an_outcome(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, n, d = await setup(session)
    row = data(await client.post(of(version, n.id), json=outcome_body(), headers=lp.headers))
    assert row["attributes"]["state"] == "passed"
    assert await stored_states(session, d.id) == ["passed"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_reposting_the_latest_outcome_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, n, d = await setup(session)
    await o.outcome(session, d, "failed", date(2023, 6, 1))
    latest = await o.outcome(session, d, "passed", date(2023, 6, 1))
    row = data(await client.post(of(version, n.id), json=outcome_body(), headers=lp.headers))
    assert row["id"] == str(latest.id)
    assert await stored_states(session, d.id) == ["failed", "passed"]
    # the same state on another date, or an earlier outcome's values, is a new row
    data(
        await client.post(
            of(version, n.id), json=outcome_body(completion_date="2023-06-03"), headers=lp.headers
        )
    )
    data(await client.post(of(version, n.id), json=outcome_body(state="failed"), headers=lp.headers))
    assert await stored_states(session, d.id) == ["failed", "passed", "passed", "failed"]


async def test_the_newest_completed_declaration_that_counts_gets_the_outcome(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lp, n, voided = await setup(session)
    voided.state = "voided"
    current = await o.completed(session, lp, n, state="submitted")
    data(await client.post(of("v3", n.id), json=outcome_body(), headers=lp.headers))
    assert await stored_states(session, voided.id) == []
    assert await stored_states(session, current.id) == ["passed"]


@pytest.mark.parametrize("state", ["ineligible", "payable", "paid"])
async def test_any_declaration_state_but_voided_or_clawed_back_counts(
    client: httpx.AsyncClient, session: AsyncSession, state: str
) -> None:
    lp, n, d = await setup(session)
    d.state = state
    data(await client.post(of("v2", n.id), json=outcome_body(), headers=lp.headers))
    assert await stored_states(session, d.id) == ["passed"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_missing_data_is_a_400(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, n, _ = await setup(session)
    payloads: list[Any] = [{}, {"data": {}}, {"attributes": {"state": "passed"}}, []]
    for payload in payloads:
        response = await client.post(of(version, n.id), json=payload, headers=lp.headers)
        assert response.status_code == 400, payload
        assert response.json() == BAD_JSON
    response = await client.post(of(version, n.id), content=b"{not json", headers=lp.headers)
    assert (response.status_code, response.json()) == (400, BAD_JSON)


@pytest.mark.parametrize("version", VERSIONS)
async def test_empty_attributes(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, n, _ = await setup(session)
    response = await client.post(of(version, n.id), json={"data": {"type": "x"}}, headers=lp.headers)
    assert errors(response) == [
        ("completion_date", f"{rules.COMPLETION_DATE_MISSING}, {rules.COMPLETION_DATE_FORMAT}"),
        ("course_identifier", rules.COURSE_MISSING),
        ("state", f"{rules.STATE_MISSING}, {rules.STATE_INVALID}"),
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value", ["invalid-value", "2023-02-30", "", None, "31/02/2023", "2023-13-01"])
async def test_unreadable_completion_date(
    client: httpx.AsyncClient, session: AsyncSession, version: str, value: Any
) -> None:
    lp, n, _ = await setup(session)
    payload = body(course_identifier="npq-headship", state="passed", completion_date=value)
    assert errors(await client.post(of(version, n.id), json=payload, headers=lp.headers)) == [
        ("completion_date", f"{rules.COMPLETION_DATE_MISSING}, {rules.COMPLETION_DATE_FORMAT}")
    ]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("31/05/2023", "2023-05-31"),
        ("2023-5-31", "2023-05-31"),
        ("2023-05-31T10:00:00Z", "2023-05-31"),
        ("31-05-2023", "2023-05-31"),
    ],
)
async def test_other_readable_dates_are_accepted(
    client: httpx.AsyncClient, session: AsyncSession, value: str, stored: str
) -> None:
    lp, n, _ = await setup(session)
    row = data(
        await client.post(of("v3", n.id), json=outcome_body(completion_date=value), headers=lp.headers)
    )
    assert row["attributes"]["completion_date"] == f"{stored}T00:00:00+00:00"


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_completion_date_error_hides_the_participant_check(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp = await o.npq_provider(session)
    payload = outcome_body(completion_date="soon")
    response = await client.post(
        of(version, "00000000-0000-0000-0000-000000000001"), json=payload, headers=lp.headers
    )
    assert [title for title, _ in errors(response)] == ["completion_date"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("participant_id", ["00000000-0000-0000-0000-000000000001", "not-an-id"])
async def test_unknown_participant_is_an_unrecognised_course(
    client: httpx.AsyncClient, session: AsyncSession, version: str, participant_id: str
) -> None:
    lp = await o.npq_provider(session)
    response = await client.post(of(version, participant_id), json=outcome_body(), headers=lp.headers)
    assert errors(response) == [("course_identifier", rules.COURSE_NOT_RECOGNISED)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_course_checks(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, n, _ = await setup(session)

    async def post(**attributes: Any) -> list[tuple[str, str]]:
        values = {"state": "passed", "completion_date": "2023-06-01"} | attributes
        return errors(await client.post(of(version, n.id), json=body(**values), headers=lp.headers))

    assert await post(course_identifier="") == [
        ("course_identifier", f"{rules.COURSE_NOT_RECOGNISED}, {rules.COURSE_MISSING}")
    ]
    assert await post() == [("course_identifier", f"{rules.COURSE_NOT_RECOGNISED}, {rules.COURSE_MISSING}")]
    assert await post(course_identifier="ecf-induction") == [
        ("course_identifier", rules.COURSE_NOT_RECOGNISED)
    ]
    assert await post(course_identifier="npq-made-up") == [("course_identifier", rules.COURSE_NOT_RECOGNISED)]


@pytest.mark.parametrize("course", ["npq-early-headship-coaching-offer", "npq-additional-support-offer"])
async def test_courses_without_outcomes_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, course: str
) -> None:
    lp = await o.npq_provider(session)
    schedule = "npq-ehco-june" if "coaching" in course else "npq-leadership-autumn"
    n = await o.learner(session, lp, course, schedule_identifier=schedule)
    d = await o.completed(session, lp, n, course=course)
    response = await client.post(of("v3", n.id), json=outcome_body(course=course), headers=lp.headers)
    assert errors(response) == [("course_identifier", rules.COURSE_NOT_RECOGNISED)]
    assert await stored_states(session, d.id) == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_state_checks(client: httpx.AsyncClient, session: AsyncSession, version: str) -> None:
    lp, n, d = await setup(session)

    async def post(state: Any) -> list[tuple[str, str]]:
        payload = body(course_identifier="npq-headship", state=state, completion_date="2023-06-01")
        return errors(await client.post(of(version, n.id), json=payload, headers=lp.headers))

    assert await post("") == [("state", f"{rules.STATE_MISSING}, {rules.STATE_INVALID}")]
    assert await post(None) == [("state", f"{rules.STATE_MISSING}, {rules.STATE_INVALID}")]
    assert await post("voided") == [("state", rules.STATE_INVALID)]
    assert await post("PASSED") == [("state", rules.STATE_INVALID)]
    assert await post(True) == [("state", rules.STATE_INVALID)]
    assert await stored_states(session, d.id) == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("declaration_state", [None, "voided", "awaiting_clawback", "clawed_back"])
async def test_without_a_completed_declaration_that_counts(
    client: httpx.AsyncClient, session: AsyncSession, version: str, declaration_state: str | None
) -> None:
    lp = await o.npq_provider(session)
    n = await o.learner(session, lp)
    await f.declaration(
        session,
        n,  # type: ignore[arg-type]
        lp,
        programme="npq",
        course_identifier="npq-headship",
        declaration_type="started",
    )
    if declaration_state is not None:
        await o.completed(session, lp, n, state=declaration_state)
    response = await client.post(of(version, n.id), json=outcome_body(), headers=lp.headers)
    assert errors(response) == [("base", rules.NO_COMPLETED_DECLARATION)]


async def test_every_error_is_reported_together(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp = await o.npq_provider(session)
    n = await o.learner(session, lp)
    payload = body(course_identifier="npq-headship", state="unknown", completion_date="2023-06-01")
    assert errors(await client.post(of("v1", n.id), json=payload, headers=lp.headers)) == [
        ("state", rules.STATE_INVALID),
        ("base", rules.NO_COMPLETED_DECLARATION),
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_another_providers_participant(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    _, n, d = await setup(session)
    lp = await o.npq_provider(session)
    response = await client.post(of(version, n.id), json=outcome_body(), headers=lp.headers)
    assert invalid_action(response) == rules.NO_DECLARATION
    assert await stored_states(session, d.id) == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_future_completion_date_is_an_invalid_action(
    client: httpx.AsyncClient, session: AsyncSession, version: str
) -> None:
    lp, n, d = await setup(session)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    response = await client.post(
        of(version, n.id), json=outcome_body(completion_date=tomorrow), headers=lp.headers
    )
    assert invalid_action(response) == rules.FUTURE_COMPLETION_DATE
    assert await stored_states(session, d.id) == []
    today = datetime.now(UTC).date().isoformat()
    data(await client.post(of(version, n.id), json=outcome_body(completion_date=today), headers=lp.headers))
    # the sandbox clock decides what "future" means
    travelled = {**lp.headers, "X-With-Server-Date": f"{tomorrow}T09:00:00Z"}
    data(await client.post(of(version, n.id), json=outcome_body(completion_date=tomorrow), headers=travelled))
    assert await stored_states(session, d.id) == ["passed", "passed"]


# --- outcomes written by declarations ---------------------------------------------------------------


def declaration_body(n: f.NpqParticipant, course: str = "npq-headship", **attributes: Any) -> dict[str, Any]:
    values = {
        "participant_id": n.id,
        "declaration_type": "completed",
        "declaration_date": "2023-03-01T10:00:00Z",
        "course_identifier": course,
    }
    return {"data": {"type": "participant-declaration", "attributes": values | attributes}}


async def declaration_setup(session: AsyncSession, course: str = "npq-headship") -> tuple[f.Provider, Any]:
    lp = await o.npq_provider(session)
    today = date.today()
    await f.statement(
        session,
        lp,
        programme="npq",
        deadline_date=today + timedelta(days=30),
        payment_date=today + timedelta(days=55),
    )
    schedule = "npq-ehco-june" if "coaching" in course else "npq-leadership-autumn"
    return lp, await o.learner(session, lp, course, schedule_identifier=schedule)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("has_passed", "state"), [(True, "passed"), ("false", "failed")])
async def test_a_completed_declaration_records_an_outcome(
    client: httpx.AsyncClient, session: AsyncSession, version: str, has_passed: Any, state: str
) -> None:
    lp, n = await declaration_setup(session)
    declared = await client.post(
        f"/api/{version}/participant-declarations",
        json=declaration_body(n, has_passed=has_passed),
        headers=lp.headers,
    )
    declaration = data(declared)
    [row] = data(await client.get(listing(version), headers=lp.headers))
    assert row["attributes"] | {"created_at": None} == {
        "state": state,
        "completion_date": "2023-03-01T00:00:00+00:00",
        "course_identifier": "npq-headship",
        "participant_id": n.id,
        "created_at": None,
        **({"updated_at": row["attributes"]["updated_at"]} if version == "v3" else {}),
    }
    assert data(await client.get(of(version, n.id), headers=lp.headers)) == [row]

    # correcting the outcome moves the declaration's has_passed
    corrected = "failed" if state == "passed" else "passed"
    data(await client.post(of(version, n.id), json=outcome_body(state=corrected), headers=lp.headers))
    shown = data(
        await client.get(f"/api/{version}/participant-declarations/{declaration['id']}", headers=lp.headers)
    )
    assert shown["attributes"]["has_passed"] is (corrected == "passed")

    # voiding appends `voided`; has_passed is null; the outcome can no longer be changed
    voided = data(
        await client.put(
            f"/api/{version}/participant-declarations/{declaration['id']}/void", headers=lp.headers
        )
    )
    assert voided["attributes"]["has_passed"] is None
    states = [r["attributes"]["state"] for r in data(await client.get(listing(version), headers=lp.headers))]
    assert states == [state, corrected, "voided"]
    refused = await client.post(of(version, n.id), json=outcome_body(), headers=lp.headers)
    assert errors(refused) == [("base", rules.NO_COMPLETED_DECLARATION)]


async def test_ehco_completed_declarations_record_no_outcome(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    course = "npq-early-headship-coaching-offer"
    lp, n = await declaration_setup(session, course)
    payload = declaration_body(n, course, declaration_date="2023-07-01T00:00:00Z", has_passed=True)
    declaration = data(
        await client.post("/api/v3/participant-declarations", json=payload, headers=lp.headers)
    )
    data(await client.put(f"/api/v3/participant-declarations/{declaration['id']}/void", headers=lp.headers))
    assert data(await client.get(listing("v3"), headers=lp.headers)) == []
    assert await outcome_count(session) == 0


# --- sandbox ----------------------------------------------------------------------------------------


async def test_seeded_npq_provider_has_outcomes_in_every_version(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_sandbox(session, settings=settings, today=date(2026, 11, 22))
    headers = {"Authorization": "Bearer ambition-token"}
    for version in VERSIONS:
        rows = data(await client.get(listing(version), params={"page[per_page]": "3000"}, headers=headers))
        assert {r["attributes"]["state"] for r in rows} >= {"passed", "failed"}
        participant = rows[0]["attributes"]["participant_id"]
        assert data(await client.get(of(version, participant), headers=headers))
