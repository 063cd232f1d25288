"""How a collect starts: continue the checkpoint, start fresh, or start over — decided before
anything is removed.

The rules (each one keeps collected data from being destroyed by accident):

- a checkpoint with a changed dataset config is refused (ConfigChanged) unless ``--force``, or
  unless it holds no committed page (a first run that failed before collecting anything — a
  wrong ``api_url``, say — is simply started again with the corrected config);
- collected data without a checkpoint is refused (DataWithoutCheckpoint): ghye cannot tell what
  it holds, and only ``--force`` removes it;
- starting over removes data only after the caller has checked the token and the target
  (:func:`needs_check`) and, on a terminal, asked; the removal itself is :func:`start_over`.

This module decides; it does not talk to GitHub.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import (
    ConfigChanged,
    DataWithoutCheckpoint,
    NoCheckpoint,
    StorageError,
)
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.paths import PathManager

StartKind = Literal["continue", "fresh", "start_over"]


@dataclass(frozen=True)
class StartRequest:
    """The parts of a collect request that decide how it starts."""

    resume: bool = False
    force: bool = False


@dataclass(frozen=True)
class StartDecision:
    """What a collect does with what is on disk.

    ``continue``: go on from the checkpoint. ``fresh``: nothing on disk, a new checkpoint.
    ``start_over``: remove ``data_files`` (collected data, possibly none), then a new checkpoint.
    """

    kind: StartKind
    message: str | None = None
    data_files: tuple[Path, ...] = ()
    data_bytes: int = 0

    @property
    def removes_data(self) -> bool:
        """Whether starting over would remove collected data (then check and ask first)."""
        return bool(self.data_files)


def decide_start(
    checkpoint: CheckpointManager, config: Config, paths: PathManager, request: StartRequest
) -> StartDecision:
    """Load the checkpoint (if any) and decide; raises instead of destroying anything.

    Raises ConfigChanged, DataWithoutCheckpoint, NoCheckpoint, and what ``load`` raises.
    """
    name = config.github.target.name
    if checkpoint.exists():
        checkpoint.load()
        collected = holds_committed_pages(checkpoint)
        if not checkpoint.validate_config(config):
            changed = ", ".join(checkpoint.changed_keys(config)) or "the config digest"
            if not collected:
                return _start_over_decision(
                    paths,
                    f"the checkpoint holds no collected page: starting with the changed config "
                    f"({changed})",
                )
            if request.force and not request.resume:
                return _start_over_decision(
                    paths, f"config changed ({changed}): starting over, earlier data removed"
                )
            hint = (
                "run `ghye collect --force` to start over (this removes the target's earlier data)"
                if not request.resume
                else "restore the config the run was started with, "
                "or start over with `ghye collect --force`"
            )
            raise ConfigChanged(
                "the dataset-defining config changed since the checkpoint was made "
                f"({changed}) — {hint}"
            )
        if request.force and not request.resume:
            return _start_over_decision(
                paths, f"--force: starting target {name} over, earlier data removed"
            )
        stats = checkpoint.get_stats()
        return StartDecision(
            "continue",
            f"continuing the run for {name}: {stats.get('repos_complete', 0)}/"
            f"{stats.get('total_repos', 0)} repos complete",
        )
    leftovers = existing_data(paths)
    if leftovers:
        if request.force and not request.resume:
            return _start_over_decision(
                paths, f"--force: removing target {name}'s data found without a checkpoint"
            )
        raise DataWithoutCheckpoint(
            f"{paths.target_dir} holds collected data but no checkpoint.json, so ghye cannot "
            "tell what it holds — restore checkpoint.json (and checkpoint.journal) from a backup "
            "to continue, or run `ghye collect --force` to remove that data and start over"
        )
    if request.resume:
        raise NoCheckpoint(
            f"no checkpoint for target {name} at {paths.target_dir} — run `ghye collect` first"
        )
    return StartDecision("fresh")


def holds_committed_pages(checkpoint: CheckpointManager) -> bool:
    """Whether any unit has committed a page (its file holds records the checkpoint vouches for)."""
    return any(
        state.pages_collected > 0 or state.offset > 0 for _repo, _ep, state in checkpoint.units()
    )


def existing_data(paths: PathManager) -> list[Path]:
    """The target's files that hold collected data or its bookkeeping (not the lock)."""
    extras = [p for p in (paths.journal_path, paths.manifest_path, paths.repos_path) if p.is_file()]
    return extras + paths.data_files()


def _start_over_decision(paths: PathManager, message: str) -> StartDecision:
    data = tuple(p for p in existing_data(paths) if p.parent != paths.target_dir)
    size = 0
    for path in data:
        try:
            size += path.stat().st_size
        except OSError:
            continue
    return StartDecision("start_over", message, data, size)


def start_over(checkpoint: CheckpointManager, config: Config, paths: PathManager) -> None:
    """Remove the target's checkpoint and earlier raw data, then write a new checkpoint.

    The checkpoint goes first, so a crash midway never leaves one vouching for removed files.
    """
    checkpoint.delete_if_exists()
    try:
        for endpoint in ENDPOINT_NAMES:
            folder = paths.target_dir / endpoint
            if folder.exists():
                shutil.rmtree(folder)
        for leftover in (paths.manifest_path, paths.repos_path):
            leftover.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot remove the earlier data in {paths.target_dir}: {exc.strerror}"
        ) from exc
    checkpoint.create_new(config)
