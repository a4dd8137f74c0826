"""The service's notion of "now", movable in non-production environments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Clock:
    """Now, shifted by `offset` (sandbox time travel keeps the clock ticking)."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        return self.now().date()

    @classmethod
    def travelling_to(cls, instant: datetime) -> Clock:
        return cls(offset=instant - datetime.now(UTC))


SYSTEM_CLOCK = Clock()
