"""Rate-limit counters shared by every worker when Redis is not configured."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class RateLimitCounter(Base):
    """Requests seen for one caller in one fixed window.

    UNLOGGED: counters are worth nothing after a crash, so they skip the write-ahead log (cheaper
    upserts); PostgreSQL empties the table on crash recovery, which at worst resets a window.
    """

    __tablename__ = "rate_limit_counters"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    # "token:<hmac digest>" or "addr:<client address>"; never a raw token.
    key: Mapped[str] = mapped_column(String, primary_key=True)
    # Unix time (seconds) at which the window starts.
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
