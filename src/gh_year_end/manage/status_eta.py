"""The pace and the ETA `ghye status` reports, from the checkpoint's timestamps and, when
there is one, the estimate.

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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from gh_year_end.endpoints import BY_NAME
from gh_year_end.manage.status_report import EstimateLeft, Throughput
from gh_year_end.manage.status_tally import COMPLETE, FAILED, Tally
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.paths import PathManager

if TYPE_CHECKING:
    from gh_year_end.collect.estimate import Estimate, Figure

RATE_WINDOW: Final = timedelta(minutes=15)


def pace(tally: Tally, last_update: datetime | None) -> tuple[Throughput, float | None]:
    """The recent pace (units ended in the :data:`RATE_WINDOW` before ``last_update``) and the
    ETA at that pace of the units not ended (None: unknown)."""
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


def estimate_left(
    checkpoint: CheckpointManager, paths: PathManager, now: datetime
) -> EstimateLeft | None:
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
            ended = unit.status is COMPLETE or unit.status is FAILED
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
    from gh_year_end.collect.estimate import budget_wait  # noqa: PLC0415 — see estimate_left

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


def estimate_eta(left: EstimateLeft, throughput: Throughput) -> float | None:
    """Requests left at the recent pages per second, and no sooner than the budgets' waits."""
    per_minute = throughput.pages_per_minute
    if per_minute is None or per_minute <= 0:
        return None
    total = sum(f.requests for f in left.requests.values())
    return max(total / (per_minute / 60), left.wait_seconds or 0.0)
