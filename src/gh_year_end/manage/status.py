"""`ghye status` as a library function: the checkpoint, read without the lock, as a StatusReport.

Safe while a collect runs: the checkpoint is read through ``CheckpointManager.read_only`` (no
lock, no file touched, journal commits seen) and the lock through ``holder_state``/``read_owner``
(which never take it). The report is built in one pass over the units, with no per-repo file
I/O, so a 10,000-repo checkpoint reports in well under a second.

Throughput and ETA come from the checkpoint's own timestamps (each unit records when it last
changed): the units that *ended* (complete, unavailable or failed) during the
:data:`RATE_WINDOW` before the last update give the pace — (ended − 1) ÷ (newest − oldest end
time) — and ETA = units not yet ended (pending + in progress) ÷ that pace. The records of those
units, over the same span, give an approximate records/minute. Fewer than two recent endings →
unknown. When no collect is running, both describe the pace of the last run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from gh_year_end.collect.events import UnitFailure
from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import NoCheckpoint
from gh_year_end.storage.atomic import iso_z, utc_now
from gh_year_end.storage.checkpoint import (
    CheckpointManager,
    CheckpointStatus,
    RepoProgress,
)
from gh_year_end.storage.lock import HolderState, holder_state, read_owner
from gh_year_end.storage.paths import PathManager

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
            "manifest": {
                "exists": self.manifest_path is not None,
                "path": str(self.manifest_path) if self.manifest_path is not None else None,
            },
        }


def _fields(obj: Any) -> dict[str, Any]:
    return dict(vars(obj))


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


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
        generated_at=clock(),
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
        self.ended: list[tuple[datetime, int]] = []  # (end time, records) of ended units
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
                    ended.append((moment, state.records_collected))
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
                    ended.append((moment, state.records_collected))
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
        moments = [m for m, _ in self.ended]
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
    recent = sorted((m, r) for m, r in tally.ended if m >= start)
    if len(recent) < 2:
        return unknown, None
    span = (recent[-1][0] - recent[0][0]).total_seconds()
    if span <= 0:
        return unknown, None
    per_second = (len(recent) - 1) / span
    records = sum(r for _, r in recent[1:])
    throughput = Throughput(
        units_per_minute=per_second * 60,
        records_per_minute=records / span * 60,
        basis_units=len(recent),
        span_seconds=span,
    )
    left = tally.unit_status["pending"] + tally.unit_status["in_progress"]
    return throughput, left / per_second


__all__ = [
    "RATE_WINDOW",
    "SCHEMA_VERSION",
    "EndpointSummary",
    "LockInfo",
    "RepoCounts",
    "StatusReport",
    "Throughput",
    "UnitCounts",
    "build_status",
]
