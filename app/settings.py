"""Service configuration, read once from the environment."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TOKEN_HMAC_KEY = "development-only-token-key-change-me"  # noqa: S105 (refused in production)
DEFAULT_TOKEN_CACHE_SECONDS = 5.0


class Environment(StrEnum):
    PRODUCTION = "production"
    SANDBOX = "sandbox"
    DEVELOPMENT = "development"
    TEST = "test"


class VersionDeprecation(BaseModel):
    """How an older API version announces its retirement (RFC 9745 `Deprecation`, RFC 8594 `Sunset`)."""

    deprecated_on: date
    # None: supported until further notice, so no `Sunset` header is sent.
    sunset_on: date | None = None
    successor: str = "v3"


# v3 went live in production on 2 June 2023; the reference keeps v1 and v2 "until further notice".
DEFAULT_DEPRECATIONS = {
    "v1": VersionDeprecation(deprecated_on=date(2023, 6, 2)),
    "v2": VersionDeprecation(deprecated_on=date(2023, 6, 2)),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Environment.DEVELOPMENT
    database_url: str | None = None
    # Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset.
    embedded_pgdata: str = ".pgdata/server"
    embedded_database: str = "cpd_api"

    token_hmac_key: str = DEFAULT_TOKEN_HMAC_KEY
    # How long a worker reuses a token lookup (app/domain/auth.py TokenCache): a revoked token is
    # refused by every worker within this time. None: 5 s, except 0 (off) in the test environment.
    token_cache_seconds: float | None = Field(default=None, ge=0)

    db_pool_size: int = Field(default=10, ge=1)
    # Overflow connections are opened for a burst and closed when it passes: each costs the
    # database a new backend. With none, a request beyond the pool waits for a pooled connection.
    db_max_overflow: int = Field(default=0, ge=0)
    # How long a request waits for a pooled connection before it is answered 503.
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)

    # asyncpg gives up connecting after this long, so a dead database fails requests (and /readyz) fast.
    db_connect_timeout_seconds: float = Field(default=10.0, gt=0)

    # None: on everywhere except the test environment (tests that want it switch it on explicitly).
    rate_limit_enabled: bool | None = None
    rate_limit_requests: int = Field(default=1000, ge=1)
    rate_limit_period_seconds: int = Field(default=300, ge=1)
    redis_url: str | None = None
    rate_limit_key_prefix: str = "cpd-api:rl"
    # How long one limiter call may take (Redis socket, PostgreSQL statement) before it fails open.
    rate_limit_timeout_seconds: float = Field(default=1.0, gt=0)
    # After a limiter failure, requests skip it (fail open) for this long instead of each waiting.
    rate_limit_retry_after_failure_seconds: float = Field(default=5.0, ge=0)

    # Older versions and their retirement dates; JSON in the environment, e.g.
    # API_DEPRECATIONS='{"v1": {"deprecated_on": "2023-06-02", "sunset_on": "2026-07-31"}}'.
    api_deprecations: dict[str, VersionDeprecation] = Field(
        default_factory=lambda: dict(DEFAULT_DEPRECATIONS)
    )

    # ECF participant list pages reuse rendered participants while nothing they show has changed
    # (migration 0025). Off: every page is built from the database (and nothing is stored).
    participant_documents: bool = True

    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1)
    gzip_minimum_bytes: int = Field(default=1024, ge=0)

    host: str = "127.0.0.1"
    port: int = 8000
    # WEB_CONCURRENCY is the name most platforms set; WORKERS is accepted too.
    workers: int = Field(default=1, ge=1, validation_alias=AliasChoices("web_concurrency", "workers"))
    # With several workers, uvicorn's supervisor replaces a worker that does not answer its health
    # check in time; uvicorn's 5 s default killed busy workers (and their in-flight requests) under
    # bursts of 2000-record pages. A hung worker is still replaced, later.
    worker_healthcheck_timeout_s: float = Field(default=30.0, gt=0)
    # When set, GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (Prometheus'
    # `authorization` scrape setting); unset or empty, it answers anyone who can reach it.
    metrics_token: str | None = None
    log_level: str = "info"
    # One JSON object per log line (production default); plain text is easier to read locally.
    log_json: bool = True

    @field_validator("metrics_token", mode="after")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.token_hmac_key == DEFAULT_TOKEN_HMAC_KEY:
            raise ValueError("TOKEN_HMAC_KEY must be set to a secret value in production")
        return self

    @property
    def time_travel_allowed(self) -> bool:
        """X-With-Server-Date is honoured everywhere except production."""
        return self.environment is not Environment.PRODUCTION

    @property
    def scenario_api_enabled(self) -> bool:
        """Providers may act as a school through /api/sandbox everywhere except production."""
        return self.environment is not Environment.PRODUCTION

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def token_cache_ttl(self) -> float:
        if self.token_cache_seconds is not None:
            return self.token_cache_seconds
        return 0.0 if self.environment is Environment.TEST else DEFAULT_TOKEN_CACHE_SECONDS

    @property
    def rate_limiting(self) -> bool:
        if self.rate_limit_enabled is not None:
            return self.rate_limit_enabled
        return self.environment is not Environment.TEST


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
