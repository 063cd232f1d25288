"""GitHub REST access: the client (one page per call) and the rate-limit rules it obeys."""

from __future__ import annotations

from gh_year_end.github.client import ClientStats, Page, PageMeta, RestClient, resolve_token
from gh_year_end.github.ratelimit import Limiter, RateLimitState

__all__ = [
    "ClientStats",
    "Limiter",
    "Page",
    "PageMeta",
    "RateLimitState",
    "RestClient",
    "resolve_token",
]
