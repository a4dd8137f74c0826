"""JSON:API responses serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

JSONAPI_MEDIA_TYPE = "application/vnd.api+json"

# Datetimes in a body are UTC instants (app.api.serialization.instant): written as the contract's
# date-times, second precision with a `Z` (2021-05-31T02:22:32Z).
RENDER_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS


class JSONAPIResponse(JSONResponse):
    """The contract's content type, no charset; orjson for speed."""

    media_type = JSONAPI_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return render_json(content)

    def init_headers(self, headers: Any = None) -> None:
        super().init_headers(headers)
        # Starlette appends "; charset=utf-8" to text types only, but be explicit.
        self.headers["content-type"] = JSONAPI_MEDIA_TYPE


def render_json(content: Any) -> bytes:
    """`content` as the bytes a JSONAPIResponse would send."""
    return orjson.dumps(content, option=RENDER_OPTIONS)


class RenderedListResponse(JSONAPIResponse):
    """`{"data": [...]}` from items already rendered with render_json: the same bytes as a
    JSONAPIResponse of the parsed items, without parsing or rendering them again."""

    def __init__(self, items: list[bytes], **kwargs: Any) -> None:
        super().__init__(items, **kwargs)

    def render(self, content: Any) -> bytes:
        return b'{"data":[' + b",".join(content) + b"]}"
