"""Pure ASGI middleware (no BaseHTTPMiddleware: streamed responses keep streaming, overhead stays low).

Order, outermost first:
request log (request id, timing, metrics) -> security headers -> rate limit -> body limit
-> deprecation headers -> compression -> conditional GET (ETag/304) -> FastAPI's exception handling -> routes.

The rate limiter sits before everything that does work, so a refused request costs one counter
hit; compression wraps the ETag layer so tags are computed on the plain body.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.middleware.compression import CompressionMiddleware
from app.middleware.conditional import ConditionalGetMiddleware
from app.middleware.deprecation import DeprecationMiddleware
from app.middleware.limits import BodyLimitMiddleware
from app.middleware.rate_limit import RateLimitMiddleware
from app.middleware.request_log import RequestLogMiddleware
from app.middleware.security_headers import SecurityHeadersMiddleware
from app.settings import Settings


def install_middleware(app: FastAPI, settings: Settings) -> None:
    # add_middleware wraps what was added before: add from the innermost out.
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(CompressionMiddleware, minimum_size=settings.gzip_minimum_bytes)
    app.add_middleware(DeprecationMiddleware, deprecations=settings.api_deprecations)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    if settings.rate_limiting:
        app.add_middleware(RateLimitMiddleware, token_key=settings.token_hmac_key)
    # Outside the limiter, so a 429 carries them too.
    app.add_middleware(SecurityHeadersMiddleware, https_only=settings.is_production)
    app.add_middleware(RequestLogMiddleware)
