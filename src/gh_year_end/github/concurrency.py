"""How many requests may be in flight: adapted to what GitHub's secondary limits tolerate.

GitHub caps concurrent requests per credential (its docs say 100; a server can say fewer by
answering 403/429 "secondary rate limit"). :class:`AdaptiveGate` finds that cap instead of
running into it again and again, the way TCP finds a path's capacity:

* **slow start**: it begins with :data:`SLOW_START` requests in flight and doubles the allowance
  each time that many succeed, up to ``maximum`` (``rate_limit.max_concurrency``) — so a low
  cap costs a handful of refusals, not a wave of ``maximum`` of them;
* **an episode** (the first refusal of a request sent after the last pause ended) halves the
  allowance and notes one below the concurrency it was met at as what GitHub tolerates; the
  other refusals of the same wave (requests that were already in flight) say nothing new;
* **additive increase**: each run of ``allowance`` successes adds one, up to that estimate; past
  it only after :data:`PROBE_AFTER_SUCCESSES` successes in a row (the cap may have risen).

Pure bookkeeping plus a first-come-first-served wait for a slot; no clock, no I/O.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

#: Requests in flight at the start (or ``maximum`` if lower).
SLOW_START: Final = 4
#: Successes in a row, at the tolerated concurrency, before one more is tried.
PROBE_AFTER_SUCCESSES: Final = 1000


class AdaptiveGate:
    """Slots for requests in flight; see the module docstring for how their number moves."""

    def __init__(self, maximum: int, *, slow_start: bool = True) -> None:
        """``maximum``: never more in flight; ``slow_start`` False starts at ``maximum``."""
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self._allowance = min(maximum, SLOW_START) if slow_start else maximum
        self._starting = self._allowance < maximum
        self._tolerated = maximum  # one below the concurrency the last episode was met at
        self._successes = 0
        self._held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def allowance(self) -> int:
        """Requests allowed in flight now."""
        return self._allowance

    @property
    def held(self) -> int:
        """Slots taken (requests in flight or waiting out a pause)."""
        return self._held

    async def take(self) -> None:
        """Wait (first come, first served) for a slot."""
        if self._held < self._allowance and not self._waiters:
            self._held += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # resolved by _wake with the slot already counted for us
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot just as we were cancelled: give it back
            elif waiter in self._waiters:  # _wake may already have dropped it (it was done)
                self._waiters.remove(waiter)
            raise

    def give(self) -> None:
        """Give a slot back."""
        self._held -= 1
        self._wake()

    def refused(self, in_flight: int, *, new_episode: bool) -> None:
        """GitHub refused a request for concurrency while ``in_flight`` others were out.

        Only a ``new_episode`` (a request sent after the last pause) moves the allowance: it
        halves it, and one below the concurrency met becomes the tolerated estimate. The other
        refusals of a wave were in flight with the first and say nothing new.
        """
        self._starting = False
        self._successes = 0
        if not new_episode:
            return
        met = min(in_flight + 1, self._allowance)  # +1: the refused request itself
        self._allowance = max(1, self._allowance // 2)
        self._tolerated = max(self._allowance, met - 1)

    def succeeded(self) -> None:
        """A request got through: grow the allowance (slow start, or additive increase)."""
        if self._allowance >= self.maximum:
            return
        self._successes += 1
        if self._starting or self._allowance < self._tolerated:
            needed = self._allowance
        else:
            needed = PROBE_AFTER_SUCCESSES
        if self._successes < needed:
            return
        self._successes = 0
        self._allowance = min(
            self.maximum, self._allowance * 2 if self._starting else self._allowance + 1
        )
        self._tolerated = max(self._tolerated, self._allowance)
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._held < self._allowance:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._held += 1
                waiter.set_result(None)
