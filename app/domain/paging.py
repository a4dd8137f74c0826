"""Paging values shared by the domain and repositories."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 3000
# Cohorts listed when no cohort filter is given: every cohort after 2020.
DEFAULT_MIN_COHORT_EXCLUSIVE = 2020


@dataclass(frozen=True)
class Page:
    number: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def limit(self) -> int:
        return self.per_page
