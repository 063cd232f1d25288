"""The counters behind every progress display: updated per collector event, cheaply and
thread-safely, and copied out as one consistent :class:`ProgressSnapshot` per drawing (pure: no
terminal, no Rich)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class ActiveUnit:
    """A unit being worked on: where it is."""

    repo: str
    endpoint: str
    page: int
    records: int


@dataclass(frozen=True)
class ProgressSnapshot:
    """A consistent copy of the progress, for one drawing."""

    units_total: int
    units_done: int
    units_failed: int
    records: int
    pages: int
    elapsed: float
    pages_per_second: float | None
    eta_seconds: float | None
    active: tuple[ActiveUnit, ...]
    rate_remaining: int | None
    rate_limit: int | None
    rate_reset_epoch: float | None
    waiting_reason: str | None
    waiting_left: float | None


class ProgressState:
    """The counters every display draws from; updated per event, cheaply and thread-safely.

    ETA = units still to do ÷ the rate at which this run has ended units so far. Units vary in
    size, so it settles as the run goes; it is unknown until the first unit of the run ends.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self.units_total = 0
        self.units_done = 0
        self._units_done_at_start = 0
        self.units_failed = 0
        self.records = 0
        self.pages = 0
        self._active: dict[tuple[str, str], list[int]] = {}
        self.rate_remaining: int | None = None
        self.rate_limit: int | None = None
        self.rate_reset_epoch: float | None = None
        self._waiting_reason: str | None = None
        self._waiting_until: float | None = None

    def plan(self, units_total: int, units_done: int, records_done: int) -> None:
        """The plan is known: the run (and its rates) starts now."""
        with self._lock:
            self.units_total = units_total
            self.units_done = units_done
            self._units_done_at_start = units_done
            self.records = records_done
            self._started = self._clock()

    def unit_started(self, repo: str, endpoint: str, page: int, records: int) -> None:
        """A unit becomes active."""
        with self._lock:
            self._active[(repo, endpoint)] = [page, records]

    def page_committed(
        self, repo: str, endpoint: str, page: int, records: int, unit_records: int
    ) -> None:
        """One more page, ``records`` more records."""
        with self._lock:
            self.pages += 1
            self.records += records
            self._active[(repo, endpoint)] = [page, unit_records]
            # A page committed means requests flow again: any pause is over.
            self._waiting_until = None

    def unit_finished(self, repo: str, endpoint: str, status: str) -> None:
        """A unit ended (or was interrupted, which does not count as done)."""
        with self._lock:
            self._active.pop((repo, endpoint), None)
            if status != "interrupted":
                self.units_done += 1
            if status == "failed":
                self.units_failed += 1

    def waiting(self, reason: str, seconds: float) -> None:
        """Every worker pauses for ``seconds``."""
        with self._lock:
            self._waiting_reason = reason
            self._waiting_until = self._clock() + seconds

    def rate(self, remaining: int, limit: int, reset_epoch: float) -> None:
        """The latest rate-limit budget."""
        with self._lock:
            self.rate_remaining, self.rate_limit, self.rate_reset_epoch = (
                remaining,
                limit,
                reset_epoch,
            )

    def snapshot(self) -> ProgressSnapshot:
        """Counters and derived rates, as of now."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._started)
            done_this_run = self.units_done - self._units_done_at_start
            left = max(0, self.units_total - self.units_done)
            eta: float | None = None
            if done_this_run > 0 and elapsed > 0:
                eta = left * elapsed / done_this_run
            elif left == 0 and self.units_total > 0:
                eta = 0.0
            waiting_left: float | None = None
            if self._waiting_until is not None and self._waiting_until > now:
                waiting_left = self._waiting_until - now
            active = tuple(
                ActiveUnit(repo, endpoint, page, records)
                for (repo, endpoint), (page, records) in self._active.items()
            )
            return ProgressSnapshot(
                units_total=self.units_total,
                units_done=self.units_done,
                units_failed=self.units_failed,
                records=self.records,
                pages=self.pages,
                elapsed=elapsed,
                pages_per_second=self.pages / elapsed if elapsed > 0 else None,
                eta_seconds=eta,
                active=active,
                rate_remaining=self.rate_remaining,
                rate_limit=self.rate_limit,
                rate_reset_epoch=self.rate_reset_epoch,
                waiting_reason=self._waiting_reason if waiting_left is not None else None,
                waiting_left=waiting_left,
            )
