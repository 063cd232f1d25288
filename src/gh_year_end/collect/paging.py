"""What every pager speaks: the :class:`Pager` protocol, the :class:`Request` it asks for and the
:class:`Advance` it answers a page with (see :mod:`.pagers` for the pagers themselves).

A pager decides; it does no I/O. :meth:`Pager.first` says what to ask for first (None: nothing
left to ask — the unit only needs marking complete); :meth:`Pager.advance` takes the page that
came back and says which of its records are new, what the checkpoint commits with it (the URL to
continue from, the typed cursor) and what to ask for next (None: that page is the last).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from gh_year_end.endpoints import Endpoint, Window
from gh_year_end.github.answers import Page
from gh_year_end.github.review_query import BatchAnswer, ReviewBatch
from gh_year_end.storage.checkpoint import Cursor, Probe
from gh_year_end.storage.jsonl import SOURCE_REST


@dataclass(frozen=True)
class Request:
    """One page to ask for: a path under api_url or an absolute next link, its query, and how
    to read the answer."""

    url: str
    params: Mapping[str, str] | None = None
    key: str = "id"
    """Every record must carry a string or number here (else the answer is retried)."""
    empty_on_409: bool = False
    """A 409 (the commits of an empty repository) is an empty last page."""
    gone_is_empty: bool = False
    """A 404 means the parent record is gone: an empty last page, not a failure."""
    graphql: ReviewBatch | None = None
    """A GraphQL query instead of a GET (``url`` is then only a name)."""


def asked(req: Request) -> str:
    """The URL a request asked for, with its query (as a refresh asks it again)."""
    return f"{req.url}?{urlencode(req.params)}" if req.params else req.url


def request(
    ep: Endpoint, url: str, params: Mapping[str, str] | None = None, *, gone_is_empty: bool = False
) -> Request:
    """A request of endpoint ``ep``'s list."""
    return Request(url, params, ep.record_id, ep.empty_on_409, gone_is_empty)


@dataclass(frozen=True)
class Advance:
    """What a page means for its unit."""

    kept: list[dict[str, Any]]
    """Its records that belong to the window and are not in the unit's file yet."""
    next: Request | None
    """What to ask for next; None: the unit ends with this page."""
    resume_url: str | None
    """What the checkpoint commits as the URL to continue from (None: from the cursor)."""
    cursor: Cursor
    new_pass: bool = False
    """The next request starts another walk over a list (loop detection starts again)."""
    source: str = SOURCE_REST
    """Which API the records came from (the envelope's ``source``)."""
    probe: Probe | None = None
    """Where a refresh of the unit is to start, committed with this page (None: unchanged)."""


class Pager(Protocol):
    """Walks one unit's list; see the module docstring."""

    def first(self) -> Request | None:
        """The first request of this run (None: nothing left to ask)."""
        ...

    def advance(self, page: Page | BatchAnswer | None) -> Advance:
        """Take the page that came back (None: a parent gone, for a per-parent pager; a
        BatchAnswer for a GraphQL query)."""
        ...


class Seen:
    """The record ids a unit's file holds, each with the update time of the version written —
    and whether a walk met one of them again in another version (edited while the walk went:
    the file holds the older one, so the unit's probe must not vouch for the list by its ETag).
    """

    __slots__ = ("_versions", "newer")

    def __init__(self, versions: dict[Any, str | None] | None = None) -> None:
        self._versions: dict[Any, str | None] = versions if versions is not None else {}
        self.newer = False
        """A record already written was met again in another version."""

    def __contains__(self, key: object) -> bool:
        return key in self._versions

    def __len__(self) -> int:
        return len(self._versions)

    def ids(self) -> list[Any]:
        """The ids, in the order written."""
        return list(self._versions)

    def add(self, key: Any, stamp: str | None = None) -> None:
        """Note ``key`` written, in the version updated at ``stamp``."""
        self._versions[key] = stamp

    def met_again(self, key: Any, stamp: str | None) -> None:
        """``key``, already written, came again updated at ``stamp``."""
        if stamp is not None and self._versions.get(key) != stamp:
            self.newer = True

    def clear(self) -> None:
        """Forget every id (the flag stays)."""
        self._versions.clear()


def new_records(
    records: list[dict[str, Any]], ep: Endpoint, window: Window, seen: Seen
) -> list[dict[str, Any]]:
    """The records that belong to the window and are not in the unit's file yet (``seen`` —
    the ids already written — grows with them: a list that shifts between pages repeats some;
    one repeated in another version is noted in ``seen.newer``)."""
    kept: list[dict[str, Any]] = []
    for record in records:
        if not ep.keep(record, window):
            continue
        key = record.get(ep.record_id)
        if key is not None:
            stamp = record.get("updated_at")
            stamp = stamp if isinstance(stamp, str) else None
            if key in seen:
                seen.met_again(key, stamp)
                continue
            seen.add(key, stamp)
        kept.append(record)
    return kept
