"""GitHub REST access: the client (one page per call) and the rate-limit rules it obeys."""

from __future__ import annotations

from gh_year_end.github.answers import Page, PageMeta
from gh_year_end.github.client import ClientStats, RestClient
from gh_year_end.github.ratelimit import Limiter, RateLimitState
from gh_year_end.github.tokens import resolve_token

__all__ = [
    "ClientStats",
    "Limiter",
    "Page",
    "PageMeta",
    "RateLimitState",
    "RestClient",
    "resolve_token",
]
