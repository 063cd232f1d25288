"""What `ghye status` reports: :class:`StatusReport` and its parts (counts, lock, pace, what
the estimate says is left, how current the data is), and its JSON form
(:meth:`StatusReport.to_dict`, the ``--json`` output; schema in docs/cli.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from gh_year_end.collect.events import UnitFailure
from gh_year_end.storage.atomic import iso_z
from gh_year_end.storage.lock import HolderState

if TYPE_CHECKING:
    from gh_year_end.collect.estimate import Figure

SCHEMA_VERSION: Final = 1


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


How = Literal["refreshed", "collected"]


@dataclass(frozen=True)
class AsOf:
    """When a complete unit was last brought up to date: by a refresh (its ``refreshed_at``),
    or, never refreshed, by its collect (the moment it completed)."""

    at: datetime
    how: How


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
    oldest: AsOf | None = None
    """The complete unit brought up to date longest ago: the endpoint's data is current as of
    this moment (None: no complete unit)."""
    newest: AsOf | None = None
    """The complete unit brought up to date last."""


@dataclass(frozen=True)
class RefreshInfo:
    """The dataset's last refresh (``ghye collect --refresh``): its number, whether it is under
    way, and how many units it has brought up to date of those it will."""

    generation: int
    under_way: bool
    started_at: datetime | None
    finished_at: datetime | None
    units_done: int
    """Units this refresh (or a later one) brought up to date."""
    units: int
    """``units_done`` and the units it has yet to (every unit not failed)."""


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
    """The recent pace, from unit end times (see :mod:`.status_eta`)."""

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
    refresh: RefreshInfo | None = None
    """The last refresh, under way or finished (None: the dataset was never refreshed)."""

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
            "endpoints": {e.endpoint: _endpoint_dict(e) for e in self.endpoints},
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
            "refresh": _refresh_dict(self.refresh),
        }


def _fields(obj: Any) -> dict[str, Any]:
    return dict(vars(obj))


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def _endpoint_dict(summary: EndpointSummary) -> dict[str, Any]:
    counts = {
        k: v for k, v in _fields(summary).items() if k not in {"endpoint", "oldest", "newest"}
    }
    oldest, newest = summary.oldest, summary.newest
    counts["current_as_of"] = (
        None
        if oldest is None or newest is None
        else {"oldest": _as_of_dict(oldest), "newest": _as_of_dict(newest)}
    )
    return counts


def _as_of_dict(as_of: AsOf) -> dict[str, Any]:
    return {"at": iso_z(as_of.at), "how": as_of.how}


def _refresh_dict(refresh: RefreshInfo | None) -> dict[str, Any] | None:
    if refresh is None:
        return None
    return {
        "generation": refresh.generation,
        "under_way": refresh.under_way,
        "started_at": _iso_or_none(refresh.started_at),
        "finished_at": _iso_or_none(refresh.finished_at),
        "units_done": refresh.units_done,
        "units": refresh.units,
    }


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
