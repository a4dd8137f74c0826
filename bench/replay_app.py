"""The service with one extra route, for the benchmark's ceiling lines (never deployed).

`GET /bench/replay/{name}` answers a page the load driver stored in `BENCH_REPLAY_DIR/<name>.json`
(read once per worker, then kept in memory) through everything a real list request goes through
except the page's own database work and rendering: uvicorn, the whole middleware stack (ETag and
gzip included), FastAPI's routing and dependencies, the bearer token check and a session. Its
lines in scenario 2 are what a list's page would cost this machine if building it cost nothing.

    python bench/replay_app.py --port 8766 --workers 2   # what bench/run.sh starts beside the API
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.api.deps import LeadProviderDep, SessionDep, read_only
from app.api.responses import JSONAPI_MEDIA_TYPE
from app.main import create_app

app = create_app()
_pages: dict[str, bytes] = {}


@app.get("/bench/replay/{name}", include_in_schema=False)
@read_only
async def replay(name: str, provider: LeadProviderDep, session: SessionDep) -> Response:
    if name not in _pages:
        path = Path(os.environ["BENCH_REPLAY_DIR"]) / f"{name}.json"
        if not name.isidentifier() or not path.is_file():
            raise HTTPException(status_code=404)
        _pages[name] = path.read_bytes()
    return Response(_pages[name], media_type=JSONAPI_MEDIA_TYPE)


def main() -> None:
    import uvicorn

    from app.serving import balanced, serve_balanced

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "workers": args.workers,
        "access_log": False,
        "proxy_headers": True,
        "log_level": "warning",
    }
    config = uvicorn.Config("bench.replay_app:app", **options)
    if balanced(config):
        serve_balanced(config)  # a listening socket per worker, as `cpd-api serve` does
    else:
        uvicorn.run("bench.replay_app:app", **options)


if __name__ == "__main__":
    main()
