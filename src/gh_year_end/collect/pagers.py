"""How a unit's list is walked: one pager per transport of the endpoint table (the protocol they
share is in :mod:`.paging`). The loop that fetches the next page while the current one commits
exists once, in ``unit.py``.

- :class:`ListPager` — Link rel="next" page after page (issues, commits).
- :class:`KeysetPager` — sorted by update time ascending: continue from the last record's
  ``updated_at`` (the comment lists), so an edit cannot push a record past a page boundary.
- :class:`CatchUpPager` — sorted by update time descending (pulls): a walk of more than one page
  ends with one more pass from the front down to the moment it began, for what moved meanwhile.
- :class:`PerParentPager` — one list per parent record (reviews: per collected pull request);
  a parent gone since it was listed (404) has nothing to collect.
- :class:`~.review_pager.ReviewBatchPager` — reviews through GraphQL, a hundred pull requests
  per query (``collection.reviews_via: graphql``, the default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from gh_year_end.collect.paging import Advance, Pager, Request, new_records, request
from gh_year_end.collect.review_pager import ReviewBatchPager
from gh_year_end.endpoints import Endpoint, Transport, Window, parse_time
from gh_year_end.github.client import Page
from gh_year_end.github.review_query import BatchAnswer
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress

#: GitHub's clock and ours may disagree: the catch-up pass reaches this much further back.
CLOCK_SLACK: Final = timedelta(minutes=5)


def _with_query(path: str, params: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(params)}"


def _ends_before(records: list[dict[str, Any]], moment: str) -> bool:
    """True when the page's last record was updated before ``moment`` (an empty page says
    nothing: its next link, if any, is followed)."""
    if not records:
        return False
    last, bound = parse_time(records[-1].get("updated_at")), parse_time(moment)
    return last is not None and bound is not None and last < bound


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Walk:
    """What every repo-wide pager shares: the endpoint, the window, the ids already written."""

    def __init__(
        self, repo: str, ep: Endpoint, window: Window, progress: EndpointProgress, seen: set[Any]
    ) -> None:
        self.repo, self.ep, self.window, self.seen = repo, ep, window, seen
        self.progress = progress
        self.pages = progress.last_page_written  # pages committed so far, in every pass

    def start(self) -> Request | None:
        """Continue from the committed URL, else the list's front — or nothing, when every page
        was committed but the unit never got marked complete."""
        if self.progress.next_url is not None:
            return request(self.ep, self.progress.next_url)
        if self.progress.pages_collected > 0:
            return None
        return request(self.ep, self.ep.first_url(self.repo), self.ep.params(self.window))

    def front(self) -> str:
        """The list's first page, as a URL with its query."""
        return _with_query(self.ep.first_url(self.repo), self.ep.params(self.window))


class ListPager(_Walk):
    """Link rel="next" page after page."""

    def first(self) -> Request | None:
        """See :class:`Pager`."""
        return self.start()

    def advance(self, page: Page | BatchAnswer | None) -> Advance:
        """See :class:`Pager`."""
        assert isinstance(page, Page)  # a repo-wide list has no parent to lose
        self.pages += 1
        kept = new_records(page.records, self.ep, self.window, self.seen)
        nxt = self.next_url(page)
        return Advance(kept, request(self.ep, nxt) if nxt else None, nxt, Cursor())

    def next_url(self, page: Page) -> str | None:
        """Where the walk goes after ``page``: its Link rel="next"."""
        return page.next_url


class KeysetPager(ListPager):
    """Sorted by ``updated`` ascending (the comment lists): continues from the last record's
    ``updated_at`` rather than from a page number.

    A record updated while we page moves to the end of such a list, and a page number would then
    skip the one that slid into its place. ``since`` is inclusive, so records at that exact
    moment come again and the per-unit id check drops them. When a whole page shares one
    timestamp, keyset paging could not advance, so GitHub's next link is followed instead.
    """

    def next_url(self, page: Page) -> str | None:
        """See :class:`KeysetPager`."""
        records, link_next = page.records, page.next_url
        if link_next is None or not records:
            return link_next
        first, last = records[0].get("updated_at"), records[-1].get("updated_at")
        if not isinstance(last, str) or first == last:
            return link_next
        return _with_query(
            self.ep.first_url(self.repo), {**self.ep.params(self.window), "since": last}
        )


class CatchUpPager(_Walk):
    """Pulls, newest update first: see the module docstring."""

    def __init__(
        self,
        repo: str,
        ep: Endpoint,
        window: Window,
        progress: EndpointProgress,
        seen: set[Any],
        *,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__(repo, ep, window, progress, seen)
        self.cursor = progress.cursor
        if self.pages == 0:
            # Anything updated after this moment may move past us while we page.
            self.cursor = Cursor(started_at=_iso(now() - CLOCK_SLACK))
        self._now = now

    def first(self) -> Request | None:
        """See :class:`Pager`."""
        return self.start()

    def advance(self, page: Page | BatchAnswer | None) -> Advance:
        """See :class:`Pager`."""
        assert isinstance(page, Page)
        self.pages += 1
        ep, cursor = self.ep, self.cursor
        kept = new_records(page.records, ep, self.window, self.seen)
        nxt = page.next_url
        if cursor.catch_up_from is not None:
            if _ends_before(page.records, cursor.catch_up_from):
                nxt = None
        elif ep.stop_early is not None and ep.stop_early(page.records, self.window):
            nxt = None
        if nxt is None and self.pages > 1 and cursor.catch_up_from is None:
            # A record updated while we paged jumped to the front, past us: one more pass from
            # the front down to the moment the walk began picks it up (the id check drops the
            # rest).
            since = cursor.started_at or _iso(self._now())
            self.cursor = Cursor(started_at=cursor.started_at, catch_up_from=since)
            front = self.front()
            return Advance(kept, request(ep, front), front, self.cursor, new_pass=True)
        return Advance(kept, request(ep, nxt) if nxt else None, nxt, self.cursor)


class PerParentPager:
    """Reviews: the list of each collected pull request in turn, ``pr_index`` in the cursor."""

    def __init__(
        self,
        repo: str,
        ep: Endpoint,
        window: Window,
        progress: EndpointProgress,
        seen: set[Any],
        *,
        parents: list[int],
    ) -> None:
        self.repo, self.ep, self.window, self.seen = repo, ep, window, seen
        self.parents = parents
        cursor = progress.cursor
        self.index = cursor.pr_index or 0
        self.url = progress.next_url
        if cursor.continuing:
            # A GraphQL walk's cursor (reviews_via changed since): the pull requests it was
            # still continuing are read again from their front; the id check drops repeats.
            where = {number: i for i, number in enumerate(parents)}
            first = min((where[n] for n, _ in cursor.continuing if n in where), default=None)
            if first is not None and first < self.index:
                self.index, self.url = first, None

    def _request(self) -> Request | None:
        if self.index >= len(self.parents):
            return None
        if self.url is not None:
            return request(self.ep, self.url, gone_is_empty=True)
        path = self.ep.first_url(self.repo, number=self.parents[self.index])
        return request(self.ep, path, self.ep.params(self.window), gone_is_empty=True)

    def first(self) -> Request | None:
        """See :class:`Pager`."""
        return self._request()

    def advance(self, page: Page | BatchAnswer | None) -> Advance:
        """See :class:`Pager`."""
        assert not isinstance(page, BatchAnswer)
        kept = new_records(page.records, self.ep, self.window, self.seen) if page else []
        new_pass = page is None or page.next_url is None
        if new_pass:
            self.index, self.url = self.index + 1, None  # this parent's list is done
        else:
            self.url = page.next_url if page is not None else None
        return Advance(kept, self._request(), self.url, Cursor(pr_index=self.index), new_pass)


def pager_for(
    repo: str,
    ep: Endpoint,
    window: Window,
    progress: EndpointProgress,
    seen: set[Any],
    *,
    parents: list[int] | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    via_graphql: str | None = None,
) -> Pager:
    """The pager of the endpoint's transport (``parents``: a per-parent endpoint's parents;
    ``via_graphql``: the API URL when reviews are read through GraphQL)."""
    if ep.transport is Transport.PER_PARENT:
        if parents is None:
            raise ValueError(f"{ep.name} needs the numbers of its parents")
        if via_graphql is not None:
            return ReviewBatchPager(
                repo, ep, window, progress, seen, parents=parents, api_url=via_graphql
            )
        return PerParentPager(repo, ep, window, progress, seen, parents=parents)
    if ep.transport is Transport.CATCH_UP:
        return CatchUpPager(repo, ep, window, progress, seen, now=now)
    if ep.transport is Transport.KEYSET:
        return KeysetPager(repo, ep, window, progress, seen)
    return ListPager(repo, ep, window, progress, seen)
