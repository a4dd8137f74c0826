"""Service configuration, read once from the environment."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TOKEN_HMAC_KEY = "development-only-token-key-change-me"  # noqa: S105 (refused in production)


class Environment(StrEnum):
    PRODUCTION = "production"
    SANDBOX = "sandbox"
    DEVELOPMENT = "development"
    TEST = "test"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Environment.DEVELOPMENT
    database_url: str | None = None
    # Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset.
    embedded_pgdata: str = ".pgdata/server"
    embedded_database: str = "cpd_api"

    token_hmac_key: str = DEFAULT_TOKEN_HMAC_KEY

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)

    rate_limit_requests: int = Field(default=1000, ge=1)
    rate_limit_period_seconds: int = Field(default=300, ge=1)
    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"

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
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
