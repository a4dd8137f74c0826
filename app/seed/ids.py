"""Deterministic ids: every seeded row's id is a uuid5 of a natural key.

The same natural key gives the same id on every machine and every run, which is what makes the
seed idempotent (`ON CONFLICT DO NOTHING` on the id) and lets tests, docs and other features name
seeded rows without looking them up. Changing a key format changes the ids it produces, so keep
these formats stable.
"""

from __future__ import annotations

import uuid
from datetime import date

NAMESPACE = uuid.UUID("6f1f7a52-3c0b-4d9e-9a57-8d2a3c1b0e41")


def uid(*parts: object) -> uuid.UUID:
    """The id of a natural key made of `parts` (joined with '/')."""
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def cohort_id(start_year: int) -> uuid.UUID:
    return uid("cohort", start_year)


def schedule_id(start_year: int, schedule_identifier: str) -> uuid.UUID:
    return uid("schedule", start_year, schedule_identifier)


def milestone_id(start_year: int, schedule_identifier: str, declaration_type: str) -> uuid.UUID:
    return uid("milestone", start_year, schedule_identifier, declaration_type)


def cpd_lead_provider_id(name: str) -> uuid.UUID:
    return uid("cpd", name)


def lead_provider_id(name: str) -> uuid.UUID:
    """The ECF role (lead_providers row) of the CPD lead provider called `name`."""
    return uid("lp", name)


def delivery_partner_id(provider_name: str, index: int) -> uuid.UUID:
    return uid("dp", provider_name, index)


def statement_id(provider_name: str, programme: str, start_year: int, month: date) -> uuid.UUID:
    """A monthly statement; `month` is the first day of the statement's month."""
    return uid("statement", provider_name, programme, start_year, month)


def user_id(person_key: str) -> uuid.UUID:
    return uid("user", person_key)


def token_id(raw_token: str) -> uuid.UUID:
    return uid("token", raw_token)
