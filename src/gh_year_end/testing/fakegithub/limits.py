"""GitHub's rate limits: the primary window (x-ratelimit-* headers, 403/429 beyond it) and the
secondary limit on data requests in flight (403 with Retry-After)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from gh_year_end.testing.fakegithub.data import TOKEN_USER_ID
from gh_year_end.testing.fakegithub.wire import (
    Request,
    Response,
    error_response,
    json_response,
)

if TYPE_CHECKING:
    from gh_year_end.testing.fakegithub.control import Stats
    from gh_year_end.testing.fakegithub.settings import FakeSettings

SECONDARY_MESSAGE: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


class RateWindow:
    """GitHub's primary limit: ``limit`` requests per fixed window, starting at first use."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.used = 0
        self.reset = 0

    def _roll(self) -> None:
        now = self.clock()
        if now >= self.reset:
            self.reset = math.ceil(now + self.window)
            self.used = 0

    def take(self) -> bool:
        """Count one request; False when the window's budget is spent."""
        self._roll()
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self) -> list[tuple[str, str]]:
        """The x-ratelimit-* headers as of now."""
        self._roll()
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(max(0, self.limit - self.used))),
            ("x-ratelimit-used", str(self.used)),
            ("x-ratelimit-reset", str(self.reset)),
            ("x-ratelimit-resource", "core"),
        ]

    def snapshot(self) -> dict[str, int]:
        """GET /rate_limit's view of the window."""
        self._roll()
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": max(0, self.limit - self.used),
            "reset": self.reset,
        }


def _no_headers() -> list[tuple[str, str]]:
    return []


class Limits:
    """Both limits of one server; runs on its loop thread, counts what it refuses in ``stats``."""

    def __init__(self, settings: FakeSettings, clock: Callable[[], float], stats: Stats) -> None:
        self._window = RateWindow(settings.rate_limit, settings.rate_window, clock)
        self._stats = stats
        self._max_concurrent = settings.max_concurrent
        self._retry_after = str(settings.secondary_retry_after)
        self._status = settings.rate_limit_status
        self.headers: Callable[[], list[tuple[str, str]]] = (
            self._window.headers if settings.rate_headers else _no_headers
        )
        """The x-ratelimit-* headers of an answer: none when ``rate_headers`` is off."""

    def admit(self, req: Request) -> Response | None:
        """None when ``req`` may go on; else its answer: a secondary limit's 403, GET
        /rate_limit's (asking costs nothing, as on GitHub), or the primary limit's refusal."""
        stats = self._stats
        if self._max_concurrent is not None and stats.inflight > self._max_concurrent:
            with stats.lock:
                stats.secondary_limited += 1
            response = error_response(403, SECONDARY_MESSAGE)
            response.headers += [("Retry-After", self._retry_after), *self.headers()]
            return response
        if req.path.rstrip("/") == "/rate_limit":
            core = {**self._window.snapshot(), "resource": "core"}
            response = json_response(
                200, {"resources": {"core": core}, "rate": core}, endpoint="rate_limit"
            )
            response.headers += self.headers()
            return response
        if not self._window.take():
            with stats.lock:
                stats.rate_limited += 1
            response = error_response(
                self._status, f"API rate limit exceeded for user ID {TOKEN_USER_ID}."
            )
            response.headers += self.headers()
            return response
        return None
