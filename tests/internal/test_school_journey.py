"""End to end through HTTP: a school registers an ECT and a mentor, the partnered provider sees them
in every version and declares `started`, the ECT transfers to a school partnered with another
provider, both providers see the transfer, and the new provider declares the next milestone while
seeing the old provider's declaration."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories as f
from tests.internal.school_helpers import (
    INTERNAL,
    YEAR,
    audit_actions,
    body,
    created,
    ok,
    open_statement,
    person,
    ready_cohort,
    school_headers,
)


def declaration(participant_id: str, declaration_type: str, date: str) -> dict[str, Any]:
    evidence = {} if declaration_type == "started" else {"evidence_held": "training-event-attended"}
    return body(
        "participant-declaration",
        participant_id=participant_id,
        declaration_type=declaration_type,
        declaration_date=date,
        course_identifier="ecf-induction",
        **evidence,
    )


async def test_register_declare_transfer_and_declare_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await ready_cohort(session)
    old, new = await f.provider(session, "Old Provider"), await f.provider(session, "New Provider")
    for lp in (old, new):
        await open_statement(session, lp)
    first = await f.programme(session, old.lead_provider, YEAR)
    second = await f.programme(session, new.lead_provider, YEAR)
    first_tutor = await school_headers(session, first.school)
    second_tutor = await school_headers(session, second.school)

    # Both schools choose full induction for the cohort: it trains under their confirmed partnership.
    for school, tutor, partnership in (
        (first.school, first_tutor, first.partnership),
        (second.school, second_tutor, second.partnership),
    ):
        choice = ok(
            await client.put(
                f"{INTERNAL}/{school.id}/induction-programme",
                headers=tutor,
                json=body(
                    "induction-programme", cohort=YEAR, induction_programme_choice="full_induction_programme"
                ),
            )
        )
        assert partnership is not None
        assert choice["attributes"]["partnership_id"] == str(partnership.id)

    # The first school registers a mentor, then an ECT mentored by them.
    mentor = created(
        await client.post(
            f"{INTERNAL}/{first.school.id}/participants", headers=first_tutor, json=person("mentor")
        )
    )
    ect_body = person("ect", mentor_id=mentor["id"])
    ect = created(
        await client.post(f"{INTERNAL}/{first.school.id}/participants", headers=first_tutor, json=ect_body)
    )
    ect_id = ect["id"]
    assert ect["attributes"]["mentor_training_record_id"] == mentor["attributes"]["training_record_id"]

    # The old provider sees both, in every version.
    for version in ("v1", "v2", "v3"):
        listed = ok(await client.get(f"/api/{version}/participants/ecf", headers=old.headers))
        assert {mentor["id"], ect_id} <= {p["id"] for p in listed}, version
    shown = ok(await client.get(f"/api/v3/participants/ecf/{ect_id}", headers=old.headers))
    enrolment = shown["attributes"]["ecf_enrolments"][0]
    assert shown["attributes"]["full_name"] == ect_body["data"]["attributes"]["full_name"]
    assert enrolment["school_urn"] == first.school.urn
    assert enrolment["mentor_id"] == mentor["id"]
    assert (
        shown["attributes"]["teacher_reference_number"]
        == ect_body["data"]["attributes"]["teacher_reference_number"]
    )
    assert enrolment["schedule_identifier"] == "ecf-standard-september"
    # The new provider does not.
    assert (await client.get(f"/api/v3/participants/ecf/{ect_id}", headers=new.headers)).status_code == 404

    # The old provider declares `started`.
    started = ok(
        await client.post(
            "/api/v3/participant-declarations",
            headers=old.headers,
            json=declaration(ect_id, "started", "2022-10-03T10:00:00Z"),
        )
    )

    # The ECT moves: the first school reports them leaving, the second them joining.
    ok(
        await client.post(
            f"{INTERNAL}/{first.school.id}/participants/{ect_id}/leaving",
            headers=first_tutor,
            json=body("leaving", end_date="2023-01-06"),
        )
    )
    joined = ok(
        await client.post(
            f"{INTERNAL}/{second.school.id}/participants/{ect_id}/joining",
            headers=second_tutor,
            json=body("joining", start_date="2023-01-09"),
        )
    )
    assert joined["attributes"]["school_id"] == str(second.school.id)

    # Both providers see the transfer in v3, leaving the first school and joining the second.
    for lp in (old, new):
        transfer = ok(await client.get(f"/api/v3/participants/ecf/{ect_id}/transfers", headers=lp.headers))
        moves = transfer["attributes"]["transfers"]
        assert len(moves) == 1, lp.cpd.name
        assert moves[0]["leaving"]["school_urn"] == first.school.urn
        assert moves[0]["leaving"]["provider"] == "Old Provider"
        assert moves[0]["joining"]["school_urn"] == second.school.urn
        assert moves[0]["joining"]["provider"] == "New Provider"

    # The new provider now sees the participant at the second school, and the old declaration.
    shown = ok(await client.get(f"/api/v3/participants/ecf/{ect_id}", headers=new.headers))
    assert shown["attributes"]["ecf_enrolments"][0]["school_urn"] == second.school.urn
    seen = ok(await client.get("/api/v3/participant-declarations", headers=new.headers))
    assert started["id"] in {d["id"] for d in seen}

    # ... and declares the next milestone.
    retained = ok(
        await client.post(
            "/api/v3/participant-declarations",
            headers=new.headers,
            json=declaration(ect_id, "retained-1", "2023-02-01T10:00:00Z"),
        )
    )
    assert retained["attributes"]["declaration_type"] == "retained-1"

    profile_id = ect["attributes"]["training_record_id"]
    # (one test transaction: every event has the same time, so they are listed by name)
    assert await audit_actions(session, profile_id) == [
        "participant.joining_reported",
        "participant.leaving_reported",
        "participant.registered",
    ]


async def test_joining_with_the_current_provider_keeps_the_provider(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await ready_cohort(session)
    old, other = await f.provider(session, "Keeper"), await f.provider(session, "Other")
    first = await f.programme(session, old.lead_provider, YEAR)
    second = await f.programme(session, other.lead_provider, YEAR)
    first_tutor, second_tutor = (
        await school_headers(session, first.school),
        await school_headers(session, second.school),
    )
    ok(
        await client.put(
            f"{INTERNAL}/{first.school.id}/induction-programme",
            headers=first_tutor,
            json=body(
                "induction-programme", cohort=YEAR, induction_programme_choice="full_induction_programme"
            ),
        )
    )
    ect = created(
        await client.post(f"{INTERNAL}/{first.school.id}/participants", headers=first_tutor, json=person())
    )
    ok(
        await client.post(
            f"{INTERNAL}/{second.school.id}/participants/{ect['id']}/joining",
            headers=second_tutor,
            json=body("joining", start_date="2023-01-09", continue_with_current_provider=True),
        )
    )
    # The same provider trains them at the new school; the other provider never sees them.
    shown = ok(await client.get(f"/api/v3/participants/ecf/{ect['id']}", headers=old.headers))
    assert shown["attributes"]["ecf_enrolments"][0]["school_urn"] == second.school.urn
    assert (
        await client.get(f"/api/v3/participants/ecf/{ect['id']}", headers=other.headers)
    ).status_code == 404
    # The school's own partnership with the other provider is untouched; the transfer partnership is
    # internal and never listed.
    partnerships = ok(await client.get("/api/v3/partnerships/ecf", headers=old.headers))
    assert {p["attributes"]["school_id"] for p in partnerships} == {str(first.school.id)}
