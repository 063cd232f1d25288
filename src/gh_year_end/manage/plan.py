"""`ghye plan` as a library function: what a collect of the configured dataset would collect and
what it would cost, before it runs — as a frozen :class:`PlanReport`.

It asks little: the repositories come from discovery's own listing (REST: the target check and
one request per hundred repositories — nothing at all when a checkpoint of this dataset holds a
complete discovery: its plan is read, read-only); their windows are counted through GraphQL, a
point for 21 repositories (:mod:`gh_year_end.github.counts`); each credential's budgets
come from GET /rate_limit, which GitHub does not charge. :mod:`gh_year_end.collect.estimate`
turns the counts into requests per unit, endpoint and resource, each figure exact or a floor,
and the budgets into the waits for resets a collect would meet.

It writes one file, estimate.json beside the checkpoint (what ``ghye status`` reads its ETA
from), and never the checkpoint, its journal, the lock or any data file.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import httpx

from gh_year_end.collect.counting import budgets_of, count_repos
from gh_year_end.collect.discovery import discover, first_contact
from gh_year_end.collect.estimate import (
    Budget,
    Estimate,
    Figure,
    Progress,
    budget_wait,
    make_estimate,
    requests_for,
)
from gh_year_end.collect.estimate_file import spent_pages, write_estimate
from gh_year_end.config import Config
from gh_year_end.errors import StorageError
from gh_year_end.github.auth import check_credentials
from gh_year_end.github.client import RestClient
from gh_year_end.github.counts import REPOS_PER_QUERY, RepoCounts, Unseen
from gh_year_end.github.credentials import StaticToken
from gh_year_end.github.ratelimit import CORE, GRAPHQL
from gh_year_end.storage.atomic import iso_z, utc_now
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.storage.paths import PathManager

SCHEMA_VERSION: Final = 1
RESOURCES: Final = (CORE, GRAPHQL)
#: Repositories per page of discovery's listing (discovery asks for 100).
LISTING_PAGE: Final = 100

Source = Literal["listing", "checkpoint"]


@dataclass(frozen=True)
class RepoPlan:
    """One repository: its counts (or why the count query could not see it) and its units."""

    name: str
    counts: RepoCounts | None
    unseen: Unseen | None
    requests: Mapping[str, Figure]
    """Its units' requests per resource."""

    @property
    def weight(self) -> int:
        """Its requests, every resource (how "largest" is ranked)."""
        return sum(f.requests for f in self.requests.values())


@dataclass(frozen=True)
class ResourcePlan:
    """One budget: what the collect needs of it, what the credentials have, and the wait."""

    resource: str
    needed: Figure
    budgets: tuple[Budget, ...]
    wait_seconds: float | None
    """0: within the current budget; None: no budget known (GitHub did not say)."""

    @property
    def remaining(self) -> int:
        """Every credential's remaining budget, added up."""
        return sum(b.remaining for b in self.budgets)

    @property
    def limit(self) -> int:
        """Every credential's budget per window, added up."""
        return sum(b.limit for b in self.budgets)

    @property
    def first_reset(self) -> float | None:
        """The earliest reset of the credentials' budgets (epoch seconds)."""
        return min((b.reset for b in self.budgets), default=None)


@dataclass(frozen=True)
class PlanReport:
    """Everything `ghye plan` shows; :meth:`to_dict` is the ``--json`` form."""

    target: str
    target_mode: str
    target_dir: Path
    since: datetime
    until: datetime
    generated_at: datetime
    source: Source
    listed: int | None
    """Repositories the listing returned before the filters (None: read from the checkpoint)."""
    refused: tuple[str, ...]
    endpoints: tuple[str, ...]
    reviews_via: str
    repos: tuple[RepoPlan, ...]
    estimate: Estimate
    by_endpoint: Mapping[str, Mapping[str, Figure]]
    before_units: Mapping[str, Mapping[str, Figure]]
    """Besides the units: ``discovery``, ``accounts``, ``reviews_probe``, per resource."""
    totals: Mapping[str, Figure]
    left: Mapping[str, Figure] | None
    """With a checkpoint of this dataset: what its units not ended still need."""
    resources: tuple[ResourcePlan, ...]
    cost_rest: int
    """REST requests this plan sent that GitHub charges (discovery's)."""
    cost_free: int
    """GET /rate_limit requests (not charged)."""
    cost_points: int
    queries: int
    counting_problem: str | None
    estimate_path: Path | None
    estimate_error: str | None
    checkpoint_note: str | None

    @property
    def unseen(self) -> tuple[RepoPlan, ...]:
        """The repositories the count query could not see (or count)."""
        return tuple(r for r in self.repos if r.unseen is not None)

    @property
    def wait_seconds(self) -> float | None:
        """The longest wait for resets of any resource (None: no budget known)."""
        waits = [r.wait_seconds for r in self.resources if r.needed.requests]
        if any(w is None for w in waits):
            return None
        return max((w for w in waits if w is not None), default=0.0)

    def largest(self, count: int) -> tuple[RepoPlan, ...]:
        """The ``count`` repositories with the most requests."""
        return tuple(sorted(self.repos, key=lambda r: (-r.weight, r.name))[:count])

    def count_total(self, name: str) -> int:
        """One count added up over the repositories counted."""
        return sum(getattr(r.counts, name) for r in self.repos if r.counts is not None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema in docs/cli.md; ``schema_version`` changes on breaking edits)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": iso_z(self.generated_at),
            "target": {"mode": self.target_mode, "name": self.target, "dir": str(self.target_dir)},
            "window": {"since": iso_z(self.since), "until": iso_z(self.until)},
            "repos": {
                "source": self.source,
                "count": len(self.repos),
                "listed": self.listed,
                "refused": list(self.refused),
                "unseen": len(self.unseen),
            },
            "endpoints": list(self.endpoints),
            "reviews_via": self.reviews_via,
            "per_repo": [
                {
                    "repo": r.name,
                    "counts": r.counts.to_dict() if r.counts is not None else None,
                    "unseen": {"kind": r.unseen.kind, "reason": r.unseen.reason}
                    if r.unseen is not None
                    else None,
                    "requests": _figures(r.requests),
                }
                for r in self.repos
            ],
            "requests": {
                "by_endpoint": {
                    **{name: _figures(f) for name, f in self.before_units.items()},
                    **{name: _figures(f) for name, f in self.by_endpoint.items()},
                },
                "total": _figures(self.totals),
                "left": _figures(self.left) if self.left is not None else None,
            },
            "budgets": {
                r.resource: {
                    "needed": _figure(r.needed),
                    "remaining": r.remaining if r.budgets else None,
                    "limit": r.limit if r.budgets else None,
                    "reset": iso_z(datetime.fromtimestamp(r.first_reset, UTC))
                    if r.first_reset is not None
                    else None,
                    "credentials": [
                        {
                            "label": b.label,
                            "limit": b.limit,
                            "remaining": b.remaining,
                            "reset": iso_z(datetime.fromtimestamp(b.reset, UTC)),
                        }
                        for b in r.budgets
                    ],
                    "wait_seconds": r.wait_seconds,
                    "within_budget": r.wait_seconds == 0,
                }
                for r in self.resources
            },
            "wait_seconds": self.wait_seconds,
            "cost": {
                "rest_requests": self.cost_rest,
                "rate_limit_requests": self.cost_free,
                "graphql_points": self.cost_points,
                "graphql_queries": self.queries,
            },
            "counting_problem": self.counting_problem,
            "estimate_file": str(self.estimate_path) if self.estimate_path else None,
            "estimate_error": self.estimate_error,
            "checkpoint_note": self.checkpoint_note,
        }


def _figure(figure: Figure) -> dict[str, Any]:
    return {"requests": figure.requests, "exact": figure.exact}


def _figures(figures: Mapping[str, Figure]) -> dict[str, Any]:
    return {resource: _figure(figure) for resource, figure in figures.items()}


# --- building it --------------------------------------------------------------------------------


def build_plan(
    config: Config,
    *,
    environ: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> PlanReport:
    """Plan the configured dataset (see the module docstring).

    Raises TokenMissing before any request; AuthenticationFailed, TargetNotFound, and
    TransientError when GitHub cannot be reached; CheckpointCorrupt for a checkpoint that
    cannot be read."""
    check_credentials(config, environ)
    config.warn_ignored()
    paths = PathManager(config)
    checkpoint, note = _checkpoint(config, paths)
    return asyncio.run(
        _plan(
            config,
            paths,
            checkpoint,
            note=note,
            environ=environ,
            transport=transport,
            clock=clock,
        )
    )


def _checkpoint(config: Config, paths: PathManager) -> tuple[CheckpointManager | None, str | None]:
    """The checkpoint of this dataset, read-only, when its discovery is complete."""
    if not paths.checkpoint_path.is_file():
        return None, None
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path, journal_path=paths.journal_path)
    if not checkpoint.validate_config(config):
        changed = ", ".join(checkpoint.changed_keys(config)) or "the config digest"
        return None, (
            f"the checkpoint at {paths.target_dir} was made with another config ({changed}): "
            "`ghye collect` refuses it unless --force, which starts over"
        )
    if not checkpoint.is_phase_complete("discovery"):
        return None, None
    return checkpoint, None


async def _plan(
    config: Config,
    paths: PathManager,
    checkpoint: CheckpointManager | None,
    *,
    note: str | None,
    environ: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    clock: Callable[[], float],
) -> PlanReport:
    endpoints = config.enabled_endpoints
    reviews_via = config.collection.reviews_via
    async with RestClient.from_config(
        config, environ=environ, transport=transport, clock=clock
    ) as client:
        refused: tuple[str, ...] = ()
        listed: int | None = None
        discovery = 0
        if checkpoint is not None:
            names = checkpoint.repo_names()
        else:
            found = await first_contact(discover(client, config), config, command="ghye plan")
            names = [repo["full_name"] for repo in found.repos]
            refused = tuple(r.reason for r in found.refused)
            listed = found.seen
            discovery = _discovery_requests(found.listing, found.seen)
        counted = await count_repos(client, names, config.window)
        cost_rest = client.stats.by_resource.get(CORE, 0)  # discovery's: counting is GraphQL
        await client.read_budgets()
        rate_limit_requests = client.stats.by_resource.get(CORE, 0) - cost_rest
        budgets = budgets_of(client)
        live = client.pool.live
        accounts = (
            sum(isinstance(lane.credential, StaticToken) for lane in live) if len(live) > 1 else 0
        )
    now = clock()
    estimate = make_estimate(
        config_digest=config.digest,
        endpoints=endpoints,
        reviews_via=reviews_via,
        found=counted.found,
        written_at=utc_now(),
        written_by="ghye plan",
        discovery=discovery,
        accounts=accounts,
        budgets=budgets,
        spent=spent_pages(checkpoint, reviews_via) if checkpoint is not None else {},
    )
    left = estimate.left(_progress(checkpoint, config)) if checkpoint is not None else None
    if left is not None and estimate.accounts:  # a continued collect checks them again
        left[CORE] = left.get(CORE, Figure(0)) + Figure(estimate.accounts)
    needed = left if left is not None else estimate.totals()
    resources = tuple(
        ResourcePlan(
            resource,
            needed.get(resource, Figure(0)),
            budgets.get(resource, ()),
            _wait(needed.get(resource, Figure(0)).requests, budgets.get(resource, ()), now),
        )
        for resource in RESOURCES
    )
    estimate_path: Path | None = None
    error: str | None = None
    if not any(isinstance(found, RepoCounts) for found in counted.found.values()) and names:
        error = "no repository could be counted — status keeps counting units"
    else:
        try:
            write_estimate(paths.estimate_path, estimate)
            estimate_path = paths.estimate_path
        except StorageError as exc:
            error = str(exc)
    names_order = [e.name for e in endpoints]
    return PlanReport(
        target=config.github.target.name,
        target_mode=config.github.target.mode,
        target_dir=paths.target_dir,
        since=config.github.windows.since,
        until=config.github.windows.until,
        generated_at=utc_now(),
        source="checkpoint" if checkpoint is not None else "listing",
        listed=listed,
        refused=refused,
        endpoints=tuple(names_order),
        reviews_via=reviews_via,
        repos=tuple(
            RepoPlan(r.repo, r.counts, r.unseen, _requests(estimate, r.repo))
            for r in estimate.repos
        ),
        estimate=estimate,
        by_endpoint=estimate.by_endpoint(names_order),
        before_units=estimate.before_units(),
        totals=estimate.totals(),
        left=left,
        resources=resources,
        cost_rest=cost_rest,
        cost_free=rate_limit_requests,
        cost_points=counted.points,
        queries=counted.queries,
        counting_problem=counted.problem,
        estimate_path=estimate_path,
        estimate_error=error,
        checkpoint_note=note,
    )


def _discovery_requests(listing: str, seen: int) -> int:
    """The REST requests of a discovery: the target check (an org: GET /orgs/O; a user: GET
    /user, and GET /users/U unless the target is the token's own user) and the listing's
    pages."""
    check = 2 if listing.startswith("/users/") else 1
    return check + max(1, math.ceil(seen / LISTING_PAGE))


def _requests(estimate: Estimate, repo: str) -> dict[str, Figure]:
    units = estimate.units_of(repo) or {}
    return requests_for(units.values())


def _wait(need: int, budgets: tuple[Budget, ...], now: float) -> float | None:
    return budget_wait(need, budgets, now) if need else 0.0


def _progress(checkpoint: CheckpointManager, config: Config) -> list[Progress]:
    """Every planned unit of the checkpoint, where it stands."""
    found: list[Progress] = []
    for repo in checkpoint.repo_names():
        for ep in config.enabled_endpoints:
            state = checkpoint.get_endpoint(repo, ep.name)
            ended = state.status in (CheckpointStatus.COMPLETE, CheckpointStatus.FAILED)
            found.append(
                Progress(repo, ep, ended, state.pages_collected, state.next_url is not None)
            )
    return found


__all__ = [
    "REPOS_PER_QUERY",
    "SCHEMA_VERSION",
    "PlanReport",
    "RepoPlan",
    "ResourcePlan",
    "build_plan",
]
