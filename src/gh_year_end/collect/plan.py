"""The plan: repo × endpoint units, and which of them a run works on.

A unit is *left* by one rule, shared with the checkpoint's ``get_repos_to_process``
(:func:`~gh_year_end.storage.checkpoint.unit_is_left`): pending or in progress; failed and
retryable; failed permanently only with ``--retry-failed``. ``--from-repo`` narrows the units to
that repository and the ones after it in plan order.
"""

from __future__ import annotations

from dataclasses import dataclass

from gh_year_end.config import Config
from gh_year_end.endpoints import Endpoint
from gh_year_end.storage.checkpoint import (
    CheckpointManager,
    CheckpointStatus,
    EndpointProgress,
    unit_is_left,
)


@dataclass(frozen=True)
class Unit:
    """One repo × endpoint."""

    repo: str
    endpoint: Endpoint


@dataclass(frozen=True)
class Planned:
    """A unit and the committed progress it starts from (only its own worker changes it)."""

    unit: Unit
    progress: EndpointProgress


@dataclass(frozen=True)
class Selection:
    """What a run works on, and what the plan holds beside it."""

    todo: tuple[Planned, ...]
    units_done: int
    """Units already ended (complete, or failed for good) before this run."""
    records_done: int
    """Records committed in every unit before this run."""
    skipped: int
    """Units left but outside ``--from-repo``."""
    answered: frozenset[str]
    """Repositories that answered an earlier run (a unit of theirs committed a page or ended)."""


def plan_units(checkpoint: CheckpointManager, config: Config) -> list[Unit]:
    """Every planned repo × enabled endpoint, in plan order."""
    endpoints = config.enabled_endpoints
    return [Unit(repo, ep) for repo in checkpoint.repo_names() for ep in endpoints]


def select(
    checkpoint: CheckpointManager,
    units: list[Unit],
    *,
    retry_failed: bool,
    from_repo: str | None,
) -> Selection:
    """The units this run works on (UnknownRepo for a ``from_repo`` not in the plan)."""
    allowed = _from(checkpoint.repo_names(), checkpoint, from_repo)
    todo: list[Planned] = []
    done = records = skipped = 0
    answered: set[str] = set()
    for unit in units:
        progress = checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
        records += progress.records_collected
        if progress.pages_collected > 0 or progress.status is CheckpointStatus.COMPLETE:
            answered.add(unit.repo)
        if not unit_is_left(progress, retry_failed=retry_failed):
            done += 1
        elif unit.repo not in allowed:
            skipped += 1
        else:
            todo.append(Planned(unit, progress))
    return Selection(tuple(todo), done, records, skipped, frozenset(answered))


def nothing_to_do(
    checkpoint: CheckpointManager,
    units: list[Unit],
    *,
    retry_failed: bool,
    from_repo: str | None,
) -> bool:
    """Whether a continued run has no unit left at all (then no request is sent)."""
    if retry_failed or from_repo or not checkpoint.is_phase_complete("discovery"):
        return False
    return not any(
        unit_is_left(checkpoint.get_endpoint(u.repo, u.endpoint.name), retry_failed=False)
        for u in units
    )


def _from(names: list[str], checkpoint: CheckpointManager, from_repo: str | None) -> set[str]:
    if from_repo is None:
        return set(names)
    # get_repos_to_process names an unknown repo the way the user expects (UnknownRepo with
    # close matches); its rule for what is left is the one used here.
    return {
        entry["full_name"]
        for entry in checkpoint.get_repos_to_process(retry_failed=True, from_repo=from_repo)
    }
