"""How a request is tried again: backoff after transient failures, and waiting out rate limits.

One :class:`Retrier` per client holds the policy (``rate_limit`` settings), the shared
:class:`~.ratelimit.Limiter` whose pauses every worker honours, and the counters the run reports.
A request carries its own :class:`Tries`. Retries spent → TransientError (retryable: `ghye
resume` continues from that page); a rate limit that never lifts → RateLimitExhausted.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, NoReturn

import httpx

from gh_year_end.config import RateLimitConfig
from gh_year_end.errors import GitHubError, RateLimitExhausted, TransientError
from gh_year_end.github.answers import REQUEST_ID, github_message
from gh_year_end.github.links import without_credentials
from gh_year_end.github.ratelimit import (
    ANNOUNCE_AFTER_SECONDS,
    CORE,
    GRAPHQL,
    Limiter,
    OnWait,
    RateLimitState,
    announce,
    backoff_delay,
    classify_limit,
    parse_retry_after,
    secondary_wait,
)

logger = logging.getLogger(__name__)

#: Rate-limit answers (403/429) one request may meet before ghye gives up on it.
RATE_LIMIT_RETRIES: Final = 5
#: Rate-limit answers one request may meet in episodes other requests' answers began (they say
#: nothing new about the limit, so they do not use up its retries).
SHARED_LIMIT_HITS: Final = 50


@dataclass(slots=True)
class Tries:
    """What one request has been through so far."""

    failures: int = 0  # transient failures (5xx, transport, bad or odd bodies)
    limit_hits: int = 0  # rate-limit answers that began or renewed a pause
    shared_hits: int = 0  # rate-limit answers in an episode another request's answer began
    redirects: int = 0
    renewals: int = 0  # 401s after which the credential renewed itself


class Retrier:
    """The retry policy of one client, and its counters (see the module docstring)."""

    def __init__(
        self,
        rate: RateLimitConfig,
        *,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        rng: random.Random,
        scrub: Callable[[str], str],
        on_wait: OnWait | None = None,
    ) -> None:
        self._rate, self._on_wait = rate, on_wait
        self._sleep, self._clock, self._rng, self._scrub = sleep, clock, rng, scrub
        self.retries = 0
        self.rate_limit_hits = 0
        self.secondary_hits = 0
        self.backoff_seconds = 0.0

    async def backoff(
        self,
        tries: Tries,
        what: str,
        *,
        url: str,
        status: int | None = None,
        request_id: str | None = None,
        cause: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Sleep before the next attempt, or raise TransientError once retries are spent."""
        retries = self._rate.max_retries
        attempt = tries.failures
        if attempt >= retries:
            detail = self._scrub(f"{what} — gave up after {attempt + 1} attempts")
            error = TransientError(
                f"{detail}; `ghye resume` continues from this page",
                status=status,
                url=self._scrub(without_credentials(url)),
                request_id=request_id,
                detail=detail,
            )
            raise error from cause
        delay = (
            retry_after
            if retry_after is not None
            else backoff_delay(
                attempt,
                base=self._rate.backoff_base_seconds,
                cap=self._rate.backoff_max_seconds,
                rng=self._rng,
            )
        )
        tries.failures += 1
        self.retries += 1
        self.backoff_seconds += delay
        reason = self._scrub(f"{what}; retry {attempt + 1} of {retries}")
        if delay > ANNOUNCE_AFTER_SECONDS:
            announce(self._on_wait, reason, delay)
        else:
            logger.debug("%s in %.1f s", reason, delay)
        await self._sleep(delay)

    async def server_error(
        self, response: httpx.Response, shown: str, target: str, tries: Tries
    ) -> None:
        """Back off from a 5xx (honouring its Retry-After), or raise TransientError."""
        status = response.status_code
        await self.backoff(
            tries,
            f"GitHub answered {status} {response.reason_phrase} for {shown}",
            url=target,
            status=status,
            request_id=response.headers.get(REQUEST_ID),
            retry_after=parse_retry_after(response.headers.get("retry-after"), self._clock()),
        )

    def rate_limited(
        self,
        response: httpx.Response,
        rate: RateLimitState | None,
        tries: Tries,
        *,
        shown: str,
        shared: bool,
        limiter: Limiter,
        resource: str = CORE,
    ) -> bool:
        """For a 403/429: if it is a rate limit, pause the requests it concerns (every one of
        the credential for a secondary limit; those of ``resource``, the request's, for the
        primary one) and return True.

        ``shared``: another request's rate-limit answer came while this one was in flight —
        the same episode, not a new refusal of this request: it does not use up the request's
        retries (it is bounded by SHARED_LIMIT_HITS instead), nor double the wait.
        """
        status = response.status_code
        message = github_message(response)
        now = self._clock()
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        kind = classify_limit(status, message, retry_after, rate)
        if kind is None:
            return False
        self.rate_limit_hits += 1
        limiter.limit_answers += 1
        if shared and tries.shared_hits < SHARED_LIMIT_HITS:
            tries.shared_hits += 1
        else:
            tries.limit_hits += 1
        self._check_spent(tries, kind, f"{status} {message}", response, shown)
        if kind == "secondary":
            self.secondary_hits += 1
            wait = limiter.secondary_hit(
                now, retry_after, self._rate.secondary_min_wait_seconds, shared=shared
            )
            limiter.pause(
                now + wait, f"secondary rate limit ({status}); every request waits", now=now
            )
            return True
        if retry_after is not None:
            until = now + retry_after
        elif rate is not None:
            until = max(rate.reset, now) + self._rate.reset_margin_seconds
        else:
            # "API rate limit exceeded" without the headers that say when it resets (a proxy
            # stripped them): wait as for a secondary limit, doubling per repeat.
            until = now + secondary_wait(
                self._rate.secondary_min_wait_seconds, max(tries.limit_hits - 1, 0)
            )
        if rate is not None:
            resource = rate.resource
        limiter.pause(
            until,
            f"primary rate limit ({resource}) used up ({status}); waiting for its reset",
            now=now,
            resource=resource,
        )
        return True

    def graphql_rate_limited(
        self,
        response: httpx.Response,
        rate: RateLimitState | None,
        tries: Tries,
        *,
        shown: str,
        limiter: Limiter,
    ) -> None:
        """A 200 whose errors hold RATE_LIMITED: the GraphQL budget is spent — its requests
        wait for its reset (REST's go on), or RateLimitExhausted once the waits are spent."""
        now = self._clock()
        self.rate_limit_hits += 1
        limiter.limit_answers += 1
        tries.limit_hits += 1
        self._check_spent(tries, "primary", "RATE_LIMITED", response, shown)
        if rate is not None:
            until = max(rate.reset, now) + self._rate.reset_margin_seconds
        else:
            until = now + secondary_wait(
                self._rate.secondary_min_wait_seconds, max(tries.limit_hits - 1, 0)
            )
        limiter.pause(
            until,
            "primary rate limit (graphql) used up; waiting for its reset",
            now=now,
            resource=GRAPHQL,
        )

    def _check_spent(
        self, tries: Tries, kind: str, answer: str, response: httpx.Response, shown: str
    ) -> None:
        if tries.limit_hits > RATE_LIMIT_RETRIES:
            self._raise(
                RateLimitExhausted,
                f"GitHub's {kind} rate limit still refused {shown} after {RATE_LIMIT_RETRIES} "
                f"waits ({answer}) — another client may share the credential; run "
                "`ghye resume` later",
                response,
                shown,
            )

    def _raise(
        self, cls: type[GitHubError], message: str, response: httpx.Response, shown: str
    ) -> NoReturn:
        raise cls(
            self._scrub(message),
            status=response.status_code,
            url=shown,
            request_id=response.headers.get(REQUEST_ID),
        )
