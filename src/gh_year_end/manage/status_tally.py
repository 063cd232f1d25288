"""Reading a checkpoint into the counts `ghye status` shows: one pass over its units (its own
Structs, no copies, no per-repo file I/O) → units by status per endpoint and per repo, the
failures, the units' timestamps (what the pace is worked out from), when each endpoint's
complete units were last brought up to date, and how far the last refresh has come.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from gh_year_end.collect.events import UnitFailure
from gh_year_end.manage.status_report import AsOf, EndpointSummary
from gh_year_end.storage.checkpoint import CheckpointStatus, RepoProgress


class EndpointTally:
    """One endpoint across the plan: units by status, how many of the failed are unavailable,
    pages and records, and when its complete units were brought up to date (refreshed, or
    collected and never refreshed)."""

    __slots__ = ("by_status", "collected", "pages", "records", "refreshed", "unavailable")

    def __init__(self) -> None:
        self.by_status = dict.fromkeys(CheckpointStatus, 0)
        self.unavailable = 0
        self.pages = 0
        self.records = 0
        self.refreshed: list[datetime] = []
        self.collected: list[datetime] = []

    def counts(self) -> dict[str, int]:
        """Units by the labels status shows (``failed`` excludes ``unavailable``)."""
        by_status = self.by_status
        return {
            "complete": by_status[COMPLETE],
            "unavailable": self.unavailable,
            "failed": by_status[FAILED] - self.unavailable,
            "in_progress": by_status[CheckpointStatus.IN_PROGRESS],
            "pending": by_status[CheckpointStatus.PENDING],
        }

    def summary(self, endpoint: str) -> EndpointSummary:
        """The endpoint's line of the report."""
        counts = self.counts()
        refreshed, collected = self.refreshed, self.collected
        oldest = _earliest(
            AsOf(min(refreshed), "refreshed") if refreshed else None,
            AsOf(min(collected), "collected") if collected else None,
        )
        newest = _earliest(
            AsOf(max(collected), "collected") if collected else None,
            AsOf(max(refreshed), "refreshed") if refreshed else None,
            latest=True,
        )
        return EndpointSummary(
            endpoint=endpoint,
            units=sum(counts.values()),
            pages=self.pages,
            records=self.records,
            oldest=oldest,
            newest=newest,
            **counts,
        )


def _earliest(*moments: AsOf | None, latest: bool = False) -> AsOf | None:
    """The earliest (``latest``: the latest) of the moments given; on a tie, the first."""
    found: AsOf | None = None
    for moment in moments:
        if moment is None:
            continue
        if found is None or (moment.at > found.at if latest else moment.at < found.at):
            found = moment
    return found


class Tally:
    """The one pass over the checkpoint's own Structs (no copies): per endpoint and per repo
    status, the failures, and the units' timestamps. Unit totals are summed from the
    per-endpoint counts once at the end (:meth:`finish`), not counted 60,000 times.

    ``refresh``: the number of the dataset's last refresh (None: never refreshed), whose
    progress is counted — ``refreshed_units`` brought up to date by it (or a later one),
    ``refresh_due`` not yet (complete, pending or in progress: every unit not failed)."""

    def __init__(self, refresh: int | None = None) -> None:
        self.refresh = refresh
        self.refreshed_units = 0
        self.refresh_due = 0
        self.repo_status: dict[str, int] = dict.fromkeys(_LABELS.values(), 0)
        self.repos_seen = 0
        self.per_endpoint: dict[str, EndpointTally] = {}
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
        refresh = self.refresh
        # 60,000 iterations for a 10,000-repo target: the work is inline (no call per unit)
        # and enum members are compared by identity with module constants.
        for endpoint, state in endpoints.items():
            ep = per_endpoint.get(endpoint)
            if ep is None:
                ep = per_endpoint[endpoint] = EndpointTally()
            status = state.status
            ep.by_status[status] += 1
            ep.pages += state.pages_collected
            ep.records += state.records_collected
            if refresh is not None:
                if state.refresh_generation >= refresh:
                    self.refreshed_units += 1
                elif status is not FAILED:
                    self.refresh_due += 1
            moment = state.updated_at
            if status is COMPLETE:
                # Up to date as of its last refresh, else of its collect's end.
                refreshed = state.refreshed_at
                if refreshed is not None:
                    ep.refreshed.append(refreshed)
                if moment is not None:
                    ended.append((moment, state.records_collected, state.pages_collected))
                    if refreshed is None:
                        ep.collected.append(moment)
                continue
            if status is FAILED:
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


# Module constants: the per-unit loops compare enum members by identity with these.
FAILED: Final = CheckpointStatus.FAILED
COMPLETE: Final = CheckpointStatus.COMPLETE
_LABELS: Final[dict[CheckpointStatus, str]] = {member: member.value for member in CheckpointStatus}
