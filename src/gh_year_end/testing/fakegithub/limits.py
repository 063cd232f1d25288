"""GitHub's rate limits, per account: each account's primary windows — REST's "core" (requests)
and GraphQL's "graphql" (points), each with its x-ratelimit-* headers — and its secondary limit
on requests in flight (403 with Retry-After), which its REST and GraphQL requests share.

GitHub counts all of them per account (a user, whichever of the user's tokens is sent; a GitHub
App installation, whichever of its installation tokens; the App itself for the requests its JWT
authenticates) — see :mod:`.accounts`. A :class:`Budget` holds one account's windows and its
requests in flight; :class:`Limits` makes them on first use, every account with the same
``rate_limit``/``graphql_rate_limit`` per ``rate_window`` (the anonymous budget: 60, no GraphQL).

The secondary limit (``max_concurrent``) is per account too: GitHub documents its concurrency
limit among the secondary limits it applies to each user or App installation, so a client with
tokens of several accounts may have that many requests in flight per account.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from gh_year_end.testing.fakegithub.accounts import ANONYMOUS_LIMIT, Account
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


class Budget:
    """One account's primary windows ("core", "graphql") and its requests in flight."""

    def __init__(
        self, account: Account, core: int, graphql: int, window: float, clock: Callable[[], float]
    ) -> None:
        self.account = account
        self.core = RateWindow(core, window, clock)
        self.graphql = RateWindow(graphql, window, clock, resource="graphql")
        self.inflight = 0


class Limits:
    """Every limit of one server, per account; runs on its loop thread, counts what it refuses
    in ``stats``.

    A request is :meth:`enter`-ed once its account is known and :meth:`leave`-s when its answer
    is out. REST requests take one unit of their account's "core" window each (:meth:`admit`;
    a conditional request answered 304 gives it back, :meth:`refund`);
    a GraphQL request is admitted by the secondary limit only (:meth:`admit` with
    ``graphql=True``), and its points are taken from its account's "graphql" window once its
    cost is known (:meth:`spend_graphql`).
    """

    def __init__(self, settings: FakeSettings, clock: Callable[[], float], stats: Stats) -> None:
        self._settings = settings
        self._clock = clock
        self._budgets: dict[str, Budget] = {}
        self._stats = stats
        self._max_concurrent = settings.max_concurrent
        self._retry_after = str(settings.secondary_retry_after)
        self._status = settings.rate_limit_status
        self._on = settings.rate_headers

    def budget(self, account: Account) -> Budget:
        """``account``'s budget (made on first use)."""
        found = self._budgets.get(account.key)
        if found is None:
            s = self._settings
            if account.kind == "anonymous":
                found = Budget(account, ANONYMOUS_LIMIT, 0, s.rate_window, self._clock)
            else:
                found = Budget(
                    account, s.rate_limit, s.graphql_rate_limit, s.rate_window, self._clock
                )
            self._budgets[account.key] = found
        return found

    def headers(self, account: Account, *, graphql: bool = False) -> list[tuple[str, str]]:
        """The x-ratelimit-* headers of an answer to ``account`` (its "graphql" window's for a
        GraphQL answer); none when ``rate_headers`` is off."""
        if not self._on:
            return []
        budget = self.budget(account)
        return (budget.graphql if graphql else budget.core).headers()

    def enter(self, account: Account) -> None:
        """A request of ``account`` is in flight (until :meth:`leave`)."""
        self.budget(account).inflight += 1

    def leave(self, account: Account) -> None:
        """A request of ``account`` is answered."""
        self.budget(account).inflight -= 1

    def admit(self, req: Request, account: Account, *, graphql: bool = False) -> Response | None:
        """None when ``req`` (:meth:`enter`-ed) may go on; else its answer: a secondary limit's
        403, GET /rate_limit's (asking costs nothing, as on GitHub), or the primary limit's
        refusal — all for ``account``'s budget.

        ``graphql``: the request is a GraphQL query — only the secondary limit applies here;
        its points are spent by :meth:`spend_graphql` once the query's cost is known."""
        stats = self._stats
        budget = self.budget(account)
        if self._max_concurrent is not None and budget.inflight > self._max_concurrent:
            with stats.lock:
                stats.secondary_limited += 1
            response = error_response(403, SECONDARY_MESSAGE)
            response.headers += [
                ("Retry-After", self._retry_after),
                *self.headers(account, graphql=graphql),
            ]
            return response
        if graphql:
            return None
        if req.path.rstrip("/") == "/rate_limit":
            core = {**budget.core.snapshot(), "resource": "core"}
            graphql_window = {**budget.graphql.snapshot(), "resource": "graphql"}
            response = json_response(
                200,
                {"resources": {"core": core, "graphql": graphql_window}, "rate": core},
                endpoint="rate_limit",
            )
            response.headers += self.headers(account)
            return response
        if not budget.core.take():
            with stats.lock:
                stats.rate_limited += 1
            response = error_response(self._status, account.limit_message)
            response.headers += self.headers(account)
            return response
        self._count_core(account, 1)
        return None

    def refund(self, account: Account) -> None:
        """Give back the unit of "core" budget :meth:`admit` took for a request of ``account``
        that turned out not to count: a conditional request answered 304 (:mod:`.etags`).
        Called in the same turn of the loop as the admission, so the window is the same one."""
        core = self.budget(account).core
        if core.used > 0:
            core.used -= 1
            self._count_core(account, -1)

    def _count_core(self, account: Account, units: int) -> None:
        with self._stats.lock:
            self._stats.core_spent += units
            self._stats.core_spent_by_account[account.label] += units

    def spend_graphql(self, points: int, account: Account) -> bool:
        """Take a GraphQL query's ``points`` from ``account``'s "graphql" window; False (nothing
        taken, ``rate_limited`` counted) when fewer are left — GitHub refuses a query costing
        more than what remains, even when something remains."""
        if self.budget(account).graphql.take(points):
            with self._stats.lock:
                self._stats.graphql_points += points
            return True
        with self._stats.lock:
            self._stats.rate_limited += 1
        return False

    def graphql_window(self, account: Account) -> dict[str, int]:
        """``account``'s "graphql" window now: limit, used, remaining, reset (epoch seconds)."""
        return self.budget(account).graphql.snapshot()
