"""The school role: each action's rules, refusals, role scoping, audit, and nothing half-written."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import school_actions as rules
from app.domain.enums import TokenScope
from app.models import InductionRecord, ParticipantProfile, Partnership, SchoolCohort, User
from tests import factories as f
from tests import factories_finance as ff
from tests.internal.school_helpers import (
    INTERNAL,
    YEAR,
    audit_actions,
    body,
    created,
    errors,
    ok,
    person,
    ready_cohort,
    school_headers,
)
from tests.reliability.dataset import counts

FIP = "full_induction_programme"


async def _school(
    session: AsyncSession, client: httpx.AsyncClient
) -> tuple[f.Provider, f.Programme, dict[str, str]]:
    """A school partnered with a provider, with its full induction programme chosen."""
    await ready_cohort(session)
    lp = await f.provider(session)
    place = await f.programme(session, lp.lead_provider, YEAR)
    tutor = await school_headers(session, place.school)
    ok(
        await client.put(
            f"{INTERNAL}/{place.school.id}/induction-programme",
            headers=tutor,
            json=body("induction-programme", cohort=YEAR, induction_programme_choice=FIP),
        )
    )
    return lp, place, tutor


async def test_programme_choice_validation_and_idempotence(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, place, tutor = await _school(session, client)
    url = f"{INTERNAL}/{place.school.id}/induction-programme"
    assert errors(await client.put(url, headers=tutor, json=body("induction-programme", cohort="20x2"))) == {
        "cohort": "Enter 'cohort' as a cohort start year, e.g. 2024",
        "induction_programme_choice": "Enter 'induction_programme_choice'",
    }
    refused = await client.put(
        url,
        headers=tutor,
        json=body("induction-programme", cohort=1999, induction_programme_choice="not_yet_known"),
    )
    assert errors(refused) == {
        "cohort": "There is no cohort starting in 1999",
        "induction_programme_choice": "'induction_programme_choice' must be one of: "
        "full_induction_programme, core_induction_programme, design_our_own, school_funded_fip, "
        "no_early_career_teachers",
    }
    # Choosing the same again reuses the programme.
    again = ok(
        await client.put(
            url, headers=tutor, json=body("induction-programme", cohort=YEAR, induction_programme_choice=FIP)
        )
    )
    first_programme = again["attributes"]["induction_programme_id"]
    same = ok(
        await client.put(
            url, headers=tutor, json=body("induction-programme", cohort=YEAR, induction_programme_choice=FIP)
        )
    )
    assert same["attributes"]["induction_programme_id"] == first_programme
    # Choosing no ECTs leaves no programme: registration is then refused.
    none = ok(
        await client.put(
            url,
            headers=tutor,
            json=body(
                "induction-programme", cohort=YEAR, induction_programme_choice="no_early_career_teachers"
            ),
        )
    )
    assert none["attributes"]["induction_programme_id"] is None
    refused = await client.post(f"{INTERNAL}/{place.school.id}/participants", headers=tutor, json=person())
    assert errors(refused) == {"cohort": rules.NO_TRAINING}
    assert place.school_cohort.id is not None
    choice = await session.scalar(
        select(SchoolCohort.induction_programme_choice).where(SchoolCohort.id == place.school_cohort.id)
    )
    assert choice == "no_early_career_teachers"


async def test_registration_refusals_store_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, place, tutor = await _school(session, client)
    url = f"{INTERNAL}/{place.school.id}/participants"
    before = await counts(session)
    bad = await client.post(
        url,
        headers=tutor,
        json=body(
            "participant",
            participant_type="teacher",
            full_name="",
            email="not-an-email",
            teacher_reference_number="12",
            date_of_birth="2199-01-01",
            start_date="yesterday",
            cohort=YEAR,
            training="yes",
        ),
    )
    assert errors(bad) == {
        "participant_type": "'participant_type' must be one of: ect, mentor",
        "full_name": "Enter 'full_name'",
        "email": "Enter an email address in the correct format, like name@example.com",
        "teacher_reference_number": "A teacher reference number has 7 digits",
        "date_of_birth": "'date_of_birth' is out of range",
        "start_date": "'start_date' must be a date (YYYY-MM-DD)",
        "training": "'training' must be true or false",
    }
    # A mentor who does not exist, an email already registered: refused whole.
    stranger = await f.participant(session, lp.lead_provider, YEAR, profile_type="mentor")
    assert errors(await client.post(url, headers=tutor, json=person(mentor_id=stranger.id))) == {
        "mentor_id": rules.NOT_A_MENTOR
    }
    taken = person(email=stranger.person.user.email.upper())
    assert errors(await client.post(url, headers=tutor, json=taken)) == {"email": rules.EMAIL_TAKEN}
    assert (await client.post(url, headers=tutor, json={"data": []})).status_code == 400
    assert (await client.post(url, headers=tutor, content=b"{not json")).status_code == 400
    after = await counts(session)
    changed = {t for t in after if after[t] != before.get(t)}
    # Only the factory's own rows for `stranger` were added.
    assert changed <= {
        "users",
        "participant_identities",
        "teacher_profiles",
        "participant_profiles",
        "ecf_participant_eligibilities",
        "induction_records",
        "ecf_latest_induction_records",
        "ecf_participant_users",
        "ecf_participant_user_month_counts",
        "ecf_participant_versions",
        "school_cohorts",
        "induction_programmes",
        "partnerships",
        "delivery_partners",
        "provider_relationships",
        "schools",
        "cpd_lead_providers",
        "lead_providers",
    }
    assert after["audit_events"] == before["audit_events"]


async def test_registered_participant_rows(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, place, tutor = await _school(session, client)
    data = created(
        await client.post(
            f"{INTERNAL}/{place.school.id}/participants",
            headers=tutor,
            json=person("ect", start_date=f"{YEAR + 1}-01-10"),
        )
    )
    profile = await session.get(ParticipantProfile, data["attributes"]["training_record_id"])
    assert profile is not None and profile.school_id == place.school.id
    records = (
        await session.scalars(
            select(InductionRecord).where(InductionRecord.participant_profile_id == profile.id)
        )
    ).all()
    assert len(records) == 1 and records[0].induction_status == "active"
    # A January start follows the January schedule.
    shown = ok(await client.get(f"/api/v3/participants/ecf/{data['id']}", headers=lp.headers))
    enrolment = shown["attributes"]["ecf_enrolments"][0]
    assert enrolment["schedule_identifier"] == "ecf-standard-january"
    assert enrolment["eligible_for_funding"] is None  # waits for DfE's eligibility check
    assert await audit_actions(session, profile.id) == ["participant.registered"]


async def test_mentor_assignment_keeps_history(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, place, tutor = await _school(session, client)
    url = f"{INTERNAL}/{place.school.id}/participants"
    ect = created(await client.post(url, headers=tutor, json=person()))
    trained = created(await client.post(url, headers=tutor, json=person("mentor")))
    pool_only = created(await client.post(url, headers=tutor, json=person("mentor", training=False)))
    assert pool_only["attributes"]["induction_status"] == "not_training"

    assign = f"{url}/{ect['id']}/mentor"
    assert errors(await client.put(assign, headers=tutor, json=body("mentor", mentor_id="x"))) == {
        "mentor_id": "'mentor_id' must be an id"
    }
    ok(await client.put(assign, headers=tutor, json=body("mentor", mentor_id=trained["id"])))
    ok(await client.put(assign, headers=tutor, json=body("mentor", mentor_id=pool_only["id"])))
    statuses = (
        await session.scalars(
            select(InductionRecord.induction_status)
            .where(InductionRecord.participant_profile_id == ect["attributes"]["training_record_id"])
            .order_by(InductionRecord.created_at, InductionRecord.induction_status)
        )
    ).all()
    assert sorted(statuses) == ["active", "changed", "changed"]
    # The pool-only mentor trains with no one: an unfunded mentor of the provider.
    unfunded = ok(await client.get("/api/v3/unfunded-mentors/ecf", headers=lp.headers))
    assert [m["id"] for m in unfunded] == [pool_only["id"]]
    # A mentor cannot have a mentor.
    assert (
        await client.put(
            f"{url}/{trained['id']}/mentor", headers=tutor, json=body("mentor", mentor_id=pool_only["id"])
        )
    ).status_code == 404


async def test_withdraw_and_challenge(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, place, tutor = await _school(session, client)
    url = f"{INTERNAL}/{place.school.id}/participants"
    ect = created(await client.post(url, headers=tutor, json=person()))
    withdrawn = ok(await client.post(f"{url}/{ect['id']}/withdraw", headers=tutor))
    assert withdrawn["attributes"]["induction_status"] == "withdrawn"
    assert errors(await client.post(f"{url}/{ect['id']}/withdraw", headers=tutor)) == {
        "participant_id": rules.ALREADY_WITHDRAWN
    }
    shown = ok(await client.get(f"/api/v3/participants/ecf/{ect['id']}", headers=lp.headers))
    assert shown["attributes"]["ecf_enrolments"][0]["participant_status"] == "withdrawn"

    assert place.partnership is not None
    challenge = f"{INTERNAL}/{place.school.id}/partnerships/{place.partnership.id}/challenge"
    assert errors(
        await client.post(
            challenge, headers=tutor, json=body("partnership-challenge", challenge_reason="bored")
        )
    ) == {
        "challenge_reason": "'challenge_reason' must be one of: another_provider, not_confirmed, "
        "do_not_recognise, no_ects, mistake"
    }
    ok(
        await client.post(
            challenge, headers=tutor, json=body("partnership-challenge", challenge_reason="mistake")
        )
    )
    assert errors(
        await client.post(
            challenge, headers=tutor, json=body("partnership-challenge", challenge_reason="mistake")
        )
    ) == {"partnership": rules.ALREADY_CHALLENGED}
    shown = ok(await client.get(f"/api/v3/partnerships/ecf/{place.partnership.id}", headers=lp.headers))
    assert shown["attributes"]["status"] == "challenged"
    assert shown["attributes"]["challenged_reason"] == "mistake"
    # The provider no longer sees the school's participants.
    assert (await client.get(f"/api/v3/participants/ecf/{ect['id']}", headers=lp.headers)).status_code == 404
    assert await audit_actions(session, place.partnership.id) == ["partnership.challenged"]


async def test_role_scoping(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lp, place, tutor = await _school(session, client)
    other = await f.programme(session, lp.lead_provider, YEAR)
    other_tutor = await school_headers(session, other.school)
    ect = created(
        await client.post(f"{INTERNAL}/{place.school.id}/participants", headers=tutor, json=person())
    )
    partnership_id = place.partnership.id if place.partnership else None
    before = await counts(session)
    paths = [
        ("PUT", f"{INTERNAL}/{place.school.id}/induction-programme"),
        ("POST", f"{INTERNAL}/{place.school.id}/participants"),
        ("PUT", f"{INTERNAL}/{place.school.id}/participants/{ect['id']}/mentor"),
        ("POST", f"{INTERNAL}/{place.school.id}/participants/{ect['id']}/leaving"),
        ("POST", f"{INTERNAL}/{place.school.id}/participants/{ect['id']}/joining"),
        ("POST", f"{INTERNAL}/{place.school.id}/participants/{ect['id']}/withdraw"),
        (
            "POST",
            f"{INTERNAL}/{place.school.id}/partnerships/{partnership_id}/challenge",
        ),
    ]
    finance = await ff.internal_headers(session, TokenScope.FINANCE)
    admin = await ff.internal_headers(session, TokenScope.ADMIN)
    for method, path in paths:
        # Another school's tutor, a provider, finance and admin tokens: 403; no token: 401.
        for headers in (other_tutor, lp.headers, finance, admin):
            response = await client.request(method, path, headers=headers, json=person())
            assert response.status_code == 403, (method, path, response.text)
        assert (await client.request(method, path, json=person())).status_code == 401
    # The other school's tutor cannot act on the participant through their own school either.
    moved = await client.post(
        f"{INTERNAL}/{other.school.id}/participants/{ect['id']}/leaving",
        headers=other_tutor,
        json=body("leaving", end_date="2023-01-01"),
    )
    assert moved.status_code == 404
    after = await counts(session)
    assert {t: n for t, n in after.items() if n != before[t]} == {}
    users = await session.scalar(select(func.count()).select_from(User))
    assert users == after["users"]
    partnership = await session.get(Partnership, place.partnership.id if place.partnership else None)
    assert partnership is not None and partnership.challenged_at is None


async def test_every_action_reaches_incremental_syncs(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A provider syncing with updated_since after each school action sees the participant again."""
    lp, place, tutor = await _school(session, client)
    url = f"{INTERNAL}/{place.school.id}/participants"
    mentor = created(await client.post(url, headers=tutor, json=person("mentor", training=False)))
    ect = created(await client.post(url, headers=tutor, json=person()))
    actions = [
        ("PUT", f"{url}/{ect['id']}/mentor", body("mentor", mentor_id=mentor["id"])),
        ("POST", f"{url}/{ect['id']}/leaving", body("leaving", end_date="2099-07-31")),
        ("POST", f"{url}/{ect['id']}/withdraw", None),
    ]
    for method, path, payload in actions:
        await session.execute(text("SELECT pg_sleep(0.01)"))
        since = (await session.scalar(text("SELECT clock_timestamp()"))).isoformat()  # type: ignore[union-attr]
        synced = ok(
            await client.get(
                "/api/v3/participants/ecf", params={"filter[updated_since]": since}, headers=lp.headers
            )
        )
        assert ect["id"] not in {p["id"] for p in synced}, path
        ok(await client.request(method, path, headers=tutor, json=payload))
        synced = ok(
            await client.get(
                "/api/v3/participants/ecf", params={"filter[updated_since]": since}, headers=lp.headers
            )
        )
        assert ect["id"] in {p["id"] for p in synced}, path
