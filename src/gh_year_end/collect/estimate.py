"""What a collect will cost, unit by unit, worked out from a few counts — without I/O.

``ghye plan`` counts each repository's window through GraphQL (:mod:`gh_year_end.github.counts`);
this module turns those counts into requests, from the endpoint table: each endpoint's transport
says how its list is walked, and the same walk, done on a count instead of on pages, says how
many pages it takes (:data:`~gh_year_end.endpoints.PER_PAGE` records to a page; an empty list is
still one request):

- ``list`` — every page of what the list returns: ``ceil(n / 100)``, at least 1 (commits: the
  commits listed; an empty repository's 409 is its one answer).
- ``catch-up`` — sorted newest update first and stopped by the endpoint's ``stop_early`` at the
  first page that ends before the window: the page holding the first record past what the list
  returns, when the list goes on; then, when the walk took more than one page, one page of the
  pass from the front (more only when more than a page of records moved while it walked).
- ``keyset`` — the comment lists: nothing counts them cheaply, so at least one page each (a
  floor).
- ``per-parent`` — the parent's kept records (reviews: the pull requests collected): through
  GraphQL a hundred to a query, and queries may carry several repositories' batches, so the
  reviews cost ``ceil(sum / 100)`` points at least; through REST one request per pull request
  at least. Pull requests with more than a page of reviews take more (a floor).

Each figure says whether it is exact or a floor. A repository the count query could not see
costs at least one request (a gone one: one for the whole repository). :meth:`Estimate.left`
subtracts what a checkpoint committed (``ghye status``), and :func:`budget_wait` says how long
the credentials' budgets make a run wait for resets.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Final

from gh_year_end.endpoints import PER_PAGE, Endpoint, Transport
from gh_year_end.github.counts import RepoCounts, Unseen
from gh_year_end.github.ratelimit import CORE, GRAPHQL, MAX_WAIT_SECONDS
from gh_year_end.github.review_query import MAX_BATCH
from gh_year_end.storage.atomic import iso_z

FORMAT: Final = 1
"""estimate.json's format (a reader refuses another: status then counts units)."""
PAGE: Final = int(PER_PAGE)
#: GitHub's rate-limit windows: a budget refills an hour after its window began.
WINDOW_SECONDS: Final = MAX_WAIT_SECONDS
#: The probe that decides whether reviews go through GraphQL (collect/reviews_api.py): 1 point.
PROBE_POINTS: Final = 1


@dataclass(frozen=True)
class Listing:
    """What an endpoint's list returns for a repository: ``listed`` records, of ``total`` in the
    whole list (a walk that stops early may never reach the rest)."""

    listed: int
    total: int


#: Each endpoint's list, counted: its REST parameters (state=all, since=…, until=…) as counts.
LISTINGS: Final[dict[str, Callable[[RepoCounts], Listing]]] = {
    "pulls": lambda c: Listing(c.pulls_updated, c.pulls_total),
    "issues": lambda c: Listing(c.updated, c.updated),
    "commits": lambda c: Listing(c.commits_listed, c.commits_listed),
}
#: The records an endpoint keeps in the window (a per-parent endpoint walks its parent's).
KEPT: Final[dict[str, Callable[[RepoCounts], int]]] = {
    "pulls": lambda c: c.pulls_in_window,
    "issues": lambda c: c.issues_in_window,
    "commits": lambda c: c.commits_in_window,
}


@dataclass(frozen=True)
class UnitCost:
    """What one repo × endpoint unit is expected to send: ``pages`` requests (each one a page
    it commits) on the ``resource`` budget — exact, or a floor; ``parents``: a per-parent
    unit's parent records (reviews: pull requests), which GraphQL batches across units."""

    endpoint: str
    resource: str
    pages: int
    exact: bool
    parents: int | None = None

    @property
    def batched(self) -> bool:
        """Whether its requests are GraphQL batches several units may share."""
        return self.resource == GRAPHQL and self.parents is not None


@dataclass(frozen=True)
class Figure:
    """A number of requests (GraphQL: points), and whether it is exact or a floor."""

    requests: int
    exact: bool = True

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.requests + other.requests, self.exact and other.exact)

    @property
    def text(self) -> str:
        """``12`` or ``≥12``."""
        return f"{self.requests:,}" if self.exact else f"≥{self.requests:,}"


def walk_pages(ep: Endpoint, listing: Listing) -> int:
    """The pages a walk of ``ep``'s list takes (see the module docstring)."""
    if ep.stop_early is None:
        return max(1, math.ceil(listing.listed / PAGE))
    whole = max(1, math.ceil(listing.total / PAGE))
    return min(whole, listing.listed // PAGE + 1)


def unit_cost(
    ep: Endpoint,
    found: RepoCounts | Unseen | None,
    *,
    reviews_via: str,
    first_of_repo: bool = True,
) -> UnitCost:
    """What ``ep``'s unit of a repository costs, from its counts (``found``: an Unseen or None
    when it has none — then every figure is a floor)."""
    resource = resource_of(ep, reviews_via)
    if ep.transport is Transport.GRAPHQL_BATCH:
        return _batch_cost(ep, found)
    if not isinstance(found, RepoCounts):
        # Unseen: nothing counted. A dependant is skipped when its parent fails (no request);
        # a gone repository answers its first unit and is not asked again.
        gone = isinstance(found, Unseen) and found.kind == "NOT_FOUND"
        asked = ep.depends_on is None and (first_of_repo or not gone)
        return UnitCost(ep.name, resource, int(asked), exact=False, parents=None)
    if ep.transport is Transport.PER_PARENT:
        parent = ep.depends_on
        parents = KEPT[parent](found) if parent is not None and parent in KEPT else 0
        pages = math.ceil(parents / MAX_BATCH) if resource == GRAPHQL else parents
        return UnitCost(ep.name, resource, pages, exact=False, parents=parents)
    listing = LISTINGS.get(ep.name)
    if listing is None:
        return UnitCost(ep.name, resource, 1, exact=False)  # not counted: at least one page
    pages = walk_pages(ep, listing(found))
    if ep.transport is Transport.CATCH_UP and pages > 1:
        pages += 1  # the pass from the front
    return UnitCost(ep.name, resource, pages, exact=ep.transport is not Transport.KEYSET)


def repo_costs(
    endpoints: Sequence[Endpoint], found: RepoCounts | Unseen | None, *, reviews_via: str
) -> tuple[UnitCost, ...]:
    """Every enabled endpoint's unit of one repository, in plan order."""
    return tuple(
        unit_cost(ep, found, reviews_via=reviews_via, first_of_repo=i == 0)
        for i, ep in enumerate(endpoints)
    )


def requests_for(units: Iterable[UnitCost]) -> dict[str, Figure]:
    """The requests of ``units`` per resource: pages added up — except GraphQL's batched
    per-parent units, whose parents go a hundred to a query whatever unit they are of."""
    pages: dict[str, Figure] = {}
    parents: dict[str, int] = {}
    batched_exact: dict[str, bool] = {}
    for unit in units:
        if unit.batched:
            parents[unit.resource] = parents.get(unit.resource, 0) + (unit.parents or 0)
            batched_exact[unit.resource] = batched_exact.get(unit.resource, True) and unit.exact
            continue
        pages[unit.resource] = pages.get(unit.resource, Figure(0)) + Figure(unit.pages, unit.exact)
    for resource, count in parents.items():
        batched = Figure(math.ceil(count / MAX_BATCH), batched_exact[resource])
        pages[resource] = pages.get(resource, Figure(0)) + batched
    return pages


def unit_left(unit: UnitCost, pages_committed: int, *, more: bool = False) -> UnitCost:
    """What is left of ``unit`` after ``pages_committed`` pages (``more``: the checkpoint holds
    a next page to fetch, so at least one request is left)."""
    pages = max(unit.pages - pages_committed, 1 if more else 0)
    parents = unit.parents
    if parents is not None:
        done = pages_committed * (MAX_BATCH if unit.batched else 1)
        parents = max(parents - done, 0)
    return UnitCost(unit.endpoint, unit.resource, pages, unit.exact, parents)


def resource_of(ep: Endpoint, reviews_via: str) -> str:
    """The budget a unit of ``ep`` spends: a per-parent list through GraphQL spends graphql's,
    and so do the endpoints read only through GraphQL."""
    if ep.transport is Transport.GRAPHQL_BATCH:
        return GRAPHQL
    return GRAPHQL if ep.transport is Transport.PER_PARENT and reviews_via == "graphql" else CORE


def _batch_cost(ep: Endpoint, found: RepoCounts | Unseen | None) -> UnitCost:
    """A unit read several repositories a query (collect/batch.py): repository health one
    answer (25 repositories a query), commit sizes one history page of 100 commits per answer
    (100 repositories a query). Its share of the queries is counted in the batched parents (a
    hundred to a query): a floor (queries of health, of sizes and of reviews are not shared)."""
    if ep.name == "commit_stats":
        pages = 1
        if isinstance(found, RepoCounts):
            pages = max(1, math.ceil(found.commits_in_window / PAGE))
        return UnitCost(ep.name, GRAPHQL, pages, exact=False, parents=pages)
    return UnitCost(ep.name, GRAPHQL, 1, exact=False, parents=_HEALTH_WEIGHT)


#: A hundred parents go to one GraphQL query; 25 repositories' health answers do.
_HEALTH_WEIGHT: Final = MAX_BATCH // 25


@dataclass(frozen=True)
class Progress:
    """Where one unit of a checkpoint stands: ``ended`` (complete, or failed), the ``pages`` it
    committed, and whether it holds a next page to fetch (``more``)."""

    repo: str
    endpoint: Endpoint
    ended: bool
    pages: int
    more: bool = False


# --- budgets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """One credential's budget of one resource: ``remaining`` of ``limit`` until ``reset``
    (epoch seconds), when it refills to ``limit`` for the next window."""

    label: str
    limit: int
    remaining: int
    reset: float

    def at(self, now: float, spent: int = 0) -> Budget:
        """This budget at ``now``: ``spent`` more taken from it — or, when its reset has come,
        refilled (the spending since is not known: taken as none) with its next reset ahead."""
        if self.reset > now:
            return Budget(self.label, self.limit, max(0, self.remaining - spent), self.reset)
        windows = math.floor((now - self.reset) / WINDOW_SECONDS) + 1
        return Budget(self.label, self.limit, self.limit, self.reset + windows * WINDOW_SECONDS)


def budget_wait(need: int, budgets: Sequence[Budget], now: float) -> float | None:
    """Seconds a run needing ``need`` more requests waits for resets under ``budgets`` (each
    credential's, added up): 0 when they fit in what remains; else until the reset (and the
    further full windows) after which enough has been refilled. None: no budget known, or
    none that ever refills."""
    if not budgets:
        return None
    available = sum(max(0, b.remaining) for b in budgets)
    if need <= available:
        return 0.0
    refills = [(max(b.reset, now), b.limit) for b in budgets if b.limit > 0]
    if not refills:
        return None
    heapq.heapify(refills)
    moment = now
    while available < need:
        moment, limit = heapq.heappop(refills)
        available += limit
        heapq.heappush(refills, (moment + WINDOW_SECONDS, limit))
    return moment - now


# --- the estimate of a dataset ----------------------------------------------------------------


@dataclass(frozen=True)
class RepoEstimate:
    """One repository: its counts (or why it has none) and each unit's cost."""

    repo: str
    counts: RepoCounts | None
    unseen: Unseen | None
    units: tuple[UnitCost, ...]


@dataclass(frozen=True)
class Estimate:
    """What a collect of one dataset is expected to cost (estimate.json; see the module
    docstring). ``discovery``/``accounts``: the REST requests before the units (none when the
    checkpoint's discovery is done); ``probe``: the GraphQL point deciding how reviews go;
    ``budgets``: the credentials' budgets when it was made; ``spent``: the pages committed per
    resource then (``ghye status`` takes what was committed since from the budgets)."""

    config_digest: str
    reviews_via: str
    written_at: datetime
    written_by: str
    repos: tuple[RepoEstimate, ...]
    discovery: int = 0
    accounts: int = 0
    probe: int = 0
    budgets: Mapping[str, tuple[Budget, ...]] = field(default_factory=dict)
    spent: Mapping[str, int] = field(default_factory=dict)

    def units_of(self, repo: str) -> dict[str, UnitCost] | None:
        """The units of ``repo`` by endpoint (None: the estimate does not know the repo)."""
        return self._index.get(repo)

    @cached_property
    def _index(self) -> dict[str, dict[str, UnitCost]]:
        return {r.repo: {u.endpoint: u for u in r.units} for r in self.repos}

    def covers(self, repos: Iterable[str]) -> bool:
        """Whether every one of ``repos`` has its units here."""
        index = self._index
        return all(name in index for name in repos)

    def by_endpoint(self, endpoints: Sequence[str]) -> dict[str, dict[str, Figure]]:
        """Per endpoint (in ``endpoints``' order), its requests per resource."""
        return {
            name: requests_for(u for r in self.repos for u in r.units if u.endpoint == name)
            for name in endpoints
        }

    def before_units(self) -> dict[str, dict[str, Figure]]:
        """What a run sends besides its units, per resource: ``discovery`` (the target check and
        the listing), ``accounts`` (GET /user per token, with several) and ``reviews_probe``."""
        found: dict[str, dict[str, Figure]] = {}
        if self.discovery:
            found["discovery"] = {CORE: Figure(self.discovery)}
        if self.accounts:
            found["accounts"] = {CORE: Figure(self.accounts)}
        if self.probe:
            found["reviews_probe"] = {GRAPHQL: Figure(self.probe)}
        return found

    def totals(self) -> dict[str, Figure]:
        """Every request per resource: the units' and :meth:`before_units`'."""
        total = requests_for(u for r in self.repos for u in r.units)
        for figures in self.before_units().values():
            for resource, figure in figures.items():
                total[resource] = total.get(resource, Figure(0)) + figure
        return total

    def left(self, progress: Iterable[Progress]) -> dict[str, Figure]:
        """The requests per resource the units not ended still need: each one's estimate less
        the pages it committed (a unit the estimate does not know: at least one request), and
        the reviews probe while reviews are left."""
        units: list[UnitCost] = []
        for unit in progress:
            if unit.ended:
                continue
            known = self._index.get(unit.repo, {}).get(unit.endpoint.name)
            if known is None:
                asked = int(unit.endpoint.depends_on is None)
                resource = resource_of(unit.endpoint, self.reviews_via)
                known = UnitCost(unit.endpoint.name, resource, asked, exact=False)
            units.append(unit_left(known, unit.pages, more=unit.more))
        left = requests_for(units)
        if self.probe and any(u.resource == GRAPHQL and u.parents is not None for u in units):
            left[GRAPHQL] = left.get(GRAPHQL, Figure(0)) + Figure(self.probe)
        return left

    def to_dict(self) -> dict[str, Any]:
        """estimate.json's content."""
        return {
            "format": FORMAT,
            "config_digest": self.config_digest,
            "reviews_via": self.reviews_via,
            "written_at": iso_z(self.written_at),
            "written_by": self.written_by,
            "discovery": self.discovery,
            "accounts": self.accounts,
            "probe": self.probe,
            "budgets": {
                resource: [
                    {"label": b.label, "limit": b.limit, "remaining": b.remaining, "reset": b.reset}
                    for b in budgets
                ]
                for resource, budgets in self.budgets.items()
            },
            "spent": dict(self.spent),
            "repos": {
                r.repo: {
                    "counts": r.counts.to_dict() if r.counts is not None else None,
                    "unseen": {"kind": r.unseen.kind, "reason": r.unseen.reason}
                    if r.unseen is not None
                    else None,
                    "units": {
                        u.endpoint: [u.resource, u.pages, u.exact, u.parents] for u in r.units
                    },
                }
                for r in self.repos
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> Estimate | None:
        """An estimate read back; None for anything not in :data:`FORMAT` (never an error: a
        damaged estimate only costs status its ETA basis)."""
        try:
            return _read(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _read(data: Any) -> Estimate | None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    repos: list[RepoEstimate] = []
    for name, entry in data["repos"].items():
        units = tuple(
            UnitCost(ep, str(resource), _count(pages), bool(exact), _maybe_count(parents))
            for ep, (resource, pages, exact, parents) in entry["units"].items()
        )
        unseen = entry.get("unseen")
        repos.append(
            RepoEstimate(
                str(name),
                RepoCounts.from_dict(entry.get("counts")),
                Unseen(str(unseen["kind"]), str(unseen["reason"])) if unseen else None,
                units,
            )
        )
    budgets = {
        str(resource): tuple(
            Budget(str(b["label"]), _count(b["limit"]), _count(b["remaining"]), float(b["reset"]))
            for b in entries
        )
        for resource, entries in data.get("budgets", {}).items()
    }
    return Estimate(
        config_digest=str(data["config_digest"]),
        reviews_via=str(data["reviews_via"]),
        written_at=datetime.fromisoformat(str(data["written_at"]).replace("Z", "+00:00")),
        written_by=str(data["written_by"]),
        repos=tuple(repos),
        discovery=_count(data.get("discovery", 0)),
        accounts=_count(data.get("accounts", 0)),
        probe=_count(data.get("probe", 0)),
        budgets=budgets,
        spent={str(k): _count(v) for k, v in data.get("spent", {}).items()},
    )


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _maybe_count(value: Any) -> int | None:
    return None if value is None else _count(value)


def make_estimate(
    *,
    config_digest: str,
    endpoints: Sequence[Endpoint],
    reviews_via: str,
    found: Mapping[str, RepoCounts | Unseen | None],
    written_at: datetime,
    written_by: str,
    discovery: int = 0,
    accounts: int = 0,
    budgets: Mapping[str, tuple[Budget, ...]] | None = None,
    spent: Mapping[str, int] | None = None,
) -> Estimate:
    """The estimate of the repositories in ``found`` (in its order) for ``endpoints``."""
    repos = tuple(
        RepoEstimate(
            repo,
            counts if isinstance(counts, RepoCounts) else None,
            counts if isinstance(counts, Unseen) else None,
            repo_costs(endpoints, counts, reviews_via=reviews_via),
        )
        for repo, counts in found.items()
    )
    reviews = any(ep.transport is Transport.PER_PARENT for ep in endpoints)
    return Estimate(
        config_digest=config_digest,
        reviews_via=reviews_via,
        written_at=written_at,
        written_by=written_by,
        repos=repos,
        discovery=discovery,
        accounts=accounts,
        probe=PROBE_POINTS if reviews and reviews_via == "graphql" and repos else 0,
        budgets=dict(budgets or {}),
        spent=dict(spent or {}),
    )
