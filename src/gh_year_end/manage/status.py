"""`ghye status` as a library function: the checkpoint, read without the lock, as a StatusReport.

Safe while a collect runs: the checkpoint is read through ``CheckpointManager.read_only`` (no
lock, no file touched, journal commits seen) and the lock through ``holder_state``/``read_owner``
(which never take it). The report is built in one pass over the units, with no per-repo file
I/O, so a 10,000-repo checkpoint reports in well under a second.

Throughput and ETA come from the checkpoint's own timestamps (each unit records when it last
changed): the units that *ended* (complete, unavailable or failed) during the
:data:`RATE_WINDOW` before the last update give the pace — (ended − 1) ÷ (newest − oldest end
time) units, and the pages and records of those units over the same span. Fewer than two recent
endings → unknown. When no collect is running, it describes the pace of the last run.

The ETA comes from the estimate when estimate.json matches the checkpoint's dataset (``ghye
plan`` writes it, and a collect right after discovery): the requests left per resource — each
unit not ended, its estimated pages less those it committed (:meth:`Estimate.left`) — at the
recent pages per second, and no sooner than the waits for resets the budgets recorded with the
estimate impose (less what was committed since). Without one, it is the units not ended ÷ the
units' pace. ``eta_basis`` says which.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from gh_year_end.collect.events import UnitFailure
from gh_year_end.config import Config
from gh_year_end.endpoints import BY_NAME, ENDPOINT_NAMES
from gh_year_end.errors import NoCheckpoint
from gh_year_end.storage.atomic import iso_z, utc_now
from gh_year_end.storage.checkpoint import (
    CheckpointManager,
    CheckpointStatus,
    RepoProgress,
)
from gh_year_end.storage.lock import HolderState, holder_state, read_owner
from gh_year_end.storage.paths import PathManager

if TYPE_CHECKING:
    from gh_year_end.collect.estimate import Estimate, Figure

SCHEMA_VERSION: Final = 1
RATE_WINDOW: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class RepoCounts:
    """Planned repos by (derived) status."""

    total: int
    complete: int
    in_progress: int
    pending: int
    failed: int


@dataclass(frozen=True)
class UnitCounts:
    """Repo×endpoint units by status (``failed`` excludes ``unavailable``)."""

    total: int
    complete: int
    unavailable: int
    failed: int
    in_progress: int
    pending: int


@dataclass(frozen=True)
class EndpointSummary:
    """One endpoint across every planned repo."""

    endpoint: str
    units: int
    complete: int
    unavailable: int
    failed: int
    in_progress: int
    pending: int
    pages: int
    records: int


@dataclass(frozen=True)
class LockInfo:
    """The run lock as seen from outside: its state and the recorded owner, if any."""

    state: HolderState
    pid: int | None = None
    host: str | None = None
    user: str | None = None
    command: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class Throughput:
    """The recent pace, from unit end times (see the module docstring)."""

    units_per_minute: float | None
    records_per_minute: float | None
    basis_units: int
    span_seconds: float | None
    pages_per_minute: float | None = None


EtaBasis = Literal["estimate", "units"]


@dataclass(frozen=True)
class EstimateLeft:
    """What the estimate says is left: requests per resource (GraphQL: points), and the waits
    for resets the budgets it recorded impose (None: no budget recorded)."""

    path: Path
    written_at: datetime
    written_by: str
    requests: dict[str, Figure]
    wait_seconds: float | None


@dataclass(frozen=True)
class StatusReport:
    """Everything `ghye status` shows; :meth:`to_dict` is the ``--json`` form."""

    target: str
    target_mode: str
    target_dir: Path
    checkpoint_path: Path
    year: int
    since: datetime
    until: datetime
    created_at: datetime | None
    updated_at: datetime | None
    generated_at: datetime
    current_phase: str | None
    phases: tuple[tuple[str, bool], ...]
    config_changed: tuple[str, ...]
    repos: RepoCounts
    units: UnitCounts
    endpoints: tuple[EndpointSummary, ...]
    failures: tuple[UnitFailure, ...]
    lock: LockInfo
    throughput: Throughput
    eta_seconds: float | None
    manifest_path: Path | None
    eta_basis: EtaBasis | None = None
    """What the ETA was worked out from (None: no ETA)."""
    estimate: EstimateLeft | None = None

    @property
    def running(self) -> bool:
        """Whether a live process holds the lock (a collect is running)."""
        return self.lock.state == "alive"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema in docs/cli.md; ``schema_version`` changes on breaking edits)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": iso_z(self.generated_at),
            "target": {"mode": self.target_mode, "name": self.target, "dir": str(self.target_dir)},
            "window": {"year": self.year, "since": iso_z(self.since), "until": iso_z(self.until)},
            "checkpoint": {
                "path": str(self.checkpoint_path),
                "created_at": _iso_or_none(self.created_at),
                "updated_at": _iso_or_none(self.updated_at),
                "config_matches": not self.config_changed,
                "changed_keys": list(self.config_changed),
            },
            "phases": {
                "current": self.current_phase,
                "list": [{"name": name, "complete": done} for name, done in self.phases],
            },
            "repos": _fields(self.repos),
            "units": _fields(self.units),
            "endpoints": {
                e.endpoint: {k: v for k, v in _fields(e).items() if k != "endpoint"}
                for e in self.endpoints
            },
            "failures": [
                {
                    "repo": f.repo,
                    "endpoint": f.endpoint,
                    "reason": f.reason,
                    "retryable": f.retryable,
                    "unavailable": f.unavailable,
                    "http_status": f.http_status,
                }
                for f in self.failures
            ],
            "lock": {
                "state": self.lock.state,
                "pid": self.lock.pid,
                "host": self.lock.host,
                "user": self.lock.user,
                "command": self.lock.command,
                "started_at": _iso_or_none(self.lock.started_at),
            },
            "running": self.running,
            "throughput": _fields(self.throughput),
            "eta_seconds": self.eta_seconds,
            "eta_basis": self.eta_basis,
            "estimate": _estimate_dict(self.estimate),
            "manifest": {
                "exists": self.manifest_path is not None,
                "path": str(self.manifest_path) if self.manifest_path is not None else None,
            },
        }


def _fields(obj: Any) -> dict[str, Any]:
    return dict(vars(obj))


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def _estimate_dict(left: EstimateLeft | None) -> dict[str, Any] | None:
    if left is None:
        return None
    return {
        "path": str(left.path),
        "written_at": iso_z(left.written_at),
        "written_by": left.written_by,
        "requests_left": {
            resource: {"requests": figure.requests, "exact": figure.exact}
            for resource, figure in left.requests.items()
        },
        "wait_seconds": left.wait_seconds,
    }


def build_status(config: Config, *, clock: Callable[[], datetime] = utc_now) -> StatusReport:
    """Read the target's checkpoint and lock (never taking the lock) into a StatusReport.

    Raises NoCheckpoint when there is none, CheckpointCorrupt / CheckpointVersionUnsupported
    when it cannot be read.
    """
    paths = PathManager(config)
    name = config.github.target.name
    if not paths.checkpoint_path.is_file():
        raise NoCheckpoint(
            f"no checkpoint for target {name} at {paths.target_dir} — run `ghye collect` first"
        )
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path, journal_path=paths.journal_path)
    tally = _Tally()
    for repo, progress in checkpoint.view_repos():
        tally.add_repo(repo, progress)
    tally.finish()
    planned = checkpoint.repo_names()
    # A planned repo with no unit yet counts as pending.
    tally.repo_status["pending"] += len(planned) - tally.repos_seen

    endpoint_names = [e for e in ENDPOINT_NAMES if e in tally.per_endpoint] + sorted(
        e for e in tally.per_endpoint if e not in ENDPOINT_NAMES
    )
    phase_names = ["discovery", *(checkpoint.planned_endpoints() or endpoint_names)]
    created = checkpoint.created_at
    updated = max((m for m in (tally.last_update, created) if m is not None), default=None)
    throughput, eta = _pace(tally, updated)
    generated_at = clock()
    basis: EtaBasis | None = "units" if eta is not None else None
    left = _left(checkpoint, paths, generated_at)
    if left is not None:
        eta, basis = _estimate_eta(left, throughput), "estimate"
    lock_state = holder_state(paths.lock_path)
    owner = read_owner(paths.lock_path)
    units = UnitCounts(
        total=tally.units,
        complete=tally.unit_status["complete"],
        unavailable=tally.unit_status["unavailable"],
        failed=tally.unit_status["failed"],
        in_progress=tally.unit_status["in_progress"],
        pending=tally.unit_status["pending"],
    )
    return StatusReport(
        target=name,
        target_mode=config.github.target.mode,
        target_dir=paths.target_dir,
        checkpoint_path=paths.checkpoint_path,
        year=config.github.windows.year,
        since=config.github.windows.since,
        until=config.github.windows.until,
        created_at=created,
        updated_at=updated,
        generated_at=generated_at,
        current_phase=checkpoint.current_phase,
        phases=tuple((p, checkpoint.is_phase_complete(p)) for p in phase_names),
        config_changed=tuple(checkpoint.changed_keys(config)),
        repos=RepoCounts(
            total=len(planned),
            complete=tally.repo_status["complete"],
            in_progress=tally.repo_status["in_progress"],
            pending=tally.repo_status["pending"],
            failed=tally.repo_status["failed"],
        ),
        units=units,
        endpoints=tuple(tally.per_endpoint[e].summary(e) for e in endpoint_names),
        failures=tuple(tally.failures),
        lock=LockInfo(
            state=lock_state,
            pid=owner.pid if owner else None,
            host=owner.host if owner else None,
            user=owner.user if owner else None,
            command=owner.command if owner else None,
            started_at=owner.started_at if owner else None,
        ),
        throughput=throughput,
        eta_seconds=eta,
        manifest_path=paths.manifest_path if paths.manifest_path.is_file() else None,
        eta_basis=basis if eta is not None else None,
        estimate=left,
    )


class _EndpointTally:
    """One endpoint across the plan: units by status, how many of the failed are unavailable,
    pages and records."""

    __slots__ = ("by_status", "pages", "records", "unavailable")

    def __init__(self) -> None:
        self.by_status = dict.fromkeys(CheckpointStatus, 0)
        self.unavailable = 0
        self.pages = 0
        self.records = 0

    def counts(self) -> dict[str, int]:
        """Units by the labels status shows (``failed`` excludes ``unavailable``)."""
        by_status = self.by_status
        return {
            "complete": by_status[_COMPLETE],
            "unavailable": self.unavailable,
            "failed": by_status[_FAILED] - self.unavailable,
            "in_progress": by_status[CheckpointStatus.IN_PROGRESS],
            "pending": by_status[CheckpointStatus.PENDING],
        }

    def summary(self, endpoint: str) -> EndpointSummary:
        """The endpoint's line of the report."""
        counts = self.counts()
        return EndpointSummary(
            endpoint=endpoint,
            units=sum(counts.values()),
            pages=self.pages,
            records=self.records,
            **counts,
        )


class _Tally:
    """The one pass over the checkpoint's own Structs (no copies): per endpoint and per repo
    status, the failures, and the units' timestamps. Unit totals are summed from the
    per-endpoint counts once at the end (:meth:`finish`), not counted 60,000 times."""

    def __init__(self) -> None:
        self.repo_status: dict[str, int] = dict.fromkeys(_LABELS.values(), 0)
        self.repos_seen = 0
        self.per_endpoint: dict[str, _EndpointTally] = {}
        self.failures: list[UnitFailure] = []
        self.ended: list[tuple[datetime, int, int]] = []  # (end time, records, pages) of ended
        self.others: list[datetime] = []  # last change of the units that have not ended
        self.units = 0
        self.unit_status: dict[str, int] = {}
        self.last_update: datetime | None = None

    def add_repo(self, repo: str, progress: RepoProgress) -> None:
        """Count one planned repo and its units."""
        endpoints = progress.endpoints
        if not endpoints:
            return
        # The repo's status is kept derived from its units by the checkpoint itself.
        self.repo_status[_LABELS[progress.status]] += 1
        self.repos_seen += 1
        per_endpoint, ended = self.per_endpoint, self.ended
        # 60,000 iterations for a 10,000-repo target: the work is inline (no call per unit)
        # and enum members are compared by identity with module constants.
        for endpoint, state in endpoints.items():
            ep = per_endpoint.get(endpoint)
            if ep is None:
                ep = per_endpoint[endpoint] = _EndpointTally()
            status = state.status
            ep.by_status[status] += 1
            ep.pages += state.pages_collected
            ep.records += state.records_collected
            moment = state.updated_at
            if status is _COMPLETE:
                if moment is not None:
                    ended.append((moment, state.records_collected, state.pages_collected))
                continue
            if status is _FAILED:
                ep.unavailable += state.unavailable
                self.failures.append(
                    UnitFailure(
                        repo,
                        endpoint,
                        state.error or "",
                        bool(state.retryable),
                        state.unavailable,
                        state.http_status,
                    )
                )
                if moment is not None:
                    ended.append((moment, state.records_collected, state.pages_collected))
            elif moment is not None:
                self.others.append(moment)

    def finish(self) -> None:
        """Unit totals and the last change, from what :meth:`add_repo` gathered."""
        totals = dict.fromkeys(("complete", "unavailable", "failed", "in_progress", "pending"), 0)
        for ep in self.per_endpoint.values():
            for label, count in ep.counts().items():
                totals[label] += count
        self.unit_status = totals
        self.units = sum(totals.values())
        moments = [m for m, _, _ in self.ended]
        moments.extend(self.others)
        self.last_update = max(moments, default=None)


_FAILED: Final = CheckpointStatus.FAILED
_COMPLETE: Final = CheckpointStatus.COMPLETE
_LABELS: Final[dict[CheckpointStatus, str]] = {member: member.value for member in CheckpointStatus}


def _pace(tally: _Tally, last_update: datetime | None) -> tuple[Throughput, float | None]:
    unknown = Throughput(
        units_per_minute=None, records_per_minute=None, basis_units=0, span_seconds=None
    )
    if last_update is None:
        return unknown, None
    start = last_update - RATE_WINDOW
    recent = sorted(entry for entry in tally.ended if entry[0] >= start)
    if len(recent) < 2:
        return unknown, None
    span = (recent[-1][0] - recent[0][0]).total_seconds()
    if span <= 0:
        return unknown, None
    per_second = (len(recent) - 1) / span
    records = sum(r for _, r, _ in recent[1:])
    pages = sum(p for _, _, p in recent[1:])
    throughput = Throughput(
        units_per_minute=per_second * 60,
        records_per_minute=records / span * 60,
        basis_units=len(recent),
        span_seconds=span,
        pages_per_minute=pages / span * 60,
    )
    left = tally.unit_status["pending"] + tally.unit_status["in_progress"]
    return throughput, left / per_second


def _left(checkpoint: CheckpointManager, paths: PathManager, now: datetime) -> EstimateLeft | None:
    """What estimate.json says is left, when it is of the checkpoint's dataset."""
    if not paths.estimate_path.is_file():
        return None
    # Imported only when there is an estimate: they import the github package (and httpx),
    # which status otherwise never needs (a whole `ghye status` process stays quick).
    from gh_year_end.collect.estimate import Progress, resource_of  # noqa: PLC0415
    from gh_year_end.collect.estimate_file import read_estimate  # noqa: PLC0415
    from gh_year_end.github.ratelimit import CORE, GRAPHQL  # noqa: PLC0415

    estimate = read_estimate(paths.estimate_path)
    if estimate is None or estimate.config_digest != checkpoint.config_digest:
        return None
    endpoints = [BY_NAME[e] for e in checkpoint.planned_endpoints() if e in BY_NAME]
    progress: list[Progress] = []
    spent = {CORE: 0, GRAPHQL: 0}
    for repo, state in checkpoint.view_repos():
        units = state.endpoints
        for ep in endpoints:
            unit = units.get(ep.name)
            if unit is None:
                progress.append(Progress(repo, ep, ended=False, pages=0))
                continue
            spent[resource_of(ep, estimate.reviews_via)] += unit.pages_collected
            ended = unit.status is _COMPLETE or unit.status is _FAILED
            more = unit.next_url is not None
            progress.append(Progress(repo, ep, ended, unit.pages_collected, more))
    requests = estimate.left(progress)
    return EstimateLeft(
        paths.estimate_path,
        estimate.written_at,
        estimate.written_by,
        requests,
        _budget_wait(estimate, requests, spent, now.timestamp()),
    )


def _budget_wait(
    estimate: Estimate, requests: dict[str, Figure], spent: dict[str, int], now: float
) -> float | None:
    """The longest wait for resets any resource still needs (None: no budget recorded)."""
    from gh_year_end.collect.estimate import budget_wait  # noqa: PLC0415 — see _left

    waits: list[float] = []
    for resource, figure in requests.items():
        recorded = estimate.budgets.get(resource)
        if not recorded or not figure.requests:
            continue
        since = max(0, spent.get(resource, 0) - estimate.spent.get(resource, 0))
        # What was committed since the estimate came out of the budgets, split evenly.
        share = math.ceil(since / len(recorded))
        wait = budget_wait(figure.requests, [b.at(now, share) for b in recorded], now)
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None


def _estimate_eta(left: EstimateLeft, throughput: Throughput) -> float | None:
    """Requests left at the recent pages per second, and no sooner than the budgets' waits."""
    pace = throughput.pages_per_minute
    if pace is None or pace <= 0:
        return None
    total = sum(f.requests for f in left.requests.values())
    return max(total / (pace / 60), left.wait_seconds or 0.0)


__all__ = [
    "RATE_WINDOW",
    "SCHEMA_VERSION",
    "EndpointSummary",
    "EstimateLeft",
    "LockInfo",
    "RepoCounts",
    "StatusReport",
    "Throughput",
    "UnitCounts",
    "build_status",
]
