"""The checkpoint's data model: plain typed records, no I/O.

Every unit (repo × endpoint) has an :class:`EndpointProgress`: its status, what its data file
holds (``offset`` bytes, ``lines`` records — an exact prefix, the invariant), where collection
continues (``next_url`` and a typed :class:`Cursor`), and why it failed if it did. A repo's
:class:`RepoProgress` holds its units and a status derived from them.

They are msgspec Structs: typed, validated when decoded (a negative count or a status that is not
one of the four is refused with the field's name), cheap to build for 60,000 units, encoded
without the fields at their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

Count = Annotated[int, msgspec.Meta(ge=0)]


class CheckpointStatus(StrEnum):
    """Where a repo, endpoint or phase stands."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"


class Cursor(msgspec.Struct, omit_defaults=True):
    """Where a unit's walk stands beyond its next URL. Each pager uses its own fields; a field a
    pager does not use stays at its default (and out of the file)."""

    started_at: str | None = None
    """Catch-up pager: when the walk began, minus the clock slack (ISO 8601, UTC)."""
    catch_up_from: str | None = None
    """Catch-up pager, in its last pass from the front: read down to this moment."""
    pr_index: int | None = None
    """Per-parent pagers (reviews): the index, in the committed pulls file, of the next parent
    (through GraphQL: the next one never asked for)."""
    history_after: str | None = None
    """Commit sizes (GraphQL history): the cursor to continue after."""
    continuing: tuple[tuple[int, str], ...] = ()
    """Reviews through GraphQL: the pull requests whose reviews continue past those committed,
    as (number, the GraphQL cursor to continue after)."""


class Probe(msgspec.Struct, omit_defaults=True, frozen=True):
    """What a refresh asks a unit first: a list page's URL, the ETag GitHub gave it, and the
    moment the unit's data is known complete up to (see :mod:`gh_year_end.collect.refresh`).

    Asked with ``If-None-Match: etag``, a ``304`` says the unit is unchanged, free of the
    primary rate limit."""

    url: str
    """The page as it was asked: a path under api_url with its query, or an absolute link."""
    etag: str | None = None
    """GitHub's ETag for it (None: the page came without one; the refresh pays for it)."""
    watermark: str | None = None
    """ISO 8601 (UTC): every record updated before this moment was read in its latest version
    (catch-up lists; the keyset lists carry theirs in the URL's ``since``)."""


class EndpointProgress(msgspec.Struct, omit_defaults=True):
    """Progress of one repo × endpoint unit. ``offset``/``lines`` describe the committed prefix
    of the unit's JSONL file; ``next_url`` and ``cursor`` are where collection continues."""

    status: CheckpointStatus = CheckpointStatus.PENDING
    pages_collected: Count = 0
    records_collected: Count = 0
    last_page_written: Count = 0
    next_url: str | None = None
    offset: Count = 0
    lines: Count = 0
    cursor: Cursor = msgspec.field(default_factory=Cursor)
    error: str | None = None
    retryable: bool | None = None
    unavailable: bool = False
    updated_at: datetime | None = None
    http_status: int | None = None
    """GitHub's status code behind a failure (404, 451, 403, …), when one was."""
    probe: Probe | None = None
    """Where a refresh starts (kept from the page that set it, through later commits)."""
    refreshed_at: datetime | None = None
    """When the unit was last brought up to date (its collect, or a refresh)."""
    refresh_generation: Count = 0
    """The refresh (numbered from 1) the unit is current for; 0: none yet."""
    switch: str | None = None
    """A refreshed file's name in the unit's folder, committed but perhaps not yet renamed over
    the unit's file: the next writer of the target renames it (see storage/rewrite.py)."""
    changed: tuple[int, ...] = ()
    """Pulls: the numbers of the pull requests a refresh found new or updated (their reviews are
    read again in the same refresh, ``changed_generation``)."""
    changed_generation: Count = 0

    def copy(self) -> EndpointProgress:
        """An independent copy."""
        return msgspec.structs.replace(self, cursor=msgspec.structs.replace(self.cursor))


class RepoProgress(msgspec.Struct):
    """Progress of one repo: its endpoints, and the status derived from them."""

    status: CheckpointStatus = CheckpointStatus.PENDING
    started_at: datetime | None = None
    completed_at: datetime | None = None
    endpoints: dict[str, EndpointProgress] = msgspec.field(default_factory=dict)
    error: dict[str, Any] | None = None
    repo: dict[str, Any] = msgspec.field(default_factory=dict)
    """The plan entry given to ``update_repos`` (at least ``full_name``)."""


def derive_status(endpoints: Mapping[str, EndpointProgress]) -> CheckpointStatus:
    """A repo's status from its endpoints' (all complete → complete; any in progress → in
    progress; else any failed → failed; all pending → pending; some done → in progress)."""
    statuses = {e.status for e in endpoints.values()}
    if not statuses or statuses == {CheckpointStatus.PENDING}:
        return CheckpointStatus.PENDING
    if statuses == {CheckpointStatus.COMPLETE}:
        return CheckpointStatus.COMPLETE
    if CheckpointStatus.IN_PROGRESS in statuses:
        return CheckpointStatus.IN_PROGRESS
    if CheckpointStatus.FAILED in statuses:
        return CheckpointStatus.FAILED
    return CheckpointStatus.IN_PROGRESS


__all__ = [
    "CheckpointStatus",
    "Count",
    "Cursor",
    "EndpointProgress",
    "Probe",
    "RepoProgress",
    "derive_status",
]
