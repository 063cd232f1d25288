"""One unit's refresh: ask where it starts with its ETag (a ``304``: unchanged, free of the
primary rate limit), else walk what changed since, merge it into the unit's file and switch the
file in — one checkpoint commit.

Where a refresh starts and how far it reads is the unit's :class:`~.checkpoint.Probe`, set by
the pager of its last collect or refresh (:mod:`.pagers`):

- pulls (newest update first): the front page with its ETag; when it changed, the list from the
  front down to the watermark (the moment the last walk began, minus the clock slack);
- issues and the comment lists (oldest update first, walked by ``since``): the walk's last page
  with its ETag; when it changed, the list from there on — every record edited or added since
  comes after it;
- commits (newest first): the front page with its ETag; when it changed, the whole list again
  (a commit has no update time to stop at, and its date is its author's to set);
- reviews: the pull requests the same refresh found new or updated, their reviews read again
  in full (GitHub does not reliably move a pull request's ``updated_at`` for a review: see
  docs/refresh.md for what that misses).

A unit collected before probes existed (or whose probe came without an ETag) is asked the same
way without ``If-None-Match`` and pays for it once. Records keep the window rule; the walk stops
on a loop like a collect does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.loops import LoopGuard
from gh_year_end.collect.pagers import CLOCK_SLACK, CatchUpPager, KeysetPager, pager_for
from gh_year_end.collect.paging import Advance, Pager, Request, Seen, asked
from gh_year_end.collect.plan import Unit
from gh_year_end.endpoints import Transport, dependents
from gh_year_end.errors import LoopingList, Unavailable
from gh_year_end.github.client import Page
from gh_year_end.github.review_query import BatchAnswer
from gh_year_end.storage.atomic import iso_z
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress, Probe, Refreshed
from gh_year_end.storage.jsonl import envelope_line
from gh_year_end.storage.rewrite import finish_switch, write_refreshed

#: More pages than this in one unit's refresh is a list that does not end.
MAX_PAGES: Final = 100_000

Outcome = Literal["unchanged", "changed"]


@dataclass(frozen=True)
class UnitRefreshed:
    """How one unit's refresh went."""

    outcome: Outcome
    requests: int
    """Pages (or GraphQL queries) asked, the first included."""
    not_modified: bool
    """The first answer was a ``304``."""
    replaced: int = 0
    added: int = 0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fallback_since(started: datetime | None, progress: EndpointProgress) -> str:
    """A watermark for a unit without one (collected by a ghye before format 4): when its
    repository's collect began, minus the clock slack — what an older walk could not see
    (records added or edited while it went) was updated after that."""
    moment = started or progress.updated_at or datetime.now(UTC)
    return _iso(moment - CLOCK_SLACK)


def changed_parents(ctx: RunContext, unit: Unit, generation: int) -> list[int]:
    """The parents (pull request numbers) whose children a per-parent unit reads again."""
    parent = unit.endpoint.depends_on
    if parent is None:
        return []
    progress = ctx.checkpoint.get_endpoint(unit.repo, parent)
    if progress.changed_generation != generation:
        return []
    return list(progress.changed)


class UnitRefresher:
    """Refreshes one unit at a time (see the module docstring); ``now`` is the clock."""

    def __init__(
        self, ctx: RunContext, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.ctx = ctx
        self._now = now

    def _pager(
        self, unit: Unit, progress: EndpointProgress, seen: Seen, parents: list[int]
    ) -> Pager:
        ctx, ep = self.ctx, unit.endpoint
        probe = progress.probe
        if ep.transport is Transport.PER_PARENT:
            via = ctx.api.api_url if ctx.review_queries is not None else None
            return pager_for(
                unit.repo, ep, ctx.window, EndpointProgress(), seen, parents=parents,
                via_graphql=via,
            )  # fmt: skip
        if ep.transport is Transport.KEYSET:
            keyset = KeysetPager(unit.repo, ep, ctx.window, EndpointProgress(), seen)
            start = probe.url if probe is not None else keyset.since(self._fallback(unit, progress))
            keyset.progress = EndpointProgress(next_url=start)
            return keyset
        if ep.transport is Transport.CATCH_UP:
            catch_up = CatchUpPager(
                unit.repo, ep, ctx.window, EndpointProgress(), seen, now=self._now
            )
            watermark = (
                probe.watermark
                if probe is not None and probe.watermark is not None
                else self._fallback(unit, progress)
            )
            # Down to the old watermark; the next refresh reads down to this walk's start.
            started = _iso(self._now() - CLOCK_SLACK)
            catch_up.cursor = Cursor(started_at=started, catch_up_from=watermark)
            return catch_up
        return pager_for(unit.repo, ep, ctx.window, EndpointProgress(), seen, parents=None)

    def _fallback(self, unit: Unit, progress: EndpointProgress) -> str:
        repo = self.ctx.checkpoint.get_repo(unit.repo)
        started = repo.started_at if repo is not None else None
        return _fallback_since(started or self.ctx.checkpoint.created_at, progress)

    async def refresh(self, unit: Unit, generation: int) -> UnitRefreshed:
        """Refresh one complete unit and commit it (see the module docstring)."""
        queries = self.ctx.review_queries
        if unit.endpoint.transport is Transport.PER_PARENT and queries is not None:
            with queries.walking():  # its batches share queries with other units' (≤ 0.1 s)
                return await self._refresh(unit, generation)
        return await self._refresh(unit, generation)

    async def _refresh(self, unit: Unit, generation: int) -> UnitRefreshed:
        ctx, ep = self.ctx, unit.endpoint
        progress = ctx.checkpoint.get_endpoint(unit.repo, ep.name)
        parents = changed_parents(ctx, unit, generation)
        if ep.transport is Transport.PER_PARENT and not parents:
            await self._commit(unit, Refreshed(generation, self._now(), None))
            return UnitRefreshed("unchanged", 0, not_modified=False)
        seen = Seen()
        pager = self._pager(unit, progress, seen, parents)
        request = pager.first()
        if request is None:
            await self._commit(unit, Refreshed(generation, self._now(), None))
            return UnitRefreshed("unchanged", 0, not_modified=False)
        probe = progress.probe
        etag = (
            probe.etag
            if probe is not None and probe.etag is not None and probe.url == asked(request)
            else None
        )
        page = await self._fetch(request, etag)
        if isinstance(page, Page) and page.meta.not_modified:
            await self._commit(unit, Refreshed(generation, self._now(), None))
            return UnitRefreshed("unchanged", 1, not_modified=True)
        updates, new_probe, requests = await self._walk(unit, pager, seen, page)
        if not updates:
            await self._commit(unit, Refreshed(generation, self._now(), new_probe))
            return UnitRefreshed("unchanged", requests, not_modified=False)
        fetched = iso_z(self._now())
        lines = {
            key: (
                data,
                envelope_line(
                    timestamp=fetched,
                    source=source,
                    endpoint=ep.name,
                    repo=unit.repo,
                    page=None,
                    request_id=None,
                    data=data,
                ),
            )
            for key, (source, data, _) in updates.items()
        }
        path = ctx.paths.raw_path(ep.name, unit.repo)
        rewritten = await ctx.in_thread(write_refreshed, path, progress.offset, ep.record_id, lines)
        if rewritten is None:  # every record read again is the one the file holds
            await self._commit(unit, Refreshed(generation, self._now(), new_probe))
            return UnitRefreshed("unchanged", requests, not_modified=False)
        changed = self._changed_numbers(unit, updates, rewritten.changed)
        refreshed = Refreshed(
            generation,
            self._now(),
            new_probe,
            offset=rewritten.offset,
            lines=rewritten.lines,
            switch=rewritten.name,
            changed=changed,
        )

        def switch() -> None:
            checkpoint = ctx.checkpoint
            checkpoint.commit_refresh(unit.repo, ep.name, refreshed)
            finish_switch(path, rewritten.name, rewritten.offset)
            checkpoint.switch_done(unit.repo, ep.name)

        await ctx.in_thread(switch)
        return UnitRefreshed(
            "changed", requests, not_modified=False, replaced=rewritten.replaced,
            added=rewritten.added,
        )  # fmt: skip

    async def _walk(
        self, unit: Unit, pager: Pager, seen: Seen, page: Page | BatchAnswer | None
    ) -> tuple[dict[Any, tuple[str, dict[str, Any], str]], Probe | None, int]:
        """Walk on from the first answer: (the newest version of each record met, the probe
        the walk ends with, the requests it asked, the first included)."""
        updates: dict[Any, tuple[str, dict[str, Any], str]] = {}
        new_probe: Probe | None = None
        guard = LoopGuard()
        requests = 1
        while True:
            if isinstance(page, Page):
                guard.arrived(page.meta.url)
            advance: Advance = pager.advance(page)
            seen.clear()  # a record met again later in the walk is compared, not dropped
            _keep_newest(updates, advance, unit.endpoint.record_id)
            if advance.probe is not None:
                new_probe = advance.probe
            if advance.new_pass:
                guard.clear()
            if advance.next is None:
                return updates, new_probe, requests
            requests += 1
            if requests > MAX_PAGES:
                raise LoopingList(
                    f"the refresh of {unit.repo} {unit.endpoint.name} read {MAX_PAGES:,} pages "
                    "without reaching the end — the list does not end; `ghye resume` tries again",
                    url=advance.next.url,
                )
            page = await self._fetch(advance.next, None)

    def _changed_numbers(
        self,
        unit: Unit,
        updates: dict[Any, tuple[str, dict[str, Any], str]],
        changed_ids: tuple[Any, ...],
    ) -> tuple[int, ...]:
        """Pulls: the numbers of the pull requests the refresh found new or different from the
        version the file held (their reviews are read again); another unit: () — its file
        changed in this refresh (commit sizes read again when commits did)."""
        if not dependents(unit.endpoint.name):
            return ()
        numbers = (updates[i][1].get("number") for i in changed_ids if i in updates)
        return tuple(n for n in numbers if isinstance(n, int))

    async def _commit(self, unit: Unit, refreshed: Refreshed) -> None:
        if refreshed.changed is None and dependents(unit.endpoint.name):
            refreshed = Refreshed(refreshed.generation, refreshed.now, refreshed.probe, changed=())
        await self.ctx.in_thread(
            self.ctx.checkpoint.commit_refresh, unit.repo, unit.endpoint.name, refreshed
        )

    async def _fetch(self, request: Request, etag: str | None) -> Page | BatchAnswer | None:
        ctx = self.ctx
        if request.graphql is not None:
            if ctx.review_queries is None:
                raise RuntimeError("reviews through GraphQL without the run's ReviewQueries")
            return await ctx.review_queries.ask(request.graphql)
        try:
            return await ctx.api.get_page(
                request.url,
                request.params,
                empty_on_409=request.empty_on_409,
                key=request.key,
                if_none_match=etag,
            )
        except Unavailable:
            if request.gone_is_empty:
                return None
            raise


def _keep_newest(
    updates: dict[Any, tuple[str, dict[str, Any], str]], advance: Advance, key: str
) -> None:
    """Add a page's kept records; a record met twice keeps its newer version (by
    ``updated_at``, else the later one met)."""
    for record in advance.kept:
        record_id = record.get(key)
        if record_id is None:
            continue
        stamp = record.get("updated_at")
        stamp = stamp if isinstance(stamp, str) else ""
        known = updates.get(record_id)
        if known is not None and known[2] > stamp:
            continue
        updates[record_id] = (advance.source, record, stamp)


__all__ = ["MAX_PAGES", "UnitRefreshed", "UnitRefresher", "changed_parents"]
