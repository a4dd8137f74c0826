"""The finance commands and `create-internal-token`, run as a separate process on committed data."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import ApiToken, CallOffContract, NpqContract, Statement
from app.security import hash_token
from tests import factories as f
from tests import factories_finance as ff
from tests.conftest import TEST_HMAC_KEY
from tests.servers import run_cli


async def run(database_url: str, *args: str) -> tuple[int, str, str]:
    return await run_cli(database_url, *args)


async def count(maker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_create_internal_token(committed: async_sessionmaker[AsyncSession], database_url: str) -> None:
    async with committed() as session:
        school = await f.school(session)
        await session.commit()

    code, out, err = await run(
        database_url, "create-internal-token", "--role", "finance", "--description", "DfE"
    )
    assert code == 0, err
    raw = out.strip()
    assert "shown only this once" in err
    async with committed() as session:
        token = (await session.execute(select(ApiToken))).scalar_one()
    assert (token.scope, token.description, token.cpd_lead_provider_id) == ("finance", "DfE", None)
    assert token.hashed_token == hash_token(raw, TEST_HMAC_KEY) != raw

    code, out, err = await run(
        database_url, "create-internal-token", "--role", "school", "--school", str(school.id)
    )
    assert code == 0, err
    code, _, err = await run(database_url, "create-internal-token", "--role", "school")
    assert code != 0 and "school: a school token needs the school it acts for" in err
    code, _, err = await run(
        database_url, "create-internal-token", "--role", "admin", "--school", str(school.id)
    )
    assert code != 0 and "school: only a school token acts for a school" in err
    code, _, err = await run(
        database_url, "create-internal-token", "--role", "school", "--school", str(uuid.uuid4())
    )
    assert code != 0 and "school: no school with id" in err
    code, _, err = await run(database_url, "create-internal-token", "--role", "lead_provider")
    assert code != 0 and "invalid choice" in err
    assert await count(committed, ApiToken) == 2


CONTRACTS = {
    "ecf": [
        {
            "lead_provider": "CLI ECF Provider",
            "cohort": 2022,
            "recruitment_target": 6000,
            "set_up_fee": "149651",
            "uplift_amount": "100",
            "bands": [
                {"max": 2000, "per_participant": "995"},
                {"min": 2001, "max": 4000, "per_participant": "979"},
                {"min": 4001, "max": 6000, "per_participant": "966"},
            ],
        }
    ],
    "npq": [
        {
            "lead_provider": "CLI NPQ Provider",
            "cohort": 2022,
            "course_identifier": "npq-leading-teaching",
            "recruitment_target": 72,
            "per_participant": "800",
            "service_fee_installments": 19,
            "number_of_payment_periods": 3,
        }
    ],
}
SCHEDULE = """type,name,cohort,deadline_date,payment_date,output_fee
ecf,November 2022,2022,2022-10-31,2022-11-30,true
ecf,December 2022,2022,2022-11-30,2022-12-25,false
ECF,March 2023,2022,2023-2-28,2023-3-25,TRUE
npq,March 2023,2022,2023-02-25,2023-03-25,true
ecf,November 2021,2021,2021-10-31,2021-11-30,true
"""


async def test_import_contracts_and_statements_then_calculate(
    committed: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path
) -> None:
    async with committed() as session:
        ecf = await f.provider(session, name="CLI ECF Provider")
        npq = await f.provider(session, name="CLI NPQ Provider", ecf=False, npq=True)
        await f.provider(session, name="CLI Provider Without Contracts", npq=True)
        await f.cohort(session, 2021)
        await f.cohort(session, 2022)
        await session.commit()

    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps(CONTRACTS))
    code, out, err = await run(database_url, "finance", "import-contracts", str(contracts))
    assert code == 0, err
    assert out == "ECF contracts: 1 created, 0 replaced\nNPQ contracts: 1 created, 0 replaced\n"
    code, out, err = await run(database_url, "finance", "import-contracts", str(contracts))
    assert out == "ECF contracts: 0 created, 1 replaced\nNPQ contracts: 0 created, 1 replaced\n"

    schedule = tmp_path / "statements.csv"
    schedule.write_text(SCHEDULE)
    code, out, err = await run(
        database_url, "finance", "import-statements", str(schedule), "--today", "2022-12-10"
    )
    assert code == 0, err
    assert out.splitlines() == [
        "created ecf statement 'November 2022' (cohort 2022) for CLI ECF Provider: paid",
        "created ecf statement 'December 2022' (cohort 2022) for CLI ECF Provider: payable",
        "created ecf statement 'March 2023' (cohort 2022) for CLI ECF Provider: open",
        "created npq statement 'March 2023' (cohort 2022) for CLI NPQ Provider: open",
        "4 created, 0 already existed",
    ]
    code, out, err = await run(
        database_url, "finance", "import-statements", str(schedule), "--today", "2022-12-10"
    )
    assert code == 0, err
    assert out == "0 created, 4 already existed\n"
    async with committed() as session:
        rows = (await session.execute(select(Statement).order_by(Statement.payment_date))).scalars().all()
        assert [(s.cpd_lead_provider_id, s.name, s.output_fee, s.contract_version) for s in rows] == [
            (ecf.cpd.id, "November 2022", True, "0.0.1"),
            (ecf.cpd.id, "December 2022", False, "0.0.1"),
            (ecf.cpd.id, "March 2023", True, "0.0.1"),
            (npq.cpd.id, "March 2023", True, "0.0.1"),
        ]
        assert rows[2].deadline_date == date(2023, 2, 28)
        earlier, current = rows[0], rows[2]
        paid = await ff.line_items(session, ecf, earlier, 1200, state="paid")
        uplifted = await ff.line_items(session, ecf, earlier, 300, state="paid", uplift=True)
        await ff.clawbacks(session, current, paid.declaration_ids[:15] + uplifted.declaration_ids[:5])
        await ff.line_items(session, ecf, current, 600)
        await ff.line_items(session, ecf, current, 100, uplift=True)
        await ff.line_items(session, ecf, current, 300, declaration_type="retained-1")
        await session.commit()

    code, out, err = await run(database_url, "finance", "calculate", str(current.id))
    assert code == 0, err
    result = json.loads(out)
    assert (result["service_fee"], result["output_fee"], result["total"], result["total_with_vat"]) == (
        "75943.07",
        "110061.00",
        "193154.47",
        "231785.36",
    )
    code, out, err = await run(database_url, "finance", "calculate", str(current.id), "--csv")
    assert code == 0, err
    assert out.startswith("section,description,declaration_type,band,count,unit_amount,amount\n")
    assert "total,,,,,,193154.47\n" in out

    code, _, err = await run(database_url, "finance", "calculate", str(uuid.uuid4()))
    assert code != 0 and "no statement with id" in err


async def test_invalid_files_change_nothing(
    committed: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path
) -> None:
    async with committed() as session:
        lp = await f.provider(session, name="Strict Provider")
        await ff.ecf_contract(session, lp, 2022)
        await session.commit()

    schedule = tmp_path / "statements.csv"
    schedule.write_text(
        "type,name,cohort,deadline_date,payment_date,output_fee\n"
        "ecf,November 2022,2022,2022-10-31,2022-11-30,true\n"
        "itt,December 2022,2022,2022-31-11,someday,maybe\n"
        "ecf,November 2022,2022,2022-10-31,2022-11-30,true\n"
    )
    code, _, err = await run(database_url, "finance", "import-statements", str(schedule))
    assert code != 0
    assert err.splitlines() == [
        "line 3: type must be ecf or npq, not 'itt'",
        "line 3: deadline_date must be a date (YYYY-MM-DD), not '2022-31-11'",
        "line 3: payment_date must be a date (YYYY-MM-DD), not 'someday'",
        "line 3: output_fee must be true or false, not 'maybe'",
        "line 4: repeats line 2 (ecf November 2022, cohort 2022)",
    ]
    schedule.write_text(
        "type,name,cohort,deadline_date,payment_date,output_fee\necf,May 2031,2031,2031-4-30,2031-5-25,1\n"
    )
    code, _, err = await run(database_url, "finance", "import-statements", str(schedule))
    assert code != 0 and err.strip() == "line 2: cohort 2031 does not exist"
    schedule.write_text("type,name,cohort,payment_date\n")
    code, _, err = await run(database_url, "finance", "import-statements", str(schedule))
    assert code != 0
    assert err.splitlines() == [
        "headers: missing column: deadline_date",
        "headers: missing column: output_fee",
    ]
    code, _, err = await run(database_url, "finance", "import-statements", str(tmp_path / "missing.csv"))
    assert code != 0 and "cannot read" in err
    assert await count(committed, Statement) == 0

    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps({"npq": [{**CONTRACTS["npq"][0], "lead_provider": "Strict Provider"}]}))
    code, _, err = await run(database_url, "finance", "import-contracts", str(contracts))
    assert code != 0 and err.strip() == "npq[0].lead_provider: Strict Provider is not an NPQ lead provider"
    contracts.write_text("{not json")
    code, _, err = await run(database_url, "finance", "import-contracts", str(contracts))
    assert code != 0 and "is not JSON" in err
    assert await count(committed, NpqContract) == 0
    assert await count(committed, CallOffContract) == 1
