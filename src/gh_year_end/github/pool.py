"""Several credentials, each with its own budgets: which one the next request goes out with.

GitHub counts its limits per account (a user's tokens share one budget) or per App installation.
A :class:`Lane` is one credential and the :class:`~.ratelimit.Limiter` of its limits; the
:class:`CredentialPool` sends each request down the lane that can take it soonest — no pause,
a free slot, the most budget left of the request's resource (``core`` or ``graphql``) — so a
lane whose budget is spent waits for its reset while the others carry on. A credential GitHub
refuses (401) is dropped with a warning while others remain; the last one refused is the run's
AuthenticationFailed, as with a single token.

Pooling is for credentials the user legitimately controls (several Apps, bot accounts): GitHub's
terms forbid pooling other people's tokens to get around its limits.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from gh_year_end.errors import AuthenticationFailed
from gh_year_end.github.credentials import Credential
from gh_year_end.github.ratelimit import CORE, Limiter, RateLimitState

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Lane:
    """One credential and its limits."""

    credential: Credential
    limiter: Limiter
    dropped: str | None = None
    """Why the pool stopped using it (None: in use)."""
    account: str | None = field(default=None)
    """Whose budget it spends ("user 123", "installation 45"), once known."""

    @property
    def label(self) -> str:
        """The credential's label (never its secret)."""
        return self.credential.label


class CredentialPool:
    """The lanes of a run (see the module docstring)."""

    def __init__(
        self,
        credentials: Sequence[Credential],
        make_limiter: Callable[[], Limiter],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        if not credentials:
            raise ValueError("a pool needs at least one credential")
        self.lanes = [Lane(c, make_limiter()) for c in credentials]
        self._sleep = sleep
        self._on_warning = on_warning
        self._waiters: list[asyncio.Future[None]] = []  # requests waiting for any free slot

    # --- choosing -------------------------------------------------------------------------

    @property
    def live(self) -> list[Lane]:
        """The lanes still in use."""
        return [lane for lane in self.lanes if lane.dropped is None]

    async def acquire(self, resource: str = CORE) -> Lane:
        """A lane for the next ``resource`` request, its slot taken; pair with :meth:`release`.

        One lane: its limiter decides (first come, first served). Several: a request goes down a
        lane that can take it now — no pause, budget left, a free slot — the one with the most
        budget left, the fewest requests out; when none can, it waits for a slot to free up or
        for the soonest pause or reset to pass, then chooses again. A request never waits on
        one lane while another could take it.
        """
        live = self.live
        if len(live) == 1:
            await live[0].limiter.acquire(resource=resource)
            return live[0]
        while True:
            live = self.live
            waits = {id(lane): lane.limiter.ready_in(resource) for lane in live}
            ready = [
                lane
                for lane in live
                if waits[id(lane)] <= 0 and lane.limiter.has_slot and not _unknown(lane, resource)
            ]
            if ready:
                lane = min(
                    ready,
                    key=lambda lane: (-lane.limiter.headroom(resource), lane.limiter.in_flight),
                )
                await lane.limiter.acquire(resource=resource)
                return lane
            soonest = min(waits.values())
            if soonest > 0:
                await self._sleep(soonest)  # every lane paused or spent: the first to be free
                continue
            await self._slot_freed()  # lanes free to send, but every slot taken

    def release(
        self, lane: Lane, state: RateLimitState | None, resource: str = CORE
    ) -> RateLimitState | None:
        """The request is answered (folding in the rate state its answer carried): its slot
        frees up for whoever waits for one (see :meth:`Limiter.release`)."""
        sane = lane.limiter.release(state, resource=resource)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        return sane

    async def _slot_freed(self) -> None:
        """Wait for the next :meth:`release` (of any lane)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:  # cancelled: no longer waiting
                self._waiters.remove(waiter)

    # --- dropping -------------------------------------------------------------------------

    def drop(self, lane: Lane, why: str, *, error: Exception | None = None) -> None:
        """Stop using ``lane`` (a 401 it cannot recover from, or a duplicate of another's
        account). When no other lane remains, ``error`` is raised (else AuthenticationFailed
        saying ``why``)."""
        if lane.dropped is not None:
            return
        others = [other for other in self.live if other is not lane]
        if not others:
            raise error if error is not None else AuthenticationFailed(why)
        lane.dropped = why
        self.warn(f"{why} — continuing with {', '.join(o.label for o in others)}")

    def note_account(self, lane: Lane, account: str) -> None:
        """``lane`` spends ``account``'s budget; a second lane on the same account adds nothing
        (one budget) and is dropped with a warning."""
        lane.account = account
        for other in self.live:
            if other is not lane and other.account == account:
                self.drop(
                    lane,
                    f"{lane.label} and {other.label} belong to the same account ({account}): "
                    f"they share one rate-limit budget, so {lane.label} is not used",
                )
                return

    def warn(self, message: str) -> None:
        """Tell the user: through ``on_warning`` (the run's warning line) when there is one,
        else the log — once, not both."""
        if self._on_warning is not None:
            logger.debug("%s", message)
            self._on_warning(message)
        else:
            logger.warning("%s", message)

    # --- what the display and the planner read ----------------------------------------------

    def budget(self, resource: str = CORE) -> RateLimitState | None:
        """The live lanes' budgets of ``resource`` added up (the earliest reset); None until
        GitHub has reported one."""
        states = [s for lane in self.live if (s := lane.limiter.state(resource)) is not None]
        if not states:
            return None
        used = [s.used for s in states]
        return RateLimitState(
            limit=sum(s.limit for s in states),
            remaining=sum(s.remaining for s in states),
            used=None if None in used else sum(u for u in used if u is not None),
            reset=min(s.reset for s in states),
            resource=resource,
        )

    def budgets(self, resource: str = CORE) -> list[tuple[str, RateLimitState | None]]:
        """Each live lane's label and latest budget of ``resource``."""
        return [(lane.label, lane.limiter.state(resource)) for lane in self.live]

    def secrets(self) -> tuple[str, ...]:
        """Every secret of every credential (for scrubbing text)."""
        return tuple(s for lane in self.lanes for s in lane.credential.secrets())

    @property
    def paused_seconds(self) -> float:
        """The waits of every lane, added up."""
        return math.fsum(lane.limiter.paused_seconds for lane in self.lanes)

    @property
    def max_in_flight(self) -> int:
        """The most requests one lane had in flight."""
        return max(lane.limiter.max_in_flight for lane in self.lanes)


def _unknown(lane: Lane, resource: str) -> bool:
    """Whether ``lane`` has a request of ``resource`` out and GitHub has not yet said what its
    budget is: the next waits for that answer (a nearly spent credential must not be handed a
    burst it cannot take)."""
    limiter = lane.limiter
    return limiter.state(resource) is None and limiter.in_flight_of(resource) > 0
