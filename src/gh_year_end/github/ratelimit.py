"""GitHub's rate-limit rules, as pure functions, and the :class:`Limiter` every worker shares.

GitHub's documented rules (REST API, "Rate limits for the REST API"):

* Every response carries ``x-ratelimit-limit/-remaining/-used/-reset/-resource``: a budget per
  resource that refills at ``reset`` (UTC epoch seconds).
* A 403 or 429 with ``x-ratelimit-remaining: 0`` is the primary limit: do not retry before
  ``reset``.
* A 403 or 429 whose message says "secondary rate limit" (or that carries ``Retry-After``) is a
  secondary limit: wait ``Retry-After`` seconds if given, else at least a minute, growing
  exponentially on repeats.
* A 403 or 429 whose message says "API rate limit exceeded" is the primary limit even when the
  ``x-ratelimit-*`` headers are missing (a proxy may strip them): a rate-limit message is a rate
  limit, never a permission refusal.
* Secondary limits also cap concurrency (100) and points per minute (900 for REST; a GET costs 1).
  The Limiter halves its own concurrency on a secondary limit and grows it back one request at a
  time (additive increase, multiplicative decrease), so ghye settles below whatever concurrency
  GitHub tolerates instead of running into it again and again.

The functions here take the clock reading as an argument; the :class:`Limiter` takes the clock and
the sleep as parameters, so tests drive time without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final, Literal

from gh_year_end.github.concurrency import AdaptiveGate

logger = logging.getLogger(__name__)

#: Longest single wait ghye accepts from a header: GitHub's windows are one hour.
MAX_WAIT_SECONDS: Final = 3600.0
#: Wait used when a reset lies in the past (clock skew, or a window that just rolled over).
PAST_RESET_WAIT_SECONDS: Final = 1.0
#: A reset this far in the past is worth a warning; a second or two is ordinary boundary noise.
PAST_RESET_WARN_SECONDS: Final = 5.0
#: Slack before a reset counts as "more than an hour ahead" (clock skew, rounding up).
FUTURE_RESET_SLACK_SECONDS: Final = 60.0
#: Epoch values above this are milliseconds, not seconds (1e11 s is the year 5138).
MILLISECONDS_THRESHOLD: Final = 1e11
#: Waits longer than this are announced (on_wait + INFO log) so the display can count down.
ANNOUNCE_AFTER_SECONDS: Final = 3.0
#: The points budget is per minute.
POINTS_WINDOW_SECONDS: Final = 60.0
#: The resource GitHub's REST endpoints (all those ghye reads) are counted against.
CORE: Final = "core"
#: The resource GraphQL queries are counted against (in points, apart from REST's requests).
GRAPHQL: Final = "graphql"
#: GitHub's secondary limit on GraphQL points per minute (REST's is rate_limit.points_per_minute).
GRAPHQL_POINTS_PER_MINUTE: Final = 2000

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
OnWait = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """One resource's primary budget as GitHub last reported it (reset: UTC epoch seconds)."""

    limit: int
    remaining: int
    used: int | None
    reset: float
    resource: str


def parse_rate_headers(headers: Mapping[str, str]) -> RateLimitState | None:
    """Read ``x-ratelimit-*`` from response headers; None when absent or unreadable.

    ``headers`` should be case-insensitive (httpx.Headers is). The reset is returned as sent;
    :func:`clamp_reset` makes it safe to sleep on.
    """
    remaining = headers.get("x-ratelimit-remaining")
    if remaining is None:
        return None
    try:
        rem = int(remaining)
        limit = int(headers.get("x-ratelimit-limit", remaining))
        reset = float(headers.get("x-ratelimit-reset", "0"))
        used_text = headers.get("x-ratelimit-used")
        used = int(used_text) if used_text is not None else None
    except ValueError:
        return None
    if not math.isfinite(reset):
        return None
    return RateLimitState(
        limit=limit,
        remaining=rem,
        used=used,
        reset=reset,
        resource=headers.get("x-ratelimit-resource", CORE),
    )


def clamp_reset(reset: float, now: float) -> tuple[float, str | None]:
    """A reset epoch that is safe to sleep until, and a warning when the raw value made no sense.

    Milliseconds are divided down; a reset in the past becomes a short wait; one more than an
    hour ahead (GitHub's windows are an hour) is clamped to an hour. Never a multi-year sleep.
    """
    problem: str | None = None
    if reset > MILLISECONDS_THRESHOLD:
        problem = f"rate-limit reset {reset:.0f} looks like milliseconds; read as seconds"
        reset /= 1000.0
    if reset < now:
        if now - reset > PAST_RESET_WARN_SECONDS and problem is None:
            problem = f"rate-limit reset lies {now - reset:.0f} s in the past (clock skew?)"
        return now + PAST_RESET_WAIT_SECONDS, problem
    if reset - now > MAX_WAIT_SECONDS + FUTURE_RESET_SLACK_SECONDS:
        problem = (
            f"rate-limit reset lies {reset - now:.0f} s ahead, more than GitHub's one-hour "
            "window; waiting one hour at most"
        )
        return now + MAX_WAIT_SECONDS, problem
    return reset, problem


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or HTTP date), clamped to
    [0, one hour]; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment: datetime = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # HTTP dates are GMT; a naive result means "GMT" was implied
            return None
        seconds = moment.timestamp() - now
    if not math.isfinite(seconds):
        return None
    if seconds > MAX_WAIT_SECONDS:
        logger.warning("Retry-After of %.0f s is longer than an hour; waiting one hour", seconds)
        return MAX_WAIT_SECONDS
    return max(0.0, seconds)


def is_secondary_message(message: str) -> bool:
    """True when GitHub's error message names a secondary (abuse) rate limit."""
    low = message.lower()
    return "secondary rate limit" in low or "abuse detection" in low


def is_primary_message(message: str) -> bool:
    """True when GitHub's error message names the primary limit ("API rate limit exceeded")."""
    return "rate limit exceeded" in message.lower()


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt)), attempt from 0."""
    ceiling = min(cap, base * float(2 ** min(max(attempt, 0), 62)))
    return rng.uniform(0.0, ceiling)


def secondary_wait(min_wait: float, repeat: int) -> float:
    """Wait for a secondary limit without Retry-After: min_wait doubled per repeat, ≤ one hour."""
    return min(MAX_WAIT_SECONDS, min_wait * float(2 ** min(max(repeat, 0), 30)))


def classify_limit(
    status: int,
    message: str,
    retry_after: float | None,
    state: RateLimitState | None,
) -> Literal["primary", "secondary"] | None:
    """Whether a response is a rate-limit answer, and which kind (GitHub's documented order).

    ``Retry-After`` first, then ``remaining == 0`` (primary), then the message; a 429 is always a
    rate limit. A message that names a rate limit is one, whatever the headers say (a proxy may
    strip them). A 403 that is none of these is a permission problem, not a limit: None.
    """
    if status not in (403, 429):
        return None
    secondary_text = is_secondary_message(message)
    primary = (state is not None and state.remaining == 0) or (
        not secondary_text and is_primary_message(message)
    )
    if retry_after is not None:
        return "primary" if primary and not secondary_text else "secondary"
    if primary:
        return "primary"
    if secondary_text or status == 429:
        return "secondary"
    return None


def announce(on_wait: OnWait | None, reason: str, seconds: float) -> None:
    """Tell the display (and the log) about a wait worth a countdown (longer than ~3 s)."""
    if seconds <= ANNOUNCE_AFTER_SECONDS:
        return
    logger.info("waiting %.0f s: %s", seconds, reason)
    if on_wait is not None:
        on_wait(reason, seconds)


class Limiter:
    """The gate every request of one credential passes (GitHub's limits are per credential).

    * at most ``max_concurrency`` requests in flight, REST and GraphQL together — as many as
      GitHub's secondary limits tolerate, found by :class:`~.concurrency.AdaptiveGate` (slow
      start, then halving on a new secondary-limit episode and growing back one at a time);
    * a sliding one-minute points budget per resource (a GET costs 1; GraphQL has its own)
      that never delays a run below it;
    * a pause every request honours (a secondary limit), and a pause per resource (its primary
      budget used up: REST's ``core`` spent does not stop GraphQL, nor the other way round);
    * when a resource's remaining budget minus its requests in flight reaches zero, a pause
      until its reset (+ margin) instead of running into a 403.
    """

    def __init__(
        self,
        *,
        max_concurrency: int,
        points_per_minute: int,
        reset_margin: float = 1.0,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        on_wait: OnWait | None = None,
        resource: str = CORE,
        slow_start: bool = True,
    ) -> None:
        if max_concurrency < 1 or points_per_minute < 1:
            raise ValueError("max_concurrency and points_per_minute must be at least 1")
        self._gate = AdaptiveGate(max_concurrency, slow_start=slow_start)
        self._ppm = points_per_minute
        self._margin = reset_margin
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._resource = resource
        self._sent: dict[str, deque[float]] = {}
        self._pause_until = 0.0
        self._resource_pause: dict[str, float] = {}
        self._in_flight = 0
        self._resource_in_flight: dict[str, int] = {}
        self._secondary_repeat = 0
        self._secondary_until = 0.0
        # resource → (raw reset as GitHub sent it, state with a sane reset)
        self._states: dict[str, tuple[float, RateLimitState]] = {}
        self.max_in_flight = 0
        self.paused_seconds = 0.0
        self.limit_answers = 0
        """Rate-limit answers so far (403/429 taken for a limit): a request that sees this change
        while it is in flight was refused in an episode another answer already began."""

    # --- what the display reads ----------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        return self._in_flight

    @property
    def paused_until(self) -> float:
        """Epoch until which every worker waits (in the past when not paused)."""
        return self._pause_until

    @property
    def allowance(self) -> int:
        """Requests allowed in flight now (see :class:`~.concurrency.AdaptiveGate`)."""
        return self._gate.allowance

    def state(self, resource: str = CORE) -> RateLimitState | None:
        """The latest known budget of ``resource`` (reset clamped)."""
        entry = self._states.get(resource)
        return entry[1] if entry is not None else None

    # --- the gate ------------------------------------------------------------------------

    def in_flight_of(self, resource: str) -> int:
        """Requests of ``resource`` sent and not yet answered."""
        return self._resource_in_flight.get(resource, 0)

    @property
    def has_slot(self) -> bool:
        """Whether a request could take a slot in flight without waiting."""
        return self._gate.held < self._gate.allowance

    def ready_in(self, resource: str = CORE, points: int = 1) -> float:
        """Seconds before a request for ``resource`` could be sent (0: now) as far as pauses
        and budgets go — asked without changing anything (the pool compares credentials)."""
        now = self._clock()
        wait = max(self._pause_until, self._resource_pause.get(resource, 0.0)) - now
        exhausted = self._exhausted_until(resource, now)
        if exhausted is not None:
            wait = max(wait, exhausted - now)
        sent = self._sent.get(resource)
        if sent:
            horizon = now - POINTS_WINDOW_SECONDS
            recent = sum(1 for moment in sent if moment > horizon)
            if recent + points > self._points_limit(resource):
                wait = max(wait, sent[-self._points_limit(resource)] + POINTS_WINDOW_SECONDS - now)
        return max(wait, 0.0)

    def headroom(self, resource: str = CORE) -> float:
        """What the known budget of ``resource`` still allows beyond the requests in flight
        (infinite while GitHub has not said)."""
        entry = self._states.get(resource)
        if entry is None:
            return math.inf
        return entry[1].remaining - self._resource_in_flight.get(resource, 0)

    async def acquire(self, points: int = 1, resource: str | None = None) -> None:
        """Wait for a slot, the end of any pause, primary budget and points budget; then count
        the request as in flight. Pair with :meth:`release` (given the same ``resource``)."""
        resource = resource or self._resource
        while True:
            # Wait for the resource first, holding no slot: a request waiting for GraphQL's
            # reset must not keep a REST request of the same credential from going out.
            now = self._clock()
            wait = self._wait_needed(now, points, resource)
            if wait > 0.0:
                await self._sleep(wait)
                continue
            await self._gate.take()
            now = self._clock()
            if self._wait_needed(now, points, resource) <= 0.0:
                break
            self._gate.give()  # a pause or the budget's end came while waiting for the slot
        self._in_flight += 1
        self._resource_in_flight[resource] = self._resource_in_flight.get(resource, 0) + 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        sent = self._sent.setdefault(resource, deque())
        for _ in range(points):
            sent.append(now)

    def release(
        self, state: RateLimitState | None = None, resource: str | None = None
    ) -> RateLimitState | None:
        """Mark one request answered, folding in the rate state its response carried.

        Returns that state with a sane reset (None if the response carried none). The state is
        folded in before the request stops counting as in flight, so the budget is never
        over-estimated in between.
        """
        resource = resource or self._resource
        sane = self.observe(state) if state is not None else None
        self._in_flight -= 1
        self._resource_in_flight[resource] -= 1
        self._gate.give()
        return sane

    def _points_limit(self, resource: str) -> int:
        return GRAPHQL_POINTS_PER_MINUTE if resource == GRAPHQL else self._ppm

    def _exhausted_until(self, resource: str, now: float) -> float | None:
        """The reset (+ margin) of ``resource`` when its budget minus the requests in flight is
        spent; None while there is budget (or GitHub has not said)."""
        entry = self._states.get(resource)
        if entry is None:
            return None
        st = entry[1]
        if now < st.reset and st.remaining - self._resource_in_flight.get(resource, 0) <= 0:
            return st.reset + self._margin
        return None

    def _wait_needed(self, now: float, points: int, resource: str) -> float:
        if self._pause_until > now:
            return self._pause_until - now
        paused = self._resource_pause.get(resource, 0.0)
        if paused > now:
            return paused - now
        exhausted = self._exhausted_until(resource, now)
        if exhausted is not None:
            self.pause(
                exhausted,
                f"primary rate limit ({resource}) used up until its reset",
                now=now,
                resource=resource,
            )
            return exhausted - now
        sent = self._sent.get(resource)
        if not sent:
            return 0.0
        horizon = now - POINTS_WINDOW_SECONDS
        while sent and sent[0] <= horizon:
            sent.popleft()
        if len(sent) + points > self._points_limit(resource) and sent:
            # The oldest point leaving the window frees room; the loop re-checks after. (Each
            # resource has its own points budget: REST's spent does not stop GraphQL.)
            until = sent[0] + POINTS_WINDOW_SECONDS
            self.pause(until, f"points-per-minute budget ({resource})", now=now, resource=resource)
            return max(until - now, 0.0)
        return 0.0

    # --- what responses tell us ----------------------------------------------------------

    def observe(self, state: RateLimitState) -> RateLimitState:
        """Fold a response's rate state in; returns it with a sane (clamped) reset.

        Responses can arrive out of order: within one window (same raw reset) the lowest
        remaining wins; a state from an older window is ignored.
        """
        raw = state.reset
        known = self._states.get(state.resource)
        if known is not None and known[0] == raw:
            old = known[1]
            # The usual case, every response of a window: no copy when the reset was sane.
            sane = state if old.reset == raw else replace(state, reset=old.reset)
            if old.remaining > state.remaining:
                self._states[state.resource] = (raw, sane)
            return sane
        now = self._clock()
        reset, problem = clamp_reset(raw, now)
        if problem is not None:
            logger.warning("%s", problem)
        sane = state if reset == raw else replace(state, reset=reset)
        if known is None or raw > known[0]:
            self._states[state.resource] = (raw, sane)
        return sane

    def pause(
        self, until: float, reason: str, *, now: float | None = None, resource: str | None = None
    ) -> None:
        """Make every request (or, given ``resource``, those of that resource: its primary
        budget is spent) wait until ``until`` (epoch); announced when longer than ~3 s."""
        if now is None:
            now = self._clock()
        current = self._pause_until if resource is None else self._resource_pause.get(resource, 0)
        if until <= current or until <= now:
            return
        self.paused_seconds += until - max(current, now)
        if resource is None:
            self._pause_until = until
        else:
            self._resource_pause[resource] = until
        self.announce(reason, until - now)

    def announce(self, reason: str, seconds: float) -> None:
        """Tell the display (and the log) about a wait worth a countdown."""
        announce(self._on_wait, reason, seconds)

    def secondary_hit(
        self, now: float, retry_after: float | None, min_wait: float, *, shared: bool = False
    ) -> float:
        """Account a secondary-limit answer; returns how long every worker now waits.

        Answers to requests that were already in flight when an earlier one paused everything
        (``shared``, or answered before that pause ended) are the same episode, not a repeat:
        only a hit of a request sent after the pause doubles the wait. A new episode also halves
        the requests allowed in flight (see the class docstring).
        """
        new_episode = not shared and now >= self._secondary_until
        self._gate.refused(self._in_flight, new_episode=new_episode)
        if new_episode:
            repeat = self._secondary_repeat
            self._secondary_repeat += 1
        else:
            repeat = max(self._secondary_repeat - 1, 0)
        if retry_after is None:
            wait = secondary_wait(min_wait, repeat)
        elif repeat == 0:
            wait = retry_after
        else:  # what GitHub asked for did not suffice last time: double it per repeat
            wait = min(MAX_WAIT_SECONDS, max(retry_after, 1.0) * float(2 ** min(repeat, 30)))
        self._secondary_until = max(self._secondary_until, now + wait)
        return wait

    def success(self) -> None:
        """A request went through: the next secondary hit starts again at the minimum wait.

        Answers to requests already in flight when a secondary pause began do not count: only
        a request that got through after the pause ended shows the limit has lifted. Successes
        grow the allowance in flight (:meth:`AdaptiveGate.succeeded`).
        """
        if self._clock() < self._secondary_until:
            return
        self._secondary_repeat = 0
        self._gate.succeeded()
