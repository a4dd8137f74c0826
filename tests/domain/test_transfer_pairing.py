"""pair_records keeps the pairing rule while taking candidates from a shrinking list.

The rule, written out as plainly as possible below (`rule`): each leaving record in turn, oldest
first, takes the oldest record not yet taken that is not a leaving one, is at another school and is
a school transfer; a pair is kept when either side is the provider's, an unmatched leaving record
when it is the provider's own. The implementation must give the same pairs on any records,
including training records with dozens of induction records (seen in the benchmark data: 49).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.enums import InductionStatus
from app.domain.transfers import pair_records
from app.repositories.transfers import TransferRecordRow

Pair = tuple[TransferRecordRow, TransferRecordRow | None]


def rule(records: list[TransferRecordRow], lead_provider_id: uuid.UUID) -> list[Pair]:
    ordered = sorted(records, key=lambda r: (r.created_at, r.induction_record_id))
    used: set[uuid.UUID] = set()
    pairs: list[Pair] = []
    for leaving in ordered:
        if leaving.induction_status != InductionStatus.LEAVING:
            continue
        used.add(leaving.induction_record_id)
        joining = None
        for r in ordered:
            if (
                r.induction_record_id not in used
                and r.induction_status != InductionStatus.LEAVING
                and r.school_id != leaving.school_id
                and r.school_transfer
            ):
                joining = r
                break
        if joining is not None:
            used.add(joining.induction_record_id)
            if lead_provider_id in (leaving.lead_provider_id, joining.lead_provider_id):
                pairs.append((leaving, joining))
        elif leaving.lead_provider_id == lead_provider_id:
            pairs.append((leaving, None))
    return pairs


def _records(
    rng: random.Random, n: int, schools: list[uuid.UUID], providers: list[uuid.UUID | None]
) -> list[TransferRecordRow]:
    start = datetime(2024, 9, 1, tzinfo=UTC)
    statuses = [
        InductionStatus.LEAVING,
        InductionStatus.ACTIVE,
        InductionStatus.CHANGED,
        InductionStatus.COMPLETED,
    ]
    profile, user = uuid.uuid4(), uuid.uuid4()
    records = []
    for _ in range(n):
        # Few distinct instants, so ties on created_at are broken by the record id.
        created = start + timedelta(days=rng.randrange(max(1, n // 3)))
        records.append(
            TransferRecordRow(
                induction_record_id=uuid.UUID(int=rng.getrandbits(128)),
                participant_profile_id=profile,
                user_id=user,
                induction_status=rng.choice(statuses),
                school_transfer=rng.random() < 0.6,
                school_id=rng.choice(schools),
                school_urn="100000",
                lead_provider_id=rng.choice(providers),
                lead_provider_name=None,
                start_date=created,
                end_date=None,
                created_at=created,
                updated_at=created,
            )
        )
    rng.shuffle(records)
    return records


@pytest.mark.parametrize("seed", range(40))
def test_the_pairs_are_the_rules_pairs(seed: int) -> None:
    rng = random.Random(seed)
    schools = [uuid.uuid4() for _ in range(rng.randint(1, 4))]
    ours, other = uuid.uuid4(), uuid.uuid4()
    for n in (0, 1, 2, 5, 12, 49):
        records = _records(rng, n, schools, [ours, other, None])
        assert pair_records(records, ours) == rule(records, ours), (seed, n)
