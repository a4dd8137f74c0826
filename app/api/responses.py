"""JSON:API responses serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

JSONAPI_MEDIA_TYPE = "application/vnd.api+json"


class JSONAPIResponse(JSONResponse):
    """The contract's content type, no charset; orjson for speed."""

    media_type = JSONAPI_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)

    def init_headers(self, headers: Any = None) -> None:
        super().init_headers(headers)
        # Starlette appends "; charset=utf-8" to text types only, but be explicit.
        self.headers["content-type"] = JSONAPI_MEDIA_TYPE
