"""`ghye reset` as a library function returning frozen dataclasses.

Reset takes the run lock itself (so it refuses while a collect runs) and applies its plan in the
order that keeps the checkpoint/data invariant at every instant: the manifest goes first (it no
longer describes the data), then each unit is sent back to pending in the checkpoint (durably),
and only then are its JSONL files removed. A crash in between leaves a checkpoint that says
"nothing committed" next to a file with bytes in it — which the next run truncates to zero.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES, dependents
from gh_year_end.errors import NoCheckpoint, UnknownEndpoint, UnknownRepo
from gh_year_end.storage.atomic import fsync_dir, storage_error
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus, EndpointProgress
from gh_year_end.storage.lock import RunLock, owner_path
from gh_year_end.storage.paths import PathManager


@dataclass(frozen=True)
class ResetRequest:
    """What `ghye reset` was asked to reset. Nothing chosen → the whole target."""

    repo: str | None = None
    endpoint: str | None = None
    failed: bool = False

    @property
    def whole_target(self) -> bool:
        """True when no --repo, --endpoint or --failed narrows the reset."""
        return self.repo is None and self.endpoint is None and not self.failed


@dataclass(frozen=True)
class ResetUnit:
    """A repo×endpoint that goes back to pending."""

    repo: str
    endpoint: str
    status: str
    records: int
    note: str | None = None


@dataclass(frozen=True)
class ResetPlan:
    """What a reset removes: files (existing ones only) and units sent back to pending."""

    target: str
    target_dir: Path
    scope: str
    whole_target: bool
    files: tuple[Path, ...]
    units: tuple[ResetUnit, ...]
    bytes: int

    @property
    def file_count(self) -> int:
        """How many files would be removed."""
        return len(self.files)

    @property
    def is_empty(self) -> bool:
        """Nothing to remove and no unit to reset."""
        return not self.files and not self.units


@dataclass(frozen=True)
class ResetResult:
    """What a reset did. ``applied`` is False when the confirmation was declined."""

    plan: ResetPlan
    applied: bool
    removed_files: int
    reset_units: int
    manifest_removed: bool


def plan_reset(config: Config, request: ResetRequest) -> ResetPlan:
    """What :func:`reset_data` would do now — read-only, without the lock (``--dry-run``)."""
    paths = PathManager(config)
    _check_endpoint(request.endpoint)
    if request.whole_target:
        return _plan_whole(config, paths)
    checkpoint = _read_only(config, paths)
    return _plan_units(config, paths, checkpoint, request)


def reset_data(
    config: Config,
    request: ResetRequest,
    *,
    confirm: Callable[[ResetPlan], bool] = lambda _plan: True,
    command: str = "ghye reset",
) -> ResetResult:
    """Reset under the run lock: plan, ask ``confirm(plan)``, apply.

    Raises CheckpointLocked while a collect runs, NoCheckpoint for a partial reset without a
    checkpoint, UnknownRepo / UnknownEndpoint for names not in the plan, StorageError.
    ``confirm`` may raise (e.g. ConfirmationRequired); nothing has changed at that point.
    """
    paths = PathManager(config)
    _check_endpoint(request.endpoint)
    if request.whole_target:
        return _reset_whole(config, paths, confirm, command)
    if not paths.checkpoint_path.exists():
        raise _no_checkpoint(config, paths)
    with CheckpointManager(
        paths.checkpoint_path, paths.lock_path, journal_path=paths.journal_path, command=command
    ) as checkpoint:
        if not checkpoint.exists():
            raise _no_checkpoint(config, paths)
        checkpoint.load()
        plan = _plan_units(config, paths, checkpoint, request)
        if plan.is_empty:
            return ResetResult(
                plan, applied=True, removed_files=0, reset_units=0, manifest_removed=False
            )
        if not confirm(plan):
            return ResetResult(
                plan, applied=False, removed_files=0, reset_units=0, manifest_removed=False
            )
        manifest_removed = _unlink(paths.manifest_path)
        for unit in plan.units:
            checkpoint.reset_endpoint(unit.repo, unit.endpoint)
        checkpoint.save()
        removed = sum(_unlink(path) for path in plan.files if path != paths.manifest_path)
        _sync_dirs({path.parent for path in plan.files})
        return ResetResult(
            plan,
            applied=True,
            removed_files=removed + int(manifest_removed),
            reset_units=len(plan.units),
            manifest_removed=manifest_removed,
        )


def _check_endpoint(endpoint: str | None) -> None:
    if endpoint is None or endpoint in ENDPOINT_NAMES:
        return
    close = difflib.get_close_matches(endpoint, ENDPOINT_NAMES, n=1)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    raise UnknownEndpoint(
        f"unknown endpoint '{endpoint}'{hint} (endpoints: {', '.join(ENDPOINT_NAMES)})"
    )


def _no_checkpoint(config: Config, paths: PathManager) -> NoCheckpoint:
    return NoCheckpoint(
        f"no checkpoint for target {config.github.target.name} at {paths.target_dir} — "
        "run `ghye collect` first"
    )


def _read_only(config: Config, paths: PathManager) -> CheckpointManager:
    if not paths.checkpoint_path.exists():
        raise _no_checkpoint(config, paths)
    return CheckpointManager.read_only(paths.checkpoint_path, journal_path=paths.journal_path)


def _whole_target_files(paths: PathManager) -> list[Path]:
    """Every file of the target except the lock and its owner record."""
    if not paths.target_dir.is_dir():
        return []
    keep = {paths.lock_path, owner_path(paths.lock_path)}
    files: list[Path] = []
    for folder, _dirs, names in os.walk(paths.target_dir):
        for name in names:
            path = Path(folder) / name
            if path not in keep:
                files.append(path)
    return sorted(files)


def _plan_whole(config: Config, paths: PathManager) -> ResetPlan:
    files = _whole_target_files(paths)
    return ResetPlan(
        target=config.github.target.name,
        target_dir=paths.target_dir,
        scope=f"the whole target {config.github.target.name} ({paths.target_dir})",
        whole_target=True,
        files=tuple(files),
        units=(),
        bytes=_total_size(files),
    )


def _reset_whole(
    config: Config, paths: PathManager, confirm: Callable[[ResetPlan], bool], command: str
) -> ResetResult:
    if not paths.target_dir.is_dir():
        plan = _plan_whole(config, paths)
        return ResetResult(
            plan, applied=True, removed_files=0, reset_units=0, manifest_removed=False
        )
    with RunLock(paths.lock_path, command=command):
        plan = _plan_whole(config, paths)
        if plan.is_empty:
            return ResetResult(
                plan, applied=True, removed_files=0, reset_units=0, manifest_removed=False
            )
        if not confirm(plan):
            return ResetResult(
                plan, applied=False, removed_files=0, reset_units=0, manifest_removed=False
            )
        manifest_removed = _unlink(paths.manifest_path)
        # The estimate goes with the manifest: what it expects of each unit describes the plan
        # being removed (status would otherwise read an ETA from it for the next run's).
        removed = int(manifest_removed) + _unlink(paths.estimate_path)
        # The checkpoint goes before the data, so a crash midway never leaves a checkpoint
        # that points into removed files.
        for first in (paths.checkpoint_path, paths.journal_path):
            removed += _unlink(first)
        removed += sum(_unlink(path) for path in plan.files)
        for endpoint in ENDPOINT_NAMES:
            _remove_empty_tree(paths.target_dir / endpoint)
        _sync_dirs({paths.target_dir})
        return ResetResult(
            plan,
            applied=True,
            removed_files=removed,
            reset_units=0,
            manifest_removed=manifest_removed,
        )


def _resolve_repo(name: str, known: list[str], target: str) -> str:
    if name in known:
        return name
    folded = [k for k in known if k.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]  # GitHub names are case-insensitive
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" — did you mean {', '.join(close)}?" if close else ""
    raise UnknownRepo(f"repo {name} is not in the plan of target {target}{hint}")


def _plan_units(
    config: Config, paths: PathManager, checkpoint: CheckpointManager, request: ResetRequest
) -> ResetPlan:
    target = config.github.target.name
    only_repo = (
        _resolve_repo(request.repo, checkpoint.repo_names(), target)
        if request.repo is not None
        else None
    )
    # The checkpoint's own units (not the config's switches): they are what has files.
    states = {
        (repo, endpoint): state
        for repo, endpoint, state in checkpoint.units()
        if only_repo is None or repo == only_repo
    }
    units: list[ResetUnit] = []
    seen: set[tuple[str, str]] = set()

    def add(repo: str, endpoint: str, state: EndpointProgress, note: str | None) -> None:
        pristine = (
            state.status is CheckpointStatus.PENDING
            and state.pages_collected == 0
            and state.offset == 0
        )
        if (repo, endpoint) in seen or (pristine and not paths.raw_path(endpoint, repo).exists()):
            return
        seen.add((repo, endpoint))
        failed = state.status is CheckpointStatus.FAILED
        label = "unavailable" if failed and state.unavailable else state.status.value
        units.append(ResetUnit(repo, endpoint, label, state.records_collected, note))
        # Reviews are read from the committed pulls file (their cursor is an index into it):
        # collected again, pulls may come in another order, so reviews go back with them.
        for dependent in dependents(endpoint):
            dep_state = states.get((repo, dependent))
            if dep_state is not None:
                add(repo, dependent, dep_state, f"{dependent} are read from the {endpoint} file")

    for (repo, endpoint), state in states.items():
        if request.endpoint is not None and endpoint != request.endpoint:
            continue
        if request.failed and state.status is not CheckpointStatus.FAILED:
            continue
        add(repo, endpoint, state, None)

    files = [paths.raw_path(u.endpoint, u.repo) for u in units]
    files = [f for f in files if f.exists()]
    if units and paths.manifest_path.exists():
        files.insert(0, paths.manifest_path)
    return ResetPlan(
        target=target,
        target_dir=paths.target_dir,
        scope=_scope(request),
        whole_target=False,
        files=tuple(files),
        units=tuple(units),
        bytes=_total_size(files),
    )


def _scope(request: ResetRequest) -> str:
    what = "failed units" if request.failed else "units"
    parts = [what]
    if request.repo is not None:
        parts.append(f"of repo {request.repo}")
    if request.endpoint is not None:
        parts.append(f"of endpoint {request.endpoint}")
    return " ".join(parts)


def _total_size(files: Iterable[Path]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise storage_error(exc, path, action="removing") from exc
    return True


def _remove_empty_tree(folder: Path) -> None:
    if not folder.is_dir():
        return
    for sub, _dirs, _names in sorted(os.walk(folder, topdown=False), key=lambda t: -len(t[0])):
        with contextlib.suppress(OSError):
            Path(sub).rmdir()  # only succeeds when empty, which is what we want


def _sync_dirs(folders: Iterable[Path]) -> None:
    for folder in folders:
        if folder.is_dir():
            fsync_dir(folder)
