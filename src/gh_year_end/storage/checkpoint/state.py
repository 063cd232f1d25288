"""The checkpoint's in-memory state, and the pure functions that change and read it.

A :class:`CheckpointState` is what checkpoint.json holds: :class:`Meta`, the phases, the plan
(repo names in order), every repo's :class:`~.model.RepoProgress`, and ``seq``, the number of
the last change applied. A change is a journal entry — :class:`UnitEntry` (one unit's new
absolute state and its repo's recomputed header) or :class:`PhasesEntry` (the whole phase
table) — and :func:`apply_entry` is the one way an entry reaches the state, both for a commit
and for journal replay, so the two can never disagree. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import msgspec

from gh_year_end.storage.checkpoint.model import (
    CheckpointStatus,
    Cursor,
    EndpointProgress,
    Probe,
    RepoProgress,
    derive_status,
)

REFRESH_PHASE: Final = "refresh"
"""The phase a refresh runs in (its details: ``generation``, the refresh's number, and
``discovered``); in progress while one is under way."""

Seq = Annotated[int, msgspec.Meta(ge=1)]
"""A journal entry's number: 1 for the first change after an empty checkpoint, then +1."""


class Meta(msgspec.Struct):
    """What the checkpoint was made for, and when."""

    created_at: datetime | None = None
    updated_at: datetime | None = None
    """When checkpoint.json was last written (a fold)."""
    config_digest: str | None = None
    dataset: dict[str, Any] | None = None
    """The dataset-defining config keys and their values (None: a checkpoint from before them)."""
    target: dict[str, Any] | None = None
    """``{"mode": ..., "name": ...}``."""
    year: int | None = None


class RepoHeader(msgspec.Struct):
    """A repo's own fields, derived from its units (a journal unit entry carries them)."""

    status: CheckpointStatus = CheckpointStatus.PENDING
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: dict[str, Any] | None = None


PHASE_FIELDS: Final = ("status", "started_at", "completed_at")


class _PhaseFields(msgspec.Struct):
    """The typed part of a phase entry (the rest of its keys are details)."""

    status: CheckpointStatus = CheckpointStatus.PENDING
    started_at: datetime | None = None
    completed_at: datetime | None = None


class PhaseProgress(msgspec.Struct):
    """A phase (discovery, then one per endpoint): its status, and details recorded with it.

    On disk a phase is one flat object (``{"status": ..., "started_at": ..., "refused": [...]}``):
    :meth:`flat` and :meth:`from_flat` convert.
    """

    status: CheckpointStatus = CheckpointStatus.PENDING
    started_at: datetime | None = None
    completed_at: datetime | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)

    def flat(self) -> dict[str, Any]:
        """The on-disk form: the fields that are set, then the details."""
        data: dict[str, Any] = {"status": self.status}
        if self.started_at is not None:
            data["started_at"] = self.started_at
        if self.completed_at is not None:
            data["completed_at"] = self.completed_at
        data.update(self.details)
        return data

    @classmethod
    def from_flat(cls, data: Mapping[str, Any]) -> PhaseProgress:
        """Parse :meth:`flat` output (timestamps as ISO strings or datetimes).

        Raises msgspec.ValidationError for a status that is not one of the four or a timestamp
        that is not one.
        """
        known = msgspec.convert({k: data[k] for k in PHASE_FIELDS if k in data}, _PhaseFields)
        return cls(
            status=known.status,
            started_at=as_utc(known.started_at),
            completed_at=as_utc(known.completed_at),
            details={k: v for k, v in data.items() if k not in PHASE_FIELDS},
        )

    def copy(self) -> PhaseProgress:
        """An independent copy (the details mapping too; its values are JSON-ready data)."""
        return msgspec.structs.replace(self, details=dict(self.details))


class UnitEntry(msgspec.Struct):
    """One unit's new absolute state (so replaying it twice changes nothing)."""

    seq: Seq
    repo: str
    endpoint: str
    state: EndpointProgress
    repo_state: RepoHeader


class PhasesEntry(msgspec.Struct):
    """The whole phase table after a change, and the phase last entered."""

    seq: Seq
    phases: dict[str, PhaseProgress]
    current_phase: str | None = None


JournalEntry = UnitEntry | PhasesEntry


@dataclass
class CheckpointState:
    """Everything a checkpoint holds."""

    meta: Meta = field(default_factory=Meta)
    phases: dict[str, PhaseProgress] = field(default_factory=dict)
    current_phase: str | None = None
    plan: list[str] = field(default_factory=list)
    """The repos to work on, in order (each has an entry in ``repos``)."""
    repos: dict[str, RepoProgress] = field(default_factory=dict)
    """Every repo ever planned: one dropped from the plan keeps its progress (its files exist)."""
    seq: int = 0


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment``, read as UTC when it carries no zone (as checkpoints always have)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# --- changes -------------------------------------------------------------------------------


def apply_entry(state: CheckpointState, entry: JournalEntry) -> None:
    """Install ``entry`` in ``state`` and advance ``state.seq`` to it.

    A unit of a repo the state does not know joins the plan: journals written before commits
    to unplanned repos were refused hold such lines, and must replay as they were written.
    """
    if isinstance(entry, PhasesEntry):
        state.phases, state.current_phase = entry.phases, entry.current_phase
    else:
        progress = state.repos.get(entry.repo)
        if progress is None:
            progress = RepoProgress(repo={"full_name": entry.repo})
            state.repos[entry.repo] = progress
            state.plan.append(entry.repo)
        progress.endpoints[entry.endpoint] = entry.state
        set_header(progress, entry.repo_state)
    state.seq = entry.seq


def derive_header(
    progress: RepoProgress,
    now: datetime,
    endpoint: str | None = None,
    unit: EndpointProgress | None = None,
) -> RepoHeader:
    """The repo's own fields recomputed from its units (with ``endpoint`` set to ``unit`` if
    given): status derived; started when first not pending; completed when all complete; the
    error of the failure just recorded, else of the last failed unit in endpoint order."""
    endpoints = progress.endpoints
    if endpoint is not None and unit is not None:
        endpoints = {**endpoints, endpoint: unit}
    status = derive_status(endpoints)
    started = progress.started_at
    if started is None and status is not CheckpointStatus.PENDING:
        started = now
    completed = (progress.completed_at or now) if status is CheckpointStatus.COMPLETE else None
    failed = [(n, e) for n, e in endpoints.items() if e.status is CheckpointStatus.FAILED]
    error: dict[str, Any] | None = None
    if failed:
        name, worst = next(((n, e) for n, e in failed if n == endpoint), failed[-1])
        error = {
            "endpoint": name,
            "message": worst.error,
            "retryable": worst.retryable,
            "unavailable": worst.unavailable,
        }
    return RepoHeader(status=status, started_at=started, completed_at=completed, error=error)


def set_header(progress: RepoProgress, header: RepoHeader) -> None:
    """Take the repo-level fields of ``header``."""
    progress.status, progress.started_at = header.status, header.started_at
    progress.completed_at, progress.error = header.completed_at, header.error


def set_plan(
    state: CheckpointState,
    entries: Sequence[dict[str, Any]],
    endpoints: Sequence[str],
    now: datetime,
) -> None:
    """Plan ``entries`` (each with a ``full_name``, no duplicates) in that order, each with
    ``endpoints``; progress already recorded is kept, repos not listed leave the plan."""
    for entry in entries:
        name = entry["full_name"]
        progress = state.repos.get(name)
        if progress is None:
            progress = state.repos[name] = RepoProgress(repo=entry)
        else:
            progress.repo = entry
        for endpoint in endpoints:
            progress.endpoints.setdefault(endpoint, EndpointProgress())
        set_header(progress, derive_header(progress, now))
    state.plan = [e["full_name"] for e in entries]


def page_committed(
    unit: EndpointProgress,
    where: str,
    page: int,
    records: int,
    *,
    next_url: str | None,
    offset: int | None,
    lines: int | None,
    cursor: Cursor | None,
    complete: bool,
    probe: Probe | None = None,
) -> EndpointProgress:
    """``unit`` (a copy) after one more page: ValueError if ``offset``/``lines`` go back.
    ``probe``: where a refresh of the unit will start (None: the one it had stays)."""
    if offset is not None and offset < unit.offset:
        raise ValueError(f"{where}: offset {offset} is behind the committed {unit.offset}")
    if lines is not None and lines < unit.lines:
        raise ValueError(f"{where}: lines {lines} is behind the committed {unit.lines}")
    unit.status = CheckpointStatus.COMPLETE if complete else CheckpointStatus.IN_PROGRESS
    unit.pages_collected += 1
    unit.records_collected += records
    unit.last_page_written = page
    unit.next_url = next_url
    if offset is not None:
        unit.offset = offset
    if lines is not None:
        unit.lines = lines
    if cursor is not None:
        unit.cursor = msgspec.structs.replace(cursor)  # the caller's stays its own
    if probe is not None:
        unit.probe = probe
    return _cleared(unit)


@dataclass(frozen=True)
class Refreshed:
    """A unit's refresh, as one commit: its rewritten file (or none: nothing changed)."""

    generation: int
    now: datetime | None
    """When (None: not brought up to date — GitHub refused it — so ``refreshed_at`` stays)."""
    probe: Probe | None
    offset: int | None = None
    """The rewritten file's size (None: the file stays as it is)."""
    lines: int | None = None
    switch: str | None = None
    """The rewritten file's name while it waits to be renamed over the unit's file."""
    changed: tuple[int, ...] | None = None
    """Pulls: the numbers of the pull requests found new or updated (None: not pulls)."""


def refresh_committed(unit: EndpointProgress, refreshed: Refreshed) -> EndpointProgress:
    """``unit`` (a copy), brought up to date by refresh ``refreshed.generation``."""
    if unit.status is not CheckpointStatus.COMPLETE:
        raise ValueError("only a complete unit is refreshed")
    if refreshed.offset is not None and refreshed.lines is not None:
        unit.offset, unit.lines = refreshed.offset, refreshed.lines
        unit.records_collected = refreshed.lines
        unit.switch = refreshed.switch
    if refreshed.probe is not None:
        unit.probe = refreshed.probe
    if refreshed.changed is not None:
        unit.changed, unit.changed_generation = refreshed.changed, refreshed.generation
    if refreshed.now is not None:
        unit.refreshed_at = refreshed.now
    unit.refresh_generation = refreshed.generation
    return unit


def switch_done(unit: EndpointProgress) -> EndpointProgress:
    """``unit`` (a copy) once its refreshed file was renamed over its file."""
    unit.switch = None
    return unit


def marked_in_progress(unit: EndpointProgress) -> EndpointProgress:
    """``unit`` (a copy), being worked on."""
    unit.status = CheckpointStatus.IN_PROGRESS
    return unit


def marked_complete(unit: EndpointProgress) -> EndpointProgress:
    """``unit`` (a copy), done: nothing left to fetch, no failure."""
    unit.status = CheckpointStatus.COMPLETE
    unit.next_url = None
    return _cleared(unit)


def marked_failed(
    unit: EndpointProgress,
    error: str,
    retryable: bool,
    unavailable: bool,
    http_status: int | None,
) -> EndpointProgress:
    """``unit`` (a copy), stopped on ``error``; its committed progress is kept."""
    unit.status = CheckpointStatus.FAILED
    unit.error, unit.retryable, unit.unavailable = error, retryable, unavailable
    unit.http_status = http_status
    return unit


def _cleared(unit: EndpointProgress) -> EndpointProgress:
    unit.error, unit.retryable, unit.unavailable, unit.http_status = None, None, False, None
    return unit


def enter_phase(phases: dict[str, PhaseProgress], phase: str, now: datetime) -> None:
    """``phase`` is in progress (unless already complete), started now if not before."""
    entry = phases.setdefault(phase, PhaseProgress())
    if entry.status is not CheckpointStatus.COMPLETE:
        entry.status = CheckpointStatus.IN_PROGRESS
        if entry.started_at is None:
            entry.started_at = now


def complete_phase(phases: dict[str, PhaseProgress], phase: str, now: datetime) -> None:
    """``phase`` is complete now (started now too if it never was)."""
    entry = phases.setdefault(phase, PhaseProgress())
    entry.status = CheckpointStatus.COMPLETE
    if entry.started_at is None:
        entry.started_at = now
    entry.completed_at = now


def restart_phase(
    phases: dict[str, PhaseProgress], phase: str, now: datetime, details: Mapping[str, Any]
) -> None:
    """``phase`` begins again: in progress, started now, holding only ``details`` (a phase
    that recurs: each refresh of a dataset)."""
    phases[phase] = PhaseProgress(
        status=CheckpointStatus.IN_PROGRESS, started_at=now, details=dict(details)
    )


def annotate_phase(
    phases: dict[str, PhaseProgress], phase: str, details: Mapping[str, Any]
) -> None:
    """Merge ``details`` into ``phase``'s entry, as keys of its on-disk object (so a detail
    named like a field sets that field; ValueError if it is not a valid value for it)."""
    flat = phases.get(phase, PhaseProgress()).flat()
    flat.update(details)
    try:
        phases[phase] = PhaseProgress.from_flat(flat)
    except msgspec.ValidationError as exc:
        raise ValueError(f"phase {phase}: {exc}") from None


# --- reading -------------------------------------------------------------------------------


def unit_is_left(progress: EndpointProgress, *, retry_failed: bool) -> bool:
    """Whether a run still has work on this unit: pending or in progress; failed and
    retryable; failed permanently only with ``retry_failed``. Complete units are done."""
    status = progress.status
    if status is CheckpointStatus.COMPLETE:
        return False
    if status is CheckpointStatus.FAILED:
        return retry_failed or bool(progress.retryable)
    return True


def repos_with_work(
    state: CheckpointState, names: Iterable[str], *, retry_failed: bool
) -> list[dict[str, Any]]:
    """The plan entries of ``names`` with at least one unit left (:func:`unit_is_left`)."""
    result: list[dict[str, Any]] = []
    for name in names:
        progress = state.repos[name]
        if any(unit_is_left(u, retry_failed=retry_failed) for u in progress.endpoints.values()):
            result.append(dict(progress.repo) or {"full_name": name})
    return result


def tally(state: CheckpointState) -> dict[str, int]:
    """Counts of planned repos by status, units by status, and page/record totals."""
    stats = dict.fromkeys(_STAT_KEYS, 0)
    for name in state.plan:
        progress = state.repos[name]
        stats[_REPO_KEY[progress.status]] += 1
        for unit in progress.endpoints.values():
            stats[_UNIT_KEY[unit.status]] += 1
            stats["units_unavailable"] += unit.unavailable
            stats["pages_collected"] += unit.pages_collected
            stats["records_collected"] += unit.records_collected
        stats["total_units"] += len(progress.endpoints)
    stats["total_repos"] = len(state.plan)
    return stats


_ORDER: Final = ("complete", "in_progress", "pending", "failed")
_STAT_KEYS: Final = (
    "total_repos",
    *(f"repos_{status}" for status in _ORDER),
    "total_units",
    *(f"units_{status}" for status in _ORDER),
    "units_unavailable",
    "pages_collected",
    "records_collected",
)
_REPO_KEY: Final = {status: f"repos_{status.value}" for status in CheckpointStatus}
_UNIT_KEY: Final = {status: f"units_{status.value}" for status in CheckpointStatus}

__all__ = [
    "CheckpointState",
    "JournalEntry",
    "Meta",
    "PhaseProgress",
    "PhasesEntry",
    "RepoHeader",
    "Seq",
    "UnitEntry",
    "annotate_phase",
    "apply_entry",
    "as_utc",
    "complete_phase",
    "derive_header",
    "enter_phase",
    "marked_complete",
    "marked_failed",
    "marked_in_progress",
    "page_committed",
    "repos_with_work",
    "set_header",
    "set_plan",
    "tally",
    "unit_is_left",
]
