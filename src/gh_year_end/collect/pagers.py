"""How a unit's list is walked: one pager per transport of the endpoint table (the protocol they
share is in :mod:`.paging`). The loop that fetches the next page while the current one commits
exists once, in ``unit.py``.

- :class:`ListPager` — Link rel="next" page after page (commits).
- :class:`KeysetPager` — sorted by update time ascending: continue from the last record's
  ``updated_at`` (issues and the comment lists), so an edit cannot push a record past a page
  boundary.

Each pager also names, with the page that sets it, where a refresh of the unit starts (its
:class:`~gh_year_end.storage.checkpoint.Probe`): the front page of a list whose every change
reaches its front (pulls, newest update first; commits, newest first), the last page of a list
whose changes reach its end (the keyset lists).
- :class:`CatchUpPager` — sorted by update time descending (pulls): a walk of more than one page
  ends with one more pass from the front down to the moment it began, for what moved meanwhile.
- :class:`PerParentPager` — one list per parent record (reviews: per collected pull request);
  a parent gone since it was listed (404) has nothing to collect.
- :class:`~.review_pager.ReviewBatchPager` — reviews through GraphQL, a hundred pull requests
  per query (``collection.reviews_via: graphql``, the default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from gh_year_end.collect.paging import (
    Advance,
    Pager,
    Request,
    Seen,
    asked,
    new_records,
    request,
)
from gh_year_end.collect.review_pager import ReviewBatchPager
from gh_year_end.endpoints import PER_PAGE, Endpoint, Transport, Window, parse_time
from gh_year_end.github.client import Page
from gh_year_end.github.review_query import BatchAnswer
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress, Probe

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


def _ascending_by_update(url: str) -> bool:
    """Whether a list URL asks for the oldest update first (a keyset walk's order)."""
    query = parse_qs(urlsplit(url).query)
    return query.get("sort") == ["updated"] and query.get("direction") == ["asc"]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Walk:
    """What every repo-wide pager shares: the endpoint, the window, the ids already written."""

    def __init__(
        self, repo: str, ep: Endpoint, window: Window, progress: EndpointProgress, seen: Seen
    ) -> None:
        self.repo, self.ep, self.window, self.seen = repo, ep, window, seen
        self.progress = progress
        self.pages = progress.last_page_written  # pages committed so far, in every pass
        self.asking: Request | None = None
        """The request whose answer :meth:`advance` receives next."""
        self.probe_now = progress.probe
        """The probe committed last (or to be committed with the page being advanced over)."""

    def ask(self, req: Request | None) -> Request | None:
        """``req``, remembered as the one whose answer comes next."""
        self.asking = req
        return req

    def start(self) -> Request | None:
        """Continue from the committed URL, else the list's front — or nothing, when every page
        was committed but the unit never got marked complete."""
        if self.progress.next_url is not None:
            return self.ask(request(self.ep, self.progress.next_url))
        if self.progress.pages_collected > 0:
            return None
        return self.ask(self.front_request())

    def front_request(self) -> Request:
        """The list's first page."""
        return request(self.ep, self.ep.first_url(self.repo), self.ep.params(self.window))

    def front(self) -> str:
        """The list's first page, as a URL with its query."""
        return _with_query(self.ep.first_url(self.repo), self.ep.params(self.window))

    def vouch(self, probe: Probe | None) -> Probe | None:
        """The probe to commit with a page (None: the committed one stands): ``probe`` when the
        page sets one — without its ETag once the walk met a record it had written in another
        version (edited meanwhile: the file holds the older one, and a 304 must not say the unit
        is current; the next refresh reads it again from the probe)."""
        if probe is not None:
            self.probe_now = probe
        current = self.probe_now
        if self.seen.newer and current is not None and current.etag is not None:
            self.probe_now = Probe(current.url, None, current.watermark)
            return self.probe_now
        return probe

    def at_front(self) -> bool:
        """Whether the page being advanced over is the list's front page."""
        return self.asking is not None and asked(self.asking) == self.front()


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
        probe = self.vouch(self.probe(page, nxt))
        following = self.ask(request(self.ep, nxt) if nxt else None)
        return Advance(kept, following, nxt, Cursor(), probe=probe)

    def next_url(self, page: Page) -> str | None:
        """Where the walk goes after ``page``: its Link rel="next"."""
        return page.next_url

    def probe(self, page: Page, nxt: str | None) -> Probe | None:  # noqa: ARG002 - keyset's
        """Where a refresh starts: the front page, with its ETag (a list whose changes reach
        its front: commits, newest first)."""
        return Probe(self.front(), page.meta.etag) if self.at_front() else None


class KeysetPager(ListPager):
    """Sorted by ``updated`` ascending (the comment lists): continues from the last record's
    ``updated_at`` rather than from a page number.

    A record updated while we page moves to the end of such a list, and a page number would then
    skip the one that slid into its place. ``since`` is inclusive, so records at that exact
    moment come again and the per-unit id check drops them. When a whole page shares one
    timestamp, keyset paging could not advance, so GitHub's next link is followed instead.
    """

    def first(self) -> Request | None:
        """See :class:`Pager` — and a committed link of a walk in another order (issues were
        walked newest-created first by a ghye before format 4) is not followed: from there on
        this order would skip what that one put after it. The walk starts again from the front
        (the id check drops what the file already holds)."""
        url = self.progress.next_url
        if url is not None and not _ascending_by_update(url):
            return self.ask(
                request(self.ep, self.ep.first_url(self.repo), self.ep.params(self.window))
            )
        return self.start()

    def next_url(self, page: Page) -> str | None:
        """See :class:`KeysetPager`."""
        records, link_next = page.records, page.next_url
        if link_next is None or not records:
            return link_next
        first, last = records[0].get("updated_at"), records[-1].get("updated_at")
        if not isinstance(last, str) or first == last:
            return link_next
        return self.since(last)

    def since(self, moment: str) -> str:
        """The list from ``moment`` on (inclusive), as a URL with its query."""
        return _with_query(
            self.ep.first_url(self.repo), {**self.ep.params(self.window), "since": moment}
        )

    def probe(self, page: Page, nxt: str | None) -> Probe | None:
        """Where a refresh starts: the walk's last page, with its ETag — the list from there on
        is what changed since (an edit moves a record to its end). A full last page would
        leave a record added after it on a page never asked; then the list from the last
        record's update on is asked instead, without an ETag (the refresh pays for it once)."""
        if nxt is not None or self.asking is None:
            return None
        if len(page.records) < int(PER_PAGE):
            return Probe(asked(self.asking), page.meta.etag)
        last = page.records[-1].get("updated_at")
        return Probe(self.since(last)) if isinstance(last, str) else None


class CatchUpPager(_Walk):
    """Pulls, newest update first: see the module docstring."""

    def __init__(
        self,
        repo: str,
        ep: Endpoint,
        window: Window,
        progress: EndpointProgress,
        seen: Seen,
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
        front = self.at_front()
        advance = self._advance(page)
        self.ask(advance.next)
        probe = None
        if front:
            # A refresh starts here: the front, newest update first — any change reaches it.
            probe = Probe(self.front(), page.meta.etag, self.cursor.started_at)
        probe = self.vouch(probe)
        return replace(advance, probe=probe) if probe is not None else advance

    def _advance(self, page: Page) -> Advance:
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
        seen: Seen,
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
    seen: Seen,
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
