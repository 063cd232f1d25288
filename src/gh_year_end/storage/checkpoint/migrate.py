"""Older checkpoint formats → the current one.

:func:`read_snapshot` decodes a snapshot of any format this ghye knows into the state, upgrading
on the way. Format 1 is the seed's own layout (``"version": "1.0"``); it recorded no byte
offsets, so a unit that was part-way cannot resume exactly: it starts over from page 1 (its file
is cut to 0 when reopened). Complete units are kept, failed ones keep their reason.

The store that read the bytes keeps the original beside the checkpoint
(``checkpoint.json.v1.bak``) and writes the upgraded snapshot at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from gh_year_end.storage.checkpoint import codec
from gh_year_end.storage.checkpoint.model import CheckpointStatus, EndpointProgress, RepoProgress
from gh_year_end.storage.checkpoint.state import (
    CheckpointState,
    Meta,
    as_utc,
    derive_header,
    set_header,
)


class _V1Repo(msgspec.Struct):
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: Any = None
    endpoints: dict[str, EndpointProgress] = msgspec.field(default_factory=dict)


class _V1Snapshot(msgspec.Struct):
    created_at: datetime | None = None
    updated_at: datetime | None = None
    config_digest: str | None = None
    target: Any = None
    year: int | None = None
    current_phase: Any = None
    phases: dict[str, Any] | None = None
    repos: dict[str, _V1Repo] | None = None


def read_snapshot(raw: bytes, clock: Callable[[], datetime]) -> tuple[CheckpointState, int | None]:
    """checkpoint.json bytes of any known format → (the state, the format it was upgraded
    from or None). ``clock`` is read only when upgrading (it dates a part-way repo's start).

    Raises codec.FormatError or codec.NewerFormat.
    """
    try:
        return codec.decode_snapshot(raw), None
    except codec.OlderFormat as older:
        if older.version in (2, 3):
            return codec.decode_same_layout(older.data), older.version
        # Format 1 is the only other: snapshot_version refuses anything below 1.
        return upgrade_v1(older.data, clock()), older.version


def upgrade_v1(data: dict[str, Any], now: datetime) -> CheckpointState:
    """The seed's layout (version "1.0") → the state (FormatError if it is malformed)."""
    try:
        old = msgspec.convert(data, _V1Snapshot)
    except msgspec.ValidationError as exc:
        raise codec.FormatError(str(exc)) from None
    repos: dict[str, RepoProgress] = {}
    for name, repo in (old.repos or {}).items():
        repo_error = repo.error if isinstance(repo.error, dict) else None
        endpoints = {
            endpoint: _upgrade_unit(unit, repo_error) for endpoint, unit in repo.endpoints.items()
        }
        progress = RepoProgress(endpoints=endpoints, repo={"full_name": name})
        set_header(progress, derive_header(progress, as_utc(repo.started_at) or now))
        if progress.status is CheckpointStatus.COMPLETE:
            progress.completed_at = as_utc(repo.completed_at) or progress.completed_at
        repos[name] = progress
    phases = {
        str(name): dict(phase)
        for name, phase in (old.phases or {}).items()
        if isinstance(phase, dict)
    }
    return CheckpointState(
        meta=Meta(
            created_at=as_utc(old.created_at),
            updated_at=as_utc(old.updated_at),
            config_digest=old.config_digest,
            dataset=None,  # format 1 kept only the digest
            target=old.target if isinstance(old.target, dict) else None,
            year=old.year,
        ),
        phases=codec.decode_phases(phases, "$.phases"),
        current_phase=old.current_phase if isinstance(old.current_phase, str) else None,
        plan=list(repos),
        repos=repos,
        seq=0,
    )


def _upgrade_unit(old: EndpointProgress, repo_error: dict[str, Any] | None) -> EndpointProgress:
    if old.status is CheckpointStatus.COMPLETE:
        return msgspec.structs.replace(
            old, lines=old.records_collected, updated_at=as_utc(old.updated_at)
        )
    if old.status is CheckpointStatus.FAILED:
        # Format 1 kept the reason on the repo, not the unit.
        message = repo_error.get("message") if repo_error else None
        retryable = repo_error.get("retryable") if repo_error else None
        return EndpointProgress(
            status=CheckpointStatus.FAILED,
            error=message if isinstance(message, str) else "failed (recorded by version 1)",
            retryable=retryable if isinstance(retryable, bool) else True,
        )
    return EndpointProgress()


__all__ = ["read_snapshot", "upgrade_v1"]
