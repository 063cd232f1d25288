"""The one table of what ghye collects — every other module derives from it.

Each endpoint: its name (also its data folder and its checkpoint key), the ``collection.enable``
switch that turns it on, how it is paged (its transport), its REST path and parameters, the
window rule that keeps a record, the key that identifies a record, and the endpoint it depends
on. The table's order is the plan's order inside a repository.

The window rule: a record belongs to [since, until) when it was created before ``until`` and last
updated at or after ``since``. Commits: committer date inside the window. Reviews: submitted
inside the window, of a pull request that belongs to it (every pull request ghye collected does).

This module is the bottom layer: it imports nothing of ghye's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Window:
    """[since, until) as aware UTC datetimes, with their GitHub query form."""

    since: datetime
    until: datetime

    @property
    def since_param(self) -> str:
        """``since`` as GitHub's ISO 8601 query value."""
        return _param(self.since)

    @property
    def until_param(self) -> str:
        """``until`` as GitHub's ISO 8601 query value."""
        return _param(self.until)

    def holds(self, moment: datetime | None) -> bool:
        """since <= moment < until."""
        return moment is not None and self.since <= moment < self.until

    def overlaps(self, created: datetime | None, updated: datetime | None) -> bool:
        """Created before until and last updated at or after since (the window rule)."""
        if created is None or updated is None:
            return False
        return created < self.until and updated >= self.since


def _param(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """GitHub's ISO 8601 timestamps ('…Z' or with an offset) → aware UTC; anything else → None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _created_updated(record: Record, window: Window) -> bool:
    return window.overlaps(
        parse_time(record.get("created_at")), parse_time(record.get("updated_at"))
    )


def _issue(record: Record, window: Window) -> bool:
    # The issues list carries pull requests too; those are collected as pulls.
    return "pull_request" not in record and _created_updated(record, window)


def _commit(record: Record, window: Window) -> bool:
    commit = record.get("commit")
    committer = commit.get("committer") if isinstance(commit, Mapping) else None
    date = committer.get("date") if isinstance(committer, Mapping) else None
    return window.holds(parse_time(date))


def _review(record: Record, window: Window) -> bool:
    return window.holds(parse_time(record.get("submitted_at")))


def _always(_record: Record, _window: Window) -> bool:
    return True


def _committed(record: Record, window: Window) -> bool:
    return window.holds(parse_time(record.get("committed_date")))


def _past_window_by_update(records: list[dict[str, Any]], window: Window) -> bool:
    """Sorted by updated desc: once a page ends before since, later pages hold nothing for us.

    An empty page says nothing either way: its next link, if it has one, is followed."""
    if not records:
        return False
    last = parse_time(records[-1].get("updated_at"))
    return last is not None and last < window.since


class Transport(StrEnum):
    """How an endpoint's list is walked (one pager each, in collect/pagers.py)."""

    LIST = "list"
    """Link rel="next" page after page."""
    KEYSET = "keyset"
    """Sorted by update time ascending: continue from the last record's ``updated_at``."""
    CATCH_UP = "catch-up"
    """Sorted by update time descending: a last pass from the front catches what moved."""
    PER_PARENT = "per-parent"
    """One list per record of the parent endpoint (reviews: per collected pull request)."""
    GRAPHQL_BATCH = "graphql-batch"
    """Through GraphQL only, several repositories a query (collect/batch.py): repository health,
    and the sizes of the window's commits."""


@dataclass(frozen=True)
class Endpoint:
    """One list GitHub is asked for, per repository (or per pull request, for reviews)."""

    name: str
    """Also its data folder and its key in the checkpoint."""
    switch: str
    """The ``collection.enable`` key that turns it on."""
    transport: Transport
    path: str
    params: Callable[[Window], dict[str, str]]
    keep: Callable[[Record, Window], bool]
    record_id: str = "id"
    stop_early: Callable[[list[dict[str, Any]], Window], bool] | None = None
    depends_on: str | None = None
    empty_on_409: bool = False
    opt_in: bool = False
    """Off unless the config turns it on; in the dataset digest only when on (a dataset made
    before the endpoint existed keeps its digest)."""

    def __post_init__(self) -> None:
        if self.stop_early is not None and self.transport is not Transport.CATCH_UP:
            raise ValueError(f"{self.name}: stop_early is honoured by the catch-up pager only")
        if (self.depends_on is not None) != (self.transport is Transport.PER_PARENT):
            raise ValueError(f"{self.name}: a per-parent endpoint, and only it, has a parent")

    @property
    def directory(self) -> str:
        """The data folder of its files."""
        return self.name

    def first_url(self, repo: str, *, number: int | None = None) -> str:
        """The path of the unit's first page (the rest follow the Link header verbatim)."""
        return self.path.format(repo=repo, number=number)


PER_PAGE: Final = "100"


def _by_update(window: Window) -> dict[str, str]:
    """A keyset walk's query: what was updated since the window began, oldest update first."""
    return {
        "since": window.since_param,
        "sort": "updated",
        "direction": "asc",
        "per_page": PER_PAGE,
    }


ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    Endpoint(
        name="pulls",
        switch="pulls",
        transport=Transport.CATCH_UP,
        path="/repos/{repo}/pulls",
        params=lambda _w: {
            "state": "all",
            "sort": "updated",
            "direction": "desc",
            "per_page": PER_PAGE,
        },
        keep=_created_updated,
        stop_early=_past_window_by_update,
    ),
    Endpoint(
        name="issues",
        switch="issues",
        transport=Transport.KEYSET,
        path="/repos/{repo}/issues",
        params=lambda w: {"state": "all", **_by_update(w)},
        keep=_issue,
    ),
    Endpoint(
        name="issue_comments",
        switch="comments",
        transport=Transport.KEYSET,
        path="/repos/{repo}/issues/comments",
        params=_by_update,
        keep=_created_updated,
    ),
    Endpoint(
        name="review_comments",
        switch="comments",
        transport=Transport.KEYSET,
        path="/repos/{repo}/pulls/comments",
        params=_by_update,
        keep=_created_updated,
    ),
    Endpoint(
        name="reviews",
        switch="reviews",
        transport=Transport.PER_PARENT,
        path="/repos/{repo}/pulls/{number}/reviews",
        params=lambda _w: {"per_page": PER_PAGE},
        keep=_review,
        depends_on="pulls",
    ),
    Endpoint(
        name="commits",
        switch="commits",
        transport=Transport.LIST,
        path="/repos/{repo}/commits",
        params=lambda w: {"since": w.since_param, "until": w.until_param, "per_page": PER_PAGE},
        keep=_commit,
        record_id="sha",
        empty_on_409=True,
    ),
    Endpoint(
        name="repo_health",
        switch="hygiene",
        transport=Transport.GRAPHQL_BATCH,
        path="",
        params=lambda _w: {},
        keep=_always,
        record_id="full_name",
        opt_in=True,
    ),
    Endpoint(
        name="commit_stats",
        switch="commit_stats",
        transport=Transport.GRAPHQL_BATCH,
        path="",
        params=lambda w: {"since": w.since_param, "until": w.until_param},
        keep=_committed,
        record_id="sha",
        opt_in=True,
    ),
)

BY_NAME: Final[dict[str, Endpoint]] = {e.name: e for e in ENDPOINTS}
ENDPOINT_NAMES: Final[tuple[str, ...]] = tuple(e.name for e in ENDPOINTS)
"""Every endpoint, in plan order — and every data folder."""
SWITCHES: Final[tuple[str, ...]] = tuple(dict.fromkeys(e.switch for e in ENDPOINTS))
"""The ``collection.enable`` keys, in table order."""
OPT_IN_SWITCHES: Final[frozenset[str]] = frozenset(e.switch for e in ENDPOINTS if e.opt_in)
"""The switches that are off unless the config turns them on."""


def for_switches(switches: Iterable[str]) -> tuple[Endpoint, ...]:
    """The endpoints the given switches turn on, in plan order."""
    wanted = set(switches)
    return tuple(e for e in ENDPOINTS if e.switch in wanted)


def dependents(name: str) -> tuple[str, ...]:
    """The endpoints read from ``name``'s file (reset with it: reviews are read from pulls)."""
    return tuple(e.name for e in ENDPOINTS if e.depends_on == name)
