"""GitHub's rate limits: the primary windows — REST's "core" (requests) and GraphQL's "graphql"
(points), each with its x-ratelimit-* headers — and the secondary limit on data requests in
flight (403 with Retry-After), which REST and GraphQL requests share."""

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
    """One primary limit: ``limit`` units (REST: requests, GraphQL: points) per fixed window of
    ``window`` seconds, starting at first use; ``resource`` names it in x-ratelimit-resource."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float], resource: str = "core"
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.resource = resource
        self.used = 0
        self.reset = 0

    def _roll(self) -> None:
        now = self.clock()
        if now >= self.reset:
            self.reset = math.ceil(now + self.window)
            self.used = 0

    def take(self, units: int = 1) -> bool:
        """Count ``units``; False (and nothing counted) when the window has fewer left."""
        self._roll()
        if self.used + units > self.limit:
            return False
        self.used += units
        return True

    def headers(self) -> list[tuple[str, str]]:
        """The x-ratelimit-* headers as of now."""
        self._roll()
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(max(0, self.limit - self.used))),
            ("x-ratelimit-used", str(self.used)),
            ("x-ratelimit-reset", str(self.reset)),
            ("x-ratelimit-resource", self.resource),
        ]

    def snapshot(self) -> dict[str, int]:
        """GET /rate_limit's view of the window (GraphQL's ``rateLimit`` reads it too)."""
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
    """Every limit of one server; runs on its loop thread, counts what it refuses in ``stats``.

    REST requests take one unit of the "core" window each (:meth:`admit`); a GraphQL request
    is admitted by the secondary limit only (:meth:`admit` with ``graphql=True``), and its
    points are taken from the "graphql" window once its cost is known (:meth:`spend_graphql`).
    """

    def __init__(self, settings: FakeSettings, clock: Callable[[], float], stats: Stats) -> None:
        self._window = RateWindow(settings.rate_limit, settings.rate_window, clock)
        self._graphql = RateWindow(
            settings.graphql_rate_limit, settings.rate_window, clock, resource="graphql"
        )
        self._stats = stats
        self._max_concurrent = settings.max_concurrent
        self._retry_after = str(settings.secondary_retry_after)
        self._status = settings.rate_limit_status
        on = settings.rate_headers
        self.headers: Callable[[], list[tuple[str, str]]] = (
            self._window.headers if on else _no_headers
        )
        """The x-ratelimit-* headers of a REST answer: none when ``rate_headers`` is off."""
        self.graphql_headers: Callable[[], list[tuple[str, str]]] = (
            self._graphql.headers if on else _no_headers
        )
        """The x-ratelimit-* headers of a GraphQL answer (resource "graphql")."""

    def admit(self, req: Request, *, graphql: bool = False) -> Response | None:
        """None when ``req`` may go on; else its answer: a secondary limit's 403, GET
        /rate_limit's (asking costs nothing, as on GitHub), or the primary limit's refusal.

        ``graphql``: the request is a GraphQL query — only the secondary limit applies here;
        its points are spent by :meth:`spend_graphql` once the query's cost is known."""
        stats = self._stats
        headers = self.graphql_headers if graphql else self.headers
        if self._max_concurrent is not None and stats.inflight > self._max_concurrent:
            with stats.lock:
                stats.secondary_limited += 1
            response = error_response(403, SECONDARY_MESSAGE)
            response.headers += [("Retry-After", self._retry_after), *headers()]
            return response
        if graphql:
            return None
        if req.path.rstrip("/") == "/rate_limit":
            core = {**self._window.snapshot(), "resource": "core"}
            graphql_window = {**self._graphql.snapshot(), "resource": "graphql"}
            response = json_response(
                200,
                {"resources": {"core": core, "graphql": graphql_window}, "rate": core},
                endpoint="rate_limit",
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

    def spend_graphql(self, points: int) -> bool:
        """Take a GraphQL query's ``points`` from the "graphql" window; False (nothing taken,
        ``rate_limited`` counted) when fewer are left — GitHub refuses a query costing more
        than what remains, even when something remains."""
        if self._graphql.take(points):
            with self._stats.lock:
                self._stats.graphql_points += points
            return True
        with self._stats.lock:
            self._stats.rate_limited += 1
        return False

    def graphql_window(self) -> dict[str, int]:
        """The "graphql" window now: limit, used, remaining, reset (epoch seconds)."""
        return self._graphql.snapshot()
