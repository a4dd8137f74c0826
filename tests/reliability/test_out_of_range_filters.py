"""Filter values beyond what the parser or the columns can hold read as invalid or unknown values
(the contract's 400, or nothing matched), never a server error."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.query import UPDATED_SINCE_ERROR, year_to_i
from tests import factories as f
from tests import factories_npq as fn

LISTS = [
    "/api/v1/participants/ecf",
    "/api/v3/participant-declarations",
    "/api/v3/statements",
    "/api/v3/partnerships/ecf",
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("offset", ["+99:00", "-24:00", "+24:30"])
async def test_a_zone_offset_out_of_range_is_an_invalid_date(
    client: httpx.AsyncClient, session: AsyncSession, path: str, offset: str
) -> None:
    lp = await f.provider(session, npq=True)
    params = {"filter[updated_since]": f"2022-01-01T00:00:00{offset}"}
    response = await client.get(path, params=params, headers=lp.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"title": "Bad request", "detail": UPDATED_SINCE_ERROR}]}
    # The widest valid offsets still work.
    for ok in ("+23:59", "-23:59"):
        params = {"filter[updated_since]": f"2022-01-01T00:00:00{ok}"}
        assert (await client.get(path, params=params, headers=lp.headers)).status_code == 200


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("suffix", ["", ".csv"])
async def test_a_cohort_no_column_can_hold_is_an_unknown_cohort(
    client: httpx.AsyncClient, session: AsyncSession, version: str, suffix: str
) -> None:
    lp = await f.provider(session, npq=True)
    await fn.application(session, lp)
    url = f"/api/{version}/npq-applications{suffix}"
    unknown = await client.get(url, params={"filter[cohort]": "1999"}, headers=lp.headers)
    for cohort in ("99999999999999999999999999", "32768", "-40000"):
        huge = await client.get(url, params={"filter[cohort]": cohort}, headers=lp.headers)
        assert huge.status_code == 200, cohort
        assert huge.text == unknown.text, cohort


def test_year_to_i() -> None:
    assert year_to_i("2022abc") == 2022
    assert year_to_i("32767") == 32767
    assert year_to_i("32768") == 0
    assert year_to_i("-32769") == 0
    assert year_to_i("9" * 40) == 0
