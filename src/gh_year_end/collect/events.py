"""What the collector tells the outside world: the events it emits and the result it returns.

The collector knows nothing of terminals. It calls an :class:`EventSink` (the Rich display, plain
log lines, or nothing) and returns a frozen :class:`CollectResult` that the CLI renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Outcome = Literal[
    "complete", "incomplete", "interrupted", "already_complete", "unreadable", "cancelled"
]


class EventSink(Protocol):
    """Receives the collector's progress. Every method must return quickly and never raise."""

    def message(self, text: str) -> None:
        """A one-line notice for the user (continuing a run, discovery done, stopping…)."""

    def plan(self, units_total: int, units_done: int, records_done: int) -> None:
        """The unit plan is known: how many units in all, how many already ended."""

    def unit_started(self, repo: str, endpoint: str, page: int, records: int) -> None:
        """A unit begins (or resumes at ``page`` with ``records`` already committed)."""

    def page_committed(
        self, repo: str, endpoint: str, page: int, records: int, unit_records: int
    ) -> None:
        """One page was written and committed; ``records`` kept from it, ``unit_records`` so far."""

    def unit_finished(self, repo: str, endpoint: str, status: str, reason: str | None) -> None:
        """A unit ended: ``complete``, ``unavailable``, ``failed`` or ``interrupted``."""

    def waiting(self, reason: str, seconds: float) -> None:
        """Every worker pauses for a rate limit (or backoff) for ``seconds``."""

    def stopping(self, signal_name: str) -> None:
        """A signal arrived: no new requests start; the run is winding down."""

    def rate(self, remaining: int, limit: int, reset_epoch: float) -> None:
        """The latest primary rate-limit budget GitHub reported."""


class NullEvents:
    """An EventSink that ignores everything (library use, ``--quiet``)."""

    def message(self, text: str) -> None:
        """Ignore."""

    def plan(self, units_total: int, units_done: int, records_done: int) -> None:
        """Ignore."""

    def unit_started(self, repo: str, endpoint: str, page: int, records: int) -> None:
        """Ignore."""

    def page_committed(
        self, repo: str, endpoint: str, page: int, records: int, unit_records: int
    ) -> None:
        """Ignore."""

    def unit_finished(self, repo: str, endpoint: str, status: str, reason: str | None) -> None:
        """Ignore."""

    def waiting(self, reason: str, seconds: float) -> None:
        """Ignore."""

    def stopping(self, signal_name: str) -> None:
        """Ignore."""

    def rate(self, remaining: int, limit: int, reset_epoch: float) -> None:
        """Ignore."""


@dataclass
class RefreshTally:
    """What a refresh did (this run's part of it)."""

    generation: int
    units: int = 0
    """Units refreshed in this run."""
    not_modified: int = 0
    """Units whose first answer was a 304 (free)."""
    unchanged: int = 0
    """Units read again without a change found (their probe had no ETag, or changed only
    outside the window)."""
    untouched: int = 0
    """Units with nothing to ask (reviews when none of their pull requests changed)."""
    changed: int = 0
    replaced: int = 0
    added: int = 0
    requests: int = 0
    left: list[str] = field(default_factory=list)
    """Units left for the next resume, with why."""
    refused: list[str] = field(default_factory=list)
    """Units GitHub now refuses: what was collected stays."""
    failed: list[str] = field(default_factory=list)
    """Units whose refresh failed for good: recorded failed, their data kept."""

    def summary(self, *, complete: bool) -> RefreshSummary:
        """The frozen form a result carries; ``complete``: the refresh has ended."""
        return RefreshSummary(
            generation=self.generation,
            complete=complete,
            units=self.units,
            not_modified=self.not_modified,
            unchanged=self.unchanged,
            untouched=self.untouched,
            changed=self.changed,
            replaced=self.replaced,
            added=self.added,
            requests=self.requests,
            left=tuple(self.left),
            refused=tuple(self.refused),
            failed=tuple(self.failed),
        )


@dataclass(frozen=True)
class RefreshSummary:
    """What a refresh did in this run (``generation``: its number, from 1)."""

    generation: int
    complete: bool
    """Every unit is current for this refresh (else ``ghye resume`` goes on with it)."""
    units: int
    not_modified: int
    unchanged: int
    untouched: int
    changed: int
    replaced: int
    added: int
    requests: int
    left: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitFailure:
    """A repo×endpoint that ended without completing."""

    repo: str
    endpoint: str
    reason: str
    retryable: bool
    unavailable: bool
    http_status: int | None = None
    """GitHub's status code behind it (404, 451, 403, …), when there was one."""


@dataclass(frozen=True)
class CollectResult:
    """What a collect/resume run did, for the CLI to render (``--json`` included)."""

    outcome: Outcome
    exit_code: int
    target: str
    continued: bool
    units_total: int
    units_complete: int
    units_unavailable: int
    units_failed: int
    units_pending: int
    units_skipped: int
    pages_this_run: int
    records_this_run: int
    records_total: int
    requests: int
    rate_limit_hits: int
    elapsed_seconds: float
    failures: tuple[UnitFailure, ...] = field(default_factory=tuple)
    manifest_path: Path | None = None
    signal_name: str | None = None
    refused: tuple[str, ...] = ()
    """Listed repositories not collected because their names cannot safely become paths."""
    refresh: RefreshSummary | None = None
    """What the refresh of this run did (None: the run did not refresh)."""
    open_window: bool = False
    """The window's end is still to come: a refresh later brings the dataset up to date."""
