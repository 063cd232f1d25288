"""`ghye status` as a library function: the checkpoint, read without the lock, as a StatusReport.

Safe while a collect runs: the checkpoint is read through ``CheckpointManager.read_only`` (no
lock, no file touched, journal commits seen) and the lock through ``holder_state``/``read_owner``
(which never take it). The report is built in one pass over the units, with no per-repo file
I/O, so a 10,000-repo checkpoint reports in well under a second.

The counts come from :mod:`.status_tally` (with, per endpoint, when its complete units were
last brought up to date, and how far the last refresh has come), the pace and the ETA from
:mod:`.status_eta`; the report's types are :mod:`.status_report` (importable from here too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import NoCheckpoint
from gh_year_end.manage.status_eta import RATE_WINDOW, estimate_eta, estimate_left, pace
from gh_year_end.manage.status_report import (
    SCHEMA_VERSION,
    AsOf,
    EndpointSummary,
    EstimateLeft,
    EtaBasis,
    LockInfo,
    RefreshInfo,
    RepoCounts,
    StatusReport,
    Throughput,
    UnitCounts,
)
from gh_year_end.manage.status_tally import Tally
from gh_year_end.storage.atomic import utc_now
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.checkpoint.state import REFRESH_PHASE
from gh_year_end.storage.lock import holder_state, read_owner
from gh_year_end.storage.paths import PathManager


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
    tally = Tally(checkpoint.refresh_generation())
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
    if tally.refresh is not None:
        phase_names.append(REFRESH_PHASE)
    created = checkpoint.created_at
    updated = max((m for m in (tally.last_update, created) if m is not None), default=None)
    throughput, eta = pace(tally, updated)
    generated_at = clock()
    basis: EtaBasis | None = "units" if eta is not None else None
    left = estimate_left(checkpoint, paths, generated_at)
    if left is not None:
        eta, basis = estimate_eta(left, throughput), "estimate"
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
        refresh=_refresh_info(checkpoint, tally),
    )


def _refresh_info(checkpoint: CheckpointManager, tally: Tally) -> RefreshInfo | None:
    """The last refresh, from the checkpoint's ``refresh`` phase, and the units the tally
    counted for it."""
    if tally.refresh is None:
        return None
    started = checkpoint.phase_detail(REFRESH_PHASE, "started_at")
    finished = checkpoint.phase_detail(REFRESH_PHASE, "completed_at")
    under_way = checkpoint.refresh_under_way() is not None
    return RefreshInfo(
        generation=tally.refresh,
        under_way=under_way,
        started_at=started if isinstance(started, datetime) else None,
        finished_at=finished if isinstance(finished, datetime) and not under_way else None,
        units_done=tally.refreshed_units,
        units=tally.refreshed_units + tally.refresh_due,
    )


__all__ = [
    "RATE_WINDOW",
    "SCHEMA_VERSION",
    "AsOf",
    "EndpointSummary",
    "EstimateLeft",
    "LockInfo",
    "RefreshInfo",
    "RepoCounts",
    "StatusReport",
    "Throughput",
    "UnitCounts",
    "build_status",
]
